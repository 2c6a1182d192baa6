//! `brokerlab`: the native command-line runner.
//!
//! ```text
//! brokerlab run SCENARIO.json [--seed N] [--history FILE.jsonl] [--random-faults]
//! brokerlab sweep SCENARIO.json --seeds N [--first-seed S]
//! brokerlab bench [--messages N] [--log [--partitions P] | --guarantees | --checked | --cluster]
//! brokerlab check HISTORY.jsonl [--guarantee G]
//! brokerlab export-real SCENARIO.json --target rabbitmq|kafka|nats --out DIR
//! ```
//!
//! `run` prints a one-line JSON summary (counts and findings). `sweep` runs N
//! seeds, each with extra faults drawn from the scenario's `fault_options`, and
//! stops at the first seed that breaks an invariant or an expectation, printing
//! the command that replays it. Exit codes: 0 fine, 1 a check failed, 2 bad
//! input (the message names the field and the reason).
//!
//! `check` reads a history recorded anywhere (brokerlab's JSONL: a run's
//! `--history`, or a real broker driven by an exported program), runs the
//! same checker and, with `--guarantee`, the same verdict, and prints one
//! JSON line: the model, the verdict, the anomaly kinds, the counts and the
//! findings. A malformed line is reported with its number and field (exit 2).
//!
//! `export-real` writes the scenario as a small project that runs it on a
//! real broker and records a history `check` reads (see `brokerlab::export`).
//!
//! On wasm32 this binary is an empty `main`: the browser runs `brokerlab-web`.
// A binary is a crate of its own: it keeps the library's 70-line limit (clippy.toml).
#![warn(clippy::too_many_lines)]

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    std::process::exit(native::main());
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use brokerlab::check::recorded::check_recorded;
    use brokerlab::config::{Guarantee, Scenario};
    use brokerlab::export::{export, ExportFile, Origin, Target, Templates};
    use brokerlab::history::read::read_jsonl;
    use brokerlab::sim::faults::with_random_faults;
    use brokerlab::world::World;
    use lexopt::prelude::*;
    use std::io::Write;
    use std::time::Instant;

    /// Prints one line to stdout. A closed pipe (`brokerlab run ... | head`) is
    /// not an error worth a panic.
    fn emit(line: &str) {
        let _ = writeln!(std::io::stdout(), "{line}");
    }

    const USAGE: &str = "usage:
  brokerlab run SCENARIO.json [--seed N] [--history FILE.jsonl] [--random-faults]
  brokerlab sweep SCENARIO.json --seeds N [--first-seed S]
  brokerlab bench [--messages N] [--log [--partitions P] | --guarantees | --checked | --cluster]
  brokerlab check HISTORY.jsonl [--guarantee at_most_once|at_least_once|exactly_once_idempotent|exactly_once_transactional]
  brokerlab export-real SCENARIO.json --target rabbitmq|kafka|nats --out DIR";

    /// Bad input: printed as `brokerlab: <message>`, exit code 2.
    struct Usage(String);

    impl From<lexopt::Error> for Usage {
        fn from(e: lexopt::Error) -> Usage {
            Usage(e.to_string())
        }
    }

    /// Runs the command line and returns the exit code: 0 fine, 1 a check
    /// failed, 2 bad input.
    pub fn main() -> i32 {
        match dispatch() {
            Ok(code) => code,
            Err(Usage(msg)) => {
                eprintln!("brokerlab: {msg}\n{USAGE}");
                2
            }
        }
    }

    /// Reads the command word (or `--version`, `--help`) and hands the rest
    /// of the arguments to that command.
    fn dispatch() -> Result<i32, Usage> {
        let mut parser = lexopt::Parser::from_env();
        let command = match parser.next()? {
            Some(Value(v)) => v.string()?,
            Some(Long("version")) => {
                println!(
                    "{} {}",
                    brokerlab::version::PRODUCT_NAME,
                    brokerlab::version::VERSION
                );
                return Ok(0);
            }
            Some(Long("help") | Short('h')) => {
                println!("{USAGE}");
                return Ok(0);
            }
            Some(other) => return Err(other.unexpected().into()),
            None => return Err(Usage("missing command".into())),
        };
        match command.as_str() {
            "run" => run(parser),
            "sweep" => sweep(parser),
            "bench" => bench(parser),
            "check" => check(parser),
            "export-real" => export_real(parser),
            other => Err(Usage(format!("unknown command `{other}`"))),
        }
    }

    /// Reads and validates a scenario file; an error names the file, the
    /// field and the reason.
    fn load(path: &str) -> Result<Scenario, Usage> {
        let text =
            std::fs::read_to_string(path).map_err(|e| Usage(format!("cannot read {path}: {e}")))?;
        Scenario::from_json(&text).map_err(|e| Usage(format!("{path}: {e}")))
    }

    /// The value of `flag` as a non-negative integer.
    fn number(parser: &mut lexopt::Parser, flag: &str) -> Result<u64, Usage> {
        let v = parser.value()?.string()?;
        v.parse()
            .map_err(|_| Usage(format!("{flag}: `{v}` is not a non-negative integer")))
    }

    /// `brokerlab run`: one seed, a one-line JSON summary, the history on request.
    fn run(mut parser: lexopt::Parser) -> Result<i32, Usage> {
        let (mut path, mut seed, mut history, mut random) = (None, None, None, false);
        while let Some(arg) = parser.next()? {
            match arg {
                Long("seed") => seed = Some(number(&mut parser, "--seed")?),
                Long("history") => history = Some(parser.value()?.string()?),
                Long("random-faults") => random = true,
                Value(v) if path.is_none() => path = Some(v.string()?),
                other => return Err(other.unexpected().into()),
            }
        }
        let path = path.ok_or_else(|| Usage("run: missing SCENARIO.json".into()))?;
        let mut scenario = load(&path)?;
        let seed = seed.unwrap_or(scenario.seed);
        scenario.seed = seed;
        if random {
            scenario = with_random_faults(&scenario, seed);
        }
        let mut world = World::new(&scenario);
        let outcome = world.finish();
        if let Some(file) = &history {
            std::fs::write(file, world.history().to_jsonl(world.names()))
                .map_err(|e| Usage(format!("cannot write {file}: {e}")))?;
        }
        let summary = world.summary();
        emit(&serde_json::to_string(&summary).expect("summaries serialize"));
        let repro = format!(
            "brokerlab run {path} --seed {seed}{}",
            if random { " --random-faults" } else { "" }
        );
        if let Err(e) = outcome {
            eprintln!("brokerlab: {e} (seed {seed}); reproduce with: {repro}");
            return Ok(1);
        }
        if !summary.ok {
            eprintln!(
                "brokerlab: check failed (seed {seed}): {}",
                summary.violations.join("; ")
            );
            eprintln!("reproduce with: {repro}");
            return Ok(1);
        }
        Ok(0)
    }

    /// `brokerlab sweep`: seeds in a row with drawn faults, stopping at the
    /// first that fails and printing the command that replays it.
    fn sweep(mut parser: lexopt::Parser) -> Result<i32, Usage> {
        let (mut path, mut seeds, mut first) = (None, None, None);
        while let Some(arg) = parser.next()? {
            match arg {
                Long("seeds") => seeds = Some(number(&mut parser, "--seeds")?),
                Long("first-seed") => first = Some(number(&mut parser, "--first-seed")?),
                Value(v) if path.is_none() => path = Some(v.string()?),
                other => return Err(other.unexpected().into()),
            }
        }
        let path = path.ok_or_else(|| Usage("sweep: missing SCENARIO.json".into()))?;
        let seeds = seeds.ok_or_else(|| Usage("sweep: missing --seeds N".into()))?;
        if seeds == 0 {
            return Err(Usage("--seeds: must be positive".into()));
        }
        let scenario = load(&path)?;
        let first = first.unwrap_or(scenario.seed);
        for i in 0..seeds {
            let seed = first.wrapping_add(i);
            let mut world = World::new(&with_random_faults(&scenario, seed));
            let outcome = world.finish();
            let summary = world.summary();
            let problem = match outcome {
                Err(e) => Some(e.to_string()),
                Ok(()) if !summary.ok => Some(summary.violations.join("; ")),
                Ok(()) => None,
            };
            if let Some(problem) = problem {
                emit(&serde_json::to_string(&summary).expect("summaries serialize"));
                eprintln!(
                    "sweep: seed {seed} failed after {} passing seeds: {problem}",
                    i
                );
                eprintln!("reproduce with: brokerlab run {path} --seed {seed} --random-faults");
                return Ok(1);
            }
        }
        emit(&format!(
            "{{\"sweep\":\"{path}\",\"seeds\":{seeds},\"first_seed\":{first},\"ok\":true}}"
        ));
        Ok(0)
    }

    /// `brokerlab check`: the checker and verdict on a recorded history.
    fn check(mut parser: lexopt::Parser) -> Result<i32, Usage> {
        let (mut path, mut guarantee) = (None, None);
        while let Some(arg) = parser.next()? {
            match arg {
                Long("guarantee") => {
                    let name = parser.value()?.string()?;
                    let value = serde_json::Value::String(name.clone());
                    guarantee = Some(serde_json::from_value::<Guarantee>(value).map_err(|_| {
                        Usage(format!("--guarantee: `{name}` is not a delivery guarantee"))
                    })?);
                }
                Value(v) if path.is_none() => path = Some(v.string()?),
                other => return Err(other.unexpected().into()),
            }
        }
        let path = path.ok_or_else(|| Usage("check: missing HISTORY.jsonl".into()))?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Usage(format!("cannot read {path}: {e}")))?;
        let recorded = read_jsonl(&text).map_err(|e| Usage(format!("{path}: {e}")))?;
        let c = check_recorded(&recorded, guarantee);
        let line = serde_json::json!({
            "history": path,
            "model": c.model,
            "events": c.summary.events,
            "skipped_lines": recorded.skipped,
            "guarantee": guarantee.map(|g| g.name()),
            "verdict": c.verdict.as_ref().map(|v| v.text.clone()),
            "anomalies": c.anomalies,
            "ok": c.summary.ok,
            "violations": c.summary.violations,
            "counts": c.summary.counts,
            "log": c.summary.log,
            "identity": c.summary.identity,
            "broker_identity": c.summary.broker_identity,
            "findings": c.summary.findings,
            "causes": c.verdict.map(|v| v.causes).unwrap_or_default(),
        });
        emit(&line.to_string());
        Ok(if c.summary.ok { 0 } else { 1 })
    }

    /// `brokerlab export-real`: the scenario as a runnable experiment on a real broker.
    fn export_real(mut parser: lexopt::Parser) -> Result<i32, Usage> {
        let (mut path, mut target, mut out) = (None, None, None);
        while let Some(arg) = parser.next()? {
            match arg {
                Long("target") => {
                    let name = parser.value()?.string()?;
                    target = Some(Target::from_name(&name).ok_or_else(|| {
                        Usage(format!(
                            "--target: `{name}` is not one of rabbitmq, kafka, nats"
                        ))
                    })?);
                }
                Long("out") => out = Some(std::path::PathBuf::from(parser.value()?)),
                Value(v) if path.is_none() => path = Some(v.string()?),
                other => return Err(other.unexpected().into()),
            }
        }
        let path = path.ok_or_else(|| Usage("export-real: missing SCENARIO.json".into()))?;
        let target = target.ok_or_else(|| Usage("export-real: missing --target".into()))?;
        let out = out.ok_or_else(|| Usage("export-real: missing --out DIR".into()))?;
        let scenario = load(&path)?;
        let origin = Origin::Command { path: &path };
        let files = export(&scenario, origin, target, &Templates::built_in())
            .map_err(|e| Usage(format!("{path}: {e}")))?;
        write_export(&out, &files)?;
        emit(&format!(
            "{{\"export\":\"{}\",\"target\":\"{}\",\"files\":{}}}",
            out.display(),
            target.name(),
            files.len()
        ));
        Ok(0)
    }

    /// Writes an export's files into `dir` (created if missing); `run` is
    /// made executable.
    fn write_export(dir: &std::path::Path, files: &[ExportFile]) -> Result<(), Usage> {
        let fail = |what: &std::path::Path, e: std::io::Error| {
            Usage(format!("cannot write {}: {e}", what.display()))
        };
        std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
        for f in files {
            let file = dir.join(f.path);
            std::fs::write(&file, &f.text).map_err(|e| fail(&file, e))?;
            #[cfg(unix)]
            if f.executable {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::Permissions::from_mode(0o755);
                std::fs::set_permissions(&file, mode).map_err(|e| fail(&file, e))?;
            }
        }
        Ok(())
    }

    /// `brokerlab bench`: the throughput workloads, one JSON line each.
    fn bench(mut parser: lexopt::Parser) -> Result<i32, Usage> {
        let (mut messages, mut log, mut guarantees, mut checked) = (None, false, false, false);
        // `--partitions P` runs the log workload at one partition count only
        // (what a profiler such as callgrind wants); by default all of them.
        let mut partitions_only: Option<u32> = None;
        let mut cluster = false;
        while let Some(arg) = parser.next()? {
            match arg {
                Long("messages") => messages = Some(number(&mut parser, "--messages")?.max(1)),
                Long("partitions") => {
                    let p = number(&mut parser, "--partitions")?.clamp(1, 1024);
                    partitions_only = Some(u32::try_from(p).expect("clamped to 1024"));
                    log = true;
                }
                Long("log") => log = true,
                Long("checked") => checked = true,
                Long("cluster") => cluster = true,
                Long("guarantees") => guarantees = true,
                other => return Err(other.unexpected().into()),
            }
        }
        if cluster {
            return bench_cluster(messages.unwrap_or(100_000));
        }
        if guarantees {
            return bench_guarantees(messages.unwrap_or(brokerlab::bench::GUARANTEE_MESSAGES));
        }
        if checked {
            let messages = messages.unwrap_or(brokerlab::bench::CHECKED_MESSAGES);
            let start = Instant::now();
            let processed = brokerlab::bench::run_checked(messages);
            let secs = start.elapsed().as_secs_f64();
            emit(&format!(
                "{{\"bench\":\"native-checked\",\"messages\":{processed},\"seconds\":{secs:.3}}}"
            ));
            return Ok(0);
        }
        let messages = messages.unwrap_or(200_000);
        if log {
            // One line per partition count: produce → consume → commit.
            let all = brokerlab::bench::LOG_PARTITIONS;
            let counts = partitions_only.map_or(all.to_vec(), |p| vec![p]);
            for partitions in counts {
                let start = Instant::now();
                let processed = brokerlab::bench::run_log(messages, partitions);
                let secs = start.elapsed().as_secs_f64();
                let rate = processed as f64 / secs;
                emit(&format!("{{\"bench\":\"native-log\",\"partitions\":{partitions},\"messages\":{processed},\"seconds\":{secs:.3},\"msgs_per_s\":{rate:.0}}}"));
            }
            return Ok(0);
        }
        let start = Instant::now();
        let processed = brokerlab::bench::run(messages);
        let secs = start.elapsed().as_secs_f64();
        let rate = processed as f64 / secs;
        emit(&format!("{{\"bench\":\"native\",\"messages\":{processed},\"seconds\":{secs:.3},\"msgs_per_s\":{rate:.0}}}"));
        Ok(0)
    }

    /// `brokerlab bench --cluster`: the replication core's workload with one
    /// broker, then 3 brokers with `replication.factor` 3, and the ratio.
    fn bench_cluster(messages: u64) -> Result<i32, Usage> {
        let messages = messages.max(brokerlab::bench::CLUSTER_PRODUCERS);
        let mut rates = Vec::new();
        for brokers in [1u8, 3] {
            let start = Instant::now();
            let acked = brokerlab::bench::run_cluster(brokers, messages);
            let secs = start.elapsed().as_secs_f64();
            let rate = acked as f64 / secs;
            rates.push(rate);
            emit(&format!("{{\"bench\":\"native-cluster\",\"brokers\":{brokers},\"replication.factor\":{brokers},\"messages\":{acked},\"seconds\":{secs:.3},\"msgs_per_s\":{rate:.0}}}"));
        }
        let ratio = rates[1] / rates[0];
        emit(&format!(
            "{{\"bench\":\"native-cluster-ratio\",\"rf3_over_1_broker\":{ratio:.2},\"goal\":0.5}}"
        ));
        Ok(0)
    }

    /// The cost of each guarantee: one JSON line per (broker, guarantee).
    fn bench_guarantees(messages: u64) -> Result<i32, Usage> {
        let step = brokerlab::bench::GUARANTEE_PRODUCERS;
        if messages < step || !messages.is_multiple_of(step) {
            return Err(Usage(format!(
                "--messages: the guarantee bench needs a multiple of {step} (one share per producer)"
            )));
        }
        let origin = Instant::now();
        let mut clock_s = || origin.elapsed().as_secs_f64();
        for line in brokerlab::bench::guarantee_lines("native", messages, &mut clock_s) {
            emit(&line);
        }
        Ok(0)
    }
}
