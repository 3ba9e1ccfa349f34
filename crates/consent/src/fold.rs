//! The verdict of a set of facts: per channel `suppressed`, `allowed` or
//! `unknown`, and whether transactional mail is blocked.
//!
//! The rules (docs/consent.md):
//! - an opt-out is in force unless an opt-in that may lift it occurred at
//!   least [`Settings::grace_ms`] (60 s) after it: a tie, or an opt-in less
//!   than 60 s later, goes to the opt-out;
//! - `contact.resubscribed` (and an SMS START, a web push subscription)
//!   lifts `unsubscribed`; `contact.confirmed` also lifts `hard_bounced` and
//!   `undeliverable`; nothing lifts `complained` or `forgotten` but an
//!   operator's clear; an SMS STOP (an inbound SMS, an sms-channel
//!   opt-out) is lifted only by an SMS opt-in (START, an sms-channel event);
//! - `undeliverable`: [`Settings::undeliverable_bounces`] soft or
//!   unknown-kind bounces since the latest delivery (or confirmation),
//!   spanning at least [`Settings::undeliverable_days`];
//! - `suppressed` when any opt-out is in force (the strongest is shown),
//!   else `allowed` when an opt-in that counts was seen, else `unknown`.
//!
//! Everything is computed from the set, deduplicated by event id: the order
//! of the input and repeated facts change nothing.

use crate::fact::{Fact, Meaning, OptIn};
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
    WebPush,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Email, Channel::Sms, Channel::WebPush];

    pub fn parse(text: &str) -> Option<Channel> {
        match text {
            "email" => Some(Channel::Email),
            "sms" => Some(Channel::Sms),
            "web_push" => Some(Channel::WebPush),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::WebPush => "web_push",
        }
    }
}

/// Why a channel is suppressed, weakest first: when several opt-outs are in
/// force, the strongest is the one shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Unsubscribed,
    Undeliverable,
    HardBounced,
    Complained,
    Forgotten,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Unsubscribed => "unsubscribed",
            Reason::Undeliverable => "undeliverable",
            Reason::HardBounced => "hard_bounced",
            Reason::Complained => "complained",
            Reason::Forgotten => "forgotten",
        }
    }

    /// Stays until an operator clears it.
    pub fn sticky(self) -> bool {
        matches!(self, Reason::Complained | Reason::Forgotten)
    }

    /// Blocks transactional mail too, not only marketing.
    pub fn blocks_transactional(self) -> bool {
        matches!(
            self,
            Reason::HardBounced | Reason::Undeliverable | Reason::Forgotten
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Suppressed {
        reason: Reason,
        scope: String,
        provider: String,
        since: String,
        event_id: String,
    },
    Allowed {
        provider: String,
        since: String,
        event_id: String,
    },
    Unknown,
}

impl Verdict {
    pub fn is_suppressed(&self) -> bool {
        matches!(self, Verdict::Suppressed { .. })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Suppressed { .. } => "suppressed",
            Verdict::Allowed { .. } => "allowed",
            Verdict::Unknown => "unknown",
        }
    }
}

/// The two numbers of the `undeliverable` rule, and the opt-in grace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub undeliverable_bounces: usize,
    pub undeliverable_days: i64,
    pub grace_ms: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            undeliverable_bounces: 3,
            undeliverable_days: 14,
            grace_ms: 60_000,
        }
    }
}

/// One event of a person's consent history, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    pub occurred_at: String,
    pub provider: String,
    pub event_type: String,
    pub event_id: String,
    /// What it did: `unsubscribed`, `complained`, ..., `opt_in`,
    /// `confirmed`, `soft_bounce`, `delivered`, `recorded` or `clear`.
    pub effect: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<Channel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Lifted by an operator's clear.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cleared: bool,
    /// A clear: why, by whom, and which events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clears: Vec<String>,
}

/// A person's consent: one verdict per channel, whether transactional mail
/// is blocked, and the events that decided it, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Consent {
    pub channels: BTreeMap<Channel, Verdict>,
    pub transactional_blocked: bool,
    pub history: Vec<HistoryEntry>,
}

/// An opt-out with its time, as the verdict weighs it.
struct OptOut<'a> {
    reason: Reason,
    at: i64,
    fact: &'a Fact,
}

/// The verdict of a set of facts. Facts the fold cannot read
/// ([`Fact::check`]) are left out; of two facts with one event id (a racing
/// redelivery of an event timed on receipt) the later one is kept, as in
/// the events table.
pub fn fold(facts: impl IntoIterator<Item = Fact>, settings: &Settings) -> Consent {
    let mut by_id: BTreeMap<String, Fact> = BTreeMap::new();
    for fact in facts {
        if fact.check().is_err() || !fact.is_relevant() {
            continue;
        }
        match by_id.get(&fact.event_id) {
            Some(kept) if (kept.at(), kept) >= (fact.at(), &fact) => {}
            _ => {
                by_id.insert(fact.event_id.clone(), fact);
            }
        }
    }
    let mut facts: Vec<Fact> = by_id.into_values().collect();
    facts.sort_by(|a, b| (a.at(), &a.event_id).cmp(&(b.at(), &b.event_id)));

    let cleared = cleared_ids(&facts);
    let live: Vec<&Fact> = facts
        .iter()
        .filter(|f| !cleared.contains(f.event_id.as_str()) && f.meaning() != Meaning::Clear)
        .collect();

    let mut channels = BTreeMap::new();
    let mut transactional_blocked = false;
    for channel in Channel::ALL {
        let (verdict, in_force) = channel_verdict(channel, &live, settings);
        if channel == Channel::Email {
            transactional_blocked = in_force.iter().any(|r| r.blocks_transactional());
        }
        channels.insert(channel, verdict);
    }
    let history = facts
        .iter()
        .map(|f| entry(f, cleared.contains(f.event_id.as_str())))
        .collect();
    Consent {
        channels,
        transactional_blocked,
        history,
    }
}

/// The event ids the operator's clears lift: those they name, and every
/// sticky opt-out that occurred at or before a clear's `through`.
fn cleared_ids(facts: &[Fact]) -> BTreeSet<&str> {
    let clears: Vec<&Fact> = facts
        .iter()
        .filter(|f| f.meaning() == Meaning::Clear)
        .collect();
    let named: BTreeSet<&str> = clears
        .iter()
        .flat_map(|c| c.clears.iter().map(String::as_str))
        .collect();
    let through = clears.iter().filter_map(|c| c.through_millis()).max();
    facts
        .iter()
        .filter(|f| {
            named.contains(f.event_id.as_str())
                || match f.meaning() {
                    Meaning::OptOut(reason, _) => {
                        reason.sticky() && through.is_some_and(|t| f.at() <= t)
                    }
                    _ => false,
                }
        })
        .map(|f| f.event_id.as_str())
        .collect()
}

/// One channel's verdict, and the reasons of every opt-out in force there.
fn channel_verdict(
    channel: Channel,
    live: &[&Fact],
    settings: &Settings,
) -> (Verdict, Vec<Reason>) {
    let mut opt_outs: Vec<OptOut> = Vec::new();
    let mut opt_ins: Vec<(OptIn, i64, &Fact)> = Vec::new();
    for fact in live {
        match fact.meaning() {
            Meaning::OptOut(reason, on) if on.contains(&channel) => opt_outs.push(OptOut {
                reason,
                at: fact.at(),
                fact,
            }),
            Meaning::OptIn(kind, on) if on.contains(&channel) => {
                opt_ins.push((kind, fact.at(), fact))
            }
            _ => {}
        }
    }
    if channel == Channel::Email {
        opt_outs.extend(undeliverable(live, settings));
    }
    let in_force: Vec<&OptOut> = opt_outs
        .iter()
        .filter(|o| {
            !opt_ins.iter().any(|(kind, at, opt_in)| {
                kind.lifts(o.reason)
                    && at - o.at >= settings.grace_ms
                    && (channel != Channel::Sms || !o.fact.is_sms_event() || opt_in.is_sms_event())
            })
        })
        .collect();
    let reasons = in_force.iter().map(|o| o.reason).collect();
    // The strongest reason; of those, the one in force longest.
    if let Some(shown) = in_force
        .iter()
        .min_by_key(|o| (Reverse(o.reason), o.at, &o.fact.event_id))
    {
        let fact = shown.fact;
        let verdict = Verdict::Suppressed {
            reason: shown.reason,
            scope: fact.scope(),
            provider: fact.provider.clone(),
            since: fact.occurred_at.clone(),
            event_id: fact.event_id.clone(),
        };
        return (verdict, reasons);
    }
    let verdict = match opt_ins.iter().max_by_key(|(_, at, f)| (*at, &f.event_id)) {
        Some((_, _, fact)) => Verdict::Allowed {
            provider: fact.provider.clone(),
            since: fact.occurred_at.clone(),
            event_id: fact.event_id.clone(),
        },
        None => Verdict::Unknown,
    };
    (verdict, reasons)
}

/// The `undeliverable` opt-outs: the soft bounces since the latest
/// delivery (or email confirmation), once at least N of them span at least
/// D days. Only the latest delivery matters: a run of bounces "with no
/// delivery between them" is exactly the bounces after it, and the consent
/// table keeps only each address's latest delivery. A bounce at the same
/// instant as the delivery still counts (the conservative side).
fn undeliverable<'a>(live: &[&'a Fact], settings: &Settings) -> Vec<OptOut<'a>> {
    let latest_separator = live
        .iter()
        .filter(|f| match f.meaning() {
            Meaning::Delivered => true,
            Meaning::OptIn(OptIn::Confirmed, on) => on.contains(&Channel::Email),
            _ => false,
        })
        .map(|f| f.at())
        .max();
    let run: Vec<&Fact> = live
        .iter()
        .copied()
        .filter(|f| f.meaning() == Meaning::SoftBounce)
        .filter(|f| latest_separator.is_none_or(|s| f.at() >= s))
        .collect();
    let span_ms = settings.undeliverable_days.saturating_mul(86_400_000);
    let Some(first) = run.first() else {
        return Vec::new();
    };
    run.iter()
        .enumerate()
        .filter(|(i, b)| {
            i + 1 >= settings.undeliverable_bounces.max(1) && b.at() - first.at() >= span_ms
        })
        .map(|(_, b)| OptOut {
            reason: Reason::Undeliverable,
            at: b.at(),
            fact: b,
        })
        .collect()
}

fn entry(fact: &Fact, cleared: bool) -> HistoryEntry {
    let (effect, channels, scope) = match fact.meaning() {
        Meaning::OptOut(reason, on) => (reason.as_str(), on, Some(fact.scope())),
        Meaning::OptIn(OptIn::Confirmed, on) => ("confirmed", on, None),
        Meaning::OptIn(OptIn::Resubscribed, on) => ("opt_in", on, None),
        Meaning::SoftBounce => ("soft_bounce", vec![Channel::Email], None),
        Meaning::Delivered => ("delivered", vec![Channel::Email], None),
        Meaning::Clear => ("clear", Vec::new(), None),
        Meaning::History | Meaning::Irrelevant => ("recorded", Vec::new(), None),
    };
    HistoryEntry {
        occurred_at: fact.occurred_at.clone(),
        provider: fact.provider.clone(),
        event_type: fact.event_type.clone(),
        event_id: fact.event_id.clone(),
        effect,
        channels,
        scope,
        cleared,
        reason: fact.reason.clone(),
        by: fact.by.clone(),
        clears: fact.clears.clone(),
    }
}
