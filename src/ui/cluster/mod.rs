//! The cluster page (`#/cluster`, issue 13): a Kafka-style cluster set up
//! with Kafka's names, each broker drawn with its replicas (leader, ISR,
//! log end offset, high watermark) and its Crash / Restart / Isolate /
//! Heal buttons, and the replication checker's verdict once the run ends.
//! The state is [`state::ClusterState`]; what runs is
//! [`crate::app::cluster`]; each broker's IndexedDB database is
//! [`disks`]. Components here only render and forward.

pub mod disks;
pub mod state;

use super::controls::{labelled_select, NumberField};
use crate::app::cluster::{BrokerButton, BrokerRow, ClusterView, ReplicaRow, TOPIC};
use state::{ClusterAction, ClusterState};
use yew::prelude::*;

/// The cluster page.
#[function_component(ClusterPage)]
pub fn cluster_page() -> Html {
    let state = use_reducer(ClusterState::default);
    let frames = {
        let d = state.dispatcher();
        Callback::from(move |wall_ms| d.dispatch(ClusterAction::Frame { wall_ms }))
    };
    super::use_frame_loop(state.playing, frames);
    {
        let d = state.dispatcher();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                d.dispatch(ClusterAction::DisksOpened(disks::open().await));
            });
        });
    }
    {
        // The disk pump: the run waits for a store's flush; run on once it is durable.
        let (d, signal) = (state.dispatcher(), state.disk_signal());
        use_effect_with(state.disk_wait(), move |_| {
            if let Some(done) = signal {
                wasm_bindgen_futures::spawn_local(async move {
                    done.await;
                    d.dispatch(ClusterAction::DiskDone);
                });
            }
        });
    }
    let dispatch = {
        let d = state.dispatcher();
        Callback::from(move |a: ClusterAction| d.dispatch(a))
    };
    let view = &state.view;
    html! {
        <main class="cluster-main" aria-label="Cluster">
            <h2>{ "A replicated log: brokers, replicas, in-sync replicas" }</h2>
            <p class="field-note">{ format!(
                "One producer writes to the topic {TOPIC} (3 partitions) while one reader reads what is committed. \
                 Crash or isolate a leader's broker and watch the controller move the leadership. When the run ends, \
                 every broker is healed and restarted, and the checker looks for acknowledged records that are gone.") }</p>
            { settings(&state, &dispatch) }
            { run_bar(view, state.playing, &dispatch) }
            if let Some(notice) = &state.notice {
                <p class="notice" role="alert">{ notice.clone() }</p>
            }
            { disk_banner(&state, &dispatch) }
            { drawing(view, |b| buttons(b, &dispatch)) }
            <details class="simplifications">
                <summary>{ "How this cluster differs from Kafka" }</summary>
                <ul>
                    <li>{ "The controller is always available: it is not a broker and cannot crash (as a KRaft quorum that never loses a majority)." }</li>
                    <li>{ "The reader reads every partition from offset 0; consumer groups and committed offsets are not replicated." }</li>
                    <li>{ "Transactions (in the replication tests, not on this page): the transaction coordinator lives on the always-available controller instead of a replicated __transaction_state partition; its commit and abort markers are records replicated like any other." }</li>
                    <li>{ "Each broker keeps its log in an IndexedDB database of its own. A reload is every broker losing power at once: \
                           each comes back with what it had fsynced (the on disk column; flush.messages is left at Kafka's default, the page cache's writeback every 5 s). \
                           A run's end is a clean shutdown that writes every log. A resumed cluster starts its producer and reader again." }</li>
                </ul>
            </details>
        </main>
    }
}

/// The settings, by Kafka's names; an impossible combination is said next
/// to the field it names.
fn settings(state: &ClusterState, dispatch: &Callback<ClusterAction>) -> Html {
    let d = &state.draft;
    let pick = |label: &'static str, values: &[&'static str], current: String| {
        let options = values.iter().map(|v| (*v, None, *v == current)).collect();
        let onchange = dispatch.reform(move |text| ClusterAction::Set(label, text));
        labelled_select(label, options, onchange, state.errors.get(label))
    };
    const COUNTS: [&str; 5] = ["1", "2", "3", "4", "5"];
    let acks = crate::app::cluster::acks_name(d.acks);
    html! {
        <section class="toolbar" aria-label="Cluster settings">
            <fieldset class="group" aria-label="Cluster">
                { pick("brokers", &COUNTS, d.brokers.to_string()) }
                { pick("replication.factor", &COUNTS, d.replication_factor.to_string()) }
                { pick("min.insync.replicas", &COUNTS, d.min_insync_replicas.to_string()) }
                { pick("acks", &["0", "1", "all"], acks.to_string()) }
                { pick("unclean.leader.election.enable", &["false", "true"], d.unclean_leader_election_enable.to_string()) }
                <NumberField label="Seed" value={d.seed.to_string()} error={state.errors.get("Seed").cloned()}
                    onchange={dispatch.reform(|text| ClusterAction::Set("Seed", text))} />
            </fieldset>
        </section>
    }
}

/// Play / Pause, Forward 1 s, Run to the end, Reset, and the clock.
fn run_bar(view: &ClusterView, playing: bool, dispatch: &Callback<ClusterAction>) -> Html {
    let send = |a: ClusterAction| dispatch.reform(move |_: MouseEvent| a.clone());
    let over = view.finished || view.error.is_some();
    html! {
        <section class="toolbar" aria-label="Run">
            <fieldset class="group" aria-label="Run controls">
                if playing {
                    <button class="primary" onclick={send(ClusterAction::Pause)}>{ "Pause" }</button>
                } else {
                    <button class="primary" disabled={over} onclick={send(ClusterAction::Play)}>{ "Play" }</button>
                }
                <button disabled={over} onclick={send(ClusterAction::Forward)}>{ "Forward 1 s" }</button>
                <button disabled={over} onclick={send(ClusterAction::RunToEnd)}>{ "Run to the end" }</button>
                <button onclick={send(ClusterAction::Reset)}>{ "Reset" }</button>
                <output aria-label="Clock">{ format!(
                    "t = {:.1} s of {} s{} · {} acknowledged", view.now_ms as f64 / 1000.0, view.end_ms / 1000,
                    if view.now_ms > view.end_ms { " and the drain" } else { "" }, view.acked) }</output>
            </fieldset>
        </section>
    }
}

/// The brokers, each with its replicas and `buttons(broker)`, then the
/// checker's verdict: the cluster page's picture, and a cluster lesson's.
pub fn drawing(view: &ClusterView, buttons: impl Fn(&BrokerRow) -> Html) -> Html {
    html! { <>
        <section class="brokers" aria-label="Brokers">
            { for view.brokers.iter().map(|b| broker(b, buttons(b))) }
        </section>
        { verdict(view) }
    </> }
}

/// The cluster page's buttons of broker `b`: Crash or Restart, Isolate or
/// Heal.
fn buttons(b: &BrokerRow, dispatch: &Callback<ClusterAction>) -> Html {
    let n: u8 = b.name[1..].parse().unwrap_or(0);
    let button = |kind: BrokerButton| {
        let onclick = dispatch.reform(move |_: MouseEvent| ClusterAction::Press(kind, n));
        html! { <button {onclick}>{ kind.label(b.name) }</button> }
    };
    html! {
        <div class="broker-buttons">
            { button(if b.up { BrokerButton::Crash } else { BrokerButton::Restart }) }
            { button(if b.isolated { BrokerButton::Heal } else { BrokerButton::Isolate }) }
        </div>
    }
}

/// One broker: its state, its buttons, a row per replica.
fn broker(b: &BrokerRow, buttons: Html) -> Html {
    let status = match (b.up, b.isolated) {
        (false, _) => "crashed",
        (true, true) => "isolated",
        (true, false) => "up",
    };
    html! {
        <section class={classes!("broker", (!b.up || b.isolated).then_some("down"))} aria-label={format!("Broker {}", b.name)}>
            <h3>{ format!("{} ({status})", b.name) }</h3>
            { buttons }
            <table aria-label={format!("Replicas on {}", b.name)}>
                <thead><tr><th>{ "partition" }</th><th>{ "role" }</th><th>{ "LEO" }</th><th>{ "HW" }</th><th>{ "on disk" }</th><th>{ "ISR" }</th></tr></thead>
                <tbody>{ for b.replicas.iter().map(replica) }</tbody>
            </table>
        </section>
    }
}

fn replica(r: &ReplicaRow) -> Html {
    let role = r.role();
    let title = format!(
        "{}: {role}; log end offset {}, high watermark {}",
        r.partition, r.leo, r.hw
    );
    html! {
        <tr class={classes!(r.leader.then_some("leader"), (!r.in_sync).then_some("out-of-sync"))} {title}>
            <td>{ r.partition.clone() }</td>
            <td>{ role }</td>
            <td>{ r.leo }</td>
            <td>{ r.hw }</td>
            <td>{ r.on_disk }</td>
            <td>{ r.isr.clone().unwrap_or_default() }</td>
        </tr>
    }
}

/// What the brokers' disks hold: an earlier visit's cluster to resume or
/// delete, why nothing is kept, a store that stopped, or that the run on
/// screen is kept.
fn disk_banner(state: &ClusterState, dispatch: &Callback<ClusterAction>) -> Html {
    let send = |a: ClusterAction| dispatch.reform(move |_: MouseEvent| a.clone());
    let failures = state.view.disk_failures.join(" ");
    let (text, found) = match &state.disks {
        disks::Disks::Unavailable(why) => (why.clone(), None),
        disks::Disks::Ready { found: Some(f), .. } => {
            let what = match &f.setup {
                Ok(s) => format!(
                    "{} brokers, replication.factor {}, acks={}, seed {}",
                    s.brokers,
                    s.replication_factor,
                    crate::app::cluster::acks_name(s.acks),
                    s.seed
                ),
                Err(why) => format!("it cannot be resumed: {why}"),
            };
            let text = format!(
                "An earlier visit left a cluster on the brokers' disks ({} records over all replicas; {what}). \
                 Resume it, or start fresh (deletes it). Until you choose, runs are not kept.",
                f.records
            );
            (text, Some(f))
        }
        _ if !failures.is_empty() => (failures, None),
        _ => {
            let text = match (state.resumed, state.kept) {
                (true, _) => "Resumed the cluster of an earlier visit: each broker came back with the log it had on disk.",
                (false, true) => "Each broker keeps its log in an IndexedDB database of its own: a reload offers to resume the cluster.",
                (false, false) => return Html::default(),
            };
            return html! { <p class="field-note" role="status">{ text }</p> };
        }
    };
    html! {
        <div class="notice" role="alert">
            { text }
            if let Some(f) = found {
                <button disabled={f.setup.is_err()} onclick={send(ClusterAction::Resume)}>{ "Resume" }</button>
                <button onclick={send(ClusterAction::StartFresh)}>{ "Start fresh" }</button>
            }
        </div>
    }
}

/// The checker's word once the run is over.
fn verdict(view: &ClusterView) -> Html {
    let text = match (view.holds, &view.error) {
        (_, Some(e)) => format!("The run stopped: {e}"),
        (None, None) => "The verdict comes when the run ends: every broker is healed and restarted, then the checker compares what was acknowledged with the final logs.".into(),
        (Some(true), None) => "At least once holds: every acknowledged record is in the final log.".into(),
        (Some(false), None) => "At least once is violated.".into(),
    };
    let counts: Vec<String> = view
        .counts
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    html! {
        <section class="cluster-verdict" aria-label="Verdict">
            <output aria-label="Cluster verdict">{ text }</output>
            if !counts.is_empty() {
                <p>{ format!("Findings: {}", counts.join(", ")) }</p>
            }
            <ul>{ for view.findings.iter().map(|(kind, story)| html! {
                <li><strong>{ *kind }</strong>{ ": " }{ story.clone() }</li>
            }) }</ul>
        </section>
    }
}
