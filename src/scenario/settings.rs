//! Live client settings: a producer's rate or keys, a consumer's processing
//! time, prefetch or ack mode, changed while the run goes on.
//!
//! Why a list in the scenario and not just a setter: a change made by a
//! person clicking in the page must be replayable. Like a fault, every change
//! is a [`SettingSpec`](crate::config::SettingSpec) at a virtual time, appended to the world's scenario
//! (so "export the current setup as a scenario file" carries it) and recorded
//! as a `setting` event in the history (so the event log shows it and the
//! same seed plus the same changes gives the same history byte for byte).
//!
//! Every change takes effect from the next decision the client makes; what
//! is already under way is left alone, as a real client library does:
//!
//! | setting | takes effect | what it leaves alone |
//! |---|---|---|
//! | `rate_per_s` | the publish slot after the one already scheduled | messages already sent, retries |
//! | `keys` | the next message published | retries keep their key and partition |
//! | `processing` | the next message started | the message in progress keeps its time |
//! | `prefetch` (queue) | `basic.qos` on the channel: the broker's next dispatch | a lowered prefetch does not take back unacked deliveries (RabbitMQ's `basic.qos` does not either); none are sent until the count drops below it |
//! | `prefetch` (log: `max.poll.records`) | the next `poll()` | the records of the poll in flight or in hand |
//! | `ack_mode` (queue) | the next delivery started | deliveries in hand already acked (before) stay acked |
//!
//! What is refused, with the reason: `ack_mode` when the scenario's
//! `guarantee` sets it (the guarantee's verdict judges the modes it set, so
//! changing one would make the verdict judge something the client no longer
//! does); switching to or from `auto` (`no_ack` is a flag of `basic.consume`:
//! RabbitMQ needs `basic.cancel` and a new `basic.consume` for it, which is
//! not modelled); a log consumer's commit mode (a `commitSync` in flight
//! decides what the batch may do, so a switch mid-batch has no clean meaning
//! here); and `prefetch` of a transactional client (fixed for a transaction's
//! lifetime in this model).

use crate::config::setting::bounds;
use crate::config::{AckMode, ClientSpec, ProcessingSpec, Scenario, ScenarioError, Setting};

fn err<T>(path: String, reason: impl Into<String>) -> Result<T, ScenarioError> {
    Err(ScenarioError {
        path,
        reason: reason.into(),
    })
}

/// Checks every change of `s.settings`; an error names `settings[N].field`.
pub fn validate(s: &Scenario) -> Result<(), ScenarioError> {
    if s.settings.len() > bounds::SETTINGS_MAX {
        return err(
            "settings".into(),
            format!("at most {} changes", bounds::SETTINGS_MAX),
        );
    }
    for (i, change) in s.settings.iter().enumerate() {
        let path = format!("settings[{i}]");
        if change.at_ms > s.duration_ms {
            return err(format!("{path}.at_ms"), "after duration_ms");
        }
        let Some(client) = s.clients.iter().find(|c| c.id() == change.client) else {
            return err(
                format!("{path}.client"),
                format!("unknown client id `{}`", change.client),
            );
        };
        let path = format!("{path}.set.{}", change.set.name());
        check(&path, client, change.set, s.guarantee.is_some())?;
    }
    Ok(())
}

/// Whether `client` may take `set`, and whether the value is in bounds.
/// `guaranteed`: the scenario's `guarantee` configures the ack modes.
pub fn check(
    path: &str,
    client: &ClientSpec,
    set: Setting,
    guaranteed: bool,
) -> Result<(), ScenarioError> {
    let id = client.id();
    let is_producer = matches!(client, ClientSpec::Producer(_) | ClientSpec::LogProducer(_));
    match set {
        Setting::RatePerS(_) | Setting::Keys(_) if !is_producer => err(
            path.into(),
            format!("`{id}` is a consumer; only producers publish"),
        ),
        Setting::Processing(_) | Setting::Prefetch(_) | Setting::AckMode(_) if is_producer => err(
            path.into(),
            format!("`{id}` is a producer; only consumers process"),
        ),
        Setting::RatePerS(n) => in_range(path, n, 1, bounds::RATE_PER_S_MAX, "messages per second"),
        Setting::Keys(n) => in_range(path, n.into(), 0, bounds::KEYS_MAX.into(), "keys"),
        Setting::Processing(p) => check_processing(path, p),
        Setting::Prefetch(n) => check_prefetch(path, client, n),
        Setting::AckMode(mode) => check_ack_mode(path, client, mode, guaranteed),
    }
}

fn in_range(path: &str, n: u64, min: u64, max: u64, unit: &str) -> Result<(), ScenarioError> {
    if !(min..=max).contains(&n) {
        return err(path.into(), format!("must be from {min} to {max} {unit}"));
    }
    Ok(())
}

fn check_processing(path: &str, p: ProcessingSpec) -> Result<(), ScenarioError> {
    let (min, max) = match p {
        ProcessingSpec::FixedMs(ms) => (ms, ms),
        ProcessingSpec::UniformMs { min, max } => (min, max),
    };
    if min > max {
        return err(format!("{path}.uniform_ms.min"), "greater than max");
    }
    in_range(path, max, 0, bounds::PROCESSING_MS_MAX, "ms")
}

fn check_prefetch(path: &str, client: &ClientSpec, n: u32) -> Result<(), ScenarioError> {
    match client {
        ClientSpec::LogConsumer(k) if k.transactional.is_some() => err(
            path.into(),
            format!(
                "`{}` is transactional: its max.poll.records is fixed at start",
                k.id
            ),
        ),
        ClientSpec::LogConsumer(_) => in_range(
            path,
            n.into(),
            1,
            bounds::MAX_POLL_RECORDS_MAX.into(),
            "records (max.poll.records)",
        ),
        _ => in_range(
            path,
            n.into(),
            1,
            bounds::PREFETCH_MAX.into(),
            "unacked deliveries",
        ),
    }
}

fn check_ack_mode(
    path: &str,
    client: &ClientSpec,
    mode: AckMode,
    guaranteed: bool,
) -> Result<(), ScenarioError> {
    let ClientSpec::Consumer(k) = client else {
        return err(
            path.into(),
            "a log consumer's commit mode is set at start: a commitSync in flight decides what its batch may do",
        );
    };
    if guaranteed {
        return err(
            path.into(),
            "the scenario's `guarantee` sets every ack mode; the verdict judges those",
        );
    }
    if mode == AckMode::Auto || k.ack_mode == AckMode::Auto {
        return err(
            path.into(),
            "no_ack (auto) is a basic.consume flag: switching to or from it needs basic.cancel and a new basic.consume, which is not modelled",
        );
    }
    Ok(())
}
