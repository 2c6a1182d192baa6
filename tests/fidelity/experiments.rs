//! The experiments: each one small, deterministic, and about one behaviour a
//! learner would carry into production.

use super::plan::Step::{self, *};
use super::plan::{publish, Experiment, Kind, Overflow, Queue, Table, To, V::*};

const fn get(ch: u8, queue: &'static str) -> Step {
    Get {
        ch,
        queue,
        auto_ack: false,
    }
}

const fn nack(ch: u8, body: &'static str) -> Step {
    Nack {
        ch,
        body,
        multiple: false,
        requeue: true,
    }
}

const fn ack(ch: u8, body: &'static str) -> Step {
    Ack {
        ch,
        body,
        multiple: false,
    }
}

const fn consume(ch: u8, queue: &'static str, prefetch: u16) -> Step {
    Consume {
        ch,
        queue,
        prefetch,
        auto_ack: false,
    }
}

const fn transient(queue: &'static str, body: &'static str) -> Step {
    Publish {
        to: To::Queue(queue),
        body,
        persistent: false,
        expiration_ms: None,
    }
}

const fn with_dlq(q: Queue, dlq: &'static str) -> Queue {
    Queue {
        dead_letter_queue: Some(dlq),
        ..q
    }
}

const fn limited(q: Queue, max_length: u32, overflow: Option<Overflow>) -> Queue {
    Queue {
        max_length: Some(max_length),
        overflow,
        ..q
    }
}

const QUORUM_LIMIT_2: Queue = Queue {
    delivery_limit: Some(2),
    ..with_dlq(Queue::quorum("q"), "dlq")
};

const TTL_50: Queue = Queue {
    message_ttl_ms: Some(50),
    ..with_dlq(Queue::classic("q"), "dlq")
};

const TRANSIENT_QUEUE: Queue = Queue {
    durable: false,
    ..Queue::classic("transient")
};

/// A persistent publish whose message expires `ms` after it enters a queue.
const fn expiring(queue: &'static str, body: &'static str, ms: u32) -> Step {
    Publish {
        to: To::Queue(queue),
        body,
        persistent: true,
        expiration_ms: Some(ms),
    }
}

/// A persistent publish to headers exchange `x` with these headers.
const fn with_headers(x: &'static str, body: &'static str, headers: Table) -> Step {
    Publish {
        to: To::Headers(x, headers),
        body,
        persistent: true,
        expiration_ms: None,
    }
}

const fn ttl(q: Queue, ms: u32) -> Queue {
    Queue {
        message_ttl_ms: Some(ms),
        ..q
    }
}

/// Three messages fetched and left unacked, then nacked in the order given.
macro_rules! nack_order {
    ($kind:expr, $first:literal, $second:literal) => {
        &[
            Declare(Queue {
                kind: $kind,
                ..Queue::classic("q")
            }),
            publish("q", "m1"),
            publish("q", "m2"),
            publish("q", "m3"),
            publish("q", "m4"),
            get(1, "q"),
            get(1, "q"),
            get(1, "q"),
            nack(1, $first),
            nack(1, $second),
        ]
    };
}

/// Every experiment, in the order of the table.
pub const EXPERIMENTS: &[Experiment] = &[
    Experiment {
        name: "nack_requeue_classic_m3_then_m1",
        rabbitmq: "get c1=m1; get c1=m2; get c1=m3; q: [m1 r, m3 r, m4]",
        steps: nack_order!(Kind::Classic, "m3", "m1"),
    },
    Experiment {
        name: "nack_requeue_classic_m1_then_m2",
        rabbitmq: "get c1=m1; get c1=m2; get c1=m3; q: [m1 r, m2 r, m4]",
        steps: nack_order!(Kind::Classic, "m1", "m2"),
    },
    Experiment {
        name: "nack_requeue_quorum_m3_then_m1",
        rabbitmq: "get c1=m1 #0; get c1=m2 #0; get c1=m3 #0; q: [m4 #0, m3 r #1, m1 r #1]",
        steps: nack_order!(Kind::Quorum, "m3", "m1"),
    },
    Experiment {
        name: "nack_multiple",
        rabbitmq: "get c1=m1; get c1=m2; get c1=m3; q: [m1 r, m2 r]",
        steps: &[
            Declare(Queue::classic("q")),
            publish("q", "m1"),
            publish("q", "m2"),
            publish("q", "m3"),
            get(1, "q"),
            get(1, "q"),
            get(1, "q"),
            Nack {
                ch: 1,
                body: "m2",
                multiple: true,
                requeue: true,
            },
            Ack {
                ch: 1,
                body: "m3",
                multiple: false,
            },
        ],
    },
    Experiment {
        name: "reject_without_requeue_dead_letters",
        rabbitmq: "get c1=m1; q: [m2]; dlq: [m1 x-death=rejected@q]",
        steps: &[
            Declare(with_dlq(Queue::classic("q"), "dlq")),
            Declare(Queue::classic("dlq")),
            publish("q", "m1"),
            publish("q", "m2"),
            get(1, "q"),
            Reject {
                ch: 1,
                body: "m1",
                requeue: false,
            },
        ],
    },
    Experiment {
        name: "channel_close_requeues_unacked",
        rabbitmq: "c1<-m1; c1<-m2; c1<-m3; q: [m2 r, m3 r]",
        steps: &[
            Declare(Queue::classic("q")),
            publish("q", "m1"),
            publish("q", "m2"),
            publish("q", "m3"),
            consume(1, "q", 2),
            ack(1, "m1"),
            Close { ch: 1 },
        ],
    },
    Experiment {
        name: "auto_ack_lost_on_close",
        rabbitmq: "c1<-m1; c1<-m2; c1<-m3; q: []",
        steps: &[
            Declare(Queue::classic("q")),
            publish("q", "m1"),
            publish("q", "m2"),
            publish("q", "m3"),
            Consume {
                ch: 1,
                queue: "q",
                prefetch: 1,
                auto_ack: true,
            },
            Close { ch: 1 },
        ],
    },
    Experiment {
        name: "prefetch_round_robin_fixed_acks",
        rabbitmq: "c1<-m1; c2<-m2; c2<-m3; c2<-m4; c1<-m5; q: []",
        steps: &[
            Declare(Queue::classic("q")),
            consume(1, "q", 1),
            consume(2, "q", 2),
            publish("q", "m1"),
            publish("q", "m2"),
            publish("q", "m3"),
            publish("q", "m4"),
            publish("q", "m5"),
            ack(2, "m2"),
            ack(1, "m1"),
            ack(2, "m3"),
        ],
    },
    Experiment {
        name: "prefetch_0_is_unlimited",
        rabbitmq: "c1<-m1; c1<-m2; c1<-m3; q: [m1 r, m2 r, m3 r]",
        steps: &[
            Declare(Queue::classic("q")),
            publish("q", "m1"),
            publish("q", "m2"),
            publish("q", "m3"),
            consume(1, "q", 0),
            Close { ch: 1 },
        ],
    },
    Experiment {
        name: "restart_durable_and_transient",
        rabbitmq: "get c1=m1; q: [m1 r]; transient: gone",
        steps: &[
            Declare(Queue::classic("q")),
            Declare(TRANSIENT_QUEUE),
            publish("q", "m1"),
            transient("q", "m2"),
            publish("transient", "m3"),
            get(1, "q"),
            Restart,
        ],
    },
    Experiment {
        name: "quorum_delivery_limit_2",
        rabbitmq: "get c1=m1 #0; get c1=m1 r #1; get c1=m1 r #2; get c1=empty; q: []; dlq: [m1 x-death=delivery_limit@q]",
        steps: &[
            Declare(QUORUM_LIMIT_2),
            Declare(Queue::classic("dlq")),
            publish("q", "m1"),
            get(1, "q"),
            nack(1, "m1"),
            get(1, "q"),
            nack(1, "m1"),
            get(1, "q"),
            nack(1, "m1"),
            get(1, "q"),
        ],
    },
    Experiment {
        name: "classic_queue_has_no_delivery_count",
        rabbitmq: "get c1=m1; get c1=m1 r; get c1=m1 r; q: []",
        steps: &[
            Declare(Queue::classic("q")),
            publish("q", "m1"),
            get(1, "q"),
            nack(1, "m1"),
            get(1, "q"),
            nack(1, "m1"),
            get(1, "q"),
        ],
    },
    Experiment {
        name: "max_length_drop_head",
        rabbitmq: "q: [m2, m3]; dlq: [m1 x-death=maxlen@q]",
        steps: &[
            Declare(limited(with_dlq(Queue::classic("q"), "dlq"), 2, None)),
            Declare(Queue::classic("dlq")),
            publish("q", "m1"),
            publish("q", "m2"),
            publish("q", "m3"),
        ],
    },
    Experiment {
        name: "max_length_reject_publish",
        rabbitmq: "nack m3; q: [m1, m2]",
        steps: &[
            Declare(limited(Queue::classic("q"), 2, Some(Overflow::RejectPublish))),
            publish("q", "m1"),
            publish("q", "m2"),
            publish("q", "m3"),
        ],
    },
    Experiment {
        name: "max_length_counts_ready_only",
        rabbitmq: "get c1=m1; nack m3; q: [m2]",
        steps: &[
            Declare(limited(Queue::classic("q"), 1, Some(Overflow::RejectPublish))),
            publish("q", "m1"),
            get(1, "q"),
            publish("q", "m2"),
            publish("q", "m3"),
        ],
    },
    Experiment {
        name: "ttl_expiry_dead_letters",
        rabbitmq: "q: []; dlq: [m1 x-death=expired@q, m2 x-death=expired@q]",
        steps: &[
            Declare(TTL_50),
            Declare(Queue::classic("dlq")),
            publish("q", "m1"),
            publish("q", "m2"),
            Sleep { ms: 200 },
        ],
    },
    Experiment {
        name: "double_ack_closes_channel_406",
        rabbitmq: "get c1=m1; get c1=m2; c1 closed 406; q: [m2 r]",
        steps: &[
            Declare(Queue::classic("q")),
            publish("q", "m1"),
            publish("q", "m2"),
            get(1, "q"),
            get(1, "q"),
            ack(1, "m1"),
            ack(1, "m1"),
        ],
    },
    Experiment {
        name: "basic_get_with_and_without_auto_ack",
        rabbitmq: "get c1=m1; get c1=m2; get c1=empty; q: [m2 r]",
        steps: &[
            Declare(Queue::classic("q")),
            publish("q", "m1"),
            publish("q", "m2"),
            Get {
                ch: 1,
                queue: "q",
                auto_ack: true,
            },
            get(1, "q"),
            get(1, "q"),
            Close { ch: 1 },
        ],
    },
    Experiment {
        name: "basic_cancel_keeps_unacked",
        rabbitmq: "c1<-m1; c1<-m2; q: [m2 r, m3]",
        steps: &[
            Declare(Queue::classic("q")),
            publish("q", "m1"),
            publish("q", "m2"),
            publish("q", "m3"),
            consume(1, "q", 2),
            Cancel { ch: 1 },
            ack(1, "m1"),
            Close { ch: 1 },
        ],
    },
    Experiment {
        name: "topic_routing",
        rabbitmq: "star: [m2]; hash: [m1, m2, m3]; tail: [m3, m4]",
        steps: &[
            Declare(Queue::classic("star")),
            Declare(Queue::classic("hash")),
            Declare(Queue::classic("tail")),
            Topic(
                "x",
                &[("star", "a.*"), ("hash", "a.#"), ("tail", "#.z")],
            ),
            Publish {
                to: To::Topic("x", "a"),
                body: "m1",
                persistent: true,
                expiration_ms: None,
            },
            Publish {
                to: To::Topic("x", "a.b"),
                body: "m2",
                persistent: true,
                expiration_ms: None,
            },
            Publish {
                to: To::Topic("x", "a.b.z"),
                body: "m3",
                persistent: true,
                expiration_ms: None,
            },
            Publish {
                to: To::Topic("x", "z"),
                body: "m4",
                persistent: true,
                expiration_ms: None,
            },
            Publish {
                to: To::Topic("x", "b.a"),
                body: "m5",
                persistent: true,
                expiration_ms: None,
            },
        ],
    },
    Experiment {
        name: "headers_all_any_and_x_arguments",
        rabbitmq: "all: [m1]; any: [m1, m2]; all_x_left_out: [m1, m2]; all_with_x: [m5]",
        steps: &[
            Declare(Queue::classic("all")),
            Declare(Queue::classic("any")),
            Declare(Queue::classic("all_x_left_out")),
            Declare(Queue::classic("all_with_x")),
            HeadersExchange(
                "h",
                &[
                    ("all", &[("format", S("pdf")), ("type", S("report"))]),
                    ("any", &[("x-match", S("any")), ("format", S("pdf")), ("type", S("report"))]),
                    ("all_x_left_out", &[("x-tenant", S("a")), ("format", S("pdf"))]),
                    ("all_with_x", &[("x-match", S("all-with-x")), ("x-tenant", S("a"))]),
                ],
            ),
            with_headers("h", "m1", &[("format", S("pdf")), ("type", S("report"))]),
            with_headers("h", "m2", &[("format", S("pdf")), ("x-tenant", S("b"))]),
            with_headers("h", "m3", &[("type", S("log"))]),
            with_headers("h", "m4", &[]),
            with_headers("h", "m5", &[("x-tenant", S("a")), ("format", S("zip"))]),
        ],
    },
    Experiment {
        name: "headers_any_with_nothing_to_compare",
        rabbitmq: "any_only_x: []; all_only_x: [m1, m2]; any_with_x: [m1]",
        steps: &[
            Declare(Queue::classic("any_only_x")),
            Declare(Queue::classic("all_only_x")),
            Declare(Queue::classic("any_with_x")),
            HeadersExchange(
                "h",
                &[
                    ("any_only_x", &[("x-match", S("any")), ("x-tenant", S("a"))]),
                    ("all_only_x", &[("x-tenant", S("a"))]),
                    ("any_with_x", &[("x-match", S("any-with-x")), ("x-tenant", S("a")), ("k", S("v"))]),
                ],
            ),
            with_headers("h", "m1", &[("x-tenant", S("a"))]),
            with_headers("h", "m2", &[("k", S("other"))]),
        ],
    },
    // Header values are typed: RabbitMQ compares the AMQP type class, then
    // the value, so the text "1", the integer 1 and `true` are three
    // different things, while a 32-bit and a 64-bit 1 are one class (int).
    Experiment {
        name: "headers_values_are_typed",
        rabbitmq: "text_1: [m1]; long_1: [m2, m3]; int_1: [m2, m3]; bool_true: [m4]; text_true: [m5]",
        steps: &[
            Declare(Queue::classic("text_1")),
            Declare(Queue::classic("long_1")),
            Declare(Queue::classic("int_1")),
            Declare(Queue::classic("bool_true")),
            Declare(Queue::classic("text_true")),
            HeadersExchange(
                "h",
                &[
                    ("text_1", &[("n", S("1"))]),
                    ("long_1", &[("n", L(1))]),
                    ("int_1", &[("n", I(1))]),
                    ("bool_true", &[("flag", B(true))]),
                    ("text_true", &[("flag", S("true"))]),
                ],
            ),
            with_headers("h", "m1", &[("n", S("1"))]),
            with_headers("h", "m2", &[("n", L(1))]),
            with_headers("h", "m3", &[("n", I(1))]),
            with_headers("h", "m4", &[("flag", B(true))]),
            with_headers("h", "m5", &[("flag", S("true"))]),
            with_headers("h", "m6", &[("flag", L(1)), ("n", B(true))]),
        ],
    },
    Experiment {
        name: "expiration_waits_for_the_head",
        rabbitmq: "get c1=m1; q_a: [m1 r]; q_b: []; dlq: [m3 x-death=expired@q_b, m2 x-death=expired@q_a]",
        steps: &[
            Declare(with_dlq(Queue::classic("q_a"), "dlq")),
            Declare(with_dlq(Queue::classic("q_b"), "dlq")),
            Declare(Queue::classic("dlq")),
            publish("q_a", "m1"),
            expiring("q_a", "m2", 30),
            expiring("q_b", "m3", 100),
            Sleep { ms: 300 },
            get(1, "q_a"),
            Close { ch: 1 },
        ],
    },
    Experiment {
        name: "expiration_and_queue_ttl_lower_wins",
        rabbitmq: "ttl_50: []; ttl_60000: [m3]; dlq_a: [m1 x-death=expired@ttl_50]; dlq_b: [m2 x-death=expired@ttl_60000]",
        steps: &[
            Declare(ttl(with_dlq(Queue::classic("ttl_50"), "dlq_a"), 50)),
            Declare(ttl(with_dlq(Queue::classic("ttl_60000"), "dlq_b"), 60_000)),
            Declare(Queue::classic("dlq_a")),
            Declare(Queue::classic("dlq_b")),
            expiring("ttl_50", "m1", 60_000),
            expiring("ttl_60000", "m2", 30),
            expiring("ttl_60000", "m3", 60_000),
            Sleep { ms: 200 },
        ],
    },
    Experiment {
        name: "expired_dead_letter_loses_its_expiration",
        rabbitmq: "get c1=m1 x-death=expired@q; q: []; dlq: [m1 r x-death=expired@q]",
        steps: &[
            Declare(with_dlq(Queue::classic("q"), "dlq")),
            Declare(Queue::classic("dlq")),
            expiring("q", "m1", 30),
            Sleep { ms: 200 },
            get(1, "dlq"),
            Close { ch: 1 },
        ],
    },
    Experiment {
        name: "consumer_timeout_closes_the_channel_406",
        rabbitmq: "c1<-m1; get c2=m2; c1 closed 406; q: [m1 r, m3]",
        steps: &[
            Declare(Queue::classic("q")),
            publish("q", "m1"),
            publish("q", "m2"),
            publish("q", "m3"),
            consume(1, "q", 1),
            get(2, "q"),
            ack(2, "m2"),
            Sleep { ms: 3_500 },
        ],
    },
    Experiment {
        name: "consumer_timeout_counts_from_the_oldest_unacked",
        rabbitmq: "c1<-m1; c1<-m2; q: [m3]",
        steps: &[
            Declare(Queue::classic("q")),
            publish("q", "m1"),
            publish("q", "m2"),
            publish("q", "m3"),
            consume(1, "q", 1),
            Sleep { ms: 2_000 },
            ack(1, "m1"),
            Sleep { ms: 2_000 },
        ],
    },
];
