//! Resuming the page's stored log after a reload: the setup saved with it.
//!
//! A log in IndexedDB is only half of what a reload needs. To go on with the
//! run, the page must also build the same system again: the same broker
//! kind, partitions, delivery guarantee, seed and clients. So when a log run
//! starts (and whenever a client is added to it) the page saves its
//! [`Setup`] next to the log, and on the next visit offers "Resume" (rebuild
//! that setup on the stored log, [`crate::app::session::Session::resume_with_store`])
//! or "Start fresh" (delete both).
//!
//! ## Where the setup is kept, and why there
//!
//! In the same IndexedDB database as the log, in its `meta` object store
//! under the key `storage::idb::SETUP_KEY`, not in `localStorage`:
//!
//! - **One lifetime.** The browser evicts or clears an origin's IndexedDB
//!   data as a unit; a setup in `localStorage` could outlive its log or
//!   vanish without it. "Start fresh" deletes both in one transaction.
//! - **One owner.** Writes to the log are fenced by the owner epoch so that
//!   two tabs never interleave (`storage::ownership`); the setup write goes
//!   through the same writer and the same fence. `localStorage` is shared by
//!   every tab with no such guard.
//! - **In order.** The setup is queued before the run's first flush, so a log
//!   with records always has the setup it was written under (unless that
//!   write itself failed, which the page reports as a missing setup).
//!
//! The saved text is versioned JSON ([`SAVED_SETUP_VERSION`]). A missing,
//! unreadable or newer one is an error with a message saying what and where
//! ([`from_text`]); the page then offers only "Start fresh", never panics.

use crate::app::playground::Setup;
use crate::broker::log::{Carried, LogNote, PartitionId, TopicId};
use crate::broker::Note;
use crate::history::Entry;
use crate::storage::acked::{describe_missing, Missing};
use crate::world::World;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Format of the saved text. Bump it when [`Setup`] changes incompatibly.
pub const SAVED_SETUP_VERSION: u32 = 1;
/// A saved setup is a few hundred bytes; anything this large is not one.
pub const SAVED_SETUP_BYTES_MAX: usize = 64 * 1024;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Saved {
    version: u32,
    setup: Setup,
}

/// The text saved next to the log.
pub fn to_text(setup: &Setup) -> String {
    let saved = Saved {
        version: SAVED_SETUP_VERSION,
        setup: setup.clone(),
    };
    serde_json::to_string(&saved).expect("a setup always serializes")
}

/// Reads a saved setup back. The error says what is wrong and at which
/// field (`setup.partitions: invalid type ...`), and that Start fresh helps.
pub fn from_text(text: &str) -> Result<Setup, String> {
    if text.len() > SAVED_SETUP_BYTES_MAX {
        return Err(format!(
            "the saved setup is {} bytes, more than {SAVED_SETUP_BYTES_MAX}: not one this page wrote",
            text.len()
        ));
    }
    let saved: Saved = crate::json::from_str(text)
        .map_err(|e| format!("the saved setup is unreadable at `{}`: {}", e.path, e.error))?;
    if saved.version != SAVED_SETUP_VERSION {
        return Err(format!(
            "the saved setup has format version {}, this page reads version {SAVED_SETUP_VERSION}",
            saved.version
        ));
    }
    saved
        .setup
        .to_scenario()
        .map_err(|e| format!("the saved setup cannot run: {e}"))?;
    Ok(saved.setup)
}

/// One line for the banner: "Log, At least once, 3 partitions, seed 1,
/// 1 producer and 2 consumers".
pub fn describe(setup: &Setup) -> String {
    let plural = |n: usize, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    let durability = match setup.broker {
        crate::app::playground::BrokerKind::Queue => format!(
            ", {} queues, {} messages",
            if setup.durable_queues {
                "durable"
            } else {
                "transient"
            },
            if setup.persistent {
                "persistent"
            } else {
                "transient"
            },
        ),
        crate::app::playground::BrokerKind::Log => String::new(),
    };
    format!(
        "{}, {}, {}, seed {}, {} and {}{durability}",
        setup.broker.label(),
        setup.delivery.label(),
        plural(setup.partitions as usize, "partition"),
        setup.seed,
        plural(setup.producers.len(), "producer"),
        plural(setup.consumers.len(), "consumer"),
    )
}

/// What a Resume brought back, as the page tells it: how many records the
/// earlier visit had acknowledged and how many of them came back (from the
/// `acked_before` notes, written when the page's record of
/// acknowledgements survived), which ones are missing, how many were
/// written but never acknowledged, and what recovery cut.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResumeReport {
    /// Records carried over (`carried` notes).
    pub carried: u64,
    /// Of them, below a group's committed offset: consumed then.
    pub consumed: u64,
    /// The page's record of acknowledgements was there to check against.
    pub checked: bool,
    /// Acknowledged before the page closed and recovered.
    pub recovered: u64,
    /// Acknowledged before the page closed and gone, per partition.
    pub missing: Vec<Missing>,
    /// Carried but never acknowledged: written, durable, and no producer
    /// was told so (past the record's frontier, or in a transaction still
    /// open).
    pub unacknowledged: u64,
    /// What recovery cut, one text per stream.
    pub truncated: Vec<String>,
    /// A queue broker's resume: what its durable queues brought back.
    pub queues: Option<QueuesBack>,
}

/// What a queue broker's resume brought back (from its `carried` notes),
/// and what it could not (transient messages, by design; store entries the
/// disk lost, from the page's record).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueuesBack {
    /// Persistent messages back in their durable queues.
    pub messages: u64,
    /// Of them, written but never confirmed before the page closed.
    pub unconfirmed: u64,
    /// Of them, delivered then and not acked: back `redelivered`.
    pub redelivered: u64,
    /// Messages the earlier visit held in memory only when it last wrote
    /// its record (`None`: no record survived).
    pub in_memory_before: Option<u64>,
}

impl ResumeReport {
    /// Reads a just-resumed world's history (the notes its resume wrote).
    pub fn of(world: &World) -> ResumeReport {
        let names = world.names();
        let mut report = ResumeReport::default();
        let mut acked_ends: BTreeMap<(TopicId, PartitionId), u64> = BTreeMap::new();
        if world.broker().as_queue().is_some() {
            report.queues = Some(QueuesBack::default());
        }
        for ev in world.history().events() {
            if let (
                Entry::Broker(Note::Carried {
                    confirmed,
                    redelivered,
                    ..
                }),
                Some(back),
            ) = (ev.entry, report.queues.as_mut())
            {
                back.messages += 1;
                back.unconfirmed += u64::from(!confirmed);
                back.redelivered += u64::from(redelivered);
                report.carried += 1;
                report.recovered += u64::from(confirmed);
                report.unacknowledged += u64::from(!confirmed);
                continue;
            }
            let Entry::Broker(Note::Log(note)) = ev.entry else {
                continue;
            };
            match note {
                LogNote::AckedBefore {
                    topic,
                    partition,
                    acked_end,
                    recovered_end,
                } => {
                    report.checked = true;
                    acked_ends.insert((topic, partition), acked_end);
                    if recovered_end < acked_end {
                        report.missing.push(Missing {
                            partition: format!("{}-{partition}", names.topic(topic)),
                            from: recovered_end,
                            to: acked_end,
                        });
                    }
                }
                LogNote::Carried {
                    topic,
                    partition,
                    offset,
                    carried,
                    ..
                } => {
                    let end = acked_ends.get(&(topic, partition)).copied();
                    report.carry(carried, end.map(|end| offset < end));
                }
                note @ LogNote::Truncated { .. } => {
                    report
                        .truncated
                        .extend(super::recovery::describe_truncation(&note, names));
                }
                _ => {}
            }
        }
        report
    }

    /// One carried record; `below_checkpoint` says whether it is below its
    /// partition's acknowledged frontier (`None`: no record to check).
    fn carry(&mut self, carried: Carried, below_checkpoint: Option<bool>) {
        self.carried += 1;
        self.consumed += u64::from(carried == Carried::Consumed);
        let durable = matches!(carried, Carried::Consumed | Carried::Acked);
        match (carried, below_checkpoint) {
            // A refused write (its transaction aborted): neither.
            (Carried::Aborted, _) => {}
            (_, Some(true)) | (_, None) if durable => self.recovered += 1,
            _ => self.unacknowledged += 1,
        }
    }

    /// For a queue resume: what the page's record of the earlier visit
    /// says (`record`, if one survived) and what it found missing on load
    /// (`missing`, from [`crate::storage::acked::Vanished`]).
    pub fn with_record(
        mut self,
        record: Option<&crate::storage::acked::AckedRecord>,
        missing: &[Missing],
    ) -> ResumeReport {
        if let Some(back) = self.queues.as_mut() {
            back.in_memory_before = record.map(|r| r.in_memory);
            self.checked = record.is_some();
            self.missing = missing.iter().filter(|m| m.is_queue()).cloned().collect();
        }
        self
    }

    /// Acknowledged before the page closed: recovered plus gone.
    pub fn acked_before(&self) -> u64 {
        self.recovered + self.missing.iter().map(Missing::count).sum::<u64>()
    }

    /// The banner's accessible name.
    pub fn headline(&self) -> String {
        if self.queues.is_some() {
            return match self.missing.is_empty() {
                true => "Resumed the durable queues of an earlier visit".to_string(),
                false => {
                    "Resumed the durable queues of an earlier visit: store entries are missing"
                        .to_string()
                }
            };
        }
        if self.missing.is_empty() {
            "Resumed the log of an earlier visit".to_string()
        } else {
            "Resumed the log of an earlier visit: acknowledged records are missing".to_string()
        }
    }

    /// The banner's text, in one piece.
    pub fn text(&self) -> String {
        let parts = self.paragraphs();
        let parts = parts.iter().filter(|p| !p.is_empty());
        parts.cloned().collect::<Vec<_>>().join(" ")
    }

    /// The banner's paragraphs: acknowledged against recovered (and what is
    /// missing); what was written but never acknowledged (empty without a
    /// record); what was consumed then, and what recovery cut.
    pub fn paragraphs(&self) -> [String; 3] {
        if let Some(back) = &self.queues {
            return self.queue_paragraphs(back);
        }
        let (acked, written) = if self.checked {
            let k = self.acked_before();
            let mut acked = format!(
                "{k} {} acknowledged before the page closed; {} of {k} recovered.",
                records_were(k),
                self.recovered
            );
            if !self.missing.is_empty() {
                acked += &format!(
                    " Missing: {}. The disk lost them; the checker counts them as lost.",
                    describe_missing(&self.missing)
                );
            }
            let written = match self.unacknowledged {
                0 => "No recovered record was written without being acknowledged.".to_string(),
                n => format!(
                    "{n} more {} written to the log but never acknowledged: no producer heard back, so {} unconfirmed, not confirmed.",
                    records_were(n),
                    if n == 1 { "it counts as" } else { "they count as" }
                ),
            };
            (acked, written)
        } else {
            let acked = format!(
                "No record of what was acknowledged survived (it is kept in this browser's localStorage), \
                 so all {} recovered records count as acknowledged.",
                self.recovered
            );
            (acked, String::new())
        };
        let mut consumed = format!(
            "{} of the {} recovered records lie below the group's committed offsets (consumed then: counted as published and processed).",
            self.consumed, self.carried
        );
        if self.truncated.is_empty() {
            consumed += " Nothing was truncated.";
        } else {
            consumed += &format!(" Truncated: {}.", self.truncated.join("; "));
        }
        [acked, written, consumed]
    }
}

impl ResumeReport {
    /// [`ResumeReport::paragraphs`] for durable queues: what came back
    /// (confirmed or not, redelivered), what could not (transient
    /// messages, by design; store entries the disk lost), and that nothing
    /// is replayed.
    fn queue_paragraphs(&self, back: &QueuesBack) -> [String; 3] {
        let mut came = format!(
            "{} persistent {} back in the durable queues, {} of them confirmed before the page closed",
            back.messages,
            messages_came(back.messages),
            back.messages - back.unconfirmed,
        );
        if back.unconfirmed > 0 {
            came += &format!(
                " and {} written but never confirmed (they count as unconfirmed)",
                back.unconfirmed
            );
        }
        came += &format!(
            ". {} had been delivered and not acked, so {} back with redelivered set, as after a RabbitMQ restart.",
            back.redelivered,
            if back.redelivered == 1 { "it comes" } else { "they come" },
        );
        if !self.missing.is_empty() {
            came += &format!(
                " Missing: {}. The disk lost entries that were on disk when the page last confirmed a message; confirmed messages may be among them.",
                describe_missing(&self.missing)
            );
        }
        if !self.checked {
            came += " No record of the confirms survived (it is kept in this browser's localStorage), so every message back counts as confirmed.";
        }
        let gone = match back.in_memory_before {
            Some(0) => "The earlier visit held no transient messages: nothing was lost by design.".to_string(),
            Some(n) => format!(
                "{n} {} held in memory only (transient messages, or queues that are not durable) when the page closed: gone, as a RabbitMQ restart loses them. Only persistent messages in durable queues are written to disk.",
                if n == 1 { "message was" } else { "messages were" }
            ),
            None => "Transient messages (and those of queues that are not durable) lived in memory only: whatever the earlier visit held of them is gone, as a RabbitMQ restart loses them.".to_string(),
        };
        let replay = "Nothing is replayed: a message acked before the page closed stays deleted."
            .to_string();
        [came, gone, replay]
    }
}

/// "1 message is" / "3 messages are".
fn messages_came(n: u64) -> &'static str {
    if n == 1 {
        "message is"
    } else {
        "messages are"
    }
}

/// "1 record was" / "3 records were".
fn records_were(n: u64) -> &'static str {
    if n == 1 {
        "record was"
    } else {
        "records were"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::playground::BrokerKind;
    use crate::config::Guarantee;

    fn log_setup() -> Setup {
        Setup {
            broker: BrokerKind::Log,
            delivery: Guarantee::ExactlyOnceIdempotent,
            partitions: 3,
            seed: 42,
            ..Setup::default()
        }
    }

    #[test]
    fn a_saved_setup_reads_back_the_same() {
        let setup = log_setup();
        assert_eq!(from_text(&to_text(&setup)), Ok(setup.clone()));
        assert_eq!(
            describe(&setup),
            "Log, Exactly once (idempotent), 3 partitions, seed 42, 1 producer and 2 consumers"
        );
    }

    #[test]
    fn a_broken_saved_setup_says_what_and_where() {
        let good = to_text(&log_setup());
        let cases = [
            ("", "unreadable at `.`"),
            ("{\"version\":1}", "missing field `setup`"),
            (
                &good.replace("\"partitions\":3", "\"partitions\":\"x\""),
                "`setup.partitions`",
            ),
            (
                &good.replace("\"partitions\":3", "\"partitions\":0"),
                "Partitions",
            ),
            (
                &good.replace("\"version\":1", "\"version\":9"),
                "format version 9",
            ),
            (&good.replace("\"log\"", "\"kafka\""), "`setup.broker`"),
        ];
        for (text, want) in cases {
            let error = from_text(text).expect_err(text);
            assert!(error.contains(want), "{text:?}: {error}");
        }
        let huge = "x".repeat(SAVED_SETUP_BYTES_MAX + 1);
        assert!(from_text(&huge).unwrap_err().contains("bytes"));
    }
}
