//! Exchanges and their bindings: which queues one published message goes to.
//!
//! The default exchange (`""`) routes straight to the queue its routing key
//! names, so it needs no state; the declared ones are `fanout`, `direct`,
//! `topic`, `headers` and `x-consistent-hash`.

use super::{headers, topic};
use crate::broker::{HeadersId, KeyId, QueueId};
use crate::config::{ExchangeKind, Headers, QueueBrokerSpec};

/// The hash the `x-consistent-hash` exchange routes a key by.
pub fn key_hash(key: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key.as_bytes())
}

/// One binding of an exchange.
#[derive(Clone, Debug)]
struct Binding {
    /// The bound queue.
    queue: QueueId,
    /// `direct`: the routing key to match.
    key: Option<KeyId>,
    /// `topic`: the pattern to match.
    pattern: Option<String>,
    /// `headers`: `x-match` and the header values to match.
    arguments: Headers,
}

/// One declared exchange.
#[derive(Clone, Debug)]
struct ExchangeConfig {
    /// How it picks queues.
    kind: ExchangeKind,
    /// The queues bound to it, in declaration order.
    bindings: Vec<Binding>,
}

/// Every declared exchange, and the keys messages are routed by.
#[derive(Clone, Debug)]
pub(super) struct Exchanges {
    /// By exchange index ([`crate::broker::Target::Exchange`]).
    exchanges: Vec<ExchangeConfig>,
    /// Each key's name (the routing key, for `topic` exchanges).
    key_names: Vec<String>,
    /// Hash of each key, for `x-consistent-hash`.
    key_hashes: Vec<u64>,
    /// Message header tables by [`HeadersId`], for `headers` exchanges.
    /// Bound: the producers in the scenario.
    header_tables: Vec<Headers>,
}

impl Exchanges {
    /// The scenario's exchanges. `key_of` maps a binding key to its
    /// [`KeyId`]; `key_names[k]` is the name of key `k`.
    pub(super) fn from_spec(
        spec: &QueueBrokerSpec,
        key_of: &dyn Fn(&str) -> Option<KeyId>,
        key_names: &[String],
    ) -> Exchanges {
        let index = |name: &str| spec.queues.iter().position(|q| q.name == name);
        let exchanges = spec
            .exchanges
            .iter()
            .map(|x| ExchangeConfig {
                kind: x.kind,
                bindings: x
                    .bindings
                    .iter()
                    // Validated: every binding names a declared queue.
                    .filter_map(|b| {
                        Some(Binding {
                            queue: QueueId::try_from(index(&b.queue)?).ok()?,
                            key: b.routing_key.as_deref().and_then(key_of),
                            pattern: b.routing_key.clone(),
                            arguments: b.arguments.clone(),
                        })
                    })
                    .collect(),
            })
            .collect();
        Exchanges {
            exchanges,
            key_names: key_names.to_vec(),
            key_hashes: key_names.iter().map(|k| key_hash(k)).collect(),
            header_tables: Vec::new(),
        }
    }

    /// A message header table interned by the world; tables only grow at
    /// the end, so its index is its [`HeadersId`].
    pub(super) fn add_headers(&mut self, table: &Headers) {
        self.header_tables.push(table.clone());
    }

    /// A key interned mid-run; keys only ever grow at the end.
    pub(super) fn add_key(&mut self, name: &str) {
        self.key_names.push(name.to_string());
        self.key_hashes.push(key_hash(name));
    }

    /// The queues one message goes to through exchange `x`.
    pub(super) fn route(
        &self,
        x: u32,
        key: Option<KeyId>,
        headers: Option<HeadersId>,
    ) -> Vec<QueueId> {
        let ex = &self.exchanges[x as usize];
        match ex.kind {
            ExchangeKind::Fanout => ex.bindings.iter().map(|b| b.queue).collect(),
            ExchangeKind::Direct => ex
                .bindings
                .iter()
                .filter(|b| b.key.is_some() && b.key == key)
                .map(|b| b.queue)
                .collect(),
            ExchangeKind::Topic => {
                let routing_key = key.map_or("", |k| self.key_names[k as usize].as_str());
                let mut to: Vec<QueueId> = ex
                    .bindings
                    .iter()
                    .filter(|b| {
                        b.pattern
                            .as_deref()
                            .is_some_and(|p| topic::matches(p, routing_key))
                    })
                    .map(|b| b.queue)
                    .collect();
                // A queue bound twice still gets one copy.
                to.dedup();
                to
            }
            ExchangeKind::Headers => {
                let none = Headers::new();
                let table = headers.map_or(&none, |h| &self.header_tables[h as usize]);
                let mut to: Vec<QueueId> = ex
                    .bindings
                    .iter()
                    .filter(|b| headers::matches(&b.arguments, table))
                    .map(|b| b.queue)
                    .collect();
                to.dedup();
                to
            }
            ExchangeKind::ConsistentHash => {
                let hash = key.map_or(0, |k| self.key_hashes[k as usize]);
                let n = ex.bindings.len() as u64;
                vec![ex.bindings[(hash % n) as usize].queue]
            }
        }
    }
}
