//! The export's files, refusals and gaps.

use super::{ExportError, ExportFile, Origin, Target, Templates};
use crate::config::Scenario;

/// `s` exported as `brokerlab export-real scenarios/STEM.json` would.
fn export(s: &Scenario, stem: &str, target: Target) -> Result<Vec<ExportFile>, ExportError> {
    let path = format!("scenarios/{stem}.json");
    let origin = Origin::Command { path: &path };
    super::export(s, origin, target, &Templates::built_in())
}

/// True if `text` still has a `@NAME@` placeholder.
fn unfilled(text: &str) -> bool {
    text.split('@')
        .skip(1)
        .step_by(2)
        .any(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
}

/// A scenario file of the repository, loaded.
fn scenario(path: &str) -> Scenario {
    let text = std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    Scenario::from_json(&text).unwrap()
}

#[test]
fn a_queue_scenario_exports_to_rabbitmq_with_every_file() {
    let s = scenario("scenarios/auto_ack_loss.json");
    let files = export(&s, "auto_ack_loss", Target::Rabbitmq).unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.path).collect();
    assert_eq!(
        names,
        [
            "README.md",
            "scenario.json",
            "expected.json",
            "experiment.py",
            "requirements.txt",
            "run"
        ]
    );
    let text = |name: &str| &files.iter().find(|f| f.path == name).unwrap().text;
    assert!(text("requirements.txt").starts_with("pika=="));
    assert!(text("experiment.py").contains("import pika"));
    assert!(!unfilled(text("run")), "every placeholder is filled");
    assert!(!unfilled(text("README.md")));
    assert!(
        text("README.md").contains("violated"),
        "{}",
        text("README.md")
    );
    let expected: serde_json::Value = serde_json::from_str(text("expected.json")).unwrap();
    assert_eq!(expected["anomalies"], serde_json::json!(["lost"]));
    assert_eq!(expected["guarantee"], "at_least_once");
    // The program reads the scenario back in brokerlab's own words.
    let back = Scenario::from_json(text("scenario.json")).unwrap();
    assert_eq!(back.clients.len(), s.clients.len());
    assert!(files
        .iter()
        .filter(|f| f.executable)
        .all(|f| f.path == "run"));
}

#[test]
fn kafka_exports_a_compose_file_and_nats_refuses_partitions() {
    let s = scenario("scenarios/log_at_least_once.json");
    let files = export(&s, "log_at_least_once", Target::Kafka).unwrap();
    let compose = &files
        .iter()
        .find(|f| f.path == "compose.yaml")
        .unwrap()
        .text;
    assert!(compose.contains("KAFKA_PROCESS_ROLES"));
    assert!(!unfilled(compose), "{compose}");
    let e = export(&s, "log_at_least_once", Target::Nats).unwrap_err();
    assert_eq!(e.path, "broker.topics[0].partitions");
    let e = export(&s, "log_at_least_once", Target::Rabbitmq).unwrap_err();
    assert_eq!(e.path, "broker");
    let q = scenario("scenarios/nack_requeue.json");
    assert_eq!(
        export(&q, "nack_requeue", Target::Kafka).unwrap_err().path,
        "broker"
    );
}

#[test]
fn refusals_name_the_field() {
    let s = scenario("scenarios/visibility_timeout.json");
    let e = export(&s, "visibility_timeout", Target::Rabbitmq).unwrap_err();
    assert_eq!(e.path, "broker.mode");
    let s = scenario("scenarios/fanout_partitions.json");
    let e = export(&s, "fanout_partitions", Target::Rabbitmq).unwrap_err();
    assert!(e.path.starts_with("broker.exchanges["), "{e}");
    let s = scenario("scenarios/txn_read_process_write.json");
    let e = export(&s, "txn_read_process_write", Target::Kafka).unwrap_err();
    assert!(e.path.ends_with(".transactional"), "{e}");
    let s = scenario("scenarios/log_throughput_1_partition.json");
    let mut two = s.clone();
    two.clients.push(two.clients.last().unwrap().clone());
    if let Some(crate::config::ClientSpec::LogConsumer(k)) = two.clients.last_mut() {
        k.id = "c9".into();
    }
    let e = export(&two, "x", Target::Nats).unwrap_err();
    assert!(e.path.ends_with(".group.id"), "{e}");
    // What the exported program does not set yet is refused, not dropped.
    let mut timed = scenario("scenarios/nack_requeue.json");
    if let crate::config::BrokerSpec::Queue(b) = &mut timed.broker {
        b.consumer_timeout_ms = Some(5_000);
    }
    let e = export(&timed, "x", Target::Rabbitmq).unwrap_err();
    assert_eq!(e.path, "broker.consumer_timeout_ms");
    let mut expiring = scenario("scenarios/nack_requeue.json");
    if let Some(crate::config::ClientSpec::Producer(p)) = expiring.clients.first_mut() {
        p.expiration_ms = Some(100);
    }
    let e = export(&expiring, "x", Target::Rabbitmq).unwrap_err();
    assert!(e.path.ends_with(".expiration_ms"), "{e}");
}

#[test]
fn the_readme_lists_a_broker_crash_and_an_armed_crash_as_gaps() {
    let s = scenario("scenarios/log_at_least_once.json");
    let gaps = super::gaps(&s, Target::Kafka);
    assert!(gaps.iter().any(|g| g.contains("BROKER_KILL")), "{gaps:?}");
    assert!(gaps.iter().any(|g| g.contains("not run")), "{gaps:?}");
    let s = scenario("scenarios/armed_faults_sweep.json");
    if super::refusal(&s, Target::Kafka).is_none() && !s.faults.is_empty() {
        let gaps = super::gaps(&s, Target::Kafka);
        assert!(gaps.len() > 3);
    }
}

#[test]
fn the_real_broker_scenarios_export_to_nats_and_kafka_with_their_simulated_kinds() {
    let cases = [
        ("log_replay", vec![]),
        ("log_redelivery", vec![]),
        ("log_idempotent_publish", vec![]),
        (
            "log_publish_retry_duplicates",
            vec!["duplicate", "duplicated"],
        ),
    ];
    for (stem, kinds) in cases {
        let s = scenario(&format!("scenarios/real_broker/{stem}.json"));
        let expected = super::expected(&s);
        assert_eq!(expected["verdict"], "holds", "{stem}");
        assert_eq!(expected["anomalies"], serde_json::json!(kinds), "{stem}");
        for target in [Target::Nats, Target::Kafka] {
            let files = export(&s, stem, target).unwrap();
            let program = &files
                .iter()
                .find(|f| f.path == "experiment.py")
                .unwrap()
                .text;
            assert!(
                program.ends_with("    main()\n"),
                "{stem}: the program runs its main"
            );
        }
    }
}

/// The built-in texts of `names` only.
fn only(names: &[&str]) -> Templates {
    let all = Templates::built_in();
    Templates::from_texts(
        names
            .iter()
            .map(|n| (n.to_string(), all.text(n).unwrap().to_string())),
    )
}

#[test]
fn a_target_needs_exactly_its_template_files() {
    let cases = [
        ("scenarios/nack_requeue.json", Target::Rabbitmq),
        ("scenarios/real_broker/log_replay.json", Target::Nats),
        ("scenarios/log_at_least_once.json", Target::Kafka),
    ];
    for (path, target) in cases {
        let s = scenario(path);
        let origin = Origin::Command { path };
        let full = super::export(&s, origin, target, &Templates::built_in()).unwrap();
        let needed = target.template_files();
        assert_eq!(super::export(&s, origin, target, &only(needed)), Ok(full));
        for missing in needed {
            let fewer: Vec<&str> = needed.iter().copied().filter(|n| n != missing).collect();
            let e = super::export(&s, origin, target, &only(&fewer)).unwrap_err();
            assert_eq!(e.path, format!("templates/{missing}"));
            assert_eq!(e.reason, "the template was not loaded");
        }
    }
}

#[test]
fn the_readme_says_where_the_scenario_came_from() {
    let s = scenario("scenarios/nack_requeue.json");
    let readme = |origin| {
        let files = super::export(&s, origin, Target::Rabbitmq, &Templates::built_in()).unwrap();
        files[0].text.lines().nth(2).unwrap().to_string()
    };
    let cli = readme(Origin::Command {
        path: "scenarios/nack_requeue.json",
    });
    assert!(
        cli.starts_with(
            "Exported by `brokerlab export-real scenarios/nack_requeue.json --target rabbitmq`."
        ),
        "{cli}"
    );
    let file = readme(Origin::PageFile {
        name: "nack_requeue.json",
    });
    assert!(
        file.starts_with("Exported from the brokerlab page, which was running the scenario file `nack_requeue.json`;"),
        "{file}"
    );
    let page = readme(Origin::Playground);
    assert!(page.starts_with("Exported from the brokerlab page: the playground's own setup"));
    assert!(page.contains("`scenario.json` in this folder"), "{page}");
    assert!(!page.contains("export-real"), "{page}");
}

#[test]
fn an_export_is_named_by_its_file_or_the_playground() {
    let stem = |origin: Origin<'_>| origin.stem("fallback");
    let path = |path| Origin::Command { path };
    assert_eq!(
        stem(path("scenarios/real_broker/log_replay.json")),
        "log_replay"
    );
    assert_eq!(stem(path("a.b.json")), "a.b");
    assert_eq!(stem(path("dir/")), "fallback");
    assert_eq!(stem(path(".hidden")), ".hidden");
    assert_eq!(stem(Origin::PageFile { name: "mine.json" }), "mine");
    assert_eq!(stem(Origin::Playground), "playground");
}

#[test]
fn the_expected_verdict_is_the_batch_checkers_for_every_exported_scenario() {
    // `expected` reads the live checker (the page carries it); for the
    // scenarios CI exports (scripts/real-brokers.sh) that must be the batch
    // checker's summary, field for field.
    let exported = [
        "consumer_crash_redelivery",
        "auto_ack_loss",
        "nack_requeue",
        "dead_letter_queue",
        "log_at_least_once",
        "log_crash_sweep",
        "real_broker/log_replay",
        "real_broker/log_redelivery",
        "real_broker/log_idempotent_publish",
        "real_broker/log_publish_retry_duplicates",
    ];
    for name in exported {
        let s = scenario(&format!("scenarios/{name}.json"));
        let mut world = crate::world::World::new(&s);
        let mut live = world.live_checker();
        let _ = world.finish();
        assert!(world.live_summary(&mut live) == world.summary(), "{name}");
    }
}
