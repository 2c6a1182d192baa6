//! Checkpoints: a copy of the world at one instant, to go back to.
//!
//! The timeline (`app::session`) seeks by restoring the nearest checkpoint
//! at or before an instant and running on from it, instead of replaying the
//! whole run from its start. A checkpoint is every field of the world
//! except its history: the history only grows, so the history of the
//! checkpoint's instant is a prefix of the history of any later instant of
//! the same run, and a restore rewinds the current history to that
//! prefix (keeping the rest as the known future, see `History::rewind`)
//! instead of keeping a copy of it per checkpoint (it is the largest thing
//! a run holds: ~100 bytes an event, millions of events).
//!
//! A world writing to a store that cannot be copied (IndexedDB) has no
//! checkpoints: [`World::checkpoint`] says `None`.

use super::{Node, Slot, World};
use crate::broker::Broker;
use crate::history::History;

/// The world at one instant, its history left out (see the module notes).
pub struct WorldCheckpoint {
    /// Every field but the history, which stays empty here.
    world: World,
    /// How many history events the world had: the prefix a restore keeps.
    history_len: usize,
}

impl WorldCheckpoint {
    /// The events the world had run at this checkpoint.
    pub fn events_run(&self) -> u64 {
        self.world.events_run
    }

    /// The virtual clock at this checkpoint.
    pub fn now_ms(&self) -> u64 {
        self.world.now_ms
    }

    /// How many history events the checkpoint's instant had.
    pub fn history_len(&self) -> usize {
        self.history_len
    }
}

impl Slot {
    /// A copy of this slot, if its client copies itself.
    fn checkpoint(&self) -> Option<Slot> {
        Some(Slot {
            client: self.client.checkpoint()?,
            incarnation: self.incarnation,
            conn: self.conn,
        })
    }
}

impl World {
    /// A copy of this world as it stands, its history left out; `None`
    /// when a node's store cannot be copied.
    pub fn checkpoint(&self) -> Option<WorldCheckpoint> {
        let nodes = self
            .nodes
            .iter()
            .map(|n| {
                let broker = match &n.broker {
                    Broker::Queue(q) => Broker::Queue(q.clone()),
                    Broker::Log(l) => Broker::Log(l.clone()),
                };
                Some(Node {
                    broker,
                    storage: n.storage.checkpoint()?,
                })
            })
            .collect::<Option<Vec<Node>>>()?;
        let world = World {
            scenario: self.scenario.clone(),
            now_ms: self.now_ms,
            end_ms: self.end_ms,
            queue: self.queue.clone(),
            next_seq: self.next_seq,
            events_run: self.events_run,
            rng_net: self.rng_net.clone(),
            rng_clients: self.rng_clients.clone(),
            rng_tear: self.rng_tear.clone(),
            links: self.links.clone(),
            nodes,
            drained: self.drained,
            clients: self
                .clients
                .iter()
                .map(Slot::checkpoint)
                .collect::<Option<Vec<Slot>>>()?,
            history: History::new(),
            effects: self.effects.clone(),
            names: self.names.clone(),
            next_msg_id: self.next_msg_id,
            broker_out: Vec::new(),
            client_out: Vec::new(),
            dedup: self.dedup.clone(),
            armed: self.armed.clone(),
            disk_run_ahead_ms: self.disk_run_ahead_ms,
            flush_overdue: self.flush_overdue,
        };
        Some(WorldCheckpoint {
            world,
            history_len: self.history.len(),
        })
    }

    /// Puts this world at `cp`'s instant. `cp` must be a checkpoint of
    /// this same run (the caller drops checkpoints a fork made stale), so
    /// the history up to it is this world's history, or the part of it a
    /// rewind kept (see [`History::rewind`]).
    pub fn restore(&mut self, cp: &WorldCheckpoint) {
        let copy = cp
            .world
            .checkpoint()
            .expect("a checkpoint's stores were copied once, so they copy again");
        let mut history = std::mem::take(&mut self.history);
        history.rewind(cp.history_len);
        *self = World {
            history,
            ..copy.world
        };
    }

    /// The run forked at this instant: the history kept past it by a
    /// rewind is no longer its future.
    pub fn forget_future(&mut self) {
        self.history.forget_future();
    }
}
