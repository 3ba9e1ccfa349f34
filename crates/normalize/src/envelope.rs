//! Reading a body's envelope: which JSON values in it are events. Array
//! elements are kept as the exact bytes the provider sent, and each stands
//! alone: an element that is not an event object is a bad member, not a bad
//! body.

use crate::json::Object;
use crate::NormalizeError;
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;
use std::fmt;

/// One event object of a body: its original JSON text and its fields.
#[derive(Debug)]
pub(crate) struct EventObject<'a> {
    pub raw: &'a str,
    pub fields: Object<'a>,
}

/// One member of a body's envelope, as read: an event object, or what stands in its
/// place with the reason it is not one.
pub(crate) type Candidate<'a> = Result<EventObject<'a>, (&'a str, NormalizeError)>;

/// The top level of a body.
pub(crate) enum Body<'a> {
    Array(Elements<'a>),
    Object(Object<'a>),
}

/// A JSON array's elements, with how many there were: only the first
/// `limit` are held, so a body of a million tiny elements costs memory for
/// `limit` of them.
pub(crate) struct Elements<'a> {
    held: Held<'a>,
    pub count: usize,
}

enum Held<'a> {
    /// Unparsed, as the whole array was checked.
    Raw(Vec<&'a RawValue>),
    /// Every element an event object, each read once (see [`all_objects`]).
    Objects(Vec<EventObject<'a>>),
}

/// Reads the top level of `text`, holding at most `limit` array elements;
/// anything but an array or an object is not any provider's shape.
pub(crate) fn read<'a>(
    provider: &'static str,
    text: &'a str,
    limit: usize,
) -> Result<Body<'a>, NormalizeError> {
    match first_byte(text) {
        None => Err(NormalizeError::Empty),
        Some(b'[') => elements(text, limit).map(Body::Array),
        Some(b'{') => serde_json::from_str(text)
            .map(Body::Object)
            .map_err(|e| NormalizeError::json(&e)),
        Some(_) => Err(not_a_container(provider, text)),
    }
}

/// The elements of the JSON array `text`, the whole text checked as JSON.
fn elements(text: &str, limit: usize) -> Result<Elements<'_>, NormalizeError> {
    if let Some(objects) = all_objects(text, limit) {
        return Ok(Elements {
            count: objects.len(),
            held: Held::Objects(objects),
        });
    }
    checked_elements(text, limit)
}

/// [`elements`] by the checked path: the whole array parsed first, each
/// element held unparsed.
fn checked_elements(text: &str, limit: usize) -> Result<Elements<'_>, NormalizeError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let elements = (&mut de)
        .deserialize_seq(Bounded { limit })
        .and_then(|elements| de.end().map(|()| elements))
        .map_err(|e| NormalizeError::json(&e))?;
    Ok(elements)
}

/// Collects up to `limit` elements and counts the rest without keeping them.
struct Bounded {
    limit: usize,
}

impl<'de> Visitor<'de> for Bounded {
    type Value = Elements<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Elements<'de>, A::Error> {
        let mut held = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.limit).min(1024));
        let mut count = 0;
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            if count < self.limit {
                held.push(raw);
            }
            count += 1;
        }
        Ok(Elements {
            held: Held::Raw(held),
            count,
        })
    }
}

/// JSON's whitespace (RFC 8259), which is all serde_json skips.
fn json_space(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

/// Arrays nested deeper than this inside an element are left to the
/// checked path, well within serde_json's recursion limit of 128 for the
/// body as a whole.
const FAST_DEPTH: usize = 64;

/// The common case read in one pass instead of two: when `text` is a JSON
/// array of at most `limit` elements that each read as an event object,
/// those objects with their exact text. `None` for anything else (any
/// element not an object or not readable, bad separators, more than
/// `limit`, deep nesting), which the checked path then reads and reports
/// as before. What it returns is what that path gives for the same text:
/// an element's text ends at its matching brace, and it reads in full as
/// an object, so it is the same slice the whole array's parse would hold.
fn all_objects(text: &str, limit: usize) -> Option<Vec<EventObject<'_>>> {
    let bytes = text.as_bytes();
    let skip_space = |mut at: usize| {
        while bytes.get(at).copied().is_some_and(json_space) {
            at += 1;
        }
        at
    };
    let mut at = skip_space(0);
    if bytes.get(at) != Some(&b'[') {
        return None;
    }
    at = skip_space(at + 1);
    let mut objects = Vec::new();
    if bytes.get(at) == Some(&b']') {
        return (skip_space(at + 1) == bytes.len()).then_some(objects);
    }
    loop {
        if objects.len() == limit {
            return None;
        }
        let end = object_end(bytes, at)?;
        let raw = text.get(at..end)?;
        let fields = serde_json::from_str::<Object<'_>>(raw).ok()?;
        objects.push(EventObject { raw, fields });
        at = skip_space(end);
        match bytes.get(at) {
            Some(b',') => at = skip_space(at + 1),
            Some(b']') => return (skip_space(at + 1) == bytes.len()).then_some(objects),
            _ => return None,
        }
    }
}

/// Where the object starting at `start` ends (just past its matching
/// brace), counting brackets outside strings; `None` when `start` is not
/// `{`, the text ends first, or it nests deeper than [`FAST_DEPTH`]. Only
/// a guess at the boundary: the caller reads the slice as an object, which
/// fails unless it is one.
fn object_end(bytes: &[u8], start: usize) -> Option<usize> {
    if bytes.get(start) != Some(&b'{') {
        return None;
    }
    let mut depth = 0usize;
    let mut at = start;
    while let Some(&b) = bytes.get(at) {
        at += 1;
        match b {
            b'{' | b'[' => {
                depth += 1;
                if depth > FAST_DEPTH {
                    return None;
                }
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(at);
                }
            }
            b'"' => loop {
                match bytes.get(at)? {
                    b'"' => {
                        at += 1;
                        break;
                    }
                    b'\\' => at += 2,
                    _ => at += 1,
                }
            },
            _ => {}
        }
    }
    None
}

/// Checks that a body's array of events holds no more than `limit` members.
pub(crate) fn within(elements: &Elements<'_>, limit: usize) -> Result<(), NormalizeError> {
    if elements.count > limit {
        return Err(NormalizeError::TooManyEvents {
            count: elements.count,
            limit,
        });
    }
    Ok(())
}

/// The members of a JSON array: each element should be an event object;
/// one that is not is a bad member with its reason.
pub(crate) fn objects<'a>(
    elements: Elements<'a>,
    path: &str,
    limit: usize,
) -> Result<Vec<Candidate<'a>>, NormalizeError> {
    within(&elements, limit)?;
    Ok(match elements.held {
        Held::Raw(held) => held
            .into_iter()
            .enumerate()
            .map(|(i, raw)| member(raw, path, i))
            .collect(),
        Held::Objects(objects) => objects.into_iter().map(Ok).collect(),
    })
}

fn member<'a>(raw: &'a RawValue, path: &str, i: usize) -> Candidate<'a> {
    let text = raw.get();
    match serde_json::from_str::<Object<'a>>(text) {
        Ok(fields) => Ok(EventObject { raw: text, fields }),
        // An object that still fails to parse is nested too deep, or holds a
        // number beyond f64.
        Err(e) if kind_of_raw(raw) == "an object" => Err((
            text,
            NormalizeError::NotAnEvent(format!("{path}[{i}] cannot be read: {e}")),
        )),
        Err(_) => Err((
            text,
            NormalizeError::NotAnEvent(format!(
                "{path}[{i}] is {}, expected an event object",
                kind_of_raw(raw)
            )),
        )),
    }
}

/// The whole body as one event.
pub(crate) fn whole<'a>(text: &'a str, fields: Object<'a>) -> Vec<Candidate<'a>> {
    vec![Ok(EventObject { raw: text, fields })]
}

/// An error for a body that is a JSON scalar (or not JSON at all).
fn not_a_container(provider: &'static str, text: &str) -> NormalizeError {
    match serde_json::from_str::<Value>(text) {
        Err(e) => NormalizeError::json(&e),
        Ok(value) => NormalizeError::shape(
            provider,
            format!("expected a JSON object or array, got {}", kind(&value)),
        ),
    }
}

pub(crate) fn first_byte(text: &str) -> Option<u8> {
    text.bytes().find(|b| !b.is_ascii_whitespace())
}

pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn kind_of_raw(raw: &RawValue) -> &'static str {
    match first_byte(raw.get()) {
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        Some(b'"') => "a string",
        Some(b'[') => "an array",
        Some(b'{') => "an object",
        _ => "a number",
    }
}

/// Reads a raw value that must be an array of event objects.
pub(crate) fn raw_array<'a>(
    provider: &'static str,
    raw: &'a RawValue,
    path: &str,
    limit: usize,
) -> Result<Vec<Candidate<'a>>, NormalizeError> {
    if first_byte(raw.get()) != Some(b'[') {
        return Err(NormalizeError::shape(
            provider,
            format!("{path} is {}, expected an array", kind_of_raw(raw)),
        ));
    }
    let elements = elements(raw.get(), limit)?;
    objects(elements, path, limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Per member: its text (with the reason, for one that is not an event
    /// object) and, for an event object, its canonical JSON.
    type Read = Vec<(String, Option<Vec<u8>>)>;

    /// What each path makes of `text`, or the error.
    fn read_by(
        text: &str,
        limit: usize,
        read: fn(&str, usize) -> Result<Elements<'_>, NormalizeError>,
    ) -> Result<Read, NormalizeError> {
        let members = objects(read(text, limit)?, "body", limit)?;
        Ok(members
            .into_iter()
            .map(|m| match m {
                Ok(object) => {
                    let mut canonical = Vec::new();
                    object.fields.write_canonical(&mut canonical);
                    (object.raw.to_owned(), Some(canonical))
                }
                Err((raw, reason)) => (format!("{raw} {reason}"), None),
            })
            .collect())
    }

    fn same_both_ways(text: &str) {
        for limit in [0, 1, 2, 3, usize::MAX] {
            assert_eq!(
                read_by(text, limit, elements),
                read_by(text, limit, checked_elements),
                "{text:?} limit {limit}"
            );
        }
    }

    #[test]
    fn one_pass_reads_what_the_checked_path_reads() {
        let deep = format!("[{}1{}]", r#"{"a":["#.repeat(40), "]}".repeat(40));
        let deeper = format!("[{}1{}]", r#"{"a":["#.repeat(130), "]}".repeat(130));
        for text in [
            "[]",
            " [ ] ",
            "[ {} ]",
            r#"[{"a":1},{"b":"x"}]"#,
            " \r\n\t[ {\"a\" : [1, {\"b\": \"}]{[\"}] } ,\n{\"c\":null} ]\n ",
            r#"[{"s":"quote \" and \\ and \\\" ]"}]"#,
            r#"[{"dup":1,"dup":2}, {"z":1,"a":2}]"#,
            r#"[{"a":1},]"#,
            r#"[{"a":1} {"b":2}]"#,
            r#"[{"a":1}] x"#,
            r#"[{"a":1}"#,
            r#"[{"a":"unterminated}]"#,
            r#"[{"a":1}}]"#,
            r#"[{"a":]}]"#,
            r#"[1, {"a":1}]"#,
            r#"[{"a":1}, null, "x", [], {"b":2}]"#,
            r#"[{"a":1e400}]"#,
            r#"[{"a":1}, {"b":1e400}]"#,
            "\u{c}[{\"a\":1}]",
            "[{\"a\":1}]\u{c}",
            r#"[{"é":"ü\u00e9"}, {"\ud83d\ude00":[]}]"#,
            r#"[{'a':1}]"#,
            &deep,
            &deeper,
        ] {
            same_both_ways(text);
        }
    }

    #[test]
    fn every_fixture_reads_the_same_both_ways() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut arrays = 0;
        for dir in std::fs::read_dir(root).unwrap() {
            for file in std::fs::read_dir(dir.unwrap().path()).unwrap() {
                let bytes = std::fs::read(file.unwrap().path()).unwrap();
                let Ok(text) = std::str::from_utf8(&bytes) else {
                    continue;
                };
                if first_byte(text) == Some(b'[') {
                    arrays += 1;
                    same_both_ways(text);
                }
            }
        }
        assert!(arrays > 20, "{arrays}");
    }

    proptest::proptest! {
        /// Arrays of JSON-like fragments, valid or not.
        #[test]
        fn any_array_reads_the_same_both_ways(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "{", "}", "[", "]", ",", ":", " ", "\n", "\"a\"", "\"b\\\"\"",
                    "\"}\"", "\"[\"", "1", "-2.5e3", "null", "true", "\"\\\\\"",
                    "{\"k\":", "{\"k\":1}", "\"\\u00e9\"", "\u{c}",
                ]),
                0..24,
            ),
        ) {
            let text = format!("[{}]", parts.concat());
            same_both_ways(&text);
        }
    }
}
