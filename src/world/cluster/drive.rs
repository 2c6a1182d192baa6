//! What the harness's producers and readers do with their timers and the
//! answers they get (see `clients.rs` for their rules).

use super::clients::{after_error, Retry, READ_INTERVAL_MS, READ_TIMEOUT_MS, RETRY_BACKOFF_MS};
use super::{ClusterRun, Ev};
use crate::broker::cluster::{ClientReply, ClientRequest, PartitionIdx};
use crate::broker::ClientId;
use crate::check::cluster::ClientAck;
use crate::node::NodeId;

impl ClusterRun {
    /// A producer's next record is due: it starts it, unless one is still
    /// in flight (then it follows that one's answer), the run is over, or
    /// it produced its `count`.
    pub(super) fn produce_due(&mut self, c: ClientId) {
        let Some(p) = self.producers[c as usize].as_mut() else {
            return;
        };
        if p.current.is_some() {
            return;
        }
        if p.started >= p.spec.count || self.now_ms >= self.scenario.duration_ms {
            return self.txn_end(c); // a transactional producer ends what it began
        }
        if !self.txn_ready(c) {
            return;
        }
        let p = self.producers[c as usize].as_mut().expect("a producer");
        p.start(self.next_msg);
        self.next_msg += 1;
        self.send_current(c);
    }

    /// Sends (again) the producer's current record to the partition's
    /// leader as its metadata says; waits for the answer or the timeout.
    fn send_current(&mut self, c: ClientId) {
        let p = self.producers[c as usize].as_ref().expect("a producer");
        if p.current.is_some() && !self.txn_add_partition(c) {
            return;
        }
        let p = self.producers[c as usize].as_mut().expect("a producer");
        let Some((req, send_id)) = p.send() else {
            return;
        };
        let ClientRequest::Produce { partition, .. } = req else {
            unreachable!("a producer produces");
        };
        let (answers, timeout_ms) = (p.expects_answer(), p.spec.request_timeout_ms);
        let Some(leader) = self.leader_for(c, partition) else {
            // Offline: ask again after the backoff.
            return self.schedule(self.now_ms + RETRY_BACKOFF_MS, Ev::Retry(c, send_id));
        };
        self.send_request(c, leader, req);
        if answers {
            self.schedule(self.now_ms + timeout_ms, Ev::Retry(c, send_id));
        } else {
            self.next_record(c); // acks=0: fire and forget
        }
    }

    /// The leader of `partition` in producer `c`'s metadata cache, asked
    /// of the controller when the cache has none.
    fn leader_for(&mut self, c: ClientId, partition: PartitionIdx) -> Option<NodeId> {
        if let Some(n) = self.metadata[c as usize][usize::from(partition)] {
            return Some(n);
        }
        let leader = self.controller.leader_of(partition)?;
        self.metadata[c as usize][usize::from(partition)] = Some(leader);
        Some(leader)
    }

    /// The current record is done (answered, or given up): the next one
    /// starts when due.
    pub(super) fn next_record(&mut self, c: ClientId) {
        let p = self.producers[c as usize].as_mut().expect("a producer");
        p.current = None;
        let at = p.due_ms(p.started).max(self.now_ms);
        if p.txn.as_ref().is_some_and(|t| t.is_due()) {
            self.txn_end(c);
        }
        self.schedule(at, Ev::Produce(c));
    }

    /// Send `send_id` timed out, or its backoff ended: refresh the
    /// metadata and retry, or give the record up.
    pub(super) fn retry_due(&mut self, c: ClientId, send_id: u64) {
        let p = self.producers[c as usize].as_ref().expect("a producer");
        let Some(a) = p.current.filter(|a| a.send_id == send_id) else {
            return; // answered, or already sent again
        };
        self.metadata[c as usize][usize::from(a.partition)] = None;
        if p.may_retry() {
            self.send_current(c);
        } else {
            self.producers[c as usize]
                .as_mut()
                .expect("checked")
                .give_up();
            self.next_record(c);
        }
    }

    /// An answer reaches a client (unless its broker is cut from clients).
    pub(super) fn reply_arrives(&mut self, to: ClientId, from: NodeId, reply: ClientReply) {
        if self.cuts[usize::from(from.0) - 1].clients {
            return;
        }
        match reply {
            ClientReply::Produced {
                msg,
                partition,
                result,
            } => self.produced(to, (msg, partition), result),
            ClientReply::Fetched { partition, records } => {
                let r = self.readers[to as usize].as_mut().expect("a reader");
                let i = usize::from(partition - r.topic.0);
                r.outstanding[i] = None;
                let Ok((records, next)) = records else { return };
                for (offset, msg) in records {
                    if offset >= r.positions[i] {
                        self.facts.reads.push((partition, offset, msg));
                    }
                }
                r.positions[i] = r.positions[i].max(next);
            }
        }
    }

    /// A produce answer: an acknowledgement the checker holds the cluster
    /// to, or an error to retry.
    fn produced(
        &mut self,
        c: ClientId,
        (msg, partition): (u64, PartitionIdx),
        result: Result<u64, crate::broker::cluster::ProduceError>,
    ) {
        let p = self.producers[c as usize].as_mut().expect("a producer");
        if p.current.is_none_or(|a| a.msg != msg) {
            return; // a late answer to a record already settled
        }
        let error = match result {
            Ok(offset) => {
                let at_ms = self.now_ms;
                let ack = ClientAck {
                    at_ms,
                    msg,
                    partition,
                    offset,
                };
                self.facts.acks.push(ack);
                if let Some(t) = &mut p.txn {
                    t.record((partition, msg));
                }
                return self.next_record(c);
            }
            Err(e) => e,
        };
        match after_error(error) {
            Retry::RefreshNow if p.may_retry() => {
                self.metadata[c as usize][usize::from(partition)] = None;
                self.send_current(c);
            }
            Retry::Backoff if p.may_retry() => {
                let send_id = p.current.expect("checked").send_id;
                self.schedule(self.now_ms + RETRY_BACKOFF_MS, Ev::Retry(c, send_id));
            }
            _ => {
                p.give_up();
                self.next_record(c);
            }
        }
    }

    /// A reader's poll: a fetch for each partition without one in flight,
    /// to the leader the controller names; then the next poll.
    pub(super) fn read_due(&mut self, c: ClientId) {
        let now_ms = self.now_ms;
        let r = self.readers[c as usize].as_mut().expect("a reader");
        let (first, count) = r.topic;
        let mut sends = Vec::new();
        for i in 0..usize::from(count) {
            if r.outstanding[i].is_some_and(|(_, until)| now_ms < until) {
                continue;
            }
            let partition = first + i as PartitionIdx;
            let Some(leader) = self.controller.leader_of(partition) else {
                continue;
            };
            r.outstanding[i] = Some((leader, now_ms + READ_TIMEOUT_MS));
            let req = ClientRequest::Fetch {
                partition,
                offset: r.positions[i],
                read_committed: r.read_committed,
            };
            sends.push((leader, req));
        }
        for (leader, req) in sends {
            self.send_request(c, leader, req);
        }
        self.schedule(now_ms + READ_INTERVAL_MS, Ev::Read(c));
    }
}
