//! Every bundled scenario file (`scenarios/*.json`), parsed, sorted by
//! path: the native suites that walk all of them share this loader.

use brokerlab::config::Scenario;

/// (path, scenario) of every bundled scenario; a file that does not parse
/// fails the test that asked, naming it.
pub fn scenarios() -> Vec<(String, Scenario)> {
    let mut files: Vec<_> = std::fs::read_dir("scenarios")
        .expect("scenarios/ is readable")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let json = std::fs::read_to_string(&p).expect("readable");
            let s = Scenario::from_json(&json).unwrap_or_else(|e| panic!("{p:?}: {e}"));
            (p.display().to_string(), s)
        })
        .collect()
}
