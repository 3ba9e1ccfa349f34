//! One error type: a message of one line, printed as `webhooks: <message>`
//! with exit status 1.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail(String);

impl Fail {
    pub fn new(message: impl Into<String>) -> Self {
        Fail(one_line(&message.into()))
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Fail {
    fn from(message: String) -> Self {
        Fail::new(message)
    }
}

impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Self {
        Fail::new(e.to_string())
    }
}

/// Newlines and runs of spaces folded into single spaces.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line() {
        assert_eq!(
            Fail::new("a\n  b\tc ").to_string(),
            "a b c",
            "newlines and tabs fold"
        );
    }
}
