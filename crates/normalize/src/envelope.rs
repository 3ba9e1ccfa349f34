//! Reading a body's envelope: which JSON values in it are events. Array
//! elements are kept as the exact bytes the provider sent.

use crate::json::Object;
use crate::NormalizeError;
use serde_json::value::RawValue;
use serde_json::Value;

/// One event object of a body: its original JSON text and its fields.
#[derive(Debug)]
pub(crate) struct Item<'a> {
    pub raw: &'a str,
    pub fields: Object<'a>,
}

/// The top level of a body.
pub(crate) enum Body<'a> {
    Array(Vec<&'a RawValue>),
    Object(Object<'a>),
}

/// Reads the top level of `text`; anything but an array or an object is not
/// any provider's shape.
pub(crate) fn read<'a>(provider: &'static str, text: &'a str) -> Result<Body<'a>, NormalizeError> {
    match first_byte(text) {
        None => Err(NormalizeError::Empty),
        Some(b'[') => serde_json::from_str(text)
            .map(Body::Array)
            .map_err(|e| NormalizeError::json(&e)),
        Some(b'{') => serde_json::from_str(text)
            .map(Body::Object)
            .map_err(|e| NormalizeError::json(&e)),
        Some(_) => Err(not_a_container(provider, text)),
    }
}

/// The events of a JSON array: every element must be an object.
pub(crate) fn objects<'a>(
    provider: &'static str,
    elements: Vec<&'a RawValue>,
    path: &str,
) -> Result<Vec<Item<'a>>, NormalizeError> {
    elements
        .into_iter()
        .enumerate()
        .map(
            |(i, raw)| match serde_json::from_str::<Object<'a>>(raw.get()) {
                Ok(fields) => Ok(Item {
                    raw: raw.get(),
                    fields,
                }),
                // An object that still fails to parse is nested too deep.
                Err(e) if kind_of_raw(raw) == "an object" => {
                    Err(NormalizeError::InvalidJson(format!("{path}[{i}]: {e}")))
                }
                Err(_) => Err(NormalizeError::shape(
                    provider,
                    format!(
                        "{path}[{i}] is {}, expected an event object",
                        kind_of_raw(raw)
                    ),
                )),
            },
        )
        .collect()
}

/// The whole body as one event.
pub(crate) fn whole<'a>(text: &'a str, fields: Object<'a>) -> Item<'a> {
    Item { raw: text, fields }
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
) -> Result<Vec<Item<'a>>, NormalizeError> {
    let elements: Vec<&'a RawValue> = serde_json::from_str(raw.get()).map_err(|_| {
        NormalizeError::shape(
            provider,
            format!("{path} is {}, expected an array", kind_of_raw(raw)),
        )
    })?;
    objects(provider, elements, path)
}
