//! The reader on hand-written lines: good ones read back, bad ones name the
//! line and the field.

use super::{read_jsonl, ReadError};
use crate::history::{Entry, OpType, Proc};

/// The error for `text`, which must not read.
fn error(text: &str) -> ReadError {
    read_jsonl(text).expect_err("this history must be refused")
}

#[test]
fn a_publish_and_its_processing_read_back() {
    let text = r#"{"time_ms":1,"process":"p1","type":"invoke","f":"publish","msg":"m0","key":"k"}
{"time_ms":2,"process":"p1","type":"ok","f":"publish","msg":"m0","key":"k"}
{"time_ms":3,"process":"broker","type":"event","f":"deliver","msg":"m0","key":"k","consumer":"c1","queue":"work","tag":"1.1","redelivered":false,"delivery_count":1}
{"time_ms":4,"process":"c1","type":"ok","f":"process","msg":"m0","key":"k","queue":"work","tag":"1.1","redelivered":false,"delivery_count":1}

{"time_ms":9,"process":"broker","type":"event","f":"held","msg":"m0","queue":"work"}
"#;
    let r = read_jsonl(text).unwrap();
    assert_eq!(r.history.len(), 4);
    assert_eq!(r.names.clients, vec!["p1", "c1"]);
    assert_eq!(r.held, Some(vec![0]));
    assert!(!r.log);
    let ev = r.history.events()[3];
    assert_eq!(ev.process, Proc::Client(1));
    match ev.entry {
        Entry::Process { ty, delivery } => {
            assert_eq!(ty, OpType::Ok);
            assert_eq!(
                delivery.msg.producer, 0,
                "the producer comes from the publish"
            );
            assert_eq!(delivery.tag.n, 1);
        }
        other => panic!("expected a process, got {other:?}"),
    }
}

#[test]
fn a_line_that_is_not_json_names_its_line() {
    let e = error("{\"time_ms\":1,\"process\":\"p1\",\"type\":\"invoke\",\"f\":\"publish\",\"msg\":\"m0\"}\nnot json\n");
    assert_eq!((e.line, e.field.as_str()), (2, "line"));
    assert!(
        e.to_string().starts_with("line 2: field `line`: not JSON"),
        "{e}"
    );
    assert_eq!(error("[1,2]").field, "line");
}

#[test]
fn a_missing_or_mistyped_field_is_named() {
    let e = error(r#"{"process":"p1","type":"invoke","f":"publish","msg":"m0"}"#);
    assert_eq!((e.line, e.field.as_str()), (1, "time_ms"));
    let e = error(r#"{"time_ms":"soon","process":"p1","type":"invoke","f":"publish","msg":"m0"}"#);
    assert_eq!(e.field, "time_ms");
    assert!(e.reason.contains("non-negative integer"), "{e}");
    let e = error(r#"{"time_ms":1,"process":"p1","type":"invoke","f":"publish","msg":"17"}"#);
    assert_eq!(e.field, "msg");
    let e = error(
        r#"{"time_ms":1,"process":"c1","type":"ok","f":"process","msg":"m1","queue":"q","tag":"x"}"#,
    );
    assert_eq!(e.field, "tag");
    let e = error(
        r#"{"time_ms":1,"process":"c1","type":"ok","f":"read","msg":"m1","poll":1,"partition":70000,"offset":0}"#,
    );
    assert_eq!(e.field, "partition");
    assert!(e.reason.contains("out of range"), "{e}");
    let e = error(
        r#"{"time_ms":1,"process":"c1","type":"ok","f":"process","msg":"m1","queue":"q","tag":"1.1","redelivered":"yes"}"#,
    );
    assert_eq!(e.field, "redelivered");
}

#[test]
fn unknown_events_types_and_time_travel_are_refused() {
    let e = error(r#"{"time_ms":1,"process":"p1","type":"event","f":"teleport"}"#);
    assert_eq!(e.field, "f");
    assert!(e.reason.contains("unknown event `teleport`"), "{e}");
    let e = error(r#"{"time_ms":1,"process":"p1","type":"maybe","f":"publish","msg":"m0"}"#);
    assert_eq!(e.field, "type");
    let e = error(r#"{"time_ms":1,"process":"p1","type":"event","f":"publish","msg":"m0"}"#);
    assert_eq!(e.field, "type", "a publish is an operation, not an event");
    let e = error(r#"{"time_ms":1,"process":"broker","type":"event","f":"txn_marker"}"#);
    assert_eq!(e.field, "f");
    assert!(e.reason.contains("not read"), "{e}");
    let text = "{\"time_ms\":5,\"process\":\"p1\",\"type\":\"event\",\"f\":\"crash\"}\n{\"time_ms\":4,\"process\":\"p1\",\"type\":\"event\",\"f\":\"restart\"}";
    let e = error(text);
    assert_eq!((e.line, e.field.as_str()), (2, "time_ms"));
}

#[test]
fn log_lines_make_a_log_history_and_skipped_lines_are_counted() {
    let text = r#"{"time_ms":1,"process":"p1","type":"invoke","f":"publish","msg":"m0","key":"alice"}
{"time_ms":2,"process":"broker","type":"event","f":"append","msg":"m0","topic":"orders","partition":0,"offset":0}
{"time_ms":2,"process":"broker","type":"event","f":"committed","group":"g","partition":0,"offset":1}
{"time_ms":3,"process":"c1","type":"event","f":"assigned","generation":1,"partitions":[0,3]}
{"time_ms":3,"process":"c1","type":"ok","f":"commit","partition":0,"offset":1}
"#;
    let r = read_jsonl(text).unwrap();
    assert!(r.log);
    assert_eq!(r.skipped, 1);
    assert_eq!(r.names.topics, vec!["orders"]);
    let e = error(
        r#"{"time_ms":3,"process":"c1","type":"event","f":"assigned","generation":1,"partitions":[64]}"#,
    );
    assert_eq!(e.field, "partitions");
}
