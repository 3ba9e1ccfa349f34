//! The bytes the provider sent (decoded by events-table's
//! `StoredEvent::raw_bytes`), for reading: pretty-printed, or as JSON.

use serde_json::Value;

use base64::Engine as _;

/// The payload for reading: JSON pretty-printed (keys in the provider's
/// order, numbers as sent), other UTF-8 text as it is, other bytes as a
/// note with their size.
pub fn pretty(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() => indent(text),
        Ok(text) => text.to_owned(),
        Err(_) => format!(
            "({} bytes, not UTF-8; `show --json` has them base64-encoded)",
            bytes.len()
        ),
    }
}

/// Re-indents valid JSON text with two spaces, token by token, so nothing
/// but whitespace outside strings changes.
fn indent(json: &str) -> String {
    let mut out = String::with_capacity(json.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = json.trim().chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                while chars.peek().is_some_and(|n| n.is_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('}' | ']')) {
                    out.push(c);
                    out.push(chars.next().unwrap_or(' '));
                } else {
                    out.push(c);
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// The payload as a JSON value: parsed JSON, else a string (text, or base64
/// for bytes that are not UTF-8).
pub fn as_json(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned())),
        Err(_) => Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_pretty_printed_and_other_text_kept() {
        assert_eq!(pretty(br#"{"a":[1]}"#), "{\n  \"a\": [\n    1\n  ]\n}");
        assert_eq!(
            pretty(br#" {"z": 1.50, "a" : {"s":"x, {y}: \"q\"\\"}, "e":[ ], "o":{}} "#),
            "{\n  \"z\": 1.50,\n  \"a\": {\n    \"s\": \"x, {y}: \\\"q\\\"\\\\\"\n  },\n  \"e\": [],\n  \"o\": {}\n}"
        );
        assert_eq!(pretty(b"not json {"), "not json {");
        assert!(pretty(&[0xff, 0xfe]).starts_with("(2 bytes, not UTF-8"));
    }
}
