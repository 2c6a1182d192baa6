//! The layering of the crate, checked.
//!
//! Every top-level module of `src/` sits in one layer of [`LAYERS`], bottom
//! to top. A module may use modules of the layers below it and nothing else:
//! not a module above it (an upward edge), and not a sibling in its own layer
//! (then one of them belongs above the other). With every edge pointing down,
//! there can be no cycle; the cycle check is there anyway, so a cycle is
//! reported as one (with every edge of it) even if the table is edited wrong.
//!
//! How the edges are found: each `src/**/*.rs` file is read, comments and
//! string literals are blanked out, and every path that starts at the crate
//! root is collected: `use crate::a::b;`, grouped `use crate::{a, b::{c, d}}`
//! over several lines, a `crate::a::f()` written in code, and a `super::`
//! chain that climbs out of its top-level module. The file's own top-level
//! module is the first folder (or file) under `src/`. Binaries in `src/bin/`
//! are separate crates (they use `brokerlab::`), so they are not part of
//! this graph. `lib.rs` only declares the modules.
//!
//! A failure names the edge and the `file:line` where it is written.
//!
//! The same reading also holds every source file under [`FILE_LINES_MAX`]:
//! a file that grows past it holds more than one job, and wants to become a
//! folder of rooms. (Functions are held under 70 lines by clippy's
//! `too_many_lines`, switched on in `src/lib.rs`, threshold in `clippy.toml`.)
//!
//! Native only: it reads the source tree from disk.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The layers, bottom to top, each with why it sits there. A new top-level
/// module must be added here (the test fails until it is).
const LAYERS: &[(&[&str], &str)] = &[
    // The product's name and pitch: plain constants, needed by the CLI and the
    // page. Broker node ids and names: storage, faults, brokers, the history
    // and the world all name nodes, and a node id needs nothing. Reading JSON
    // with the field path in the error: every layer that reads a file or a
    // stored value uses it, and it needs only serde. The heap meter: the
    // checker's shared tables and the timeline's checkpoints weigh copies.
    (
        &["version", "node", "json", "meter"],
        "constants, identities and JSON reading",
    ),
    // The scenario vocabulary (plain serde types) and the disk model: both are
    // used by every layer above and need nothing of the crate themselves.
    (&["config", "storage"], "vocabulary and disk"),
    // The deterministic machinery a run stands on: seeded PRNG, links, fault draws.
    (&["sim"], "simulation substrate"),
    // Brokers as sans-IO state machines: they speak the wire types and write to storage.
    (&["broker"], "brokers"),
    // The Jepsen-style record of a run: its events name broker notes and requests.
    (&["history"], "history"),
    // Simulated producers and consumers: they send broker requests and record history.
    (&["client"], "clients"),
    // Judging a history, and a guarantee's knobs: both read what clients and brokers did.
    (&["check", "guarantee"], "judgement and guarantees"),
    // Loading and validating a scenario: validation asks guarantees and clients.
    (&["scenario"], "loading and validation"),
    // The world: builds brokers and clients from a scenario, runs them, feeds the checker.
    (&["world"], "the running world"),
    // What drives a world: the page's session and playground, the benchmarks,
    // and the export of a scenario as an experiment on a real broker.
    (&["app", "bench", "export"], "applications"),
    // The Yew page (wasm only): draws what `app` holds.
    (&["ui"], "the page"),
];

/// Methods defined in one top-level module on a type of another: `impl
/// Scenario { fn from_json, fn validate }` lives in `scenario`, the type in
/// `config`. A call names no module, so it is matched by its shape and
/// counted as an edge to the module that defines the method: `(shape, module)`,
/// where the shape is a run of tokens.
const METHOD_EDGES: &[(&[&str], &str)] = &[
    (&["Scenario", "::", "from_json", "("], "scenario"),
    (&["Scenario", "::", "validate", "("], "scenario"),
    (&[".", "validate", "(", ")"], "scenario"),
];

/// No file under `src/` may have more lines than this.
const FILE_LINES_MAX: usize = 800;

/// Files allowed over [`FILE_LINES_MAX`] for now, each with why (none
/// today: the last, `src/broker/queue.rs`, became `src/broker/queue/`).
/// Remove an entry when its file is split; an entry whose file is gone or
/// short is ignored, so the split can land before the entry goes.
const FILE_LINES_ALLOWED: &[(&str, &str)] = &[];

/// One reference from a file to a top-level module.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Edge {
    /// The top-level module the file belongs to.
    from: String,
    /// The top-level module it names.
    to: String,
    /// Where: `src/broker/log.rs:50`.
    at: String,
}

#[test]
fn top_level_modules_form_layers_without_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = top_level_modules(&src);
    let edges = crate_edges(&src, &modules);
    println!("{}", graph_text(&edges));
    let mut problems = String::new();
    problems.push_str(&table_problems(&modules));
    problems.push_str(&cycle_report(&edges));
    problems.push_str(&layer_report(&edges));
    assert!(problems.is_empty(), "the layering is broken:\n{problems}");
}

#[test]
fn no_source_file_is_over_the_line_limit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let mut problems = String::new();
    for file in rust_files(&src) {
        let shown = file.strip_prefix(root).unwrap().display().to_string();
        let lines = std::fs::read_to_string(&file)
            .expect("a source file is readable")
            .lines()
            .count();
        let allowed = FILE_LINES_ALLOWED.iter().any(|(f, _)| *f == shown);
        if lines > FILE_LINES_MAX && !allowed {
            let _ = writeln!(
                problems,
                "- {shown} has {lines} lines (limit {FILE_LINES_MAX}): split it into \
                 rooms with one job each"
            );
        }
    }
    assert!(problems.is_empty(), "files over the limit:\n{problems}");
}

/// The top-level modules: `src/x.rs` and `src/x/`, without `lib.rs` and `bin/`.
fn top_level_modules(src: &Path) -> BTreeSet<String> {
    let mut modules = BTreeSet::new();
    for entry in std::fs::read_dir(src).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let is_module = if path.is_dir() {
            name != "bin"
        } else {
            path.extension().is_some_and(|e| e == "rs") && name != "lib"
        };
        if is_module {
            modules.insert(name);
        }
    }
    modules
}

/// Every edge between two different top-level modules, in file order.
fn crate_edges(src: &Path, modules: &BTreeSet<String>) -> Vec<Edge> {
    let mut edges = Vec::new();
    for file in rust_files(src) {
        let rel = file.strip_prefix(src).unwrap();
        let Some((from, depth)) = module_of(rel, modules) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("a source file is readable");
        let shown = Path::new("src").join(rel).display().to_string();
        for (to, line) in root_references(&text, depth) {
            if to != from && modules.contains(&to) {
                let at = format!("{shown}:{line}");
                edges.push(Edge {
                    from: from.clone(),
                    to,
                    at,
                });
            }
        }
    }
    edges
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("a readable folder")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// A file's top-level module and the depth of its module path (`x.rs` and
/// `x/mod.rs` are 1, `x/y.rs` is 2), for `super::`. `None`: not in the graph.
fn module_of(rel: &Path, modules: &BTreeSet<String>) -> Option<(String, usize)> {
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let first = parts[0].trim_end_matches(".rs").to_string();
    if !modules.contains(&first) {
        return None;
    }
    let last = parts.last().unwrap();
    let depth = if last == "mod.rs" {
        parts.len() - 1
    } else {
        parts.len()
    };
    Some((first, depth))
}

/// The source with comments, string and char literals replaced by spaces.
/// Newlines stay, so line numbers still match the file.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let skip = literal_or_comment_len(&chars, i);
        if skip == 0 {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        for &c in &chars[i..i + skip] {
            out.push(if c == '\n' { '\n' } else { ' ' });
        }
        i += skip;
    }
    out
}

/// How many chars from `i` are a comment or a literal (0: neither).
fn literal_or_comment_len(c: &[char], i: usize) -> usize {
    let at = |k: usize| c.get(i + k).copied().unwrap_or('\0');
    let ident_before = i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_');
    match (at(0), at(1)) {
        ('/', '/') => c[i..]
            .iter()
            .position(|&x| x == '\n')
            .unwrap_or(c.len() - i),
        ('/', '*') => block_comment_len(c, i),
        ('"', _) => quoted_len(c, i, '"'),
        ('\'', _) => char_literal_len(c, i),
        ('b', '"') if !ident_before => 1 + quoted_len(c, i + 1, '"'),
        ('b', '\'') if !ident_before => 1 + quoted_len(c, i + 1, '\''),
        ('r', '"' | '#') if !ident_before => raw_string_len(c, i + 1).map_or(0, |n| n + 1),
        ('b', 'r') if !ident_before => raw_string_len(c, i + 2).map_or(0, |n| n + 2),
        _ => 0,
    }
}

/// A `/* */` comment; they nest in Rust.
fn block_comment_len(c: &[char], start: usize) -> usize {
    let (mut i, mut depth) = (start, 0usize);
    while i < c.len() {
        if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            depth += 1;
            i += 2;
        } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i - start;
            }
        } else {
            i += 1;
        }
    }
    c.len() - start
}

/// A literal from the quote at `start` to its closing `quote`, escapes skipped.
fn quoted_len(c: &[char], start: usize, quote: char) -> usize {
    let mut i = start + 1;
    while i < c.len() {
        match c[i] {
            '\\' => i += 2,
            x if x == quote => return i + 1 - start,
            _ => i += 1,
        }
    }
    c.len() - start
}

/// `'x'`, `'\n'`, `'\u{..}'` are literals; `'a` in `&'a str` is a lifetime.
fn char_literal_len(c: &[char], start: usize) -> usize {
    if c.get(start + 1) == Some(&'\\') || c.get(start + 2) == Some(&'\'') {
        quoted_len(c, start, '\'')
    } else {
        0
    }
}

/// `"..."`, `#"..."#`, ... after the `r` of a raw string; `None`: not one.
fn raw_string_len(c: &[char], start: usize) -> Option<usize> {
    let hashes = c[start..].iter().take_while(|&&x| x == '#').count();
    if c.get(start + hashes) != Some(&'"') {
        return None;
    }
    let mut i = start + hashes + 1;
    while i < c.len() {
        if c[i] == '"'
            && c[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&x| x == '#')
                .count()
                == hashes
        {
            return Some(i + 1 + hashes - start);
        }
        i += 1;
    }
    Some(c.len() - start)
}

/// One token of code: a word (identifier or keyword) or a punctuation char
/// (`::` is one token), with its line.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Token {
    text: String,
    line: usize,
}

fn tokens(code: &str) -> Vec<Token> {
    let chars: Vec<char> = code.chars().collect();
    let (mut out, mut line, mut i) = (Vec::new(), 1, 0);
    while i < chars.len() {
        let c = chars[i];
        let len = if c.is_alphanumeric() || c == '_' {
            chars[i..]
                .iter()
                .take_while(|x| x.is_alphanumeric() || **x == '_')
                .count()
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            2
        } else {
            1
        };
        if !c.is_whitespace() {
            let text = chars[i..i + len].iter().collect();
            out.push(Token { text, line });
        }
        line += usize::from(c == '\n');
        i += len;
    }
    out
}

/// Every `(top-level module, line)` a file at module depth `depth` names
/// through the crate root: `crate::x`, `crate::{x, y}`, or enough `super::`s.
fn root_references(text: &str, depth: usize) -> Vec<(String, usize)> {
    let toks = tokens(&code_only(text));
    let word = |k: usize| toks.get(k).map_or("", |t| t.text.as_str());
    let mut found = Vec::new();
    // Brace depths at which inline `mod name {` blocks opened: each adds
    // one level that a `super::` must climb.
    let (mut braces, mut inline_mods): (usize, Vec<usize>) = (0, Vec::new());
    let mut i = 0;
    while i < toks.len() {
        match word(i) {
            "{" => {
                braces += 1;
                if i >= 2 && word(i - 2) == "mod" {
                    inline_mods.push(braces);
                }
            }
            "}" => {
                if inline_mods.last() == Some(&braces) {
                    inline_mods.pop();
                }
                braces = braces.saturating_sub(1);
            }
            "crate" if word(i + 1) == "::" && (i == 0 || word(i - 1) != "$") => {
                found.extend(path_heads(&toks, i + 2));
            }
            "super" if i == 0 || word(i - 1) != "::" => {
                let mut k = i;
                while word(k) == "super" && word(k + 1) == "::" {
                    k += 2;
                }
                if (k - i) / 2 >= depth + inline_mods.len() {
                    found.extend(path_heads(&toks, k));
                }
                i = k.max(i + 1);
                continue;
            }
            _ => found.extend(method_edge(&toks, i)),
        }
        i += 1;
    }
    found
}

/// The module whose method a call at `toks[i]` reaches, by [`METHOD_EDGES`].
fn method_edge(toks: &[Token], i: usize) -> Option<(String, usize)> {
    METHOD_EDGES.iter().find_map(|(shape, module)| {
        let here = toks.get(i..i + shape.len())?;
        let fits = here.iter().zip(shape.iter()).all(|(t, w)| t.text == *w);
        fits.then(|| (module.to_string(), toks[i].line))
    })
}

/// The first segment(s) of a path from the crate root at `toks[k]`: one
/// word, or every group member of `{a, b::{c, d}}`.
fn path_heads(toks: &[Token], k: usize) -> Vec<(String, usize)> {
    let Some(first) = toks.get(k) else {
        return Vec::new();
    };
    if first.text != "{" {
        return vec![(first.text.clone(), first.line)];
    }
    let (mut heads, mut nesting, mut at_start) = (Vec::new(), 0usize, true);
    for t in &toks[k..] {
        match t.text.as_str() {
            "{" => {
                nesting += 1;
                at_start = nesting == 1;
            }
            "}" if nesting == 1 => break,
            "}" => nesting -= 1,
            "," if nesting == 1 => at_start = true,
            w if at_start && nesting == 1 => {
                if w != "self" {
                    heads.push((w.to_string(), t.line));
                }
                at_start = false;
            }
            _ => {}
        }
    }
    heads
}

/// Modules missing from [`LAYERS`], and entries naming no module.
fn table_problems(modules: &BTreeSet<String>) -> String {
    let listed: BTreeSet<String> = LAYERS
        .iter()
        .flat_map(|(names, _)| names.iter().map(|n| n.to_string()))
        .collect();
    let mut out = String::new();
    for m in modules.difference(&listed) {
        let _ = writeln!(
            out,
            "- top-level module `{m}` is in no layer: add it to LAYERS in tests/architecture.rs"
        );
    }
    for m in listed.difference(modules) {
        let _ = writeln!(
            out,
            "- LAYERS names `{m}`, which is not a top-level module of src/"
        );
    }
    out
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(names, _)| names.contains(&module))
}

/// Every edge that does not point to a lower layer, with where it is written.
fn layer_report(edges: &[Edge]) -> String {
    let mut out = String::new();
    for e in edges {
        let (Some(from), Some(to)) = (layer_of(&e.from), layer_of(&e.to)) else {
            continue;
        };
        if to < from {
            continue;
        }
        let how = if to == from {
            "a sibling in the same layer"
        } else {
            "a higher layer"
        };
        let _ = writeln!(
            out,
            "- forbidden edge {} -> {} at {}: `{}` ({}) may not use `{}` ({}), {how}",
            e.from, e.to, e.at, e.from, LAYERS[from].1, e.to, LAYERS[to].1
        );
    }
    out
}

/// One cycle among top-level modules if there is any, edge by edge.
fn cycle_report(edges: &[Edge]) -> String {
    let mut graph: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
    for e in edges {
        graph
            .entry(&e.from)
            .or_default()
            .entry(&e.to)
            .or_insert(&e.at);
    }
    let Some(cycle) = find_cycle(&graph) else {
        return String::new();
    };
    let mut out = String::from("- cycle among top-level modules:\n");
    for pair in cycle.windows(2) {
        let at = graph[pair[0]][pair[1]];
        let _ = writeln!(out, "    {} -> {} at {at}", pair[0], pair[1]);
    }
    out
}

/// A cycle as its modules, first repeated at the end, found by depth-first search.
fn find_cycle<'a>(graph: &BTreeMap<&'a str, BTreeMap<&'a str, &'a str>>) -> Option<Vec<&'a str>> {
    let mut done = BTreeSet::new();
    for &start in graph.keys() {
        let mut path = Vec::new();
        if let Some(c) = dfs(graph, start, &mut path, &mut done) {
            return Some(c);
        }
    }
    None
}

fn dfs<'a>(
    graph: &BTreeMap<&'a str, BTreeMap<&'a str, &'a str>>,
    node: &'a str,
    path: &mut Vec<&'a str>,
    done: &mut BTreeSet<&'a str>,
) -> Option<Vec<&'a str>> {
    if let Some(pos) = path.iter().position(|&n| n == node) {
        let mut cycle = path[pos..].to_vec();
        cycle.push(node);
        return Some(cycle);
    }
    if done.contains(node) {
        return None;
    }
    path.push(node);
    for &next in graph.get(node).into_iter().flat_map(|m| m.keys()) {
        if let Some(c) = dfs(graph, next, path, done) {
            return Some(c);
        }
    }
    path.pop();
    done.insert(node);
    None
}

/// The graph as text, one line per module, bottom layer first: who uses
/// whom. Printed by the test (`cargo test --test architecture -- --nocapture`).
fn graph_text(edges: &[Edge]) -> String {
    let mut uses: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in edges {
        uses.entry(&e.from).or_default().insert(&e.to);
    }
    let mut out = String::new();
    for (names, why) in LAYERS {
        for m in *names {
            let below: Vec<&str> = uses.get(*m).into_iter().flatten().copied().collect();
            let _ = writeln!(out, "{m:10} ({why}) uses {}", below.join(", "));
        }
    }
    out
}

mod parser {
    use super::{code_only, root_references, tokens};

    fn heads(text: &str, depth: usize) -> Vec<(String, usize)> {
        root_references(text, depth)
    }

    #[test]
    fn finds_grouped_uses_over_lines_and_paths_in_code() {
        let text = "use crate::broker::{self, Message};\n\
                    use crate::{\n    check::Summary,\n    history::{Entry, Proc},\n};\n\
                    fn f() { let x = crate::sim::rng::SimRng::new(1); }\n";
        let found = heads(text, 1);
        let want = [("broker", 1), ("check", 3), ("history", 4), ("sim", 6)];
        let want: Vec<(String, usize)> = want.iter().map(|(m, l)| (m.to_string(), *l)).collect();
        assert_eq!(found, want);
    }

    #[test]
    fn skips_comments_strings_and_macro_crate_paths() {
        let text = "// use crate::app::Session;\n\
                    /// see [`crate::ui`]\n\
                    /* use crate::world; /* nested */ crate::bench */\n\
                    const S: &str = \"crate::app::x\";\n\
                    const R: &str = r#\"crate::app \"quoted\" \"#;\n\
                    const C: char = '\"'; fn g<'a>(x: &'a str) {}\n\
                    macro_rules! m { () => { $crate::app::x() } }\n\
                    use crate::config::Acks;\n";
        assert_eq!(heads(text, 1), vec![("config".to_string(), 8)]);
    }

    #[test]
    fn super_counts_only_when_it_climbs_out_of_the_top_level_module() {
        // In src/broker/log/mod.rs (depth 2): `super::super::x` reaches the root.
        let text = "use super::dedup::Window;\nuse super::super::client::Id;\n";
        assert_eq!(heads(text, 2), vec![("client".to_string(), 2)]);
        // Inside an inline `mod tests`, `super::` is the file's own module.
        let text = "mod tests {\n    use super::Entry;\n    use super::super::app::X;\n}\n";
        assert_eq!(heads(text, 1), vec![("app".to_string(), 3)]);
    }

    #[test]
    fn a_scenario_method_defined_in_scenario_counts_as_an_edge_to_it() {
        let text = "let s = Scenario::from_json(t)?;
candidate.validate()?;
x.validate(1);
";
        let want = vec![("scenario".to_string(), 1), ("scenario".to_string(), 2)];
        assert_eq!(heads(text, 1), want);
    }

    #[test]
    fn comments_keep_line_numbers() {
        let code = code_only("/* a\nb */ x\n\"s\ns\" y");
        let toks = tokens(&code);
        let lines: Vec<(String, usize)> = toks.into_iter().map(|t| (t.text, t.line)).collect();
        assert_eq!(lines, vec![("x".into(), 2), ("y".into(), 4)]);
    }
}
