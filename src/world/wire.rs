//! The wire: one link per client, with latency, loss and duplication drawn
//! from the network stream, `drop_acks` faults, and what a lost message does
//! to a connection. Also the messages in flight, for drawing them.

use super::clock::Ev;
use super::World;
use crate::broker::log::{LogReply, LogRequest};
use crate::broker::{ClientId, MsgId, Request};
use crate::client::{Downlink, Reconnect};
use crate::history::{msg_name, Entry, Proc};
use crate::node::NodeId;
use crate::sim::net::{Direction, Transit};

/// One message travelling on a link, for drawing it on its way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlight {
    /// The client at the far end of the link.
    pub client: String,
    /// The broker node at the near end.
    pub node: NodeId,
    /// Client → broker (publish) or broker → client (delivery, confirm).
    pub to_broker: bool,
    /// The message, as `m17`.
    pub msg: String,
    /// When it left.
    pub sent_ms: u64,
    /// When it arrives.
    pub arrives_ms: u64,
}

impl World {
    /// Messages on the wire right now (sent at or before now, arriving after
    /// it), earliest arrival first, at most `limit`: publishes and acks on
    /// the way up, deliveries and confirms on the way down. Acks name no
    /// message on the wire, so they are not listed. Costs one pass over the
    /// event queue.
    pub fn in_flight(&self, limit: usize) -> Vec<InFlight> {
        let mut found: Vec<(u64, u64, InFlight)> = Vec::new();
        for s in self.queue.iter().filter(|s| s.at_ms > self.now_ms) {
            let (node, client, to_broker, msg, sent_ms) = match s.ev {
                Ev::ToBroker {
                    node,
                    from,
                    sent_ms,
                    req,
                } => match request_msg(req) {
                    Some(msg) => (node, from, true, msg, sent_ms),
                    None => continue,
                },
                Ev::ToClient {
                    node,
                    to,
                    sent_ms,
                    msg,
                    ..
                } => match downlink_msg(msg).0 {
                    Some(id) => (node, to, false, id, sent_ms),
                    None => continue,
                },
                _ => continue,
            };
            let flight = InFlight {
                client: self.names.clients[client as usize].clone(),
                node,
                to_broker,
                msg: msg_name(msg),
                sent_ms,
                arrives_ms: s.at_ms,
            };
            found.push((s.at_ms, s.seq, flight));
        }
        found.sort_unstable_by_key(|(at, seq, _)| (*at, *seq));
        found.truncate(limit);
        found.into_iter().map(|(_, _, f)| f).collect()
    }

    /// Broker node `node` sends `msg` to client `to` over the client's link:
    /// it may be dropped (`drop_acks`), lost (the connection then breaks) or
    /// duplicated.
    pub(super) fn send_down(&mut self, node: NodeId, to: ClientId, msg: Downlink) {
        let link = &mut self.links[to as usize];
        let is_confirm = matches!(
            msg,
            Downlink::Confirm { .. }
                | Downlink::Log(LogReply::ProduceAck { .. } | LogReply::CommitResponse { .. })
        );
        if is_confirm && link.drops_acks(self.now_ms) {
            let (id, what) = downlink_msg(msg);
            let why = "drop_acks fault";
            self.record(Proc::Broker(node), Entry::NetDrop { msg: id, what, why });
            return;
        }
        let transit = link.send(self.now_ms, Direction::Down, true, &mut self.rng_net);
        let conn = self.clients[to as usize].conn;
        match transit {
            Transit::Lost => {
                let (id, what) = downlink_msg(msg);
                self.record(
                    Proc::Broker(node),
                    Entry::NetDrop {
                        msg: id,
                        what,
                        why: "link loss",
                    },
                );
                self.reset_consumer_connection(to);
            }
            Transit::Arrives {
                at_ms,
                duplicate_at_ms,
            } => {
                let sent_ms = self.now_ms;
                let ev = Ev::ToClient {
                    node,
                    to,
                    conn,
                    sent_ms,
                    msg,
                };
                self.schedule(at_ms, ev);
                if let Some(dup) = duplicate_at_ms {
                    self.schedule(dup, ev);
                }
            }
        }
    }

    /// Which broker node a request goes to: the only node. A cluster routes
    /// here (produce and fetch to the partition's leader, group and
    /// transaction requests to their coordinator).
    fn node_for(&self, _req: Request) -> NodeId {
        assert_eq!(self.nodes.len(), 1, "one broker node until clusters route");
        NodeId::FIRST
    }

    /// Client `from` sends `req` to its broker node over its link: it may be
    /// dropped (`drop_acks`), lost (the connection then breaks) or
    /// duplicated.
    pub(super) fn send_up(&mut self, from: ClientId, req: Request) {
        let node = self.node_for(req);
        let link = &mut self.links[from as usize];
        let is_ack = matches!(
            req,
            Request::Ack { .. } | Request::Nack { .. } | Request::Log(LogRequest::Commit { .. })
        );
        if is_ack && link.drops_acks(self.now_ms) {
            let entry = Entry::NetDrop {
                msg: None,
                what: request_name(req),
                why: "drop_acks fault",
            };
            self.record(Proc::Client(from), entry);
            return;
        }
        // Subscribing and channel close are connection-level: not subject to loss.
        let lossy = !matches!(
            req,
            Request::Consume { .. }
                | Request::Qos { .. }
                | Request::ChannelClosed
                | Request::Log(
                    LogRequest::JoinGroup { .. }
                        | LogRequest::LeaveGroup { .. }
                        | LogRequest::Heartbeat { .. }
                )
        );
        match link.send(self.now_ms, Direction::Up, lossy, &mut self.rng_net) {
            Transit::Lost => {
                let entry = Entry::NetDrop {
                    msg: request_msg(req),
                    what: request_name(req),
                    why: "link loss",
                };
                self.record(Proc::Client(from), entry);
                self.reset_consumer_connection(from);
            }
            Transit::Arrives {
                at_ms,
                duplicate_at_ms,
            } => {
                let sent_ms = self.now_ms;
                let ev = Ev::ToBroker {
                    node,
                    from,
                    sent_ms,
                    req,
                };
                self.schedule(at_ms, ev);
                if let Some(dup) = duplicate_at_ms {
                    self.schedule(dup, ev);
                }
            }
        }
    }

    /// A message lost on a client's link. Real clients talk TCP, which does
    /// not lose single messages: a loss shows up as a broken connection, so
    /// a live client with a connection gets a new one at once (see
    /// [`Reconnect::LinkLoss`]). Producers need no such step: their
    /// recovery is the confirm timeout.
    pub(super) fn reset_consumer_connection(&mut self, c: ClientId) {
        let slot = &mut self.clients[c as usize];
        if !slot.client.has_connection() || !slot.client.alive() {
            return;
        }
        slot.conn += 1;
        self.with_client(c, |client, ctx| client.reconnect(ctx, Reconnect::LinkLoss));
    }
}

pub(super) fn request_name(req: Request) -> &'static str {
    match req {
        Request::Log(LogRequest::Produce { .. }) => "produce",
        Request::Log(LogRequest::JoinGroup { .. }) => "join_group",
        Request::Log(LogRequest::Heartbeat { .. }) => "heartbeat",
        Request::Log(LogRequest::LeaveGroup { .. }) => "leave_group",
        Request::Log(LogRequest::Poll { .. }) => "poll",
        Request::Log(LogRequest::Commit { .. }) => "commit",
        Request::Log(LogRequest::Seek { .. }) => "seek",
        Request::Log(LogRequest::Txn(_)) => "txn",
        Request::Log(LogRequest::ProduceIdempotent { .. }) => "produce",
        Request::Publish { .. } => "publish",
        Request::Consume { .. } => "consume",
        Request::Ack { .. } => "ack",
        Request::Nack { .. } => "nack",
        Request::Get { .. } => "get",
        Request::Cancel => "cancel",
        Request::Credit => "credit",
        Request::Qos { .. } => "qos",
        Request::ChannelClosed => "channel_closed",
    }
}

pub(super) fn request_msg(req: Request) -> Option<MsgId> {
    match req {
        Request::Publish { msg, .. } => Some(msg.id),
        Request::Log(LogRequest::Produce { msg, .. }) => Some(msg.id),
        Request::Log(LogRequest::ProduceIdempotent { msg, .. }) => Some(msg.id),
        _ => None,
    }
}

pub(super) fn downlink_msg(msg: Downlink) -> (Option<MsgId>, &'static str) {
    match msg {
        Downlink::Deliver(d) => (Some(d.msg.id), "deliver"),
        Downlink::Confirm { msg, .. } => (Some(msg), "confirm"),
        Downlink::Log(LogReply::ProduceAck { msg, .. }) => (Some(msg), "produce_ack"),
        Downlink::Log(LogReply::Record { record, .. }) => (Some(record.msg.id), "record"),
        Downlink::Log(LogReply::Assignment { .. }) => (None, "assignment"),
        Downlink::Log(LogReply::PollEnd { .. }) => (None, "poll_end"),
        Downlink::Log(LogReply::Txn(_)) => (None, "txn"),
        Downlink::Log(LogReply::CommitResponse { .. }) => (None, "commit_response"),
    }
}
