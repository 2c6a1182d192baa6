//! Reading JSON text into the crate's serde types, with an error that says
//! where: every scenario, lesson, share link and stored value goes through
//! [`from_str`].
//!
//! Why one function: serde code is generic over the deserializer, so each
//! type read through two deserializer types is compiled twice into the
//! page. Going through one (`serde_json::Deserializer` over a `&str`)
//! compiles each type once.
//!
//! Why not `serde_path_to_error`: it wraps every visitor and every field's
//! seed to keep the path as it reads, which cost the page 22 KB
//! (brotli). The path is found only when reading fails instead:
//! `serde_json` says at which line and column it stopped, and [`path_at`]
//! walks the text up to there with a small tokenizer, keeping the keys and
//! indices it is inside. The path reads as `serde_path_to_error` wrote it
//! (`clients[1].queue`, `.` for the whole document, `?` where a key was
//! expected), so the messages stay what they were.
//!
//! For the path to be right, every error must carry the position where its
//! value ends. `serde_json` stamps an error with its position when the error
//! leaves one of its own calls; a type whose `Deserialize` reads a whole
//! object first and judges it afterwards (an internally tagged enum, a
//! hand-written check) must judge inside its `visit_map`, before the object's
//! `}` is left behind. [`tagged`] does that for the enums tagged by a field.
//!
//! `tests/json_paths.rs` breaks every bundled scenario and lesson in some
//! 23,000 ways (wrong values, unknown, missing and doubled keys, lost
//! commas, cut-off texts) and checks that each path and message is the one
//! `serde_path_to_error` gave. One thing is stricter than before: text after
//! the value (`{...} x`) is an error, as it already was for share links.
//!
//! Writing: [`pretty`] lays out compact JSON as `to_string_pretty` would, so
//! a type written both ways is serialized by one serializer.

use serde::de::{DeserializeOwned, Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use std::fmt;

/// Why a text is not the value it should be, and where.
#[derive(Debug)]
pub struct JsonError {
    /// The field path in `serde_path_to_error`'s notation: `broker.queues[0]`,
    /// `.` for the whole document.
    pub path: String,
    /// What `serde_json` said, with its line and column.
    pub error: serde_json::Error,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.error)
    }
}

/// Reads `text` as a `T`. Trailing non-whitespace after the value is an error.
pub fn from_str<'de, T: Deserialize<'de>>(text: &'de str) -> Result<T, JsonError> {
    let mut de = serde_json::Deserializer::from_str(text);
    T::deserialize(&mut de)
        .and_then(|value| de.end().map(|()| value))
        .map_err(|error| located(text, error))
}

/// The error with its path (not generic: compiled once).
fn located(text: &str, error: serde_json::Error) -> JsonError {
    let message = error.to_string();
    let says = |words: &str| message.starts_with(words);
    // Looking for the next element of a container, or past its end.
    let between = says("trailing comma")
        || says("expected `,` or")
        || says("EOF while parsing an object")
        || says("EOF while parsing a list");
    // `serde_json` reports these one byte past the byte that was wrong.
    let peeked = says("trailing comma") || says("expected `,` or") || says("expected ident");
    let column = error.column().saturating_sub(usize::from(peeked));
    let (mut segments, after_key) = segments_at(text, error.line(), column, between);
    // Read right after a key, but the object's fault: a duplicate key, or
    // an enum written as `{"variant": ...}` whose variant is unknown. An
    // unknown field is the key's own (as `serde_path_to_error` has it).
    if after_key
        && (message.starts_with("duplicate field") || message.starts_with("unknown variant"))
    {
        segments.pop();
    }
    JsonError {
        path: joined(&segments),
        error,
    }
}

/// Segments in `serde_path_to_error`'s notation: `a`, `[2]`, `b` read as
/// `a[2].b`; none as `.`.
fn joined(segments: &[String]) -> String {
    let mut path = String::new();
    for s in segments {
        if !path.is_empty() && !s.starts_with('[') {
            path.push('.');
        }
        path.push_str(s);
    }
    if path.is_empty() {
        path.push('.');
    }
    path
}

/// Where the tokenizer stands inside one container.
enum Frame {
    /// In an object: the last key read (cleared by `,`), whether its `:`
    /// has been read, and where the key ended (a byte offset).
    Object {
        key: Option<String>,
        colon: bool,
        key_end: usize,
    },
    /// In an array: the element's index, and whether it has started.
    Array { index: usize, started: bool },
}

/// The field path at 1-based `line` and 0-based byte `column` of `text`
/// (`serde_json::Error::line`/`column`): the keys and indices of every
/// container open there, the last value or key read before it included.
pub fn path_at(text: &str, line: usize, column: usize) -> String {
    joined(&segments_at(text, line, column, false).0)
}

/// The path's segments at `line`/`column` (see [`path_at`]), and whether
/// the last one is a key read right there. `between`: the reader was
/// looking for the next element of the innermost container (a `,`, its
/// end), so the error is the container's, as `serde_path_to_error` has it:
/// `a.?` in an object, `a` in an array.
fn segments_at(text: &str, line: usize, column: usize, between: bool) -> (Vec<String>, bool) {
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n')
            .nth(line - 2)
            .map_or(text.len(), |(i, _)| i + 1)
    };
    let end = (line_start + column).min(text.len());
    let mut frames = frames_before(text.as_bytes(), end);
    // `serde_json` stops at a `{` or `[` it did not expect: a value there.
    if matches!(text.as_bytes().get(end), Some(b'{' | b'[')) {
        value_starts(&mut frames);
    }
    let mut segments = Vec::new();
    let mut after_key = false;
    let last = frames.len().saturating_sub(1);
    for (depth, frame) in frames.into_iter().enumerate() {
        if between && depth == last {
            if let Frame::Object { key, colon, .. } = frame {
                // After a key and before its `:`, the object's own.
                if key.is_none() || colon {
                    segments.push("?".into());
                }
            }
            break;
        }
        match frame {
            // Right after a key: an unknown one is the key's fault; later
            // (a missing `:`) the object's, as `serde_path_to_error` has it.
            Frame::Object {
                key: Some(key),
                colon,
                key_end,
            } if colon || key_end == end => {
                after_key = !colon;
                segments.push(key);
            }
            Frame::Object { key: Some(_), .. } => break,
            Frame::Object { key: None, .. } => {
                segments.push("?".into());
                break;
            }
            Frame::Array { index, started } => {
                if !started {
                    break;
                }
                segments.push(format!("[{index}]"));
            }
        }
    }
    (segments, after_key)
}

/// The open containers after reading every token that ends at or before
/// byte `end` of `text`. A token `end` cuts through counts as started.
fn frames_before(text: &[u8], end: usize) -> Vec<Frame> {
    let mut frames: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < end {
        let b = text[i];
        match b {
            b'{' | b'[' => {
                value_starts(&mut frames);
                frames.push(if b == b'{' {
                    Frame::Object {
                        key: None,
                        colon: false,
                        key_end: 0,
                    }
                } else {
                    Frame::Array {
                        index: 0,
                        started: false,
                    }
                });
            }
            b'}' | b']' => {
                frames.pop();
            }
            b',' => match frames.last_mut() {
                Some(Frame::Object { key, colon, .. }) => {
                    *key = None;
                    *colon = false;
                }
                Some(Frame::Array { index, started }) => {
                    *index += 1;
                    *started = false;
                }
                None => {}
            },
            b':' => {
                if let Some(Frame::Object { colon, .. }) = frames.last_mut() {
                    *colon = true;
                }
            }
            b'"' => {
                let close = string_end(text, i);
                // An unterminated string runs past `end`: see below.
                if let Some(Frame::Object {
                    key: key @ None,
                    colon: false,
                    key_end,
                }) = frames.last_mut()
                {
                    if close > end {
                        // The error is inside the key: no key was read.
                        return frames;
                    }
                    *key = Some(unescape(&text[i..close]));
                    *key_end = close;
                } else {
                    value_starts(&mut frames);
                }
                i = close;
                continue;
            }
            b if b.is_ascii_whitespace() => {}
            _ => value_starts(&mut frames),
        }
        i += 1;
    }
    frames
}

/// A value begins in the innermost container.
fn value_starts(frames: &mut [Frame]) {
    if let Some(Frame::Array { started, .. }) = frames.last_mut() {
        *started = true;
    }
}

/// The offset just after the string that opens at `start` (its closing
/// quote included), or one past the text's end if it never closes.
fn string_end(text: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < text.len() {
        match text[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    text.len() + 1
}

/// A key's text, its escapes resolved (`raw` includes the quotes).
fn unescape(raw: &[u8]) -> String {
    let raw = String::from_utf8_lossy(raw);
    if !raw.contains('\\') {
        return raw.trim_matches('"').to_string();
    }
    serde_json::from_str::<String>(&raw).unwrap_or_else(|_| raw.trim_matches('"').to_string())
}

/// `compact` JSON (as `serde_json::to_string` writes it) laid out as
/// `serde_json::to_string_pretty` lays it out: two spaces a level, one
/// element a line, `[]` and `{}` when empty. Byte for byte the same text,
/// but one small function instead of a second copy of each type's
/// serializer in the page (a scenario's alone is 11 KB).
pub fn pretty(compact: &str) -> String {
    let b = compact.as_bytes();
    let mut out = String::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let close = string_end(b, i).min(b.len());
                out.push_str(&compact[i..close]);
                i = close;
                continue;
            }
            b'{' | b'[' if matches!(b.get(i + 1), Some(b'}' | b']')) => {
                out.push_str(&compact[i..i + 2]);
                i += 1;
            }
            open @ (b'{' | b'[') => {
                depth += 1;
                out.push(char::from(open));
                newline(&mut out, depth);
            }
            close @ (b'}' | b']') => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(char::from(close));
            }
            b',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            b':' => out.push_str(": "),
            // Outside strings compact JSON is ASCII: digits, signs, literals.
            other => out.push(char::from(other)),
        }
        i += 1;
    }
    out
}

/// Reads an object tagged by its field `tag` (`{"kind": "producer", ...}`)
/// in any key order: the tag as a `K` (a `#[serde(variant_identifier)]`
/// enum), every other field kept, then `build` turns the tag and the other
/// fields into the value. This is what serde's `#[serde(tag = "...")]`
/// does, with its messages, but it judges inside the object (see the module
/// doc): the tag's own errors (an unknown kind) point at the tag, the
/// variant's at the object. The fields wait as a `serde_json::Value`, whose
/// deserializer the page compiles anyway. `expecting` is what a value that
/// is no object was expected to be.
pub fn tagged<'de, D, K, T>(
    d: D,
    expecting: &'static str,
    tag: &'static str,
    build: fn(K, Value) -> Result<T, serde_json::Error>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    K: DeserializeOwned,
{
    d.deserialize_map(Tagged {
        expecting,
        tag,
        build,
    })
}

/// The visitor behind [`tagged`].
struct Tagged<K, T> {
    /// What a value that is no object was expected to be.
    expecting: &'static str,
    /// The field that names the variant.
    tag: &'static str,
    /// The variant from its tag and its other fields.
    build: fn(K, Value) -> Result<T, serde_json::Error>,
}

impl<'de, K: DeserializeOwned, T> Visitor<'de> for Tagged<K, T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut kind: Option<K> = None;
        let mut fields = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == self.tag {
                if kind.is_some() {
                    return Err(A::Error::duplicate_field(self.tag));
                }
                kind = Some(map.next_value()?);
            } else if fields.contains_key(&key) {
                return Err(A::Error::custom(format_args!("duplicate field `{key}`")));
            } else {
                let value: Value = map.next_value()?;
                fields.insert(key, value);
            }
        }
        let kind = kind.ok_or_else(|| A::Error::missing_field(self.tag))?;
        (self.build)(kind, Value::Object(fields)).map_err(A::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // read only to fail
    struct Doc {
        a: Vec<Item>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // read only to fail
    struct Item {
        b: u32,
    }

    fn path_of(text: &str) -> String {
        from_str::<Doc>(text).unwrap_err().path
    }

    #[test]
    fn a_wrong_value_or_key_is_named_by_its_path() {
        assert_eq!(path_of(r#"{"a": [{"b": 1}, {"b": "x"}]}"#), "a[1].b");
        assert_eq!(path_of(r#"{"a": [{"b": 1}, {"\u0062": -1}]}"#), "a[1].b");
        assert_eq!(path_of(r#"{"a": [{"b": 1}, {"c": 2}]}"#), "a[1].c");
        assert_eq!(path_of(r#"{"a": [{"b": tru}]}"#), "a[0].b");
    }

    #[test]
    fn a_missing_or_doubled_key_is_its_objects() {
        assert_eq!(path_of(r#"{"a": [{"b": 1}, {}]}"#), "a[1]");
        assert_eq!(path_of(r#"{"a": [{"b": 1}, {"b": 1, "b": 2}]}"#), "a[1]");
        assert_eq!(path_of("{}"), ".");
    }

    #[test]
    fn pretty_is_to_string_pretty() {
        let value = serde_json::json!({
            "empty": {}, "none": [], "nested": [[], [{}], {"a": [1, -2.5e-7, null]}],
            "text": "a \"quoted\" {[,:]} \\ back\nslash \u{1F600} \u{7}",
            "": true, "k:{": "v,]"
        });
        let compact = serde_json::to_string(&value).unwrap();
        assert_eq!(
            pretty(&compact),
            serde_json::to_string_pretty(&value).unwrap()
        );
        assert_eq!(pretty("[]"), "[]");
        assert_eq!(pretty("1"), "1");
    }

    #[test]
    fn broken_syntax_is_placed_like_path_to_error_placed_it() {
        assert_eq!(path_of(r#"{"a": [{"b": 1} {"b": 2}]}"#), "a");
        assert_eq!(path_of(r#"{"a": [{"b": 1 "c": 2}]}"#), "a[0].?");
        assert_eq!(path_of(r#"{"a": [{"b": 1}"#), "a");
        assert_eq!(path_of(r#"{"a": [{"b": 1},]}"#), "a");
        assert_eq!(path_of(r#"{"a": [], }"#), "?");
        assert_eq!(path_of(r#"{"a": []} x"#), ".");
    }
}
