//! The broker's last crash and the recovery after it, in words: what the
//! crash tore or lost, and what recovery cut from the log.
//!
//! A torn write is the disk's half of a crash: the batch being written
//! lands cut short (`crash_torn`, see [`crate::storage::Tear`]), and at the
//! restart recovery finds the damaged batch and truncates the log there, as
//! Kafka does. The history already says all this (`torn_write`,
//! `lost_in_crash`, `truncated`); this module turns it into the report the
//! page shows next to the results, so a learner sees what was cut without
//! reading the event log.
//!
//! [`CrashReader`] reads only the events added since its last call, so
//! keeping the report current costs nothing as the history grows.

use crate::broker::log::LogNote;
use crate::broker::Note;
use crate::history::{stream_name, Entry, History, Names, Proc};
use std::fmt::Write as _;

/// What one broker crash did to the log, and what the restart's recovery
/// found. Built from the history only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LastCrash {
    /// Virtual ms of the crash.
    pub crashed_ms: u64,
    /// The batch the disk was writing landed cut short: which stream, and
    /// how many of its bytes reached the disk.
    pub torn: Option<Torn>,
    /// Records appended but not yet on disk when the broker died (never
    /// acknowledged with `acks=all`): gone with the crash.
    pub lost_records: u64,
    /// Virtual ms of the restart, once the broker came back.
    pub restarted_ms: Option<u64>,
    /// What recovery cut at the restart, one line per damaged stream.
    pub truncated: Vec<String>,
}

/// A batch that reached the disk cut short.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Torn {
    /// The stream's name (`orders-0`, or a bookkeeping stream).
    pub stream: String,
    /// Bytes of the batch that landed.
    pub kept_bytes: u32,
    /// The batch's whole length.
    pub batch_len: u32,
}

impl LastCrash {
    /// The report's sentences: the crash, then the restart's recovery.
    pub fn text(&self) -> String {
        let mut text = format!("Broker crash at {}: ", seconds(self.crashed_ms));
        match &self.torn {
            Some(t) => {
                let _ = write!(
                    text,
                    "the write in flight was torn: its last batch ({}) reached the disk with {} of its {} bytes.",
                    t.stream, t.kept_bytes, t.batch_len
                );
            }
            None => text.push_str("no write was in flight, so nothing was torn."),
        }
        if self.lost_records > 0 {
            let _ = write!(
                text,
                " {} records not yet on disk were lost (none of them had been acknowledged).",
                self.lost_records
            );
        }
        match self.restarted_ms {
            None => text.push_str(" The broker is down; recovery runs at its restart."),
            Some(ms) if self.truncated.is_empty() => {
                let _ = write!(
                    text,
                    " Restart at {}: recovery found every stored batch whole and cut nothing.",
                    seconds(ms)
                );
            }
            Some(ms) => {
                let _ = write!(
                    text,
                    " Restart at {}: recovery truncated {}.",
                    seconds(ms),
                    self.truncated.join("; ")
                );
            }
        }
        text
    }
}

/// "12.345 s".
fn seconds(ms: u64) -> String {
    format!("{}.{:03} s", ms / 1000, ms % 1000)
}

/// One recovery cut, as the page says it: "orders-0 at offset 57 (torn:
/// 1 batches, 37 bytes dropped)". `None` for any note but `Truncated`, so
/// the crash report and the Resume report both hand over the note as is.
pub fn describe_truncation(note: &LogNote, names: &Names) -> Option<String> {
    let LogNote::Truncated {
        stream,
        offset,
        cause,
        dropped_batches,
        dropped_bytes,
        ..
    } = *note
    else {
        return None;
    };
    Some(format!(
        "{} at offset {offset} ({}: {dropped_batches} batches, {dropped_bytes} bytes dropped)",
        stream_name(stream, names),
        cause.name()
    ))
}

/// Reads the history as it grows and keeps the last broker crash's report.
#[derive(Clone, Debug, Default)]
pub struct CrashReader {
    /// Events already read: the history only grows, so the rest is new.
    scanned: usize,
    /// The last crash seen, updated by what followed it.
    last: Option<LastCrash>,
}

impl CrashReader {
    /// Reads the events added since the last call; the last crash's report.
    pub fn read(&mut self, history: &History, names: &Names) -> Option<&LastCrash> {
        let events = history.events();
        assert!(self.scanned <= events.len(), "the history only grows");
        for ev in events.iter_from(self.scanned) {
            self.apply(ev.time_ms, ev.process, &ev.entry, names);
        }
        self.scanned = events.len();
        self.last.as_ref()
    }

    fn apply(&mut self, time_ms: u64, process: Proc, entry: &Entry, names: &Names) {
        if !matches!(process, Proc::Broker(_)) {
            return;
        }
        if *entry == Entry::Crash {
            self.last = Some(LastCrash {
                crashed_ms: time_ms,
                ..LastCrash::default()
            });
            return;
        }
        let Some(last) = self.last.as_mut() else {
            return;
        };
        match entry {
            Entry::Restart => last.restarted_ms = Some(time_ms),
            Entry::Broker(Note::Log(note)) => note_after_crash(last, note, names),
            _ => {}
        }
    }
}

/// What a log note after a crash adds to its report.
fn note_after_crash(last: &mut LastCrash, note: &LogNote, names: &Names) {
    match *note {
        LogNote::TornWrite {
            stream,
            kept_bytes,
            batch_len,
        } => {
            last.torn = Some(Torn {
                stream: stream_name(stream, names),
                kept_bytes,
                batch_len,
            });
        }
        LogNote::LostInCrash { from, to, .. } if last.restarted_ms.is_none() => {
            last.lost_records += to - from;
        }
        LogNote::Truncated { .. } if last.restarted_ms.is_some() => {
            last.truncated.extend(describe_truncation(note, names));
        }
        _ => {}
    }
}
