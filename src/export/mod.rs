//! Export a scenario as a runnable experiment against a real broker
//! (`brokerlab export-real`).
//!
//! The export is a small project a learner can run on their own machine:
//!
//! | file | what it is |
//! |---|---|
//! | `README.md` | what maps onto the real broker, what cannot be reproduced, how to run it, what the simulation said |
//! | `scenario.json` | the scenario with its guarantee applied to every client's knobs, in brokerlab's own vocabulary: the program reads it |
//! | `expected.json` | the simulated run's verdict, anomaly kinds and counts, to compare with |
//! | `experiment.py` | one Python program: the orchestrator (clients as processes, the fault schedule on a wall clock, the history merged at the end) and the clients, with a maintained client library |
//! | `requirements.txt` | the client library, pinned |
//! | `run` | a bash script: a virtualenv, the program, then `brokerlab check` if it is on the `PATH` |
//! | `compose.yaml` | Kafka only: a KRaft cluster sized like the scenario |
//!
//! The page downloads the same files as one zip ([`zipped`]).
//!
//! The program text lives in `templates/` (a part shared by every target,
//! then one per target, joined into one file), not in Rust strings, and
//! comes in as [`Templates`]: compiled into the command line, fetched by the
//! page (see the `templates` module). What
//! does not map is refused with an error naming the field
//! ([`refusal`]), or listed in the README ([`gaps`]).

mod archive;
mod gaps;
mod templates;

pub use archive::{zip_archive, zipped};
pub use gaps::{gaps, refusal};
pub use templates::{Origin, Templates};

use crate::check::guarantee::judge;
use crate::config::{Guarantee, Scenario};
use crate::world::World;
use std::fmt;

/// A real broker an export can target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// RabbitMQ through `pika` (queue scenarios).
    Rabbitmq,
    /// Apache Kafka through `confluent-kafka` (log scenarios).
    Kafka,
    /// NATS JetStream through `nats-py` (log scenarios that fit one stream).
    Nats,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 3] = [Target::Rabbitmq, Target::Kafka, Target::Nats];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Target::Rabbitmq => "rabbitmq",
            Target::Kafka => "kafka",
            Target::Nats => "nats",
        }
    }

    /// The target a command-line name stands for.
    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The pinned client library, one `requirements.txt` line.
    pub fn requirement(self) -> &'static str {
        match self {
            Target::Rabbitmq => "pika==1.4.4",
            Target::Kafka => "confluent-kafka==2.16.1",
            Target::Nats => "nats-py==2.16.0",
        }
    }

    /// The broker as people call it.
    fn product(self) -> &'static str {
        match self {
            Target::Rabbitmq => "RabbitMQ",
            Target::Kafka => "Apache Kafka (KRaft)",
            Target::Nats => "NATS JetStream",
        }
    }
}

/// One file of an export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportFile {
    /// Its path inside the export directory (no directories in it).
    pub path: &'static str,
    /// Its text.
    pub text: String,
    /// True for the `run` script.
    pub executable: bool,
}

/// Why a scenario cannot be exported to a target: the field and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportError {
    /// The scenario field at fault (`broker`, `clients[2].transactional`).
    pub path: String,
    /// Why.
    pub reason: String,
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

impl std::error::Error for ExportError {}

/// The guarantee the export's verdict is for: the scenario's own, else at
/// least once (what every scenario without one is about: nothing lost).
pub fn claimed(s: &Scenario) -> Guarantee {
    s.guarantee.unwrap_or(Guarantee::AtLeastOnce)
}

/// The files of `scenario` (validated) exported to `target`, made from
/// `templates`. `origin` is where the scenario came from: the README says
/// so, and the export's name is its stem ([`Origin::stem`]).
pub fn export(
    scenario: &Scenario,
    origin: Origin<'_>,
    target: Target,
    templates: &Templates,
) -> Result<Vec<ExportFile>, ExportError> {
    if let Some(e) = refusal(scenario, target) {
        return Err(e);
    }
    let resolved = crate::guarantee::resolved(scenario);
    let expected = expected(scenario);
    let [common_py, clients_py, run_sh] =
        ["common.py", target.clients_template(), "run.sh"].map(|n| templates.text(n));
    let file = |path, text, executable| ExportFile {
        path,
        text,
        executable,
    };
    let readme = readme(scenario, origin, target, &expected, templates)?;
    let mut files = vec![
        file("README.md", readme, false),
        file("scenario.json", pretty(&resolved), false),
        file("expected.json", pretty(&expected), false),
        file(
            "experiment.py",
            format!("{}\n{}", common_py?, clients_py?),
            false,
        ),
        file(
            "requirements.txt",
            format!("{}\n", target.requirement()),
            false,
        ),
        file("run", fill(run_sh?, &[("TARGET", target.name())]), true),
    ];
    if target == Target::Kafka {
        let compose = compose(&resolved, templates.text("compose.yaml")?);
        files.push(file("compose.yaml", compose, false));
    }
    Ok(files)
}

/// JSON with two-space indents and a final newline.
fn pretty<T: serde::Serialize>(value: &T) -> String {
    let mut text =
        crate::json::pretty(&serde_json::to_string(value).expect("plain data serializes"));
    text.push('\n');
    text
}

/// What the simulation says: the verdict for [`claimed`], the anomaly kinds,
/// the counts. The summary comes from the live checker, which gives exactly
/// the batch checker's (`World::summary`, property-tested in
/// `tests/live_checker.rs`) and is the one the page already carries, so the
/// page's export does not bring the batch checker into its bundle.
pub fn expected(scenario: &Scenario) -> serde_json::Value {
    let mut world = World::new(scenario);
    let mut checker = world.live_checker();
    let outcome = world.finish();
    let summary = world.live_summary(&mut checker);
    let g = claimed(scenario);
    // Sorted and each once; a BTreeSet rather than a sort, which the page
    // would otherwise carry only for this (filled by extend: see
    // README, Release profile, on collecting into a BTree).
    let mut kinds = std::collections::BTreeSet::new();
    kinds.extend(summary.findings.iter().map(|f| f.kind));
    serde_json::json!({
        "scenario": scenario.name,
        "seed": scenario.seed,
        "guarantee": g.name(),
        "verdict": judge(g, &summary).text,
        "anomalies": kinds,
        "run_error": outcome.err().map(|e| e.to_string()),
        "counts": summary.counts,
        "log": summary.log,
    })
}

/// `text` with every `@NAME@` replaced by its value.
fn fill(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (name, value) in values {
        out = out.replace(&format!("@{name}@"), value);
    }
    out
}

/// The README: where it came from, the scenario, the mapping, the gaps, how
/// to run, the verdict.
fn readme(
    s: &Scenario,
    origin: Origin<'_>,
    target: Target,
    expected: &serde_json::Value,
    templates: &Templates,
) -> Result<String, ExportError> {
    let gaps: String = gaps(s, target).iter().map(|g| format!("- {g}\n")).collect();
    let kinds = expected["anomalies"].as_array().map_or(String::new(), |k| {
        let names: Vec<&str> = k.iter().filter_map(|v| v.as_str()).collect();
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    });
    let mapping = templates.text(target.mapping_template())?;
    Ok(fill(
        templates.text("README.md")?,
        &[
            ("NAME", &s.name),
            ("ORIGIN", &origin.sentence(target)),
            ("DESCRIPTION", &s.description),
            ("PRODUCT", target.product()),
            ("TARGET", target.name()),
            ("REQUIREMENT", target.requirement()),
            ("GUARANTEE", claimed(s).name()),
            ("VERDICT", expected["verdict"].as_str().unwrap_or("")),
            ("ANOMALIES", &kinds),
            ("MAPPING", mapping),
            ("GAPS", &gaps),
        ],
    ))
}

/// The Kafka compose file: one KRaft node per broker of the scenario, the
/// topics' `replication.factor` and `min.insync.replicas`.
fn compose(s: &Scenario, template: &str) -> String {
    let brokers = gaps::kafka_brokers(s);
    let nodes: Vec<String> = (1..=brokers)
        .map(|n| format!("{n}@kafka-{n}:9093"))
        .collect();
    let voters = nodes.join(",");
    let mut services = String::new();
    for n in 1..=brokers {
        services.push_str(&fill(
            template,
            &[
                ("N", &n.to_string()),
                ("PORT", &(9091 + n).to_string()),
                ("VOTERS", &voters),
                ("RF", &brokers.min(3).to_string()),
                (
                    "MIN_ISR",
                    &brokers.min(3).saturating_sub(1).max(1).to_string(),
                ),
            ],
        ));
    }
    format!(
        "# A KRaft cluster for the brokerlab experiment: {brokers} broker(s), each also a controller.\n# Start it with `docker compose up -d`; the run script does.\nservices:\n{services}"
    )
}

#[cfg(test)]
mod tests;
