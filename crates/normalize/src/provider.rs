use serde::Serialize;
use std::{fmt, str::FromStr};

/// The five providers this project receives webhooks from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Flashy,
    Egoi,
    Enkod,
    Supersend,
    Sendpulse,
}

impl Provider {
    pub const ALL: [Provider; 5] = [
        Provider::Flashy,
        Provider::Egoi,
        Provider::Enkod,
        Provider::Supersend,
        Provider::Sendpulse,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Provider::Flashy => "flashy",
            Provider::Egoi => "egoi",
            Provider::Enkod => "enkod",
            Provider::Supersend => "supersend",
            Provider::Sendpulse => "sendpulse",
        }
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
            .ok_or_else(|| format!("unknown provider {s:?} (expected one of flashy, egoi, enkod, supersend, sendpulse)"))
    }
}
