//! What the page had acknowledged, kept *outside* its database, so that a log
//! that vanishes does not vanish silently.
//!
//! The browser's storage is this broker's disk. A disk can fail: Chromium
//! sometimes drops a whole IndexedDB database after a crash and recreates it
//! empty on the next open (its own log says it created it "since it was
//! missing"). Nothing *inside* that database can tell the page a log existed,
//! so a second, tiny record lives next to it in `localStorage`, and on the
//! next load the page compares the two.
//!
//! ## The record
//!
//! Key [`ACKED_KEY`] (`brokerlab.acked`), value JSON (format [`ACKED_VERSION`]):
//!
//! ```json
//! {"version":1,"db":"brokerlab-log","partitions":{"orders-0":612,"orders-1":598},"acked":1210,"updated_ms":1767225600000}
//! ```
//!
//! - `db`: the IndexedDB database the log lives in.
//! - `partitions`: per partition (`<topic>-<partition>`), the durable
//!   frontier as of the last acknowledgement: the offset after the last
//!   acknowledged record, never past what the store had made durable. Every
//!   offset below it was on disk when the page wrote the record.
//! - `acked`: how many produce requests the page had acknowledged in all.
//! - `updated_ms`: `Date.now()` when the record was written.
//!
//! The page rewrites it at most every few hundred ms of real time and when
//! it is hidden or closed (`pagehide`, `visibilitychange`), so it can lag the
//! log by that much after a hard kill. It never runs ahead of the disk: a
//! frontier is written only once the flush that made it durable completed.
//! A lagging record can only under-report, never raise a false alarm. "Start
//! fresh" removes it. Outside tools (the CI kill loop) read this key too, so
//! change the format only with a new version number.
//!
//! Everything here is pure (no `web-sys`): the page reads and writes the text,
//! this module parses it and compares it with what recovery found.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The `localStorage` key of the record.
pub const ACKED_KEY: &str = "brokerlab.acked";
/// The record's format version.
pub const ACKED_VERSION: u32 = 1;
/// More partitions than any page can have: a record with more is not ours.
pub const ACKED_PARTITIONS_MAX: usize = 1024;
/// A record is a few hundred bytes; a larger value is not one.
pub const ACKED_BYTES_MAX: usize = 64 * 1024;

/// The record itself (see the module docs for the format).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AckedRecord {
    /// Format version, [`ACKED_VERSION`]: a reader refuses any other.
    pub version: u32,
    /// The database the log lives in: a record about another log is ignored.
    pub db: String,
    /// Per partition name (`orders-0`), the offset after the last record
    /// acknowledged and durable.
    pub partitions: BTreeMap<String, u64>,
    /// Produce requests acknowledged, in all (a queue run: publisher
    /// confirms received).
    pub acked: u64,
    /// `Date.now()` at the write: a deliberate clear of the database after
    /// this time makes the record stale (see [`AckedRecord::is_stale`]).
    pub updated_ms: u64,
    /// A queue run: per durable queue name (`work`), the end of its
    /// message store's stream on disk. Every publisher confirm the store
    /// sent was for an entry below it. Left out of a log run's record.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub queues: BTreeMap<String, u64>,
    /// A queue run: messages its queues held in memory only (transient
    /// messages, transient queues) at the write. A reload loses them by
    /// design, as a RabbitMQ restart does; the page says how many.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub in_memory: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The name a queue's store stream goes by among the recovered ends and
/// the missing ranges: `queue work`, apart from partition names.
pub fn queue_stream_name(queue: &str) -> String {
    format!("{QUEUE_PREFIX}{queue}")
}

const QUEUE_PREFIX: &str = "queue ";

/// Acknowledged offsets of one partition that did not come back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    /// Partition name, `orders-0`.
    pub partition: String,
    /// First missing offset: where the recovered log ends.
    pub from: u64,
    /// The record's frontier: one past the last missing offset.
    pub to: u64,
}

impl Missing {
    /// Records in `from..to`.
    pub fn count(&self) -> u64 {
        self.to - self.from
    }

    /// A queue's message store, not a log partition.
    pub fn is_queue(&self) -> bool {
        self.partition.starts_with(QUEUE_PREFIX)
    }
}

impl AckedRecord {
    /// An empty record for database `db`: nothing acknowledged yet.
    pub fn new(db: &str) -> AckedRecord {
        AckedRecord {
            version: ACKED_VERSION,
            db: db.to_string(),
            ..AckedRecord::default()
        }
    }

    /// The stored text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a record always serializes")
    }

    /// Reads a stored record back. The error says what is wrong and where.
    pub fn from_json(text: &str) -> Result<AckedRecord, String> {
        if text.len() > ACKED_BYTES_MAX {
            return Err(format!(
                "the record is {} bytes, more than {ACKED_BYTES_MAX}",
                text.len()
            ));
        }
        let record: AckedRecord = crate::json::from_str(text)
            .map_err(|e| format!("unreadable at `{}`: {}", e.path, e.error))?;
        if record.version != ACKED_VERSION {
            return Err(format!(
                "format version {}, this page reads version {ACKED_VERSION}",
                record.version
            ));
        }
        if record.partitions.len() > ACKED_PARTITIONS_MAX {
            return Err(format!(
                "{} partitions, more than {ACKED_PARTITIONS_MAX}",
                record.partitions.len()
            ));
        }
        Ok(record)
    }

    /// Offsets acknowledged over all partitions (the sum of the frontiers).
    pub fn acked_offsets(&self) -> u64 {
        self.partitions.values().sum()
    }

    /// The record predates a deliberate clear of its database (Start fresh,
    /// or a new run) at `cleared_ms`: the log it describes was deleted on
    /// purpose, and comparing would raise a false alarm. (`localStorage` and
    /// IndexedDB reach the disk separately, so after a kill the clear may
    /// have landed while the record's removal did not.)
    pub fn is_stale(&self, cleared_ms: Option<u64>) -> bool {
        cleared_ms.is_some_and(|cleared| cleared >= self.updated_ms)
    }

    /// What the record says was acknowledged and the recovered log does not
    /// hold. `recovered_ends` gives, per partition name, the offset after the
    /// last recovered record (a partition not listed recovered nothing), and
    /// per queue ([`queue_stream_name`]) the end of its recovered store.
    pub fn missing(&self, recovered_ends: &BTreeMap<String, u64>) -> Vec<Missing> {
        let queues = self
            .queues
            .iter()
            .map(|(q, &to)| (queue_stream_name(q), to));
        let streams = self.partitions.iter().map(|(p, &to)| (p.clone(), to));
        let mut missing = Vec::new();
        for (partition, to) in streams.chain(queues) {
            let from = recovered_ends.get(&partition).copied().unwrap_or(0);
            if from < to {
                missing.push(Missing {
                    partition,
                    from,
                    to,
                });
            }
        }
        missing
    }
}

/// `orders-0` → (`orders`, 0). Topic names may hold `-` themselves, so the
/// partition is after the last one.
pub fn split_partition_name(name: &str) -> Option<(&str, u16)> {
    let (topic, partition) = name.rsplit_once('-')?;
    Some((topic, partition.parse().ok()?))
}

/// "orders-0 offsets 600..620 (20), orders-1 offsets 0..598 (598)".
pub fn describe_missing(missing: &[Missing]) -> String {
    let mut text = String::new();
    for (i, m) in missing.iter().enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        let what = match m.is_queue() {
            true => "store entries",
            false => "offsets",
        };
        let _ = write!(
            text,
            "{} {what} {}..{} ({})",
            m.partition,
            m.from,
            m.to,
            m.count()
        );
    }
    text
}

/// What the page found of its database on load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// The browser had no such database: it was created anew.
    Missing,
    /// The database is there, with no partition records.
    Empty,
    /// The database holds records.
    Present,
}

/// A log that came back short of what the page had acknowledged: what the
/// banner on load says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vanished {
    /// Missing, empty or shorter.
    pub found: Found,
    /// The acknowledged offsets that did not come back, per partition.
    pub missing: Vec<Missing>,
    /// The record's `acked`: produce requests acknowledged in all.
    pub acked: u64,
    /// What the browser said when it opened the database: Chromium's
    /// `dataLoss` / `dataLossMessage` on `upgradeneeded`, if any.
    pub browser_report: Option<String>,
}

impl Vanished {
    /// Compares `record` with what the page found (`recovered_ends` as in
    /// [`AckedRecord::missing`]); `None` when every acknowledged offset is
    /// back, or the record is about another database.
    pub fn check(
        record: &AckedRecord,
        db: &str,
        found: Found,
        recovered_ends: &BTreeMap<String, u64>,
        browser_report: Option<String>,
    ) -> Option<Vanished> {
        if record.db != db {
            return None;
        }
        let missing = record.missing(recovered_ends);
        if missing.is_empty() {
            return None;
        }
        Some(Vanished {
            found,
            missing,
            acked: record.acked,
            browser_report,
        })
    }

    /// Acknowledged records that did not come back, in all.
    pub fn gone(&self) -> u64 {
        self.missing.iter().map(Missing::count).sum()
    }

    /// The banner's accessible name.
    pub fn headline(&self) -> String {
        let n = self.gone();
        if self.about_queues() {
            let entries = if n == 1 { "entry" } else { "entries" };
            return format!("{n} store {entries} are gone from the stored durable queues");
        }
        let records = if n == 1 { "record" } else { "records" };
        format!("{n} acknowledged {records} are gone from the stored log")
    }

    /// Every missing range is a queue's store.
    fn about_queues(&self) -> bool {
        self.missing.iter().all(Missing::is_queue)
    }

    /// The banner's paragraphs: what is gone, what the browser said, what
    /// it means.
    pub fn paragraphs(&self) -> [String; 3] {
        if self.about_queues() {
            return self.queue_paragraphs();
        }
        let found = match self.found {
            Found::Missing => {
                "The browser no longer has the log's database: it was created anew, empty."
            }
            Found::Empty => "The log's database is there but holds no records.",
            Found::Present => "The log's database came back shorter than what was acknowledged.",
        };
        let report = match &self.browser_report {
            Some(report) => format!("The browser reported: {report}."),
            None => "The browser reported nothing.".to_string(),
        };
        [
            format!(
                "{found} Missing: {}. Before the page closed it had acknowledged {} produce requests.",
                describe_missing(&self.missing),
                self.acked,
            ),
            report,
            "What this means: the browser's storage is this broker's disk, and the disk failed. \
             The broker acknowledged only what IndexedDB said was on disk; a disk that drops \
             committed data loses acknowledged records, as it would under a real broker."
                .to_string(),
        ]
    }

    /// The banner's text, in one piece.
    pub fn text(&self) -> String {
        self.paragraphs().join(" ")
    }

    /// [`Vanished::paragraphs`] for durable queues: their stores came back
    /// short of what was on disk when the page last confirmed a message.
    fn queue_paragraphs(&self) -> [String; 3] {
        let found = match self.found {
            Found::Missing => "The browser no longer has the database of the durable queues: it was created anew, empty.",
            Found::Empty => "The database of the durable queues is there but holds no messages.",
            Found::Present => "The durable queues' stores came back shorter than what was on disk when the page last confirmed a message.",
        };
        [
            format!(
                "{found} Missing: {}. Before the page closed, producers had received {} publisher confirms; \
                 confirmed persistent messages were in those entries, so some may be gone (acked ones may come back instead).",
                describe_missing(&self.missing),
                self.acked,
            ),
            match &self.browser_report {
                Some(report) => format!("The browser reported: {report}."),
                None => "The browser reported nothing.".to_string(),
            },
            "What this means: the browser's storage is this broker's disk, and the disk failed. \
             A publisher confirm went out only once IndexedDB said the message was on disk; a disk \
             that drops committed data loses confirmed messages, as it would under a real RabbitMQ."
                .to_string(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> AckedRecord {
        AckedRecord {
            partitions: [("orders-0".to_string(), 12), ("orders-1".to_string(), 7)].into(),
            acked: 19,
            updated_ms: 1_000,
            ..AckedRecord::new("brokerlab-log")
        }
    }

    #[test]
    fn the_record_reads_back_in_the_documented_format() {
        let text = record().to_json();
        assert_eq!(
            text,
            r#"{"version":1,"db":"brokerlab-log","partitions":{"orders-0":12,"orders-1":7},"acked":19,"updated_ms":1000}"#
        );
        assert_eq!(AckedRecord::from_json(&text), Ok(record()));
    }

    #[test]
    fn a_broken_record_says_what_and_where() {
        let good = record().to_json();
        let cases = [
            ("", "unreadable at `.`"),
            (&good.replace(":12", ":\"x\""), "`partitions.orders-0`"),
            (&good.replace("\"version\":1", "\"version\":2"), "version 2"),
            (&good.replace("\"acked\"", "\"ack\""), "unknown field `ack`"),
        ];
        for (text, want) in cases {
            let error = AckedRecord::from_json(text).expect_err(text);
            assert!(error.contains(want), "{text:?}: {error}");
        }
        let huge = "x".repeat(ACKED_BYTES_MAX + 1);
        assert!(AckedRecord::from_json(&huge).unwrap_err().contains("bytes"));
    }

    #[test]
    fn missing_offsets_are_those_past_the_recovered_end() {
        let r = record();
        let all_back: BTreeMap<String, u64> =
            [("orders-0".to_string(), 12), ("orders-1".to_string(), 9)].into();
        assert!(r.missing(&all_back).is_empty(), "more than acked is fine");
        let short: BTreeMap<String, u64> = [("orders-0".to_string(), 10)].into();
        let missing = r.missing(&short);
        assert_eq!(
            describe_missing(&missing),
            "orders-0 offsets 10..12 (2), orders-1 offsets 0..7 (7)"
        );
        assert_eq!(missing.iter().map(Missing::count).sum::<u64>(), 9);
    }

    #[test]
    fn a_vanished_log_is_reported_with_the_browsers_words() {
        let r = record();
        let none = BTreeMap::new();
        let gone = Vanished::check(&r, "brokerlab-log", Found::Missing, &none, None).unwrap();
        assert_eq!(gone.gone(), 19);
        assert_eq!(
            gone.headline(),
            "19 acknowledged records are gone from the stored log"
        );
        let text = gone.text();
        assert!(text.contains("created anew"), "{text}");
        assert!(text.contains("orders-0 offsets 0..12 (12)"), "{text}");
        assert!(text.contains("The browser reported nothing."), "{text}");
        assert!(text.contains("the disk failed"), "{text}");
        let said = Some("total: the backing store was corrupt".to_string());
        let gone = Vanished::check(&r, "brokerlab-log", Found::Missing, &none, said).unwrap();
        assert!(gone.text().contains("reported: total: the backing store"));
        assert_eq!(
            Vanished::check(&r, "another-db", Found::Missing, &none, None),
            None
        );
    }

    #[test]
    fn a_record_older_than_a_deliberate_clear_is_stale() {
        let r = record();
        assert!(!r.is_stale(None));
        assert!(!r.is_stale(Some(999)));
        assert!(r.is_stale(Some(1_000)));
        assert_eq!(
            split_partition_name("orders.out-3"),
            Some(("orders.out", 3))
        );
        assert_eq!(split_partition_name("a-b-1"), Some(("a-b", 1)));
        assert_eq!(split_partition_name("orders"), None);
    }
}
