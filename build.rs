//! Bundles every `scenarios/*.json` and `lessons/*.json` file into the
//! crate, so the Scenarios menu and the lesson index always list exactly what
//! the repository ships (no list to keep in sync).

use std::fmt::Write as _;
use std::path::Path;

/// The `.json` file names in `dir`, sorted (none if it does not exist).
fn json_files(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|dir| {
            dir.filter_map(|entry| entry.ok())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".json"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Writes `OUT_DIR/<out>`: a `pub const <constant>: &[(&str, &str)]` of
/// (`label(dir, file name)`, file text) for every JSON file in `dir`.
fn bundle(dir: &str, out: &str, constant: &str, doc: &str, label: fn(&str, &str) -> String) {
    println!("cargo:rerun-if-changed={dir}");
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let mut code = format!("/// {doc}\npub const {constant}: &[(&str, &str)] = &[\n");
    for name in json_files(dir) {
        let path = Path::new(&root).join(dir).join(&name);
        writeln!(
            code,
            "    ({:?}, include_str!({:?})),",
            label(dir, &name),
            path.display().to_string()
        )
        .expect("writing to a String cannot fail");
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join(out);
    // A new file renamed over the old one, never a write into it: a target
    // directory copied with hard links (`cp -al`, as helpers warm theirs)
    // shares the old file with other checkouts, and writing into it made
    // each of them bundle the lessons of whichever checkout built last.
    let fresh = out.with_extension("rs.new");
    std::fs::write(&fresh, code).expect("write a bundle file");
    std::fs::rename(&fresh, &out).expect("move the bundle file into place");
}

fn main() {
    bundle(
        "scenarios",
        "bundled_scenarios.rs",
        "BUNDLED",
        "(file stem, file text) of every bundled scenario, sorted by name.",
        |_, name| name.trim_end_matches(".json").to_string(),
    );
    bundle(
        "lessons",
        "bundled_lessons.rs",
        "LESSONS",
        "(file path such as `lessons/01_backlog.json`, file text) of every bundled lesson, sorted by name.",
        |dir, name| format!("{dir}/{name}"),
    );
}
