//! The lesson file: the data a lesson is made of, and the rules it must obey.
//!
//! Every struct denies unknown fields and every enum is closed, so a typo in a
//! lesson file (`"crash_brokr"`, a counter that does not exist) is an error
//! that names the file and the field instead of a control that silently never
//! shows. [`Lesson::validate`] (in `validate.rs`) then checks what the types
//! cannot say: the setup is a valid scenario, every action of the solution
//! is one of the lesson's controls, clients named by goals and actions
//! exist, bounds hold.

use crate::app::cluster::BrokerButton;
use crate::config::{Acks, ClientSpec, Guarantee, IsolationLevel, Scenario};
use serde::{Deserialize, Serialize};

/// Upper bounds on one lesson, so a lesson stays a short page.
pub mod bounds {
    /// Intro steps before the prediction.
    pub const INTRO_STEPS_MAX: usize = 12;
    /// Characters of one paragraph (an intro step, a hint, a goal line...).
    pub const TEXT_CHARS_MAX: usize = 900;
    /// Goals on the checklist.
    pub const GOALS_MAX: usize = 8;
    /// Hints, shown one at a time.
    pub const HINTS_MAX: usize = 8;
    /// Timed actions of the solution.
    pub const SOLUTION_ACTIONS_MAX: usize = 32;
    /// Choices of the prediction.
    pub const CHOICES_MAX: usize = 6;
    /// Conditions one choice combines.
    pub const CONDITIONS_PER_CHOICE_MAX: usize = 4;
    /// Clients the learner may add (`add_consumer`).
    pub const ADDABLE_CLIENTS_MAX: usize = 4;
    /// Real broker settings the debrief names.
    pub const DEBRIEF_SETTINGS_MAX: usize = 10;
}

/// One lesson, parsed and validated. Built by [`Lesson::from_json`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    /// The file stem (`03_broker_crash`): deep links and stored progress use it.
    pub id: String,
    /// The heading of the lesson.
    pub title: String,
    /// The one idea the lesson teaches, in a sentence (the lesson index lists it).
    pub concept: String,
    /// Short steps of text read before the prediction.
    pub intro: Vec<IntroStep>,
    /// The system the experiment runs on: a scenario, validated like a file
    /// in `scenarios/` (errors name `setup.<field>`).
    pub setup: Scenario,
    /// What the learner may do; the page hides or disables everything else.
    pub controls: Vec<Control>,
    /// Clients `add_consumer` adds, in this order: the lesson decides what
    /// a new consumer is (its group, where it starts reading).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<ClientSpec>,
    /// Asked before the run; its answer is computed from the run.
    pub prediction: Prediction,
    /// The checklist that ticks itself while the run goes on.
    pub goals: Vec<Goal>,
    /// Shown one at a time, when the learner asks.
    pub hints: Vec<String>,
    /// A learner's actions that reach every goal from the setup's seed.
    pub solution: Vec<TimedAction>,
    /// Read after the run: what happened, in the real brokers' words.
    pub debrief: Debrief,
}

/// One intro step: a paragraph and, optionally, a picture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntroStep {
    /// The paragraph (plain text, never HTML).
    pub text: String,
    /// A picture shown beside the paragraph.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<Picture>,
}

/// The pictures an intro step may name. The page draws each one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Picture {
    /// The lesson's own setup, drawn as the playground draws a run.
    System,
    /// Producers, a broker in the middle, consumers: why a broker at all.
    Broker,
    /// A queue: ready messages, a delivery held unacked, the ack that deletes.
    Queue,
    /// A partitioned log: offsets, and a consumer group's committed offset.
    Log,
    /// A read-process-write transaction: input offsets and output records
    /// committed together by the coordinator.
    Transaction,
}

/// A control the page may offer the learner: the closed list of what a
/// lesson can allow (the file lists them by these names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    /// Play, pause and step the run (every lesson has it).
    Play,
    /// Crash the broker now.
    CrashBroker,
    /// Restart a crashed broker.
    RestartBroker,
    /// Crash one consumer now.
    CrashConsumer,
    /// Restart a crashed consumer.
    RestartConsumer,
    /// Toggle a consumer's processing ten times slower.
    SlowConsumer,
    /// Add the next consumer of the lesson's `add` list.
    AddConsumer,
    /// Drop the publisher confirms (produce responses) on every producer's
    /// link for a while, as a flaky network would.
    DropConfirms,
    /// Before the run: the log producers' `acks`.
    SetAcks,
    /// Before the run: the delivery guarantee of both ends.
    SetGuarantee,
    /// Before the run: the partitions of every topic.
    SetPartitions,
    /// Before the run: when a log consumer commits its offsets.
    SetCommit,
    /// Before the run: a log consumer's `isolation.level`.
    SetIsolation,
    /// A cluster's broker: crash it (`Crash broker b1`).
    CrashNode,
    /// A cluster's broker: restart it.
    RestartNode,
    /// A cluster's broker: cut it off from the other brokers only.
    CutNode,
    /// A cluster's broker: cut it off from brokers, controller and clients.
    IsolateNode,
    /// A cluster's broker: its links come back.
    HealNode,
}

impl Control {
    /// Every control, in the order a page lists them.
    pub const ALL: [Control; 18] = [
        Control::Play,
        Control::CrashBroker,
        Control::RestartBroker,
        Control::CrashConsumer,
        Control::RestartConsumer,
        Control::SlowConsumer,
        Control::AddConsumer,
        Control::DropConfirms,
        Control::SetAcks,
        Control::SetGuarantee,
        Control::SetPartitions,
        Control::SetCommit,
        Control::SetIsolation,
        Control::CrashNode,
        Control::RestartNode,
        Control::CutNode,
        Control::IsolateNode,
        Control::HealNode,
    ];

    /// The name used in lesson files (`crash_broker`).
    pub fn name(self) -> &'static str {
        match self {
            Control::Play => "play",
            Control::CrashBroker => "crash_broker",
            Control::RestartBroker => "restart_broker",
            Control::CrashConsumer => "crash_consumer",
            Control::RestartConsumer => "restart_consumer",
            Control::SlowConsumer => "slow_consumer",
            Control::AddConsumer => "add_consumer",
            Control::DropConfirms => "drop_confirms",
            Control::SetAcks => "set_acks",
            Control::SetGuarantee => "set_guarantee",
            Control::SetPartitions => "set_partitions",
            Control::SetCommit => "set_commit",
            Control::SetIsolation => "set_isolation",
            Control::CrashNode => "crash_node",
            Control::RestartNode => "restart_node",
            Control::CutNode => "cut_node",
            Control::IsolateNode => "isolate_node",
            Control::HealNode => "heal_node",
        }
    }

    /// The cluster page's button behind a broker control (`None` for the
    /// others): a cluster lesson's buttons are named as that page's.
    pub fn node_button(self) -> Option<BrokerButton> {
        match self {
            Control::CrashNode => Some(BrokerButton::Crash),
            Control::RestartNode => Some(BrokerButton::Restart),
            Control::CutNode => Some(BrokerButton::Cut),
            Control::IsolateNode => Some(BrokerButton::Isolate),
            Control::HealNode => Some(BrokerButton::Heal),
            _ => None,
        }
    }

    /// True for the choices made before the run starts: they change the
    /// setup itself, which a running world cannot take back.
    pub fn before_run(self) -> bool {
        matches!(
            self,
            Control::SetAcks
                | Control::SetGuarantee
                | Control::SetPartitions
                | Control::SetCommit
                | Control::SetIsolation
        )
    }
}

/// When a log consumer commits its offsets (the `set_commit` choice).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitChoice {
    /// `commitSync` before processing a poll's records: at most once.
    BeforeProcessing,
    /// `commitSync` after each record's effect: at least once.
    AfterProcessing,
    /// `enable.auto.commit=true`: `poll()` commits what the previous polls
    /// returned (processed by then) every `auto.commit.interval.ms`.
    AutoCommit,
}

/// What a learner does, as the page's controls and the solution say it.
/// Read by [`action`] (through [`crate::json::tagged`]), not serde's
/// internally tagged derive: that one buffers every field in serde's
/// `Content` and weighed 20 KB in the page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Crash the broker.
    CrashBroker,
    /// Restart the crashed broker.
    RestartBroker,
    /// Crash consumer `target`.
    CrashConsumer {
        /// The consumer's id.
        target: String,
    },
    /// Restart consumer `target`.
    RestartConsumer {
        /// The consumer's id.
        target: String,
    },
    /// Toggle consumer `target` slow (ten times its processing time) or back.
    SlowConsumer {
        /// The consumer's id.
        target: String,
    },
    /// Add the next client of the lesson's `add` list.
    AddConsumer,
    /// Drop publisher confirms on every live producer's link for a while.
    DropConfirms,
    /// Before the run: every log producer's `acks`.
    SetAcks {
        /// `0`, `1` or `all`.
        value: Acks,
    },
    /// Before the run: the delivery guarantee.
    SetGuarantee {
        /// `at_most_once`, `at_least_once`, `exactly_once_idempotent` or
        /// `exactly_once_transactional`.
        value: Guarantee,
    },
    /// Before the run: partitions of every topic.
    SetPartitions {
        /// Partitions per topic.
        value: u32,
    },
    /// Before the run: when log consumer `target` commits.
    SetCommit {
        /// The log consumer's id.
        target: String,
        /// Before or after processing, or `enable.auto.commit`.
        value: CommitChoice,
    },
    /// Before the run: log consumer `target`'s `isolation.level`.
    SetIsolation {
        /// The log consumer's id.
        target: String,
        /// `read_committed` or `read_uncommitted`.
        value: IsolationLevel,
    },
    /// Crash broker `broker` of a cluster.
    CrashNode {
        /// `b1` … `b5`.
        broker: String,
    },
    /// Restart broker `broker` of a cluster.
    RestartNode {
        /// `b1` … `b5`.
        broker: String,
    },
    /// Cut broker `broker` off from the other brokers; the controller and
    /// the clients still reach it.
    CutNode {
        /// `b1` … `b5`.
        broker: String,
    },
    /// Cut broker `broker` off from everyone.
    IsolateNode {
        /// `b1` … `b5`.
        broker: String,
    },
    /// Heal broker `broker`'s links.
    HealNode {
        /// `b1` … `b5`.
        broker: String,
    },
}

impl Action {
    /// The control that offers this action.
    pub fn control(&self) -> Control {
        match self {
            Action::CrashBroker => Control::CrashBroker,
            Action::RestartBroker => Control::RestartBroker,
            Action::CrashConsumer { .. } => Control::CrashConsumer,
            Action::RestartConsumer { .. } => Control::RestartConsumer,
            Action::SlowConsumer { .. } => Control::SlowConsumer,
            Action::AddConsumer => Control::AddConsumer,
            Action::DropConfirms => Control::DropConfirms,
            Action::SetAcks { .. } => Control::SetAcks,
            Action::SetGuarantee { .. } => Control::SetGuarantee,
            Action::SetPartitions { .. } => Control::SetPartitions,
            Action::SetCommit { .. } => Control::SetCommit,
            Action::SetIsolation { .. } => Control::SetIsolation,
            Action::CrashNode { .. } => Control::CrashNode,
            Action::RestartNode { .. } => Control::RestartNode,
            Action::CutNode { .. } => Control::CutNode,
            Action::IsolateNode { .. } => Control::IsolateNode,
            Action::HealNode { .. } => Control::HealNode,
        }
    }

    /// The broker a cluster action names.
    pub fn broker(&self) -> Option<&str> {
        match self {
            Action::CrashNode { broker }
            | Action::RestartNode { broker }
            | Action::CutNode { broker }
            | Action::IsolateNode { broker }
            | Action::HealNode { broker } => Some(broker),
            _ => None,
        }
    }

    /// The cluster action of `control` (a broker control) on `broker`.
    pub fn on_node(control: Control, broker: String) -> Option<Action> {
        Some(match control {
            Control::CrashNode => Action::CrashNode { broker },
            Control::RestartNode => Action::RestartNode { broker },
            Control::CutNode => Action::CutNode { broker },
            Control::IsolateNode => Action::IsolateNode { broker },
            Control::HealNode => Action::HealNode { broker },
            _ => return None,
        })
    }

    /// The client the action names, if it names one.
    pub fn target(&self) -> Option<&str> {
        match self {
            Action::CrashConsumer { target }
            | Action::RestartConsumer { target }
            | Action::SlowConsumer { target }
            | Action::SetCommit { target, .. }
            | Action::SetIsolation { target, .. } => Some(target),
            _ => None,
        }
    }
}

/// One step of a solution: `{"at_ms": 400, "action": "crash_broker"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimedAction {
    /// Virtual time of the action (0 for the choices made before the run).
    pub at_ms: u64,
    /// What is done then.
    #[serde(flatten)]
    pub action: Action,
}

/// By hand, because serde's `flatten` lets unknown fields through: a field
/// the action does not take (`"target"` on `crash_broker`) is refused.
/// `at_ms` is read like a tag (see [`crate::json::tagged`]), so the checks
/// run inside the object and an error names this step of the solution.
impl<'de> Deserialize<'de> for TimedAction {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<TimedAction, D::Error> {
        crate::json::tagged(d, "a map", "at_ms", timed_action)
    }
}

/// A [`TimedAction`] from its `at_ms` and its other fields (the action).
fn timed_action(
    at_ms: serde_json::Value,
    given: serde_json::Value,
) -> Result<TimedAction, serde_json::Error> {
    use serde::de::Error;
    let at_ms = u64::deserialize(at_ms).map_err(|e| Error::custom(format!("at_ms: {e}")))?;
    let action = crate::json::tagged(given, "a map", "action", action)?;
    Ok(TimedAction { at_ms, action })
}

/// The `action` of a solution step, as the file spells it. [`Control`]
/// without `Play`, not `Control` itself: an unknown action's message lists
/// exactly the actions, as serde's derive on [`Action`] did.
#[derive(Deserialize)]
#[serde(variant_identifier, rename_all = "snake_case")]
enum ActionKind {
    CrashBroker,
    RestartBroker,
    CrashConsumer,
    RestartConsumer,
    SlowConsumer,
    AddConsumer,
    DropConfirms,
    SetAcks,
    SetGuarantee,
    SetPartitions,
    SetCommit,
    SetIsolation,
    CrashNode,
    RestartNode,
    CutNode,
    IsolateNode,
    HealNode,
}

/// The fields of an action on one broker of a cluster.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OnBroker {
    /// `b1` … `b5`.
    broker: String,
}

/// The fields of an action on one client.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Aimed {
    /// The client's id.
    target: String,
}

/// The fields of a choice made before the run.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Chosen<T> {
    /// What is chosen.
    value: T,
}

/// The fields of a choice made before the run for one client.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AimedChoice<T> {
    /// The client's id.
    target: String,
    /// What is chosen.
    value: T,
}

/// An [`Action`] from its kind and its other fields, with serde's messages
/// for a missing, unknown or mistyped field. An action without fields
/// refuses any: serde would let them through.
fn action(kind: ActionKind, fields: serde_json::Value) -> Result<Action, serde_json::Error> {
    use serde_json::from_value as read;
    let unit = |action: Action| match fields.as_object().and_then(|m| m.keys().next()) {
        Some(key) => Err(serde::de::Error::custom(format!(
            "unknown field `{key}`: `{}` does not take it",
            action.control().name()
        ))),
        None => Ok(action),
    };
    let aimed = |f: serde_json::Value| read::<Aimed>(f).map(|a| a.target);
    Ok(match kind {
        ActionKind::CrashBroker => unit(Action::CrashBroker)?,
        ActionKind::RestartBroker => unit(Action::RestartBroker)?,
        ActionKind::AddConsumer => unit(Action::AddConsumer)?,
        ActionKind::DropConfirms => unit(Action::DropConfirms)?,
        ActionKind::CrashConsumer => Action::CrashConsumer {
            target: aimed(fields)?,
        },
        ActionKind::RestartConsumer => Action::RestartConsumer {
            target: aimed(fields)?,
        },
        ActionKind::SlowConsumer => Action::SlowConsumer {
            target: aimed(fields)?,
        },
        ActionKind::SetAcks => Action::SetAcks {
            value: read::<Chosen<_>>(fields)?.value,
        },
        ActionKind::SetGuarantee => Action::SetGuarantee {
            value: read::<Chosen<_>>(fields)?.value,
        },
        ActionKind::SetPartitions => Action::SetPartitions {
            value: read::<Chosen<_>>(fields)?.value,
        },
        ActionKind::SetCommit => {
            let AimedChoice { target, value } = read(fields)?;
            Action::SetCommit { target, value }
        }
        ActionKind::SetIsolation => {
            let AimedChoice { target, value } = read(fields)?;
            Action::SetIsolation { target, value }
        }
        node => {
            let broker = read::<OnBroker>(fields)?.broker;
            match node {
                ActionKind::CrashNode => Action::CrashNode { broker },
                ActionKind::RestartNode => Action::RestartNode { broker },
                ActionKind::CutNode => Action::CutNode { broker },
                ActionKind::IsolateNode => Action::IsolateNode { broker },
                _ => Action::HealNode { broker },
            }
        }
    })
}

/// The question asked before the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prediction {
    /// The question, about the experiment the learner is about to run.
    pub question: String,
    /// The answers offered; the true one is the one whose conditions the run
    /// meets (the file never says which).
    pub choices: Vec<Choice>,
}

/// One answer of the prediction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// The answer as the learner reads it.
    pub text: String,
    /// True when every condition holds at the end of the run.
    pub when: Vec<Condition>,
}

/// A line of the checklist.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Goal {
    /// The line as the learner reads it.
    pub text: String,
    /// With `at_least`, a goal to reach (ticked the first time it holds);
    /// with `at_most`, one to keep (failed the first time it does not).
    pub when: Condition,
}

/// A bound on one measured number: `{"counter": "lost", "at_least": 1}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// What is measured.
    pub counter: Counter,
    /// The client, for counters about one client (`processed_by`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// Holds when the value is at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<u64>,
    /// Holds when the value is at most this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<u64>,
}

impl Condition {
    /// Whether `value` is inside the bounds.
    pub fn holds(&self, value: u64) -> bool {
        self.at_least.is_none_or(|n| value >= n) && self.at_most.is_none_or(|n| value <= n)
    }
}

/// The numbers a goal or a choice may bound: the live checker's counts, the
/// world's state sampled during the run, and facts read from the history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Counter {
    /// Messages published (first sends).
    Published,
    /// Publishes the broker confirmed (`ok`).
    Confirmed,
    /// Messages processed at least once.
    Processed,
    /// Confirmed messages never processed and gone (log: lost-write),
    /// which nothing the broker promised explains.
    Lost,
    /// Confirmed transient messages a broker crash took: the loss RabbitMQ
    /// promises for a transient message or queue.
    TransientLost,
    /// Messages processed more than once.
    Duplicated,
    /// A producer's message processed after a later one of the same producer.
    OutOfOrder,
    /// The same, among messages with one key.
    OutOfOrderPerKey,
    /// Deliveries flagged `redelivered=true`.
    Redelivered,
    /// Re-sends after a confirm (produce response) never came.
    PublishRetries,
    /// Log: one message appended at more than one offset.
    LogDuplicates,
    /// Records of aborted transactions a consumer read (G1a), as listed by
    /// the checker (at most 20 are listed: enough to say whether it happened).
    AbortedReads,
    /// Records read before their transaction committed (precommitted-read),
    /// listed the same way.
    PrecommittedReads,
    /// Broker crashes so far.
    BrokerCrashes,
    /// Consumer crashes so far.
    ConsumerCrashes,
    /// Transactions the coordinator aborted.
    AbortedTransactions,
    /// The most messages waiting at once, sampled through the run: a queue
    /// broker's held messages (ready + unacked), a log's lag of its first
    /// consumer group.
    BacklogPeak,
    /// The same for the fullest single queue or partition.
    QueuePeak,
    /// Messages processed by `client`.
    ProcessedBy,
    /// A cluster: crashes of a broker that led a partition then (the
    /// controller's leader).
    LeaderCrashes,
    /// A cluster: a partition's leader cut off (from the other brokers,
    /// or from everyone).
    LeaderIsolations,
}

impl Counter {
    /// The name used in lesson files.
    pub fn name(self) -> &'static str {
        match self {
            Counter::Published => "published",
            Counter::Confirmed => "confirmed",
            Counter::Processed => "processed",
            Counter::Lost => "lost",
            Counter::TransientLost => "transient_lost",
            Counter::Duplicated => "duplicated",
            Counter::OutOfOrder => "out_of_order",
            Counter::OutOfOrderPerKey => "out_of_order_per_key",
            Counter::Redelivered => "redelivered",
            Counter::PublishRetries => "publish_retries",
            Counter::LogDuplicates => "log_duplicates",
            Counter::AbortedReads => "aborted_reads",
            Counter::PrecommittedReads => "precommitted_reads",
            Counter::BrokerCrashes => "broker_crashes",
            Counter::ConsumerCrashes => "consumer_crashes",
            Counter::AbortedTransactions => "aborted_transactions",
            Counter::BacklogPeak => "backlog_peak",
            Counter::QueuePeak => "queue_peak",
            Counter::ProcessedBy => "processed_by",
            Counter::LeaderCrashes => "leader_crashes",
            Counter::LeaderIsolations => "leader_isolations",
        }
    }

    /// True for the counters about one client (the condition names it).
    pub fn needs_client(self) -> bool {
        self == Counter::ProcessedBy
    }
}

/// Read after the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Debrief {
    /// Paragraphs: what the run showed and why.
    pub text: Vec<String>,
    /// The real brokers' settings behind it.
    pub settings: Vec<RealSetting>,
}

/// A real broker's setting, by its real name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealSetting {
    /// Exactly as the broker spells it (`acks`, `min.insync.replicas`).
    pub name: String,
    /// Which brokers have it (`Kafka`, `RabbitMQ`, `SQS`).
    pub broker: String,
    /// What it does, in a sentence.
    pub meaning: String,
}
