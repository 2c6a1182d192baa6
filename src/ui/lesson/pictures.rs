//! The five named pictures a lesson's intro step can show (`"picture":
//! "queue"`): small inline SVG diagrams. Each is an image with a text
//! alternative (`role="img"` and `aria-label`) and a caption, so a screen
//! reader hears what a sighted learner sees.

use crate::app::lesson::Picture;
use yew::prelude::*;

/// The picture named `picture`.
pub fn picture(picture: Picture) -> Html {
    let (alt, caption, body) = match picture {
        Picture::System => (
            "Producers on the left send messages to the broker in the middle; consumers on the right receive them from it.",
            "The system: producers, a broker, consumers.",
            system(),
        ),
        Picture::Broker => (
            "Without a broker, three producers each hold a link to three consumers. With a broker, each side holds one link to the broker.",
            "Without a broker every pair is wired; with one, everyone talks to the middle.",
            broker(),
        ),
        Picture::Queue => (
            "A queue: messages wait in line; one is delivered and waits for its ack; an acked message is deleted.",
            "A queue deletes a message once its consumer acks it.",
            queue(),
        ),
        Picture::Log => (
            "A log: records numbered 0 to 7 in order. Two consumer groups each keep their own offset, one at 3, one at 6. Records stay after they are read.",
            "A log keeps records; each group remembers its own offset.",
            log(),
        ),
        Picture::Transaction => (
            "A transaction: a process reads a record, writes its output and commits its input offset together; either all of it becomes visible or none of it.",
            "Read, process, write: one transaction commits output and offsets together.",
            transaction(),
        ),
    };
    html! {
        <figure class="lesson-picture">
            <svg viewBox="0 -6 360 146" role="img" aria-label={alt}>{ body }</svg>
            <figcaption>{ caption }</figcaption>
        </figure>
    }
}

fn boxed(x: u32, y: u32, w: u32, label: &'static str, class: &'static str) -> Html {
    html! {
        <g class={classes!("pic-node", class)}>
            <rect x={x.to_string()} y={y.to_string()} width={w.to_string()} height="28" rx="6" />
            <text x={(x + w / 2).to_string()} y={(y + 18).to_string()} text-anchor="middle">{ label }</text>
        </g>
    }
}

fn line(x1: u32, y1: u32, x2: u32, y2: u32) -> Html {
    html! {
        <line class="pic-link" x1={x1.to_string()} y1={y1.to_string()}
            x2={x2.to_string()} y2={y2.to_string()} />
    }
}

fn system() -> Html {
    html! { <>
        { boxed(10, 26, 70, "producer", "") }
        { boxed(10, 86, 70, "producer", "") }
        { boxed(140, 56, 80, "broker", "pic-broker") }
        { boxed(280, 26, 70, "consumer", "") }
        { boxed(280, 86, 70, "consumer", "") }
        { line(80, 40, 140, 66) }
        { line(80, 100, 140, 74) }
        { line(220, 66, 280, 40) }
        { line(220, 74, 280, 100) }
    </> }
}

fn broker() -> Html {
    let mesh =
        (0..3u32).flat_map(|i| (0..3u32).map(move |j| line(40, 22 + i * 40, 130, 22 + j * 40)));
    html! { <>
        <text class="pic-label" x="4" y="8">{ "without a broker" }</text>
        <text class="pic-label" x="196" y="8">{ "with a broker" }</text>
        { for (0..3u32).map(|i| boxed(4, 10 + i * 40, 36, "P", "")) }
        { for (0..3u32).map(|i| boxed(130, 10 + i * 40, 36, "C", "")) }
        { for mesh }
        { for (0..3u32).map(|i| boxed(196, 10 + i * 40, 36, "P", "")) }
        { boxed(256, 56, 44, "B", "pic-broker") }
        { for (0..3u32).map(|i| boxed(320, 10 + i * 40, 36, "C", "")) }
        { for (0..3u32).map(|i| line(232, 24 + i * 40, 256, 70)) }
        { for (0..3u32).map(|i| line(300, 70, 320, 24 + i * 40)) }
    </> }
}

fn queue() -> Html {
    html! { <>
        <text class="pic-label" x="10" y="20">{ "ready" }</text>
        { for (0..4u32).map(|i| boxed(10 + i * 34, 30, 30, "m", "pic-msg")) }
        <text class="pic-label" x="170" y="20">{ "delivered, unacked" }</text>
        { boxed(170, 30, 30, "m", "pic-unacked") }
        { line(200, 44, 260, 44) }
        { boxed(260, 30, 90, "consumer", "") }
        <text class="pic-label" x="170" y="100">{ "ack → deleted" }</text>
        { boxed(170, 108, 30, "m", "pic-gone") }
    </> }
}

fn log() -> Html {
    html! { <>
        { for (0..8u32).map(|i| {
            let label = ["0", "1", "2", "3", "4", "5", "6", "7"][i as usize];
            boxed(10 + i * 42, 56, 38, label, "pic-msg")
        }) }
        <text class="pic-label" x="136" y="40">{ "group A: offset 3" }</text>
        { line(150, 44, 150, 56) }
        <text class="pic-label" x="220" y="124">{ "group B: offset 6" }</text>
        { line(276, 84, 276, 110) }
    </> }
}

fn transaction() -> Html {
    html! { <>
        { boxed(10, 56, 70, "input", "pic-msg") }
        { line(80, 70, 120, 70) }
        { boxed(120, 56, 90, "process", "") }
        { line(210, 64, 250, 36) }
        { line(210, 76, 250, 104) }
        { boxed(250, 22, 100, "output", "pic-msg") }
        { boxed(250, 90, 100, "offsets", "pic-unacked") }
        <rect class="pic-txn" x="240" y="12" width="116" height="114" rx="8" />
        <text class="pic-label" x="150" y="130">{ "one commit" }</text>
    </> }
}
