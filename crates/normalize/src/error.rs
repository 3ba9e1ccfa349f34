use crate::Provider;
use thiserror::Error;

/// Why a body is not the provider's shape. The message is one line, safe to
/// return to the sender and to log: it never quotes the body, except the
/// name of a key sent twice (its first 40 characters, escaped).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum NormalizeError {
    #[error("body is not valid UTF-8 (first bad byte at offset {offset})")]
    NotUtf8 { offset: usize },
    #[error("body is empty")]
    Empty,
    #[error("body is not valid JSON: {0}")]
    InvalidJson(String),
    /// JSON that breaks a rule of ours: a key twice in one object, nesting
    /// deeper than 128 levels.
    #[error("body cannot be read: {0}")]
    Unreadable(String),
    #[error("body is not a {provider} webhook: {reason}")]
    UnexpectedShape {
        provider: &'static str,
        reason: String,
    },
    /// One member of an otherwise valid envelope is not an event.
    #[error("{0}")]
    NotAnEvent(String),
    #[error("body carries {count} events, over the limit of {limit} per request")]
    TooManyEvents { count: usize, limit: usize },
    /// The body is another provider's webhook, sent to this provider's URL.
    #[error("{}", misrouted(.sender))]
    Misrouted { sender: Provider },
}

fn misrouted(sender: &Provider) -> String {
    let (article, name) = sender.brand();
    format!("looks like {article} {name} webhook; check the URL configured in {name}")
}

impl NormalizeError {
    pub(crate) fn shape(provider: &'static str, reason: impl Into<String>) -> Self {
        Self::UnexpectedShape {
            provider,
            reason: reason.into(),
        }
    }

    pub(crate) fn json(err: &serde_json::Error) -> Self {
        // Errors of the data, not the syntax, are only ever ours (see
        // `json::object`).
        if err.is_data() {
            Self::Unreadable(err.to_string())
        } else {
            Self::InvalidJson(err.to_string())
        }
    }
}
