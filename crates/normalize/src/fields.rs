//! Lenient readers for the loosely typed fields providers send: numbers as
//! strings, ids as ints or strings, nulls and empty strings for "absent".

use crate::json::{Json, Object};
use crate::Timestamp;
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

/// A scalar as text: strings trimmed, numbers in their canonical text (`7`
/// whether sent as `7` or `7.0`). Empty strings, nulls, booleans and
/// containers are absent.
pub(crate) fn text(value: &Json) -> Option<String> {
    match value {
        Json::Str(s) => {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_owned())
        }
        Json::Number(n) => Some(crate::number::text(n)),
        _ => None,
    }
}

/// The first of `keys` holding a scalar.
pub(crate) fn text_at(obj: &Object, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| obj.get(k).and_then(text))
}

/// A nested object, when the key holds one.
pub(crate) fn object_at<'a, 'j>(obj: &'a Object<'j>, key: &str) -> Option<&'a Object<'j>> {
    obj.get(key).and_then(Json::as_object)
}

/// An e-mail address trimmed and lower-cased, when it looks like one.
pub(crate) fn email(value: &Json) -> Option<String> {
    let raw = value.as_str()?.trim();
    raw.contains('@').then(|| raw.to_lowercase())
}

pub(crate) fn email_at(obj: &Object, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| obj.get(k).and_then(email))
}

/// A time in any of the shapes providers use: Unix seconds as a number or a
/// string, `YYYY-MM-DD HH:MM:SS`, ISO 8601, or PHP's serialized DateTime
/// object `{"date": "...", "timezone": ...}` (its date read as UTC).
pub(crate) fn time(value: &Json) -> Option<Timestamp> {
    match value {
        Json::Number(n) => n.as_f64().and_then(Timestamp::from_unix_number),
        Json::Str(s) => Timestamp::parse(s),
        Json::Object(o) => o
            .get("date")
            .and_then(Json::as_str)
            .and_then(Timestamp::parse),
        _ => None,
    }
}

/// A provider's event name exactly as sent, when it has more than
/// whitespace.
pub(crate) fn event_name(value: &Json) -> Option<String> {
    let name = value.as_str()?;
    (!name.trim().is_empty()).then(|| name.to_owned())
}

/// The form of an event name used to look up its mapping: trimmed, Unicode
/// NFC, lower case, runs of spaces, dashes and underscores folded to one `_`.
pub(crate) fn lookup_key(name: &str) -> String {
    let name = name.trim();
    let mut key = String::with_capacity(name.len());
    let mut push = |c: char| {
        if c.is_whitespace() || c == '-' || c == '_' {
            if !key.ends_with('_') {
                key.push('_');
            }
        } else {
            key.push(c);
        }
    };
    if name.is_ascii() {
        name.chars()
            .map(|c| c.to_ascii_lowercase())
            .for_each(&mut push);
    } else {
        name.nfc().flat_map(char::to_lowercase).for_each(&mut push);
    }
    key
}

/// The most of an event copied into one attribute, in DynamoDB's size
/// units. Attributes are stored as they are (only `raw` is ever
/// compressed), so a larger part could never be stored in a 400 KB item; and
/// copying it would cost memory many times the body's size.
pub(crate) const MAX_COPIED_BYTES: usize = 300_000;
/// What an attribute holds instead of a part too large to copy.
const NOT_COPIED: &str =
    "(not copied: larger than a DynamoDB item can hold; the event's raw has it)";

/// A part of the event to keep as an attribute: a copy, or a note saying
/// it was not copied when it is larger than [`MAX_COPIED_BYTES`].
pub(crate) fn copied(json: &Json) -> Value {
    copied_within(json, &mut { MAX_COPIED_BYTES }).unwrap_or_else(not_copied)
}

/// The note an attribute holds instead of a part too large to copy.
pub(crate) fn not_copied() -> Value {
    Value::String(NOT_COPIED.to_owned())
}

/// A copy of `json`, taking its size from `budget` as DynamoDB counts it
/// (strings by their length, numbers by their digits, one byte per element,
/// three per container); `None`, given up at once, when it does not fit, so
/// a huge part costs no more than the budget to look at.
pub(crate) fn copied_within(json: &Json, budget: &mut usize) -> Option<Value> {
    Some(match json {
        Json::Null => {
            take(budget, 1)?;
            Value::Null
        }
        Json::Bool(b) => {
            take(budget, 1)?;
            Value::Bool(*b)
        }
        Json::Number(n) => {
            take(budget, number_bytes(n))?;
            Value::Number(n.clone())
        }
        Json::Str(s) => {
            take(budget, s.len())?;
            Value::String(s.as_ref().to_owned())
        }
        Json::Array(items) => {
            take(budget, 3)?;
            // Each element takes at least two bytes of the budget.
            let mut copy = Vec::with_capacity(items.len().min(*budget / 2));
            for item in items {
                take(budget, 1)?;
                copy.push(copied_within(item, budget)?);
            }
            Value::Array(copy)
        }
        Json::Object(o) => {
            take(budget, 3)?;
            let mut copy = serde_json::Map::new();
            for (key, value) in o.iter() {
                take(budget, 1 + key.len())?;
                copy.insert(key.to_owned(), copied_within(value, budget)?);
            }
            Value::Object(copy)
        }
    })
}

/// Takes `bytes` from `budget`, or says there are not that many left.
pub(crate) fn take(budget: &mut usize, bytes: usize) -> Option<()> {
    *budget = budget.checked_sub(bytes)?;
    Some(())
}

/// A number's length in digits (and sign); a float's at most.
fn number_bytes(n: &serde_json::Number) -> usize {
    let digits = |v: u64| v.checked_ilog10().map_or(1, |d| d as usize + 1);
    match (n.as_u64(), n.as_i64()) {
        (Some(u), _) => digits(u),
        (None, Some(i)) => 1 + digits(i.unsigned_abs()),
        // A float: 17 significant digits, a sign, a point, an exponent.
        (None, None) => 24,
    }
}

/// Container levels kept inside one attribute value; deeper parts are kept
/// as their JSON text, so a stored item stays within DynamoDB's 32 levels.
const MAX_ATTRIBUTE_DEPTH: usize = 8;

/// A copy of a JSON value with nulls, empty strings and empty keys left out,
/// or `None` when nothing remains. Used for attributes kept as nested maps.
pub(crate) fn pruned(value: Value) -> Option<Value> {
    pruned_to(value, Some(MAX_ATTRIBUTE_DEPTH))
}

/// `levels`: how many more containers may nest (`None`: no limit).
fn pruned_to(value: Value, levels: Option<usize>) -> Option<Value> {
    let inner = levels.map(|l| l.saturating_sub(1));
    match value {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::Object(_) | Value::Array(_) if levels == Some(0) => {
            pruned_to(value, None).map(|v| Value::String(v.to_string()))
        }
        Value::Object(o) => {
            let kept: serde_json::Map<String, Value> = o
                .into_iter()
                .filter(|(k, _)| !k.is_empty())
                .filter_map(|(k, v)| pruned_to(v, inner).map(|v| (k, v)))
                .collect();
            (!kept.is_empty()).then_some(Value::Object(kept))
        }
        Value::Array(a) => {
            let kept: Vec<Value> = a.into_iter().filter_map(|v| pruned_to(v, inner)).collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        Value::Number(n) if !storable(&n) => Some(Value::String(n.to_string())),
        other => Some(other),
    }
}

/// DynamoDB numbers lie between 1e-130 and 9.9e125 in magnitude; a number
/// outside is kept as its text.
fn storable(n: &serde_json::Number) -> bool {
    n.as_f64()
        .is_none_or(|f| f == 0.0 || (1e-130..=9.9e125).contains(&f.abs()))
}

/// `soft` or `hard` from whatever a provider calls it (`soft_bounced`,
/// `hard_bounces`, `email_soft_bounce`, `Hard`).
pub(crate) fn bounce_type(text: &str) -> Option<&'static str> {
    let text = text.to_ascii_lowercase();
    if text.contains("soft") {
        Some("soft")
    } else if text.contains("hard") {
        Some("hard")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The tree of a JSON text, as the provider modules read it.
    fn json(text: &str) -> Json<'_> {
        crate::json::value(text).unwrap()
    }

    #[test]
    fn a_part_is_copied_within_its_budget_and_not_past_it() {
        // A map with one key of 3 bytes: 3 for the map, 1 + 1 for the key,
        // 3 for the string.
        let part = json(r#"{"k":"abc"}"#);
        assert_eq!(copied_within(&part, &mut 8), Some(json!({"k": "abc"})));
        assert_eq!(copied_within(&part, &mut 7), None);
        let numbers = json("[7, -12, 1e300, 18446744073709551615]");
        // 3 + 4 elements + 1 + 3 + 24 + 20 digits.
        assert!(copied_within(&numbers, &mut 55).is_some());
        assert!(copied_within(&numbers, &mut 54).is_none());
        assert_eq!(copied(&json("[1]")), json!([1]));
    }

    #[test]
    fn scalars_read_leniently() {
        assert_eq!(text(&json(r#"" 449 ""#)), Some("449".into()));
        assert_eq!(text(&json("449")), Some("449".into()));
        assert_eq!(text(&json("35.5")), Some("35.5".into()));
        assert_eq!(text(&json(r#""""#)), None);
        assert_eq!(text(&json("null")), None);
        assert_eq!(text(&json("true")), None);
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            email(&json(r#""  John.Doe@Example.COM ""#)),
            Some("john.doe@example.com".into())
        );
        assert_eq!(email(&json(r#""not an address""#)), None);
        assert_eq!(email(&json("5")), None);
    }

    #[test]
    fn event_names_fold_case_and_separators() {
        assert_eq!(lookup_key("Message  Open"), "message_open");
        assert_eq!(lookup_key("email_soft-bounce"), "email_soft_bounce");
    }

    #[test]
    fn pruning_drops_empty_values_and_keys() {
        let v = json!({"a": null, "b": " ", "": 1, "c": [null, {}], "d": {"e": 0}});
        assert_eq!(pruned(v), Some(json!({"d": {"e": 0}})));
        assert_eq!(pruned(json!({"a": [null]})), None);
        assert_eq!(
            pruned(json!([1e300, -2.5e-200, 0.0, 35, 1.5])),
            Some(json!(["1e+300", "-2.5e-200", 0.0, 35, 1.5]))
        );
    }

    #[test]
    fn pruning_keeps_deep_parts_as_json_text() {
        let mut deep = json!({"leaf": "x", "gone": null});
        for _ in 0..20 {
            deep = json!({ "k": deep });
        }
        let kept = pruned(deep).unwrap();
        let mut at = &kept;
        for _ in 0..MAX_ATTRIBUTE_DEPTH {
            at = &at["k"];
        }
        let text = at.as_str().expect("depth limit reached");
        let rest = 20 - MAX_ATTRIBUTE_DEPTH;
        let expected = format!(
            "{}{{\"leaf\":\"x\"}}{}",
            r#"{"k":"#.repeat(rest),
            "}".repeat(rest)
        );
        assert_eq!(text, expected);
        assert!(!text.contains("gone"));
    }

    #[test]
    fn php_datetime_objects_are_read() {
        let v = json(
            r#"{"date": "2022-01-04 09:02:39.000000", "timezone_type": 3, "timezone": "UTC"}"#,
        );
        assert_eq!(
            time(&v).map(|t| t.to_string()).as_deref(),
            Some("2022-01-04T09:02:39.000Z")
        );
    }
}
