//! A JSON tree that borrows from the body. Keys and strings without escapes
//! point into the request text instead of being copied, and an object is a
//! sorted list of members, so reading one event costs about one allocation
//! per container instead of several per member (the cost of a
//! `serde_json::Value`). Objects read like `serde_json`'s default map: keys
//! in sorted order, and of a repeated key the last one wins.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;
use std::borrow::Cow;
use std::fmt;

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
    /// Sorts members read in body order; of a repeated key the last one
    /// stays.
    fn from_members(mut members: Vec<Member<'a>>) -> Self {
        let order = |a: &Member, b: &Member| a.key.cmp(&b.key);
        // Some senders already send keys in order.
        if !members.windows(2).all(|w| order(&w[0], &w[1]).is_lt()) {
            // Stable: among repeated keys the last in body order comes last.
            members.sort_by(order);
            let mut deduped: Vec<Member<'a>> = Vec::with_capacity(members.len());
            for member in members {
                match deduped.last_mut() {
                    Some(last) if last.key == member.key => *last = member,
                    _ => deduped.push(member),
                }
            }
            members = deduped;
        }
        Object { members }
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

impl<'de: 'a, 'a> Deserialize<'de> for Json<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Object<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match deserializer.deserialize_map(JsonVisitor)? {
            Json::Object(o) => Ok(o),
            // deserialize_map only ever visits a map.
            _ => Err(serde::de::Error::custom("expected an object")),
        }
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
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

    fn visit_none<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json<'de>, D::Error> {
        Json::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut members = Vec::with_capacity(8);
        while let Some(Key(key)) = map.next_key()? {
            members.push(Member {
                key,
                value: map.next_value()?,
            });
        }
        // A body of many tiny objects must not cost a growth step of spare
        // members each (64 bytes a member).
        if members.capacity() > 2 * members.len() {
            members.shrink_to_fit();
        }
        Ok(Json::Object(Object::from_members(members)))
    }
}

/// An object key, borrowed when the body spelled it without escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn canonical(text: &str) -> String {
        let json: Json = serde_json::from_str(text).unwrap();
        let mut out = Vec::new();
        json.write_canonical(&mut out);
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
            r#"{"dup": 1, "x": 0, "dup": 2, "dup": {"dup": "a", "dup": "b"}}"#,
            r#"{"é": 1, "e": 2, "E": 3, "\u0065\u0301": 4, "": 5}"#,
            r#"[1e300, 1E-7, 0.1, 100000000000000000000, []]"#,
        ] {
            assert_eq!(canonical(text), via_value(text), "{text}");
        }
        assert_eq!(
            canonical(r#"{"n": [-0.0, 2.50, 1e3, 1736846100.0, -1.0E0]}"#),
            r#"{"n":[0,2.5,1000,1736846100,-1]}"#
        );
    }

    #[test]
    fn the_last_repeated_key_wins() {
        let o: Object = serde_json::from_str(r#"{"a": 1, "a": "two"}"#).unwrap();
        assert_eq!(o.get("a").and_then(Json::as_str), Some("two"));
        assert_eq!(
            crate::fields::copied(&Json::Object(o)),
            serde_json::json!({"a": "two"})
        );
    }

    #[test]
    fn members_are_sorted_and_unique() {
        let o: Object = serde_json::from_str(r#"{"b": 1, "a": 2, "c": 3, "a": 4}"#).unwrap();
        let keys: Vec<&str> = o.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "b", "c"]);
        assert!(matches!(o.get("a"), Some(Json::Number(n)) if n.as_u64() == Some(4)));
        assert!(o.get("d").is_none());
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
        let o: Object = serde_json::from_str(&text).unwrap();
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
        let array: Json =
            serde_json::from_str(r#"[{}, {"a": 1}, {"a": 1, "b": 2, "c": 3}]"#).unwrap();
        let Json::Array(objects) = array else {
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
        let o: Object = serde_json::from_str(text).unwrap();
        let marker = o.get("$serde_json::private::RawValue");
        assert_eq!(marker.and_then(Json::as_str), Some("x"));
        assert!(o.get("a").is_some());
    }

    #[test]
    fn unescaped_strings_are_borrowed() {
        let o: Object = serde_json::from_str(r#"{"plain": "x", "esc\u0061ped": "a\nb"}"#).unwrap();
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
