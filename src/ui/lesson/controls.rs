//! The experiment's controls on a lesson page: only those the lesson allows
//! are drawn, and one that cannot be used now is disabled with the engine's
//! own reason (`LessonRun::why_not`) shown beside it.

use super::state::{LessonAction, SPEEDS, STEP_MS};
use crate::app::lesson::{cluster, Action, CommitChoice, Control, LessonRun};
use crate::app::session::View;
use crate::config::{
    Acks, BrokerSpec, ClientSpec, CommitMode, Guarantee, IsolationLevel, LogConsumerSpec, Scenario,
};
use crate::node::NodeId;
use yew::prelude::*;

/// Play, Step, Run to the end, Reset and the speed, with the run's clock.
pub fn run_bar(
    run: &LessonRun,
    playing: bool,
    speed_index: usize,
    d: &Callback<LessonAction>,
) -> Html {
    let blocked = !run.can_run() || run.finished();
    let on_speed = d.reform(|e: Event| {
        let select: web_sys::HtmlSelectElement = e.target_unchecked_into();
        LessonAction::SetSpeed(select.value().parse().unwrap_or(1))
    });
    html! {
        <div class="lesson-run-bar" role="group" aria-label="Run">
            <button class="primary" disabled={blocked} onclick={d.reform(|_| LessonAction::TogglePlay)}>
                { if playing { "Pause" } else { "Run" } }
            </button>
            <button disabled={blocked} onclick={d.reform(|_| LessonAction::Step)}>
                { format!("Step {STEP_MS} ms") }
            </button>
            <button disabled={blocked} onclick={d.reform(|_| LessonAction::RunToEnd)}>{ "Run to the end" }</button>
            <button onclick={d.reform(|_| LessonAction::Reset)}>{ "Reset" }</button>
            <label class="field">
                <span>{ "Speed" }</span>
                <select onchange={on_speed}>
                    { for SPEEDS.iter().enumerate().map(|(i, s)| html! {
                        <option value={i.to_string()} selected={i == speed_index}>{ format!("{s}×") }</option>
                    }) }
                </select>
            </label>
            <span class="lesson-clock" aria-label="Virtual time">
                { format!("t = {} of {}", super::super::topology::format_ms(run.now_ms()),
                    super::super::topology::format_ms(run.end_ms())) }
            </span>
        </div>
    }
}

/// One button per action the lesson allows, grouped by control.
pub fn lesson_controls(run: &LessonRun, view: &View, d: &Callback<LessonAction>) -> Html {
    let groups = Control::ALL
        .iter()
        .filter(|c| **c != Control::Play && run.allows(**c))
        .map(|c| group(*c, choices(*c, run, view), run, d));
    html! {
        <div class="lesson-controls">{ for groups }</div>
    }
}

/// A control's buttons: (label, action, pressed).
type Choices = Vec<(String, Action, bool)>;

fn choices(control: Control, run: &LessonRun, view: &View) -> Choices {
    let setup = run.setup();
    let consumers = || view.consumers.iter();
    let per_consumer = |verb: &str, make: fn(String) -> Action| -> Choices {
        consumers()
            .map(|c| (format!("{verb} {}", c.id), make(c.id.clone()), false))
            .collect()
    };
    match control {
        Control::Play => Vec::new(),
        Control::CrashBroker => vec![("Crash broker".into(), Action::CrashBroker, false)],
        Control::RestartBroker => vec![("Restart broker".into(), Action::RestartBroker, false)],
        Control::CrashConsumer => per_consumer("Crash", |target| Action::CrashConsumer { target }),
        Control::RestartConsumer => {
            per_consumer("Restart", |target| Action::RestartConsumer { target })
        }
        Control::SlowConsumer => consumers()
            .map(|c| {
                let target = c.id.clone();
                (
                    format!("Slow {}", c.id),
                    Action::SlowConsumer { target },
                    c.slow,
                )
            })
            .collect(),
        Control::AddConsumer => {
            let added = run
                .taken()
                .iter()
                .filter(|t| t.action == Action::AddConsumer)
                .count();
            let next = run.lesson().add.get(added).map_or("", ClientSpec::id);
            let label = if next.is_empty() {
                "Add consumer".into()
            } else {
                format!("Add consumer {next}")
            };
            vec![(label, Action::AddConsumer, false)]
        }
        Control::DropConfirms => vec![("Drop confirms".into(), Action::DropConfirms, false)],
        Control::SetAcks => acks_choices(setup),
        Control::SetGuarantee => guarantee_choices(setup),
        Control::SetPartitions => partition_choices(setup),
        Control::SetCommit => commit_choices(setup),
        Control::SetIsolation => isolation_choices(setup),
        // The broker buttons of a cluster lesson.
        _ => node_choices(control, setup),
    }
}

/// One button per broker of the cluster, named as on the cluster page
/// (`Crash broker b1`).
fn node_choices(control: Control, setup: &Scenario) -> Choices {
    let Some(button) = control.node_button() else {
        return Vec::new();
    };
    let brokers = (1..=cluster::brokers(setup)).map(|n| NodeId(n).name());
    let action = |name: &str| Action::on_node(control, name.into());
    let choices = brokers.filter_map(|name| Some((button.label(name), action(name)?, false)));
    choices.collect()
}

fn acks_choices(setup: &Scenario) -> Choices {
    let now = setup.clients.iter().find_map(|c| match c {
        ClientSpec::LogProducer(p) => Some(p.acks),
        _ => None,
    });
    [(Acks::Zero, "0"), (Acks::One, "1"), (Acks::All, "all")]
        .into_iter()
        .map(|(value, name)| {
            (
                format!("acks={name}"),
                Action::SetAcks { value },
                now == Some(value),
            )
        })
        .collect()
}

fn guarantee_choices(setup: &Scenario) -> Choices {
    let all = [
        Guarantee::AtMostOnce,
        Guarantee::AtLeastOnce,
        Guarantee::ExactlyOnceIdempotent,
        Guarantee::ExactlyOnceTransactional,
    ];
    all.into_iter()
        .map(|value| {
            let pressed = setup.guarantee == Some(value);
            (
                value.name().replace('_', " "),
                Action::SetGuarantee { value },
                pressed,
            )
        })
        .collect()
}

fn partition_choices(setup: &Scenario) -> Choices {
    let now = match &setup.broker {
        BrokerSpec::Log(b) => b.topics.first().map(|t| t.partitions),
        BrokerSpec::Queue(_) => None,
    };
    [1u32, 2, 4]
        .into_iter()
        .map(|value| {
            let label = if value == 1 {
                "1 partition".into()
            } else {
                format!("{value} partitions")
            };
            (label, Action::SetPartitions { value }, now == Some(value))
        })
        .collect()
}

fn log_consumers(setup: &Scenario) -> impl Iterator<Item = &LogConsumerSpec> {
    setup.clients.iter().filter_map(|c| match c {
        ClientSpec::LogConsumer(k) => Some(k),
        _ => None,
    })
}

fn commit_choices(setup: &Scenario) -> Choices {
    let options = [
        (CommitChoice::BeforeProcessing, "commit before processing"),
        (CommitChoice::AfterProcessing, "commit after processing"),
        (CommitChoice::AutoCommit, "enable.auto.commit"),
    ];
    log_consumers(setup)
        .flat_map(|k| {
            let now = match (k.enable_auto_commit, k.commit) {
                (true, _) => CommitChoice::AutoCommit,
                (false, Some(CommitMode::BeforeProcessing)) => CommitChoice::BeforeProcessing,
                _ => CommitChoice::AfterProcessing,
            };
            options.map(|(value, name)| {
                let target = k.id.clone();
                (
                    format!("{}: {name}", k.id),
                    Action::SetCommit { target, value },
                    now == value,
                )
            })
        })
        .collect()
}

fn isolation_choices(setup: &Scenario) -> Choices {
    let options = [
        (IsolationLevel::ReadUncommitted, "read_uncommitted"),
        (IsolationLevel::ReadCommitted, "read_committed"),
    ];
    log_consumers(setup)
        .flat_map(|k| {
            options.map(|(value, name)| {
                let target = k.id.clone();
                let pressed = k.isolation_level == value;
                (
                    format!("{}: {name}", k.id),
                    Action::SetIsolation { target, value },
                    pressed,
                )
            })
        })
        .collect()
}

/// A labelled group of buttons; a disabled one says why beside the group.
fn group(control: Control, choices: Choices, run: &LessonRun, d: &Callback<LessonAction>) -> Html {
    let label = if control.before_run() {
        "Before the run"
    } else {
        "During the run"
    };
    let mut reason = None;
    let buttons = choices.into_iter().map(|(text, action, pressed)| {
        let why = run.why_not(&action);
        if reason.is_none() {
            reason.clone_from(&why);
        }
        let onclick = d.reform(move |_| LessonAction::Act(action.clone()));
        let pressed = (control.before_run() || control == Control::SlowConsumer)
            .then(|| pressed.to_string());
        html! {
            <button disabled={why.is_some()} title={why.clone()} aria-pressed={pressed} {onclick}>{ text }</button>
        }
    });
    let buttons: Vec<Html> = buttons.collect();
    html! {
        <div class="lesson-control" role="group" aria-label={format!("{label}: {}", control.name())}>
            <span class="lesson-control-name"><code>{ control.name() }</code></span>
            { for buttons }
            if let Some(why) = reason {
                <p class="why-not">{ why }</p>
            }
        </div>
    }
}
