//! The suppression list (`webhooks suppressed`): one row per address and
//! suppressed channel, to import into a platform. A contact id never seen
//! beside an address has no row (no platform imports by another
//! platform's id); its opt-outs reach the addresses linked to it.

use crate::table::SubjectItems;
use consent::{Channel, Settings, Subject, Verdict};
use serde::Serialize;
use std::collections::BTreeMap;

/// The CSV header, in this order.
pub const CSV_HEADER: &str = "email,phone,hash,channel,reason,scope,provider,since,event_id";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub email: String,
    pub phone: String,
    /// The keyed hash of a forgotten person's address (erasure); empty
    /// until erasure is in place.
    pub hash: String,
    pub channel: Channel,
    pub reason: consent::Reason,
    pub scope: String,
    pub provider: String,
    pub since: String,
    pub event_id: String,
}

/// Which rows: one channel, one provider (the deciding event's), decided
/// at or after a time (`since` in the table's format, compared as text).
#[derive(Debug, Default, Clone)]
pub struct Only {
    pub channel: Option<Channel>,
    pub provider: Option<String>,
    pub since: Option<String>,
}

/// Every suppressed (address, channel) of a scanned consent table.
pub fn suppressed(
    view: &BTreeMap<Subject, SubjectItems>,
    settings: &Settings,
    only: &Only,
) -> Vec<Row> {
    let mut rows = Vec::new();
    for (subject, items) in view {
        let (email, phone) = if let Some(email) = subject.strip_prefix("email#") {
            (email.to_owned(), String::new())
        } else if let Some(phone) = subject.strip_prefix("phone#") {
            (String::new(), phone.to_owned())
        } else {
            continue;
        };
        let mut facts = items.facts.clone();
        for linked in &items.links {
            if let Some(other) = view.get(linked) {
                facts.extend(other.facts.iter().cloned());
            }
        }
        let consent = consent::fold(facts, settings);
        for (channel, verdict) in consent.channels {
            let Verdict::Suppressed {
                reason,
                scope,
                provider,
                since,
                event_id,
            } = verdict
            else {
                continue;
            };
            if only.channel.is_some_and(|c| c != channel)
                || only.provider.as_ref().is_some_and(|p| *p != provider)
                || only.since.as_ref().is_some_and(|s| since < *s)
            {
                continue;
            }
            rows.push(Row {
                email: email.clone(),
                phone: phone.clone(),
                hash: String::new(),
                channel,
                reason,
                scope,
                provider,
                since,
                event_id,
            });
        }
    }
    rows
}

/// RFC 4180: a field with a comma, quote or line break is quoted.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

pub fn csv(rows: &[Row]) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    for r in rows {
        let fields = [
            r.email.as_str(),
            &r.phone,
            &r.hash,
            r.channel.as_str(),
            r.reason.as_str(),
            &r.scope,
            &r.provider,
            &r.since,
            &r.event_id,
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// Amazon SES's account-level suppression list import: `email,reason`
/// with BOUNCE or COMPLAINT. SES knows no other reason, so an unsubscribe
/// or a forgotten person goes in as COMPLAINT: SES then sends them nothing
/// at all, transactional mail included (the conservative side).
pub fn ses(rows: &[Row]) -> String {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = String::from("email,reason\n");
    for r in rows
        .iter()
        .filter(|r| r.channel == Channel::Email && !r.email.is_empty())
    {
        let reason = match r.reason {
            consent::Reason::HardBounced | consent::Reason::Undeliverable => "BOUNCE",
            _ => "COMPLAINT",
        };
        if seen.insert(r.email.clone()) {
            out.push_str(&format!("{},{reason}\n", csv_field(&r.email)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_it_and_ses_maps_reasons() {
        let row = Row {
            email: "a,b@example.com".into(),
            phone: String::new(),
            hash: String::new(),
            channel: Channel::Email,
            reason: consent::Reason::HardBounced,
            scope: "all".into(),
            provider: "egoi".into(),
            since: "2026-01-01T00:00:00.000Z".into(),
            event_id: "e1".into(),
        };
        assert_eq!(
            csv(std::slice::from_ref(&row)),
            format!("{CSV_HEADER}\n\"a,b@example.com\",,,email,hard_bounced,all,egoi,2026-01-01T00:00:00.000Z,e1\n")
        );
        assert_eq!(ses(&[row]), "email,reason\n\"a,b@example.com\",BOUNCE\n");
    }
}
