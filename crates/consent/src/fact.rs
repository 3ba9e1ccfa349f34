//! What the fold reads of one stored event ([`Fact`]), and what that event
//! means for consent ([`Meaning`]).

use crate::fold::{Channel, Reason};
use crate::words::{self, Word};
use normalize::Timestamp;
use serde::{Deserialize, Serialize};

/// The canonical types the consent view reads: the stream function is
/// filtered to these. `contact.subscribed` and `contact.consent_changed`
/// are kept as history only; `email.delivered` and soft bounces feed the
/// `undeliverable` rule; `sms.received` may carry a stop word.
pub const CONSENT_TYPES: &[&str] = &[
    "contact.unsubscribed",
    "contact.subscribed",
    "contact.resubscribed",
    "contact.confirmed",
    "contact.consent_changed",
    "contact.forgotten",
    "email.complained",
    "email.bounced",
    "email.delivered",
    "sms.received",
    "web_push.subscribed",
    "web_push.unsubscribed",
];

/// The `event_type` of an operator's clear (`webhooks consent clear`): a
/// consent event recorded in the consent table only, naming what it clears.
pub const CLEARED: &str = "consent.cleared";

/// The consent-relevant facts of one stored event (or of an operator's
/// clear). Times are the stored `occurred_at` text (RFC 3339, UTC).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub struct Fact {
    pub event_id: String,
    pub occurred_at: String,
    pub provider: String,
    pub event_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_id: Option<String>,
    /// `attributes.bounce_type`: `hard`, `soft`, or absent (unknown kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounce_type: Option<String>,
    /// `attributes.from_all` (SendPulse): the unsubscribe covers every list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_all: Option<String>,
    /// `attributes.text`: what an inbound SMS said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A clear: the event ids it clears.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clears: Vec<String>,
    /// A clear: it also lifts every sticky opt-out (complained, forgotten)
    /// that occurred at or before this time (the newest event it names),
    /// so an older complaint arriving after the clear does not come back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub through: Option<String>,
    /// A clear: why, and who.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FactError {
    #[error("no {0}")]
    Missing(&'static str),
    #[error("{0} is not a time: {1:?}")]
    BadTime(&'static str, String),
}

/// What a fact does to consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Meaning {
    /// Suppresses these channels.
    OptOut(Reason, Vec<Channel>),
    /// Lifts what it may on these channels.
    OptIn(OptIn, Vec<Channel>),
    /// A soft or unknown-kind bounce (the `undeliverable` rule).
    SoftBounce,
    /// A delivery: ends a run of soft bounces.
    Delivered,
    /// An operator's clear.
    Clear,
    /// Recorded and shown; decides nothing (`contact.subscribed`, E-goi's
    /// `change_consent`).
    History,
    /// Not about consent (an inbound SMS without a keyword, any other type).
    Irrelevant,
}

/// The opt-ins that count, and what each may lift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptIn {
    /// Double opt-in: proves the mailbox, so it also lifts `hard_bounced`
    /// and `undeliverable`.
    Confirmed,
    /// `contact.resubscribed`, an SMS START/UNSTOP/YES, a browser's
    /// web push subscription: lifts `unsubscribed`.
    Resubscribed,
}

impl OptIn {
    pub fn lifts(self, reason: Reason) -> bool {
        match reason {
            Reason::Unsubscribed => true,
            Reason::HardBounced | Reason::Undeliverable => self == OptIn::Confirmed,
            Reason::Complained | Reason::Forgotten => false,
        }
    }
}

impl Fact {
    /// Checks what the fold needs: an id, a provider, a type and a time it
    /// can read. An item failing this is reported, never guessed at.
    pub fn check(&self) -> Result<(), FactError> {
        if self.event_id.is_empty() {
            return Err(FactError::Missing("event_id"));
        }
        if self.provider.is_empty() {
            return Err(FactError::Missing("provider"));
        }
        if self.event_type.is_empty() {
            return Err(FactError::Missing("event_type"));
        }
        if Timestamp::parse(&self.occurred_at).is_none() {
            return Err(FactError::BadTime("occurred_at", self.occurred_at.clone()));
        }
        if let Some(through) = &self.through {
            if Timestamp::parse(through).is_none() {
                return Err(FactError::BadTime("through", through.clone()));
            }
        }
        Ok(())
    }

    /// `occurred_at` in Unix milliseconds (0 when unreadable: [`Fact::check`]
    /// keeps such facts out of the view).
    pub fn at(&self) -> i64 {
        millis(&self.occurred_at)
    }

    pub fn through_millis(&self) -> Option<i64> {
        self.through.as_deref().map(millis)
    }

    /// Whether this fact's event is one the consent view keeps.
    pub fn is_relevant(&self) -> bool {
        self.meaning() != Meaning::Irrelevant
    }

    pub fn meaning(&self) -> Meaning {
        let channels = || self.channels();
        match self.event_type.as_str() {
            "contact.unsubscribed" => {
                Meaning::OptOut(Reason::Unsubscribed, self.opt_out_channels())
            }
            "contact.forgotten" => Meaning::OptOut(Reason::Forgotten, Channel::ALL.to_vec()),
            "email.complained" => Meaning::OptOut(Reason::Complained, vec![Channel::Email]),
            "email.bounced" if self.bounce_type.as_deref() == Some("hard") => {
                Meaning::OptOut(Reason::HardBounced, vec![Channel::Email])
            }
            "email.bounced" => Meaning::SoftBounce,
            "email.delivered" => Meaning::Delivered,
            "web_push.unsubscribed" => {
                Meaning::OptOut(Reason::Unsubscribed, vec![Channel::WebPush])
            }
            "web_push.subscribed" => Meaning::OptIn(OptIn::Resubscribed, vec![Channel::WebPush]),
            "sms.received" => match self.text.as_deref().and_then(words::keyword) {
                Some(Word::Stop) => Meaning::OptOut(Reason::Unsubscribed, vec![Channel::Sms]),
                Some(Word::Start) => Meaning::OptIn(OptIn::Resubscribed, vec![Channel::Sms]),
                None => Meaning::Irrelevant,
            },
            "contact.confirmed" => Meaning::OptIn(OptIn::Confirmed, channels()),
            "contact.resubscribed" => Meaning::OptIn(OptIn::Resubscribed, channels()),
            "contact.subscribed" | "contact.consent_changed" => Meaning::History,
            CLEARED => Meaning::Clear,
            _ => Meaning::Irrelevant,
        }
    }

    /// `all`, or the provider's list when the event names one and does not
    /// say "from all" (SendPulse's `from_all`).
    pub fn scope(&self) -> String {
        let from_all = self
            .from_all
            .as_deref()
            .is_some_and(|v| matches!(v.trim(), "1" | "true" | "True" | "TRUE" | "yes"));
        match &self.list_id {
            Some(list) if !from_all => format!("list:{list}"),
            _ => "all".to_owned(),
        }
    }

    /// An opt-in's channels: the event's own, else those its own addresses
    /// imply (an e-mail address: email; a phone: sms); never web push, and
    /// none for an event carrying only a contact id. An opt-in on a channel
    /// the view does not keep (WhatsApp) lifts nothing here.
    fn channels(&self) -> Vec<Channel> {
        match self.channel.as_deref() {
            None => {
                let has = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
                let mut out = Vec::new();
                if has(&self.email) {
                    out.push(Channel::Email);
                }
                if has(&self.phone) {
                    out.push(Channel::Sms);
                }
                out
            }
            Some(c) => Channel::parse(c).into_iter().collect(),
        }
    }

    /// An event about SMS itself: an inbound SMS, or one whose channel is
    /// `sms`. An SMS opt-out of this kind (a STOP) is lifted only by an SMS
    /// opt-in of this kind (START, UNSTOP, YES, an sms-channel resubscribe).
    pub fn is_sms_event(&self) -> bool {
        self.event_type == "sms.received" || self.channel.as_deref() == Some("sms")
    }

    /// An opt-out's channels: the event's own, else (none, or one the view
    /// does not keep) all three: the conservative side.
    fn opt_out_channels(&self) -> Vec<Channel> {
        match self.channel.as_deref().and_then(Channel::parse) {
            Some(c) => vec![c],
            None => Channel::ALL.to_vec(),
        }
    }
}

fn millis(text: &str) -> i64 {
    Timestamp::parse(text).map_or(0, Timestamp::unix_millis)
}
