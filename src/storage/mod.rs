//! Durable storage for the brokers: record batches, a `fsync` you can crash
//! in the middle of, and Kafka-style recovery.
//!
//! Everything a broker wants to survive a crash goes through the [`Storage`]
//! trait: partition logs, committed consumer offsets, idempotent-producer
//! state and transaction state. Each is a named *stream* ([`StreamId`]) of
//! [record batches](batch::RecordBatch) protected by a CRC-32C.
//!
//! | module | what it holds |
//! |---|---|
//! | [`acked`] | what the page had acknowledged, kept outside its database (`brokerlab.acked`), and the comparison with a recovered log |
//! | [`batch`] | the record batch and its byte layout (encode, checked decode) |
//! | [`journal`] | the bookkeeping both stores share: pending, in flight, durable |
//! | [`recovery`] | turning a durable image back into batches, truncating at damage |
//! | [`memory`] | a simulated disk (runs natively and in the browser) |
//! | [`ownership`] | one writing tab per log: the lease and the fencing epoch |
//! | `idb` | IndexedDB, the real disk of a browser tab (wasm32 only) |
//! | `locks` | the lease through the Web Locks API (wasm32 only) |
//!
//! ## The life of a write
//!
//! ```text
//!  append(stream, batch)     begin_flush(now_ms)          flush_state(id, now_ms)
//!  ─────────────────────►  pending ────────────► in flight ─────────────────► durable
//!  (in memory, lost on     (one group commit:      (completes at now_ms +     (survives
//!   crash)                  every pending batch)    fsync_latency_ms)          crash)
//! ```
//!
//! - `append` only buffers. Nothing is durable yet, exactly like `write(2)`
//!   without `fsync`.
//! - `begin_flush` seals *everything* pending into one flush (group commit:
//!   one `fsync` for many batches, as Kafka and RabbitMQ do) and returns a
//!   [`FlushTicket`] with the virtual time the flush completes at.
//! - `flush_state` answers [`FlushState::InProgress`], `Durable` or
//!   `Failed`. Only after `Durable` may the broker send a durable ack
//!   (`acks=all`, or a publisher confirm of a persistent message).
//! - `crash` drops what is pending and what is in flight; with
//!   [`Tear::LastBatch`] the batch the disk was writing is left half written.
//! - `recover` reads the durable image back the way Kafka recovers a log:
//!   batch by batch, CRC checked, truncating each stream at its first damaged
//!   batch, and says what it kept and what it cut ([`recovery::RecoveryReport`]).
//! - `truncate` cuts a stream at an offset, for damage a CRC cannot see: the
//!   bytes are the ones written, but the reader (the broker) finds a record
//!   it could not have written there.
//!
//! The stores never read a clock and never draw random numbers: the caller
//! passes virtual time in (`now_ms`) and chooses the tear. The same calls give
//! the same result, natively and in the browser.
//!
//! ## Keeping a real disk and a deterministic simulation together
//!
//! The IndexedDB store writes for real, and a real write takes however long
//! the browser takes. The simulation must not depend on that, yet a durable
//! ack must not go out before the data is on disk. The rule that gives both:
//!
//! 1. A flush has a *virtual* completion time, `now_ms + fsync_latency_ms`,
//!    fixed when it begins. The world schedules its "flush done" event then.
//! 2. When that event comes, the world asks `flush_state`. The memory store
//!    says `Durable`. The IndexedDB store says `Durable` only once its
//!    IndexedDB transaction has fired `complete`; until then `InProgress`.
//! 3. On `InProgress` at completion time the world *pauses*: it processes no
//!    further event. The browser driver awaits
//!    `IdbStore::wait_durable(id)` and then resumes the world, which asks
//!    again and now gets `Durable` (or `Failed`). The page lets the world run
//!    a little past the completion time first (`World::set_disk_run_ahead_ms`):
//!    nothing is acked meanwhile, and what arrives waits for the next group
//!    commit; the memory store is never late, so its runs never change.
//!
//! Virtual time therefore never passes a completion time whose transaction has
//! not committed, so what the simulation acks is really on disk, and the
//! *order* of events is the same whether the disk took 1 ms or 100 ms: the
//! run stays a pure function of (scenario, seed).
//!
//! A crash at virtual time `t` keeps exactly the flushes that were durable by
//! `t` (completion time reached and, for IndexedDB, committed). A flush still
//! in flight is undone: the IndexedDB store queues a repair transaction that
//! deletes its batches, even if the browser had already committed them,
//! because in the simulated timeline the power went out first.

pub mod acked;
pub mod batch;
pub mod journal;
pub mod memory;
pub mod ownership;
pub mod recovery;

#[cfg(target_arch = "wasm32")]
pub mod idb;
#[cfg(target_arch = "wasm32")]
pub mod locks;

pub use batch::{BatchEncoder, DecodeError, EncodeError, EncodedBatch, Record, RecordBatch};
pub use journal::{Journal, Limits};
pub use memory::MemoryStore;
pub use recovery::{Recovery, RecoveryReport, Truncation, TruncationCause};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Names one durable stream: one log per partition, plus the broker's own
/// bookkeeping logs. Small (fits a `u64`, see [`StreamId::code`]) because
/// every stored batch carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum StreamId {
    /// The log of one partition. Topics are numbered by the broker.
    Partition {
        /// The topic's index in the broker's topic list.
        topic: u16,
        /// The partition's index within its topic.
        partition: u16,
    },
    /// Committed consumer offsets (Kafka's `__consumer_offsets`).
    Offsets,
    /// Idempotent-producer state: producer id, epoch, last sequence numbers.
    Producers,
    /// Transaction coordinator state (Kafka's `__transaction_state`).
    Txn,
    /// The message store of one durable queue of the queue broker: its
    /// persistent messages coming and going (RabbitMQ's queue index).
    Queue {
        /// The queue's index in the broker's queue list.
        queue: u16,
    },
}

const TAG_PARTITION: u64 = 1;
const TAG_OFFSETS: u64 = 2;
const TAG_PRODUCERS: u64 = 3;
const TAG_TXN: u64 = 4;
const TAG_QUEUE: u64 = 5;

impl StreamId {
    /// A stable number for storage: tag in bits 32..40, topic in 16..32,
    /// partition in 0..16 (a queue's index in 0..16).
    pub fn code(self) -> u64 {
        match self {
            StreamId::Partition { topic, partition } => {
                TAG_PARTITION << 32 | u64::from(topic) << 16 | u64::from(partition)
            }
            StreamId::Offsets => TAG_OFFSETS << 32,
            StreamId::Producers => TAG_PRODUCERS << 32,
            StreamId::Txn => TAG_TXN << 32,
            StreamId::Queue { queue } => TAG_QUEUE << 32 | u64::from(queue),
        }
    }

    /// Inverse of [`code`](Self::code); `None` for a number we never write.
    pub fn from_code(code: u64) -> Option<StreamId> {
        let low = code & 0xffff_ffff;
        match code >> 32 {
            TAG_PARTITION => Some(StreamId::Partition {
                topic: (low >> 16) as u16,
                partition: (low & 0xffff) as u16,
            }),
            TAG_OFFSETS if low == 0 => Some(StreamId::Offsets),
            TAG_PRODUCERS if low == 0 => Some(StreamId::Producers),
            TAG_TXN if low == 0 => Some(StreamId::Txn),
            TAG_QUEUE if low <= u64::from(u16::MAX) => Some(StreamId::Queue { queue: low as u16 }),
            _ => None,
        }
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamId::Partition { topic, partition } => {
                write!(f, "topic {topic} partition {partition}")
            }
            StreamId::Offsets => write!(f, "offsets"),
            StreamId::Producers => write!(f, "producers"),
            StreamId::Txn => write!(f, "txn"),
            StreamId::Queue { queue } => write!(f, "queue {queue}"),
        }
    }
}

/// Identifies one flush (one group commit). Increases by one per flush and is
/// never reused, not even across a crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlushId(pub u64);

/// What [`Storage::begin_flush`] hands back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlushTicket {
    /// The flush; ask [`Storage::flush_state`] about it.
    pub id: FlushId,
    /// Virtual time at which the flush's `fsync` completes: schedule the
    /// "flush done" event for then and ask [`Storage::flush_state`].
    pub completes_at_ms: u64,
    /// Batches sealed into this group commit (0 is allowed: an empty `fsync`).
    pub batch_count: usize,
}

/// Where a flush stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlushState {
    /// Not durable yet: the completion time has not come, or (IndexedDB) the
    /// transaction has not committed. A durable ack must wait.
    InProgress,
    /// On disk; survives any crash from now on.
    Durable,
    /// Will never be durable (the write failed, or a crash came first).
    Failed(StorageError),
}

/// How a crash treats the batch the disk was writing. The store never decides
/// this itself: the simulation draws it from its seeded PRNG and passes it in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tear {
    /// Every in-flight write is lost cleanly.
    None,
    /// The oldest in-flight flush was being written: its batches before the
    /// last reach the disk whole, its last batch reaches it cut to
    /// `keep_bytes` bytes (clamped below the batch's length, so it is always
    /// torn), and newer flushes are lost.
    LastBatch {
        /// Bytes of the last batch that reach the disk (before clamping).
        keep_bytes: u32,
    },
}

/// What a crash destroyed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrashReport {
    /// Appended but never sealed into a flush.
    pub lost_pending_batches: usize,
    /// Flushes in flight at the crash (their tickets now answer `Failed`).
    pub lost_flushes: Vec<FlushId>,
    /// The half-written batch, if the crash tore one.
    pub torn: Option<TornBatch>,
}

/// The batch a crash tore, and how much of it reached the disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornBatch {
    /// The stream it belonged to.
    pub stream: StreamId,
    /// Bytes of it on the disk.
    pub kept_bytes: usize,
    /// Its whole length.
    pub batch_len: usize,
}

/// Everything that can go wrong, each with a message a learner can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageError {
    /// IndexedDB does not exist or refuses to open (private browsing,
    /// disabled storage, a sandboxed frame). The app falls back to the memory
    /// store and says so.
    Unavailable {
        /// What the browser said.
        reason: String,
    },
    /// The database could not be opened because another tab keeps an older
    /// version of it open and does not close it (an older build of the page).
    Blocked,
    /// Another tab owns this log (holds its lock). Open it read-only, or take
    /// it over.
    OtherTab {
        /// The log's database.
        db_name: String,
    },
    /// Another tab took this log over: this tab's lease was revoked or its
    /// owner epoch is no longer the database's. Its writes are refused.
    TakenOver {
        /// The log's database.
        db_name: String,
    },
    /// The store was opened read-only; take the log over to write.
    ReadOnly {
        /// The log's database.
        db_name: String,
    },
    /// The browser's storage quota is used up. Durable writes stop; what was
    /// already durable stays.
    QuotaExceeded {
        /// The browser's message.
        detail: String,
    },
    /// Another tab upgraded or deleted the database; this connection closed.
    VersionChange,
    /// A previous failure stopped durable writes (see `cause`).
    WritesStopped {
        /// The failure that stopped them.
        cause: Box<StorageError>,
    },
    /// The flush was in flight when the broker crashed.
    LostInCrash,
    /// After a crash or an open, call [`Storage::recover`] before writing.
    NotRecovered,
    /// More pending data than [`Limits`] allows: flush first.
    PendingFull {
        /// Batches pending.
        pending_batches: usize,
        /// Their bytes.
        pending_bytes: usize,
    },
    /// More flushes in flight than [`Limits::in_flight_flushes_max`].
    TooManyFlushes {
        /// Flushes already in flight.
        in_flight: usize,
    },
    /// The batch does not start where the stream's log ends.
    OffsetGap {
        /// The stream appended to.
        stream: StreamId,
        /// Where its log ends.
        expected: u64,
        /// Where the batch starts.
        found: u64,
    },
    /// The batch could not be encoded.
    Encode(EncodeError),
    /// Stored data failed its checks (reported by recovery, which truncates).
    Corrupt {
        /// The damaged stream.
        stream: StreamId,
        /// Index of the bad batch among the stream's stored batches.
        batch_index: usize,
        /// What the check found.
        error: DecodeError,
    },
    /// Any other IndexedDB failure, with the DOMException's name and message.
    Io {
        /// The DOMException's name (`UnknownError`, ...).
        name: String,
        /// Its message.
        message: String,
    },
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use StorageError::*;
        match self {
            Unavailable { reason } => write!(
                f,
                "IndexedDB is unavailable ({reason}): running on the in-memory store, nothing survives a reload"
            ),
            Blocked => write!(f, "IndexedDB open blocked: another tab keeps an older version of the database open; close or reload it"),
            OtherTab { db_name } => write!(
                f,
                "another tab owns the log {db_name:?}: open it read-only, or take it over"
            ),
            TakenOver { db_name } => write!(
                f,
                "another tab took over the log {db_name:?}: this tab's writes are refused"
            ),
            ReadOnly { db_name } => write!(
                f,
                "the log {db_name:?} is open read-only in this tab: take it over to write"
            ),
            QuotaExceeded { detail } => write!(
                f,
                "storage quota exceeded ({detail}): durable writes stopped, data already durable is kept"
            ),
            VersionChange => write!(
                f,
                "another tab upgraded or deleted the database: this tab closed its connection"
            ),
            WritesStopped { cause } => write!(f, "durable writes stopped earlier: {cause}"),
            LostInCrash => write!(f, "the flush was still in flight when the broker crashed"),
            NotRecovered => write!(f, "the store must be recovered (after a crash or open) before writing"),
            PendingFull { pending_batches, pending_bytes } => write!(
                f,
                "pending writes full ({pending_batches} batches, {pending_bytes} bytes): flush first"
            ),
            TooManyFlushes { in_flight } => write!(f, "{in_flight} flushes already in flight"),
            OffsetGap { stream, expected, found } => write!(
                f,
                "{stream}: batch starts at offset {found} but the log ends at {expected}"
            ),
            Encode(error) => write!(f, "cannot encode batch: {error}"),
            Corrupt { stream, batch_index, error } => {
                write!(f, "corrupt data in {stream}, batch {batch_index}: {error}")
            }
            Io { name, message } => write!(f, "IndexedDB error {name}: {message}"),
        }
    }
}

impl std::error::Error for StorageError {}

impl StorageError {
    /// The disk is full: a `QuotaExceededError`, or writes stopped by one.
    pub fn is_quota(&self) -> bool {
        match self {
            StorageError::QuotaExceeded { .. } => true,
            StorageError::WritesStopped { cause } => cause.is_quota(),
            _ => false,
        }
    }

    /// Maps a failed IndexedDB request or transaction to a specific error.
    ///
    /// `name` is the DOMException's name; `inner_name` the name of the error
    /// behind it when there is one. Chromium reports a full disk as an
    /// `AbortError` on the transaction whose `error` is a
    /// `QuotaExceededError`, so both layers are looked at. Pure, so it is
    /// tested natively.
    pub fn from_dom(name: &str, message: &str, inner_name: Option<&str>) -> StorageError {
        let quota = "QuotaExceededError";
        if name == quota || (name == "AbortError" && inner_name == Some(quota)) {
            return StorageError::QuotaExceeded {
                detail: message.to_string(),
            };
        }
        match name {
            "SecurityError" | "NotAllowedError" => StorageError::Unavailable {
                reason: format!("{name}: {message}"),
            },
            _ => StorageError::Io {
                name: name.to_string(),
                message: message.to_string(),
            },
        }
    }
}

/// The contract every store keeps. Time is always passed in; nothing blocks.
pub trait Storage {
    /// Buffers `batch` at the end of `stream`'s pending writes. Not durable.
    /// The batch must start where the stream's log (durable, in flight and
    /// pending) ends, unless the stream is empty.
    fn append(&mut self, stream: StreamId, batch: &RecordBatch) -> Result<(), StorageError> {
        let encoded = batch.encoded().map_err(StorageError::Encode)?;
        self.append_encoded(stream, encoded)
    }

    /// [`append`](Self::append) of a batch already encoded (by
    /// [`BatchEncoder`], which writes records without building a
    /// [`Record`] each: what the broker's group commit uses).
    fn append_encoded(&mut self, stream: StreamId, batch: EncodedBatch)
        -> Result<(), StorageError>;

    /// Seals everything pending into one group commit.
    fn begin_flush(&mut self, now_ms: u64) -> Result<FlushTicket, StorageError>;

    /// Where flush `id` stands at virtual time `now_ms`. Also moves finished
    /// flushes into the durable image, oldest first.
    fn flush_state(&mut self, id: FlushId, now_ms: u64) -> FlushState;

    /// The broker process dies at `now_ms`: pending and in-flight writes are
    /// lost (or torn, per `tear`). Call [`recover`](Self::recover) next.
    fn crash(&mut self, now_ms: u64, tear: Tear) -> CrashReport;

    /// Rebuilds every stream from the durable image, truncating each at its
    /// first damaged batch (the damaged data is deleted, as Kafka truncates
    /// the segment file). Call after [`crash`](Self::crash) or after opening.
    fn recover(&mut self) -> Recovery;

    /// Deletes everything, durable data included ("start fresh" in the UI).
    fn start_fresh(&mut self);

    /// A copy of this store as it stands, for a timeline checkpoint (see
    /// `app::session::checkpoints`). A store that cannot be copied (one
    /// backed by IndexedDB) says `None` (the default), and its run keeps no
    /// checkpoints.
    fn checkpoint(&self) -> Option<Box<dyn Storage>> {
        None
    }

    /// Cuts `stream`'s log at `offset`, durably: records from `offset` on
    /// are gone, as Kafka truncates a segment. For damage the CRC cannot
    /// see: a batch that is intact but holds a record its reader (the
    /// broker) could not have written, or a cluster follower cutting a
    /// divergent tail. Nothing may be pending (flush what was appended
    /// first); flushes in flight lose their batches from `offset` on, and
    /// a real disk applies the cut in write order after them. The next
    /// append starts at `offset`. Says what it cut. A store that cannot do
    /// it refuses (the default), and the caller must not write to `stream`.
    fn truncate(&mut self, stream: StreamId, offset: u64) -> Result<Truncation, StorageError> {
        let _ = (stream, offset);
        Err(StorageError::Io {
            name: "NotSupportedError".into(),
            message: "this store cannot truncate a stream".into(),
        })
    }

    /// What a checkpoint kept *beside* this store says was acknowledged:
    /// per partition stream, the offset after the last record a producer
    /// was told is written. Kafka keeps such a checkpoint next to its log
    /// segments (the high watermark); the page keeps one in `localStorage`
    /// ([`acked`]). A broker resuming a log compares it with what recovery
    /// found, so a disk that lost acknowledged records cannot hide it.
    /// `None` (the default): no checkpoint, nothing to compare.
    fn acked_checkpoint(&self) -> Option<BTreeMap<StreamId, u64>> {
        None
    }
}

/// One store shared by several owners: a test keeps a handle on the "disk"
/// (to damage it, or to hand it to the next world as a reload would) while the
/// world writes through another. Single-threaded, like the simulation.
impl<S: Storage> Storage for std::rc::Rc<std::cell::RefCell<S>> {
    fn append_encoded(
        &mut self,
        stream: StreamId,
        batch: EncodedBatch,
    ) -> Result<(), StorageError> {
        self.borrow_mut().append_encoded(stream, batch)
    }
    fn begin_flush(&mut self, now_ms: u64) -> Result<FlushTicket, StorageError> {
        self.borrow_mut().begin_flush(now_ms)
    }
    fn flush_state(&mut self, id: FlushId, now_ms: u64) -> FlushState {
        self.borrow_mut().flush_state(id, now_ms)
    }
    fn crash(&mut self, now_ms: u64, tear: Tear) -> CrashReport {
        self.borrow_mut().crash(now_ms, tear)
    }
    fn recover(&mut self) -> Recovery {
        self.borrow_mut().recover()
    }
    fn start_fresh(&mut self) {
        self.borrow_mut().start_fresh()
    }
    fn truncate(&mut self, stream: StreamId, offset: u64) -> Result<Truncation, StorageError> {
        self.borrow_mut().truncate(stream, offset)
    }
    fn acked_checkpoint(&self) -> Option<BTreeMap<StreamId, u64>> {
        self.borrow().acked_checkpoint()
    }
}
