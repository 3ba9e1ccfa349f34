//! Reading a body's envelope: which JSON values in it are events. Array
//! elements are kept as the exact bytes the provider sent, and each stands
//! alone: an element that is not an event object is a bad member, not a bad
//! body.

use crate::json::{self, Object};
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

/// One member of a body's envelope, as read: where the envelope holds it
/// (`None`: the body is the one event object), and an event object, or
/// what stands in its place with the reason it is not one.
pub(crate) type Candidate<'a> = (
    Option<Place>,
    Result<EventObject<'a>, (&'a str, NormalizeError)>,
);

/// Where an envelope holds a member: the `index`th element of the array at
/// `path` (`body` for a body that is the array itself, or the field that
/// holds it, e.g. `events`). Shown as the reasons name it: `events[3]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub path: &'static str,
    pub index: usize,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.path, self.index)
    }
}

/// The top level of a body.
pub(crate) enum Body<'a> {
    Array(Elements<'a>),
    Object(Object<'a>),
}

/// A JSON array's elements, with how many there were: only the first
/// `limit` are held, so a body of a million tiny elements costs memory for
/// `limit` of them.
pub(crate) struct Elements<'a> {
    held: Vec<&'a RawValue>,
    count: usize,
    /// How many arrays and objects of the body hold each element.
    depth: usize,
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
        Some(b'[') => elements(text, limit, 1).map(Body::Array),
        Some(b'{') => json::object(text, 0)
            .map(Body::Object)
            .map_err(|e| NormalizeError::json(&e)),
        Some(_) => Err(not_a_container(provider, text)),
    }
}

/// The elements of the JSON array `text`, the whole text checked as JSON;
/// `depth` arrays and objects of the body hold each element.
fn elements(text: &str, limit: usize, depth: usize) -> Result<Elements<'_>, NormalizeError> {
    let mut de = serde_json::Deserializer::from_str(text);
    (&mut de)
        .deserialize_seq(Bounded { limit, depth })
        .and_then(|elements| de.end().map(|()| elements))
        .map_err(|e| NormalizeError::json(&e))
}

/// Collects up to `limit` elements and counts the rest without keeping them.
struct Bounded {
    limit: usize,
    depth: usize,
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
            held,
            count,
            depth: self.depth,
        })
    }
}

/// The members of a JSON array: each element should be an event object;
/// one that is not is a bad member with its reason.
pub(crate) fn objects<'a>(
    elements: Elements<'a>,
    path: &'static str,
    limit: usize,
) -> Result<Vec<Candidate<'a>>, NormalizeError> {
    if elements.count > limit {
        return Err(NormalizeError::TooManyEvents {
            count: elements.count,
            limit,
        });
    }
    let depth = elements.depth;
    Ok(elements
        .held
        .into_iter()
        .enumerate()
        .map(|(index, raw)| {
            let place = Place { path, index };
            (Some(place), member(raw, place, depth))
        })
        .collect())
}

/// One element of an envelope's array, read as an event object; `depth`
/// arrays and objects of the body hold it.
pub(crate) fn member<'a>(
    raw: &'a RawValue,
    place: impl fmt::Display,
    depth: usize,
) -> Result<EventObject<'a>, (&'a str, NormalizeError)> {
    let text = raw.get();
    match json::object(text, depth) {
        Ok(fields) => Ok(EventObject { raw: text, fields }),
        // An object that still fails to parse is nested too deep, has a key
        // twice, or holds a number beyond f64.
        Err(e) if kind_of_raw(raw) == "an object" => Err((
            text,
            NormalizeError::NotAnEvent(format!("{place} cannot be read: {e}")),
        )),
        Err(_) => Err((
            text,
            NormalizeError::NotAnEvent(format!(
                "{place} is {}, expected an event object",
                kind_of_raw(raw)
            )),
        )),
    }
}

/// The whole body as one event.
pub(crate) fn whole<'a>(text: &'a str, fields: Object<'a>) -> Vec<Candidate<'a>> {
    vec![(None, Ok(EventObject { raw: text, fields }))]
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

/// Reads a raw value of the body's top-level object that must be an array
/// of event objects.
pub(crate) fn raw_array<'a>(
    provider: &'static str,
    raw: &'a RawValue,
    path: &'static str,
    limit: usize,
) -> Result<Vec<Candidate<'a>>, NormalizeError> {
    if first_byte(raw.get()) != Some(b'[') {
        return Err(NormalizeError::shape(
            provider,
            format!("{path} is {}, expected an array", kind_of_raw(raw)),
        ));
    }
    let elements = elements(raw.get(), limit, 2)?;
    objects(elements, path, limit)
}
