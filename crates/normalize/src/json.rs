//! A JSON tree that borrows from the body. Keys and strings without escapes
//! point into the request text instead of being copied, and an object is a
//! sorted list of members, so reading one event costs about one allocation
//! per container instead of several per member (the cost of a
//! `serde_json::Value`). Two rules of ours are kept while reading, so that
//! no event is read otherwise than it was meant: an object with a key twice
//! is refused (which value would be the event's?), and so is nesting deeper
//! than [`MAX_DEPTH`] levels, counted from the top of the body.

use serde::de::{self, DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::Number;
use std::borrow::Cow;
use std::fmt;

/// The deepest nesting of arrays and objects read, counted from the body's
/// top level (`{"a":[1]}` is 2 deep); one level more is refused.
pub(crate) const MAX_DEPTH: usize = 128;

/// Reads `text`, a JSON object inside `depth` arrays and objects of the
/// body (0 for the body itself), as an event's fields. Refuses, as
/// serde_json errors, anything but one object, a key twice in any object
/// of it, and nesting deeper than [`MAX_DEPTH`] from the body's top.
pub(crate) fn object(text: &str, depth: usize) -> Result<Object<'_>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    // serde_json's own limit (128 levels from where it starts) would count
    // from this object, not from the body; `Level` holds ours, and stops
    // before the stack grows any deeper than serde_json's would.
    de.disable_recursion_limit();
    let json = de.deserialize_map(Level(depth + 1))?;
    de.end()?;
    match json {
        Json::Object(o) => Ok(o),
        // deserialize_map only ever visits a map.
        _ => Err(serde_json::Error::custom("expected an object")),
    }
}

#[derive(Debug)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    /// Borrowed when the body spelled it without escapes.
    Str(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Object<'a>),
}

/// Any JSON value at the top of a body, read by the same rules (for tests of
/// code that reads the tree).
#[cfg(test)]
pub(crate) fn value(text: &str) -> Result<Json<'_>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let json = Level(1).deserialize(&mut de)?;
    de.end()?;
    Ok(json)
}

/// A JSON object's members, sorted by key, each key once.
#[derive(Debug, Default)]
pub(crate) struct Object<'a> {
    members: Vec<Member<'a>>,
}

#[derive(Debug)]
struct Member<'a> {
    key: Cow<'a, str>,
    value: Json<'a>,
}

impl<'a> Json<'a> {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Object<'a>> {
        match self {
            Json::Object(o) => Some(o),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn is_object(&self) -> bool {
        matches!(self, Json::Object(_))
    }

    /// The canonical JSON text of this value (object keys sorted, no
    /// whitespace, strings escaped as `serde_json` writes them, numbers as
    /// `number` writes them: one text for one value), appended to `out`.
    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        match self {
            Json::Null => out.extend_from_slice(b"null"),
            Json::Bool(true) => out.extend_from_slice(b"true"),
            Json::Bool(false) => out.extend_from_slice(b"false"),
            Json::Number(n) => crate::number::write_number(out, n),
            Json::Str(s) => write_str(out, s),
            Json::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write_canonical(out);
                }
                out.push(b']');
            }
            Json::Object(o) => o.write_canonical(out),
        }
    }
}

impl<'a> Object<'a> {
    /// Sorts members read in body order; `Err` with the key that is there
    /// twice.
    fn from_members(mut members: Vec<Member<'a>>) -> Result<Self, Cow<'a, str>> {
        // Some senders already send keys in order.
        if !members.windows(2).all(|w| w[0].key < w[1].key) {
            members.sort_unstable_by(|a, b| a.key.cmp(&b.key));
            if let Some(twice) = members.windows(2).find(|w| w[0].key == w[1].key) {
                return Err(twice[0].key.clone());
            }
        }
        Ok(Object { members })
    }

    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.members
            .binary_search_by(|m| m.key.as_ref().cmp(key))
            .ok()
            .map(|i| &self.members[i].value)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Members in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Json<'a>)> {
        self.members.iter().map(|m| (m.key.as_ref(), &m.value))
    }

    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        for (i, (key, value)) in self.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(out, key);
            out.push(b':');
            value.write_canonical(out);
        }
        out.push(b'}');
    }
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    // Writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Reads one value whose arrays and objects would be at this level of
/// the body (the top level is 1).
#[derive(Clone, Copy)]
struct Level(usize);

impl Level {
    fn enter<E: de::Error>(self) -> Result<Level, E> {
        if self.0 > MAX_DEPTH {
            return Err(E::custom(format_args!(
                "nested deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(Level(self.0 + 1))
    }
}

impl<'de> DeserializeSeed<'de> for Level {
    type Value = Json<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Level {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Json<'de>, E> {
        Ok(Number::from_f64(n).map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(s)))
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let inner = self.enter()?;
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let inner = self.enter()?;
        let mut members = Vec::with_capacity(8);
        while let Some(key) = map.next_key_seed(KeySeed)? {
            members.push(Member {
                key,
                value: map.next_value_seed(inner)?,
            });
        }
        // A body of many tiny objects must not cost a growth step of spare
        // members each.
        if members.capacity() > 2 * members.len() {
            members.shrink_to_fit();
        }
        Object::from_members(members)
            .map(Json::Object)
            .map_err(|key| A::Error::custom(format_args!("duplicate key {}", shown(&key))))
    }
}

/// A key as an error message names it: quoted, escaped to one line, and
/// cut after 40 characters.
fn shown(key: &str) -> String {
    let cut: String = key.chars().take(40).collect();
    let more = if cut.len() < key.len() { "…" } else { "" };
    format!("{cut:?}{more}")
}

/// Reads an object key, borrowed when the body spelled it without escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn canonical(text: &str) -> String {
        let mut out = Vec::new();
        object(text, 0).unwrap().write_canonical(&mut out);
        String::from_utf8(out).unwrap()
    }

    /// What `serde_json::Value` (a sorted map) writes for the same text.
    fn via_value(text: &str) -> String {
        serde_json::from_str::<Value>(text).unwrap().to_string()
    }

    /// Strings and structure as serde_json writes them (keys sorted, no
    /// whitespace); numbers as `number` writes them.
    #[test]
    fn canonical_text_is_what_serde_json_writes() {
        for text in [
            r#"{"b": 1, "a": [true, null, 1.5, -3, 18446744073709551615], "c": {"z": "", "y": {}}}"#,
            r#"{"k": "tab\there \"quoted\" \\ \u0001 \u00e9 é \ud83d\ude00 \/"}"#,
            r#"{"é": 1, "e": 2, "E": 3, "\u0065\u0301": 4, "": 5}"#,
            r#"{"n": [1e300, 1E-7, 0.1, 100000000000000000000, []]}"#,
        ] {
            assert_eq!(canonical(text), via_value(text), "{text}");
        }
        assert_eq!(
            canonical(r#"{"n": [-0.0, 2.50, 1e3, 1736846100.0, -1.0E0]}"#),
            r#"{"n":[0,2.5,1000,1736846100,-1]}"#
        );
    }

    /// Whatever the depth, the order or the spelling of the two keys.
    #[test]
    fn a_key_twice_is_refused_naming_the_key() {
        for (text, key) in [
            (r#"{"a": 1, "a": "two"}"#, r#""a""#),
            (
                r#"{"event": "page_view", "x": 0, "event": "purchase"}"#,
                r#""event""#,
            ),
            (
                r#"{"b": 1, "x": {"k": [{"z": 1, "y": 2, "z": 3}]}}"#,
                r#""z""#,
            ),
            (r#"{"\u0061": 1, "a": 2}"#, r#""a""#),
            (r#"{"a\nb": 1, "a\nb": 2}"#, r#""a\nb""#),
        ] {
            let err = object(text, 0).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("duplicate key {key} at line 1 column")),
                "{err}"
            );
        }
        let long = "k".repeat(100);
        let err = object(&format!(r#"{{"{long}": 1, "{long}": 2}}"#), 0).unwrap_err();
        assert!(err
            .to_string()
            .starts_with(&format!("duplicate key \"{}\"… at", &long[..40])));
    }

    #[test]
    fn members_are_sorted() {
        let o = object(r#"{"b": 1, "a": 2, "c": 3}"#, 0).unwrap();
        let keys: Vec<&str> = o.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "b", "c"]);
        assert!(matches!(o.get("a"), Some(Json::Number(n)) if n.as_u64() == Some(2)));
        assert!(o.get("d").is_none());
    }

    /// An object `levels` deep from the body's top when it starts inside
    /// `around` levels: arrays in it, or objects.
    fn nested(levels: usize, around: usize, arrays: bool) -> String {
        let inner = levels - around - 1;
        let (open, close) = if arrays {
            ("[", "]")
        } else {
            (r#"{"a":"#, "}")
        };
        format!(r#"{{"x":{}1{}}}"#, open.repeat(inner), close.repeat(inner))
    }

    /// 128 levels from the body's top are read, 129 are not, wherever the
    /// object starts.
    #[test]
    fn nesting_is_counted_from_the_top_of_the_body() {
        for around in [0, 1, 2, 127] {
            for arrays in [true, false] {
                assert!(object(&nested(MAX_DEPTH, around, arrays), around).is_ok());
                let err = object(&nested(MAX_DEPTH + 1, around, arrays), around)
                    .unwrap_err()
                    .to_string();
                assert!(
                    err.starts_with("nested deeper than 128 levels at"),
                    "{around}: {err}"
                );
            }
        }
        assert!(object("{}", MAX_DEPTH - 1).is_ok());
        assert!(object("{}", MAX_DEPTH).is_err());
    }

    #[test]
    fn keys_sort_in_byte_order() {
        // As JSON text: `\u0000` is a NUL byte inside the key.
        let keys = [
            "",
            "a",
            r"a\u0000",
            "ab",
            "abcdefgh",
            r"abcdefgh\u0000",
            "abcdefghi",
            "b",
            "é",
            "ü",
        ];
        let members: Vec<String> = keys.iter().rev().map(|k| format!("\"{k}\": 0")).collect();
        let text = format!("{{{}}}", members.join(","));
        let o = object(&text, 0).unwrap();
        let mut expected: Vec<String> = keys
            .iter()
            .map(|k| serde_json::from_str(&format!("\"{k}\"")).unwrap())
            .collect();
        expected.sort();
        let got: Vec<&str> = o.iter().map(|(k, _)| k).collect();
        assert_eq!(got, expected);
        for key in &expected {
            assert!(o.get(key).is_some(), "{key:?}");
        }
        assert!(o.get("abcdefg").is_none());
    }

    #[test]
    fn small_objects_keep_no_spare_members() {
        let o = object(r#"{"l": [{}, {"a": 1}, {"a": 1, "b": 2, "c": 3}]}"#, 0).unwrap();
        let Some(Json::Array(objects)) = o.get("l") else {
            panic!("an array")
        };
        for object in objects.iter().filter_map(Json::as_object) {
            let members = &object.members;
            assert!(members.capacity() <= 2 * members.len(), "{members:?}");
        }
    }

    #[test]
    fn serde_json_marker_keys_are_plain_keys() {
        // serde_json's own `Value` reads an object with this first key as a
        // raw value (its `raw_value` feature); here it is just a key.
        let text = r#"{"$serde_json::private::RawValue": "x", "a": 1}"#;
        let o = object(text, 0).unwrap();
        let marker = o.get("$serde_json::private::RawValue");
        assert_eq!(marker.and_then(Json::as_str), Some("x"));
        assert!(o.get("a").is_some());
    }

    #[test]
    fn unescaped_strings_are_borrowed() {
        let o = object(r#"{"plain": "x", "esc\u0061ped": "a\nb"}"#, 0).unwrap();
        let borrowed = |key: &str| {
            let m = o.members.iter().find(|m| m.key == key).unwrap();
            (
                matches!(m.key, Cow::Borrowed(_)),
                matches!(m.value, Json::Str(Cow::Borrowed(_))),
            )
        };
        assert_eq!(borrowed("plain"), (true, true));
        assert_eq!(borrowed("escaped"), (false, false));
    }
}
