//! The picture of the system: producers on the left, the broker with its
//! queues in the middle (each message a small box: filled when ready, hollow
//! when delivered and waiting for its ack), consumers on the right, and the
//! messages currently on the wire as dots moving along the links.
//!
//! Only a bounded window is drawn — at most a few dozen boxes per queue and a
//! few dozen dots — so the picture costs the same with ten messages or ten
//! thousand. Ids render as SVG text, which is never parsed as HTML.

use crate::session::{ClientRow, QueueRow, View, BOXES_PER_QUEUE_MAX};
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

#[derive(Properties, PartialEq)]
pub struct TopologyProps {
    pub view: Rc<View>,
}

#[function_component(Topology)]
pub fn topology(p: &TopologyProps) -> Html {
    let v = &p.view;
    let rows = v
        .queues
        .len()
        .max(v.producers.len())
        .max(v.consumers.len())
        .max(1);
    let height = TOP + rows as f64 * ROW_H + 30.0;
    let broker_h = v.queues.len().max(1) as f64 * ROW_H + 10.0;
    html! {
        <figure class="topology">
            <svg viewBox={format!("0 0 {WIDTH} {height}")} role="img"
                aria-label={format!("{} producers, {} queues, {} consumers", v.producers.len(), v.queues.len(), v.consumers.len())}>
                <text class="caption" x={BROKER_X.to_string()} y="22">
                    { format!("broker · t = {}", format_ms(v.now_ms)) }
                </text>
                { links(v) }
                <rect class={classes!("broker", (!v.broker_up).then_some("dead"))}
                    x={BROKER_X.to_string()} y={(TOP - 5.0).to_string()}
                    width={BROKER_W.to_string()} height={broker_h.to_string()} rx="8" />
                { for v.queues.iter().enumerate().map(|(i, q)| queue_row(i, q, v.focus_msg.as_deref())) }
                if !v.broker_up {
                    <text class="dead-label" x={(BROKER_X + BROKER_W / 2.0).to_string()}
                        y={(TOP + broker_h / 2.0).to_string()} text-anchor="middle">
                        { "crashed: everything it held is gone" }
                    </text>
                }
                { for v.producers.iter().enumerate().map(|(i, c)| node(c, PRODUCER_X, i)) }
                { for v.consumers.iter().enumerate().map(|(i, c)| node(c, CONSUMER_X, i)) }
                { in_flight(v) }
            </svg>
            <figcaption>
                { "Filled boxes are ready messages; hollow ones are delivered and waiting for their ack. Dots are messages on the wire." }
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

fn node(c: &ClientRow, x: f64, i: usize) -> Html {
    let y = row_y(i) + 2.0;
    let label = if c.alive {
        c.id.clone()
    } else {
        format!("{} ✕", c.id)
    };
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
    html! { <g class="links">{ for into_broker.chain(out_of_broker) }</g> }
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
