//! The providers, declared once. Everything that lists providers (the
//! enum, `Provider::ALL`, the normalizer each one uses, the tests, the
//! bench, the fuzz run, the Makefile's binaries) reads this table, and
//! `tests/registry.rs` fails naming the place (fixtures and sample body,
//! binary crate, template row, mapping section) a provider here lacks.
//! docs/adding-a-provider.md says how to add one.

use crate::envelope::Candidate;
use crate::event::Draft;
use crate::json::Object;
use crate::{EventType, NormalizeError, Timestamp};
use serde::Serialize;
use std::{fmt, str::FromStr};

/// The variable holding a provider's own answer body (see `answer_body`).
pub const ANSWER_BODY_VAR: &str = "RESPONSE_BODY";

/// One row per provider:
/// `Variant = module { body: .., member: .. [, answer_body: ..] }`.
/// - `module` is the normalizer (`src/<module>.rs`, declared in lib.rs) and
///   the provider's name everywhere: binary, route, metric dimension,
///   fixtures directory.
/// - `body` is the provider's envelope around its members, `%` standing for
///   them (comma-separated when the envelope is a list; a body that is one
///   object is `%`), and `member` a minimal member whose event name is
///   `"%"`. Tests, the bench and the stress run build bodies from these.
/// - `answer_body: true` for a provider that wants an answer of its own
///   (SendPulse Automation 360 wants its key back): its function answers
///   with [`ANSWER_BODY_VAR`] when that is set. Its template row says
///   `AnswerBody: 1`.
macro_rules! providers {
    ($($variant:ident = $module:ident {
        body: $body:literal,
        member: $member:literal
        $(, answer_body: $answer:ident)? $(,)?
    }),+ $(,)?) => {
        /// The providers this project receives webhooks from.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "lowercase")]
        pub enum Provider {
            $($variant,)+
        }

        impl Provider {
            pub const ALL: [Provider; [$(stringify!($variant)),+].len()] =
                [$(Provider::$variant),+];

            /// The provider's name: its binary, route, metric dimension and
            /// the first part of its day key.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Provider::$variant => stringify!($module),)+
                }
            }

            /// The environment variable holding what this provider's function
            /// answers a stored webhook with, for a provider that wants an
            /// answer of its own; `None` for the others (the default answer).
            pub const fn answer_body_var(self) -> Option<&'static str> {
                match self {
                    $(Provider::$variant => providers!(@answer $($answer)?),)+
                }
            }

            const fn templates(self) -> (&'static str, &'static str) {
                match self {
                    $(Provider::$variant => ($body, $member),)+
                }
            }

            /// The provider's event names and their canonical types.
            pub(crate) const fn events(self) -> &'static [(&'static str, EventType)] {
                match self {
                    $(Provider::$variant => crate::$module::EVENTS,)+
                }
            }

            pub(crate) fn split(
                self,
                text: &str,
                limit: usize,
            ) -> Result<Vec<Candidate<'_>>, NormalizeError> {
                match self {
                    $(Provider::$variant => crate::$module::split(text, limit),)+
                }
            }

            pub(crate) fn event(self, fields: &Object, received_at: Timestamp) -> Draft {
                match self {
                    $(Provider::$variant => crate::$module::event(fields, received_at),)+
                }
            }

            /// The key sets that mark this provider's event objects (each
            /// module's `MARKS`): see `misrouted`.
            pub(crate) const fn marks(self) -> &'static [&'static [&'static str]] {
                match self {
                    $(Provider::$variant => crate::$module::MARKS,)+
                }
            }

            /// How the provider is named to the user, with its article (each
            /// module's `BRAND`).
            pub(crate) const fn brand(self) -> (&'static str, &'static str) {
                match self {
                    $(Provider::$variant => crate::$module::BRAND,)+
                }
            }
        }
    };
    (@answer true) => { Some(ANSWER_BODY_VAR) };
    (@answer false) => { None };
    (@answer) => { None };
}

providers! {
    Flashy = flashy {
        body: "[%]",
        member: r#"{"event":"%","account_id":1,"created_at":1717000000}"#,
    },
    Egoi = egoi {
        body: r#"{"events":[%]}"#,
        member: r#"{"action":"%","action_date":1717000000}"#,
    },
    Enkod = enkod {
        body: "%",
        member: r#"{"event":"%","to":"a@example.com"}"#,
    },
    Supersend = supersend {
        body: "%",
        member: r#"{"type":"%","contact":{"id":"c1"}}"#,
    },
    Sendpulse = sendpulse {
        body: "[%]",
        member: r#"{"event":"%","timestamp":"1717000000"}"#,
        answer_body: true,
    },
}

impl Provider {
    /// Every event name the normalizer maps (in its lookup form).
    pub fn event_names(self) -> impl Iterator<Item = &'static str> {
        self.events().iter().map(|(name, _)| *name)
    }

    /// A minimal member of this provider's bodies naming the event `name`
    /// (JSON text), for tests, the bench and the stress run.
    pub fn example_member(self, name: &str) -> String {
        let quoted = serde_json::Value::from(name).to_string();
        self.templates().1.replacen("\"%\"", &quoted, 1)
    }

    /// Whether a body of this provider is one member (an object), not a list.
    pub fn one_member_per_body(self) -> bool {
        self.templates().0 == "%"
    }

    /// A body of this provider carrying `members` (JSON texts). A provider
    /// whose body is one member gets the first only: see
    /// [`one_member_per_body`](Self::one_member_per_body).
    pub fn example_body<S: AsRef<str>>(self, members: &[S]) -> String {
        let members: Vec<&str> = members.iter().map(AsRef::as_ref).collect();
        let joined = if self.one_member_per_body() {
            members.first().copied().unwrap_or("{}").to_owned()
        } else {
            members.join(",")
        };
        self.templates().0.replacen('%', &joined, 1)
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provider {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = Provider::ALL.iter().map(|p| p.as_str()).collect();
                format!(
                    "unknown provider {s:?} (expected one of {})",
                    names.join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::Provider;

    #[test]
    fn every_example_body_is_one_event_of_its_name() {
        let at = crate::Timestamp::parse("2024-05-01T12:00:00Z").unwrap();
        for p in Provider::ALL {
            for name in p.event_names() {
                let body = p.example_body(&[p.example_member(name)]);
                let events = crate::normalize(p, body.as_bytes(), at)
                    .unwrap_or_else(|e| panic!("{p}: {body}: {e}"));
                assert_eq!(events.len(), 1, "{p}: {body}");
                assert_eq!(events[0].event_type.as_str(), {
                    p.events()
                        .iter()
                        .find(|(n, _)| *n == name)
                        .unwrap()
                        .1
                        .as_str()
                });
            }
        }
    }

    #[test]
    fn names_are_lowercase_and_parse_back() {
        for p in Provider::ALL {
            assert_eq!(p.as_str(), p.as_str().to_lowercase());
            assert_eq!(p.as_str().parse::<Provider>(), Ok(p));
        }
        let err = "nope".parse::<Provider>().unwrap_err();
        assert!(err.contains("flashy, egoi"), "{err}");
    }
}
