//! Names: how the numeric ids inside events print (`m17`, `c1`, `orders-0`).

use crate::broker::log::{GroupId, TopicId};
use crate::broker::{ClientId, DeliveryTag, KeyId, MsgId, QueueId, ReturnReason};
use crate::config::Headers;

/// Display names for the numeric ids inside events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names {
    /// Client ids as the scenario names them (`p1`, `c2`), by [`ClientId`].
    pub clients: Vec<String>,
    /// Message keys (`k3`), by [`KeyId`].
    pub keys: Vec<String>,
    /// Queue names, by [`QueueId`] (queue broker).
    pub queues: Vec<String>,
    /// Log broker: topic names, by [`TopicId`].
    pub topics: Vec<String>,
    /// Log broker: consumer group ids (`group.id`), by [`GroupId`].
    pub groups: Vec<String>,
    /// Queue broker: the producers' message header tables (AMQP
    /// `headers`), by [`HeadersId`](crate::broker::HeadersId); a producer
    /// without headers has none.
    pub headers: Vec<Headers>,
}

impl Names {
    /// The name of client `c`.
    pub fn client(&self, c: ClientId) -> &str {
        &self.clients[c as usize]
    }
    /// The name of key `k`.
    pub fn key(&self, k: KeyId) -> &str {
        &self.keys[k as usize]
    }
    /// The name of queue `q`.
    pub fn queue(&self, q: QueueId) -> &str {
        &self.queues[q as usize]
    }
    /// The name of topic `t`.
    pub fn topic(&self, t: TopicId) -> &str {
        &self.topics[t as usize]
    }
    /// The `group.id` of group `g`.
    pub fn group(&self, g: GroupId) -> &str {
        &self.groups[g as usize]
    }
}

/// How a message id prints everywhere: `m17`.
pub fn msg_name(id: MsgId) -> String {
    format!("m{id}")
}

/// A storage stream as the history names it: a partition the Kafka way
/// (`orders-0`), a durable queue's store by its queue (`queue work`), the
/// bookkeeping streams by their name (`offsets`).
pub fn stream_name(stream: crate::storage::StreamId, names: &Names) -> String {
    match stream {
        crate::storage::StreamId::Partition { topic, partition } => {
            let topic = names.topics.get(topic as usize);
            match topic {
                Some(name) => format!("{name}-{partition}"),
                None => stream.to_string(),
            }
        }
        crate::storage::StreamId::Queue { queue } => match names.queues.get(queue as usize) {
            Some(name) => format!("queue {name}"),
            None => stream.to_string(),
        },
        other => other.to_string(),
    }
}

/// A short phrase for why a message returned to its queue.
pub fn return_reason(reason: ReturnReason, names: &Names) -> String {
    match reason {
        ReturnReason::Nack => "basic.nack(requeue=true)".to_string(),
        ReturnReason::ChannelClosed(c) => format!("channel of {} closed", names.client(c)),
        ReturnReason::VisibilityTimeout => "visibility timeout expired".to_string(),
    }
}

/// How a delivery tag prints: `incarnation.n` (`1.395`).
pub fn tag_name(tag: DeliveryTag) -> String {
    format!("{}.{}", tag.incarnation, tag.n)
}
