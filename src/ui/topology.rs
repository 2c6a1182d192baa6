//! The picture of the system: producers on the left, the broker with its
//! queues in the middle (each message a small box: filled when ready, hollow
//! when delivered and waiting for its ack), consumers on the right, and the
//! messages currently on the wire as dots moving along the links.
//!
//! Only a bounded window is drawn — at most a few dozen boxes per queue and a
//! few dozen dots — so the picture costs the same with ten messages or ten
//! thousand. Ids render as SVG text, which is never parsed as HTML.

use crate::app::session::{ClientRow, PartitionRow, QueueRow, View, BOXES_PER_QUEUE_MAX};
use std::rc::Rc;
use yew::prelude::*;

const WIDTH: f64 = 900.0;
const PRODUCER_X: f64 = 70.0;
const CONSUMER_X: f64 = 830.0;
const BROKER_X: f64 = 190.0;
const BROKER_W: f64 = 520.0;
const ROW_H: f64 = 46.0;
const NODE_H: f64 = 40.0;
const TOP: f64 = 40.0;
const BOX_W: f64 = 24.0;
const BOX_GAP: f64 = 2.0;
/// Boxes that fit in one queue row (ready and unacked share it).
const BOXES_DRAWN: usize = 17;
/// Records drawn per partition row (its newest ones).
const RECORDS_DRAWN: usize = 16;

#[derive(Properties, PartialEq)]
pub struct TopologyProps {
    pub view: Rc<View>,
}

#[function_component(Topology)]
pub fn topology(p: &TopologyProps) -> Html {
    let v = &p.view;
    let lanes = v.queues.len().max(v.partitions.len()).max(1);
    let rows = lanes.max(v.producers.len()).max(v.consumers.len());
    let height = TOP + rows as f64 * ROW_H + 30.0;
    let broker_h = lanes as f64 * ROW_H + 10.0;
    let generation = v
        .group
        .as_ref()
        .map(|g| format!(" · group generation {}", g.generation));
    let disk = match (v.broker_durable, v.persistent) {
        (false, true) => " · durable queues in IndexedDB",
        (false, false) => "",
        (true, true) => " · log in IndexedDB",
        (true, false) => " · log on the in-memory disk model",
    };
    html! {
        <figure class="topology">
            <svg viewBox={format!("0 0 {WIDTH} {height}")} role="img"
                aria-label={format!("{} producers, {} queues, {} consumers", v.producers.len(), v.queues.len(), v.consumers.len())}>
                <text class="caption" x={BROKER_X.to_string()} y="22">
                    { format!("broker · t = {}{}{}", format_ms(v.now_ms), generation.unwrap_or_default(), disk) }
                </text>
                { links(v) }
                <rect class={classes!("broker", (!v.broker_up()).then_some("dead"))}
                    x={BROKER_X.to_string()} y={(TOP - 5.0).to_string()}
                    width={BROKER_W.to_string()} height={broker_h.to_string()} rx="8" />
                { for v.queues.iter().enumerate().map(|(i, q)| queue_row(i, q, v.focus_msg.as_deref())) }
                { for v.partitions.iter().enumerate().map(|(i, p)| partition_row(i, p, v.focus_msg.as_deref())) }
                if !v.broker_up() {
                    <text class="dead-label" x={(BROKER_X + BROKER_W / 2.0).to_string()}
                        y={(TOP + broker_h / 2.0).to_string()} text-anchor="middle">
                        { if v.broker_durable {
                            "crashed: unsynced records are lost; the log on disk comes back on restart"
                        } else {
                            "crashed: everything it held is gone"
                        } }
                    </text>
                }
                { for v.producers.iter().enumerate().map(|(i, c)| node(c, PRODUCER_X, i)) }
                { for v.consumers.iter().enumerate().map(|(i, c)| node(c, CONSUMER_X, i)) }
                { idle_labels(v) }
                { in_flight(v) }
            </svg>
            <figcaption>
                if v.partitions.is_empty() {
                    { "Filled boxes are ready messages; hollow ones are delivered and waiting for their ack. Dots are messages on the wire." }
                } else {
                    { "Each box is a record at its offset: filled once it is on disk, dashed while it waits for the fsync. The bar marks the group's committed offset; lag is what is left to read. Dots are messages on the wire." }
                }
            </figcaption>
        </figure>
    }
}

fn row_y(i: usize) -> f64 {
    TOP + i as f64 * ROW_H
}

fn queue_row(i: usize, q: &QueueRow, focus: Option<&str>) -> Html {
    let y = row_y(i);
    let shown_unacked = q.unacked.len().min(BOXES_DRAWN);
    let shown_ready = q.ready.len().min(BOXES_DRAWN - shown_unacked);
    let hidden = q.ready_total + q.unacked_total - shown_ready - shown_unacked;
    let boxes = q.unacked[..shown_unacked]
        .iter()
        .map(|m| (m, true))
        .chain(q.ready[..shown_ready].iter().map(|m| (m, false)));
    let x0 = BROKER_X + 70.0;
    html! {
        <g class="queue">
            <text class="queue-name" x={(BROKER_X + 10.0).to_string()} y={(y + 24.0).to_string()}>{ &q.name }</text>
            { for boxes.enumerate().map(|(j, (m, unacked))| {
                let x = x0 + j as f64 * (BOX_W + BOX_GAP);
                let class = classes!("msg", unacked.then_some("unacked"), (focus == Some(m.as_str())).then_some("focus"));
                html! {
                    <g class={class}>
                        <rect x={x.to_string()} y={(y + 8.0).to_string()} width={BOX_W.to_string()} height="22" rx="3" />
                        <text x={(x + BOX_W / 2.0).to_string()} y={(y + 23.0).to_string()} text-anchor="middle">
                            { m.trim_start_matches('m') }
                        </text>
                        <title>{ format!("{m} ({})", if unacked { "delivered, not acked" } else { "ready" }) }</title>
                    </g>
                }
            }) }
            if hidden > 0 {
                <text class="more" x={(BROKER_X + BROKER_W - 8.0).to_string()} y={(y + 24.0).to_string()}
                    text-anchor="end">{ format!("+{hidden}") }</text>
            }
        </g>
    }
}

/// A log partition: its newest records at their offsets, the group's
/// committed offset as a bar, and the lag. Reading never removes a record;
/// only retention does.
fn partition_row(i: usize, p: &PartitionRow, focus: Option<&str>) -> Html {
    let y = row_y(i);
    let shown = &p.records[p.records.len().saturating_sub(RECORDS_DRAWN)..];
    let first = shown.first().map_or(p.end, |(offset, _)| *offset);
    let x_of = |offset: u64| BROKER_X + 90.0 + (offset - first) as f64 * (BOX_W + BOX_GAP);
    let committed_x = (first..=p.end)
        .contains(&p.committed)
        .then(|| x_of(p.committed) - 1.5);
    html! {
        <g class="partition">
            <text class="queue-name" x={(BROKER_X + 10.0).to_string()} y={(y + 20.0).to_string()}
                textLength={fitted_length(&p.name)} lengthAdjust="spacingAndGlyphs">{ &p.name }</text>
            <text class="more" x={(BROKER_X + 10.0).to_string()} y={(y + 34.0).to_string()}>
                { format!("lag {}", p.lag) }
            </text>
            { for shown.iter().map(|(offset, m)| {
                let x = x_of(*offset);
                let pending = *offset >= p.durable_end;
                let class = classes!("msg", "record", pending.then_some("pending"), (focus == Some(m.as_str())).then_some("focus"));
                html! {
                    <g class={class}>
                        <rect x={x.to_string()} y={(y + 8.0).to_string()} width={BOX_W.to_string()} height="22" rx="3" />
                        <text x={(x + BOX_W / 2.0).to_string()} y={(y + 23.0).to_string()} text-anchor="middle">{ offset }</text>
                        <title>{ format!("offset {offset}: {m}{}", if pending { " (not yet on disk)" } else { "" }) }</title>
                    </g>
                }
            }) }
            if let Some(x) = committed_x {
                <line class="committed" x1={x.to_string()} y1={(y + 3.0).to_string()} x2={x.to_string()} y2={(y + 35.0).to_string()}>
                    <title>{ format!("committed offset {}", p.committed) }</title>
                </line>
            }
            <title>{ format!("{}: offsets {}..{}, {} on disk, committed {}, lag {}",
                p.name, p.start, p.end, p.durable_end, p.committed, p.lag) }</title>
        </g>
    }
}

fn node(c: &ClientRow, x: f64, i: usize) -> Html {
    let y = row_y(i) + 2.0;
    let label = format!("{}{}", short(&c.id), if c.alive { "" } else { " ✕" });
    html! {
        <g class={classes!("node", (!c.alive).then_some("dead"), c.slow.then_some("slow"))}>
            <rect x={(x - 45.0).to_string()} y={y.to_string()} width="90" height={NODE_H.to_string()} rx="20" />
            <text x={x.to_string()} y={(y + 25.0).to_string()} text-anchor="middle">{ label }</text>
            <title>{ format!("{}: {}", c.id, if c.alive { "running" } else { "crashed" }) }</title>
        </g>
    }
}

/// Producer → broker and queue → consumer lines.
fn links(v: &View) -> Html {
    let into_broker = v.producers.iter().enumerate().map(|(i, _)| {
        let y = row_y(i) + 22.0;
        line(PRODUCER_X + 45.0, y, BROKER_X, y)
    });
    let out_of_broker = v.queues.iter().enumerate().flat_map(|(qi, q)| {
        q.consumers.iter().filter_map(move |c| {
            let ci = v.consumers.iter().position(|r| &r.id == c)?;
            Some(line(
                BROKER_X + BROKER_W,
                row_y(qi) + 22.0,
                CONSUMER_X - 45.0,
                row_y(ci) + 22.0,
            ))
        })
    });
    let owners = v.partitions.iter().enumerate().filter_map(|(pi, p)| {
        let ci = v
            .consumers
            .iter()
            .position(|r| Some(&r.id) == p.owner.as_ref())?;
        Some(line(
            BROKER_X + BROKER_W,
            row_y(pi) + 22.0,
            CONSUMER_X - 45.0,
            row_y(ci) + 22.0,
        ))
    });
    html! { <g class="links">{ for into_broker.chain(out_of_broker).chain(owners) }</g> }
}

fn line(x1: f64, y1: f64, x2: f64, y2: f64) -> Html {
    html! { <line x1={x1.to_string()} y1={y1.to_string()} x2={x2.to_string()} y2={y2.to_string()} /> }
}

/// Dots for messages on the wire, placed by how far along their trip they are.
fn in_flight(v: &View) -> Html {
    let dots = v.in_flight.iter().filter_map(|f| {
        let (row, client_x, edge_x) =
            if let Some(i) = v.producers.iter().position(|c| c.id == f.client) {
                (i, PRODUCER_X + 45.0, BROKER_X)
            } else {
                let i = v.consumers.iter().position(|c| c.id == f.client)?;
                (i, CONSUMER_X - 45.0, BROKER_X + BROKER_W)
            };
        let span = f.arrives_ms.saturating_sub(f.sent_ms).max(1) as f64;
        let done = (v.now_ms.saturating_sub(f.sent_ms) as f64 / span).clamp(0.0, 1.0);
        let (from, to) = if f.to_broker {
            (client_x, edge_x)
        } else {
            (edge_x, client_x)
        };
        let x = from + (to - from) * done;
        let y = row_y(row) + 22.0;
        Some(html! {
            <circle class="wire" cx={x.to_string()} cy={y.to_string()} r="5">
                <title>{ f.msg.clone() }</title>
            </circle>
        })
    });
    html! { <g>{ for dots }</g> }
}

/// `1234` → "1.234 s"; under a second stays in ms.
pub fn format_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{}.{:03} s", ms / 1000, ms % 1000)
    }
}

const _: () = assert!(
    BOXES_DRAWN <= BOXES_PER_QUEUE_MAX * 2,
    "the view carries enough ids to fill a row"
);

/// Group members that own no partition: Kafka gives each partition to one
/// member, so extra members wait.
fn idle_labels(v: &View) -> Html {
    let Some(group) = &v.group else {
        return Html::default();
    };
    let idle = v.consumers.iter().enumerate().filter(|(_, c)| {
        c.alive
            && group
                .members
                .iter()
                .any(|(id, owned)| id == &c.id && owned.is_empty())
    });
    html! {
        <g>{ for idle.map(|(i, _)| html! {
            <text class="idle" x={(CONSUMER_X - 52.0).to_string()} y={(row_y(i) + 26.0).to_string()} text-anchor="end">{ "idle" }</text>
        }) }</g>
    }
}

/// A long partition name (`orders.out-0`) is squeezed into the 76 px before
/// the first record box rather than cut, so its partition number stays
/// readable; the row's tooltip has it in full. `None` leaves short names be.
fn fitted_length(name: &str) -> Option<String> {
    const CHARS_FIT: usize = 9;
    (name.chars().count() > CHARS_FIT).then(|| "76".to_string())
}

/// Node labels fit their 90-px pill; the full id is in the node's tooltip.
fn short(id: &str) -> String {
    const CHARS_MAX: usize = 9;
    if id.chars().count() <= CHARS_MAX {
        id.to_string()
    } else {
        let head: String = id.chars().take(CHARS_MAX - 1).collect();
        format!("{head}…")
    }
}
