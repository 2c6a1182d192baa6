//! Helpers shared by the native suites that drive the `brokerlab` binary or
//! walk the scenario files (`cli`, `scenario_files`, `check_recorded`,
//! `export_real`).
// Each suite uses a part of these.
#![allow(dead_code)]

use std::process::Command;

/// Every file in `scenarios/`, sorted.
pub fn scenario_files() -> Vec<std::path::PathBuf> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

/// Runs `brokerlab ARGS` in the crate directory: (exit code, stdout, stderr).
pub fn brokerlab(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_brokerlab"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (
        out.status.code().unwrap(),
        text(out.stdout),
        text(out.stderr),
    )
}
