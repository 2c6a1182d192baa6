//! Crash and restart: what a durable queue keeps.
//!
//! A crash loses every message held in memory, except the persistent ones
//! (`delivery_mode=2`) in a `durable` queue (quorum queues always are): the
//! restart brings them back, the delivered-but-unacked ones marked
//! `redelivered`. Every queue *definition* comes back (the clients declare
//! them again), so a transient queue comes back empty.

use super::channels::Unacked;
use super::queues::{QueueConfig, QueueState, Ready};
use super::QueueBroker;
use crate::broker::{Note, Output, QueueId};
use std::collections::BTreeMap;

/// Whether a message survives a crash: persistent, in a durable queue.
fn survives(cfg: &QueueConfig, r: &Ready) -> bool {
    cfg.durable && r.persistent
}

impl QueueBroker {
    /// The broker process dies. Everything in memory is gone except the
    /// persistent messages of durable queues, which the restart recovers:
    /// unacked ones go back to their place, marked `redelivered`.
    pub fn crash(&mut self, out: &mut Vec<Output>) {
        assert!(self.up, "crash of a crashed broker");
        let mut kept: Vec<BTreeMap<u64, Ready>> = vec![BTreeMap::new(); self.queues.len()];
        let mut lost = 0;
        for q in self.queues.ids() {
            let cfg = self.queues.cfg(q);
            for (&position, r) in &self.queues.state(q).ready {
                if survives(cfg, r) {
                    kept[q as usize].insert(position, *r);
                } else {
                    lost += 1;
                    out.push(lost_note(r, q));
                }
            }
        }
        for u in self.channels.crash() {
            lost += u64::from(!self.keep_unacked(&u, &mut kept, out));
        }
        self.stats.lost_in_crash += lost;
        self.queues.state = kept.into_iter().map(QueueState::with_ready).collect();
        // The dedup windows were memory too.
        self.fifo
            .iter_mut()
            .flatten()
            .for_each(|w| *w = Default::default());
        self.consumers.clear();
        self.wake.fired();
        self.up = false;
    }

    /// A crash found `u` unacked: kept (back at its place, `redelivered`)
    /// if it survives, otherwise noted lost. True if kept.
    fn keep_unacked(
        &self,
        u: &Unacked,
        kept: &mut [BTreeMap<u64, Ready>],
        out: &mut Vec<Output>,
    ) -> bool {
        if !survives(self.queues.cfg(u.queue), &u.ready) {
            out.push(lost_note(&u.ready, u.queue));
            return false;
        }
        let ready = Ready {
            redelivered: true,
            ..u.ready
        };
        kept[u.queue as usize].insert(u.position, ready);
        true
    }

    /// Comes back with the declared queues and what durable ones kept.
    pub fn restart(&mut self) {
        assert!(!self.up, "restart of a running broker");
        self.up = true;
        self.channels.restart();
    }
}

/// The history's word for a message a crash took.
fn lost_note(r: &Ready, q: QueueId) -> Output {
    Output::Note(Note::LostInCrash {
        msg: r.msg.id,
        queue: q,
    })
}
