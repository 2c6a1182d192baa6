//! Bundles every `scenarios/*.json` file into the page, so the Scenarios menu
//! always lists exactly what the repository ships (no list to keep in sync).

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=scenarios");
    let mut names: Vec<String> = std::fs::read_dir("scenarios")
        .map(|dir| {
            dir.filter_map(|entry| entry.ok())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".json"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let mut code =
        String::from("/// (file stem, file text) of every bundled scenario, sorted by name.\n");
    code.push_str("pub const BUNDLED: &[(&str, &str)] = &[\n");
    for name in &names {
        let stem = name.trim_end_matches(".json");
        let path = Path::new(&root).join("scenarios").join(name);
        writeln!(
            code,
            "    ({stem:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a String cannot fail");
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("bundled_scenarios.rs");
    std::fs::write(out, code).expect("write bundled_scenarios.rs");
}
