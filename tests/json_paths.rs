//! `brokerlab::json` finds the field path of a JSON error after the fact,
//! from where `serde_json` stopped; the crate used to track it while reading
//! with `serde_path_to_error`. This test breaks every bundled scenario and
//! lesson in many small ways and checks that both name the same path and
//! say the same thing, so the messages a learner reads did not change.
//! And `brokerlab::json::pretty` lays out every bundled file exactly as
//! `serde_json::to_string_pretty` does.
//!
//! Native only: it reads the bundled files from disk.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::app::lesson::Lesson;
use brokerlab::config::Scenario;
use serde::de::DeserializeOwned;
use std::path::Path;

/// Every bundled `.json` file under `dir`.
fn files(dir: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
            .expect("the bundled folder")
            .map(|e| e.expect("a directory entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .map(|p| {
                (
                    p.display().to_string(),
                    std::fs::read_to_string(&p).expect("a bundled file"),
                )
            })
            .collect();
    out.sort();
    assert!(!out.is_empty(), "no files in {dir}");
    out
}

/// A token's first byte and the byte after it.
type Span = (usize, usize);

/// Where scalar values (numbers, literals, strings that are not keys) start
/// and end in `text`, and where keys start and end.
fn tokens(text: &str) -> (Vec<Span>, Vec<Span>) {
    let b = text.as_bytes();
    let (mut values, mut keys) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let mut j = i + 1;
                while b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                let rest = text[j + 1..].trim_start();
                if rest.starts_with(':') {
                    keys.push((i, j + 1));
                } else {
                    values.push((i, j + 1));
                }
                i = j + 1;
            }
            b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
                let mut j = i;
                while j < b.len() && !b",]} \n\r\t".contains(&b[j]) {
                    j += 1;
                }
                values.push((i, j));
                i = j;
            }
            _ => i += 1,
        }
    }
    (values, keys)
}

/// Small breakages of `text`: wrong values, unknown and missing keys,
/// duplicated keys, cut-off texts, lost commas.
fn broken(text: &str) -> Vec<String> {
    let (values, keys) = tokens(text);
    let splice = |(a, b): Span, with: &str| format!("{}{with}{}", &text[..a], &text[b..]);
    let mut out = Vec::new();
    for &v in &values {
        for with in [
            "\"x\"",
            "-1",
            "{}",
            "[]",
            "1.5",
            "null",
            "[1, 2]",
            "{\"zz\": 1}",
        ] {
            out.push(splice(v, with));
        }
    }
    for &(a, b) in &keys {
        out.push(splice((a, b), "\"zz\""));
        // The same key twice.
        let pair_end = text[b..].find([',', '}']).map_or(text.len(), |k| b + k);
        if text.as_bytes().get(pair_end) == Some(&b',') {
            out.push(format!("{}, {}", &text[..pair_end], &text[a..]));
        }
    }
    for (i, _) in text.match_indices('{') {
        out.push(format!("{}\"zz\": 1, {}", &text[..=i], &text[i + 1..]));
    }
    for (i, _) in text.match_indices(',') {
        out.push(format!("{}{}", &text[..i], &text[i + 1..]));
    }
    let step = (text.len() / 40).max(1);
    for cut in (0..text.len()).step_by(step) {
        out.push(text[..cut].to_string());
    }
    out
}

/// The path and message `serde_path_to_error` gives, if reading fails.
fn tracked<T: DeserializeOwned>(text: &str) -> Option<(String, String)> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize::<_, T>(de)
        .err()
        .map(|e| (e.path().to_string(), e.into_inner().to_string()))
}

/// The message without `serde_json`'s " at line L column C".
fn words(message: &str) -> &str {
    message.rsplit_once(" at line ").map_or(message, |(w, _)| w)
}

/// Compares both readers over every breakage of every file; returns the
/// differences (at most a few, for the failure message) and the count.
fn compare<T: DeserializeOwned + std::fmt::Debug>(dir: &str) -> (Vec<String>, usize, usize) {
    let (mut diffs, mut differ, mut cases) = (Vec::new(), 0, 0);
    for (name, text) in files(dir) {
        assert!(
            brokerlab::json::from_str::<T>(&text).is_ok(),
            "{name} reads"
        );
        for bad in broken(&text) {
            let Some((path, message)) = tracked::<T>(&bad) else {
                continue;
            };
            cases += 1;
            let ours = brokerlab::json::from_str::<T>(&bad).expect_err("both fail");
            let ours = (ours.path, ours.error.to_string());
            if ours.0 != path || words(&ours.1) != words(&message) {
                differ += 1;
                if diffs.len() < 12 {
                    diffs.push(format!(
                        "{name}: tracked `{path}`: {message}\n   found `{}`: {}\n   text: {}",
                        ours.0,
                        ours.1,
                        bad.chars().take(300).collect::<String>().replace('\n', " ")
                    ));
                }
            }
        }
    }
    (diffs, differ, cases)
}

#[test]
fn scenario_errors_name_the_same_field_as_path_to_error() {
    let (diffs, differ, cases) = compare::<Scenario>("scenarios");
    assert!(cases > 1000, "only {cases} broken scenarios");
    assert!(
        diffs.is_empty(),
        "{differ} of {cases} differ:\n{}",
        diffs.join("\n")
    );
}

#[test]
fn lesson_errors_name_the_same_field_as_path_to_error() {
    let (diffs, differ, cases) = compare::<Lesson>("lessons");
    assert!(cases > 1000, "only {cases} broken lessons");
    assert!(
        diffs.is_empty(),
        "{differ} of {cases} differ:\n{}",
        diffs.join("\n")
    );
}

#[test]
fn pretty_lays_out_every_bundled_file_as_serde_json_does() {
    for dir in ["scenarios", "lessons"] {
        for (name, text) in files(dir) {
            let value: serde_json::Value = serde_json::from_str(&text).expect("a bundled file");
            let compact = serde_json::to_string(&value).unwrap();
            let want = serde_json::to_string_pretty(&value).unwrap();
            assert_eq!(brokerlab::json::pretty(&compact), want, "{name}");
        }
    }
    for (name, text) in files("scenarios") {
        let scenario: Scenario = brokerlab::json::from_str(&text).expect("a bundled scenario");
        let want = serde_json::to_string_pretty(&scenario).unwrap();
        assert_eq!(scenario.to_json_pretty(), want, "{name}");
    }
}
