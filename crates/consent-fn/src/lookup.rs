//! The lookup's answer, the same object for `webhooks consent --json` and
//! `GET /consent?email=...`:
//! `{"subject", "channels": {"email": {"verdict", "reason", "scope",
//! "provider", "since", "event_id"}, ...}, "transactional_blocked",
//! "history": [...]}`.

use crate::table::ConsentTable;
use consent::{Channel, Consent, Fact, Settings, Verdict};
use serde_json::{json, Value};

/// What an SMS `unknown` means, said in the answer itself.
pub const SMS_UNKNOWN_NOTE: &str = "no opt-in seen: unknown is not consent for SMS marketing";

pub fn answer(subject: &str, consent: &Consent) -> Value {
    let channels: serde_json::Map<String, Value> = consent
        .channels
        .iter()
        .map(|(channel, verdict)| {
            let mut value = serde_json::to_value(verdict).unwrap_or(Value::Null);
            if *channel == Channel::Sms && *verdict == Verdict::Unknown {
                value["note"] = Value::from(SMS_UNKNOWN_NOTE);
            }
            (channel.as_str().to_owned(), value)
        })
        .collect();
    json!({
        "subject": subject,
        "channels": channels,
        "transactional_blocked": consent.transactional_blocked,
        "history": consent.history,
    })
}

/// A person's consent, read from the table and folded.
pub async fn look_up(
    table: &ConsentTable,
    subject: &str,
    settings: &Settings,
) -> Result<(Consent, Vec<Fact>), crate::table::TableError> {
    let facts = table.person(subject).await?;
    Ok((consent::fold(facts.clone(), settings), facts))
}

/// The subject a query string asks about: `email=`, `phone=` or `contact=`
/// (`contact=<provider>#<id>`, or a whole subject).
pub fn subject_of_query(
    email: Option<&str>,
    phone: Option<&str>,
    contact: Option<&str>,
) -> Option<String> {
    if let Some(email) = email.filter(|e| e.contains('@')) {
        return consent::normalize_subject(&format!("email#{email}"));
    }
    if let Some(phone) = phone {
        return consent::normalize_subject(&format!("phone#{phone}"));
    }
    let contact = contact?;
    let contact = contact.strip_prefix("contact#").unwrap_or(contact);
    consent::normalize_subject(&format!("contact#{contact}"))
}

/// The operator's clear of a person's sticky opt-outs (complained,
/// forgotten) still in force: a recorded consent event naming them, kept
/// under `subject`. `None` when there is nothing sticky to clear.
pub fn clear_for(
    subject: &str,
    consent: &Consent,
    reason: &str,
    by: &str,
    now: &str,
) -> Option<Fact> {
    let sticky: Vec<&consent::HistoryEntry> = consent
        .history
        .iter()
        .filter(|h| !h.cleared && matches!(h.effect, "complained" | "forgotten"))
        .collect();
    let through = sticky.iter().map(|h| h.occurred_at.clone()).max()?;
    let mut fact = Fact {
        event_id: format!("clear#{now}#{subject}"),
        occurred_at: now.to_owned(),
        provider: "operator".to_owned(),
        event_type: consent::CLEARED.to_owned(),
        clears: sticky.iter().map(|h| h.event_id.clone()).collect(),
        through: Some(through),
        reason: Some(reason.to_owned()),
        by: Some(by.to_owned()),
        ..Fact::default()
    };
    if let Some(email) = subject.strip_prefix("email#") {
        fact.email = Some(email.to_owned());
    } else if let Some(phone) = subject.strip_prefix("phone#") {
        fact.phone = Some(phone.to_owned());
    } else if let Some((provider, id)) = subject
        .strip_prefix("contact#")
        .and_then(|r| r.split_once('#'))
    {
        fact.provider = provider.to_owned();
        fact.contact_id = Some(id.to_owned());
    }
    Some(fact)
}

/// `GET /consent?email=...` (or `phone=`, `contact=`): 200 with the
/// answer, 400 when no subject is named, 503 when the table cannot be read.
pub async fn http_answer(
    table: &ConsentTable,
    settings: &Settings,
    request: &lambda_http::Request,
) -> lambda_http::Response<lambda_http::Body> {
    use lambda_http::RequestExt;
    let query = request.query_string_parameters();
    let Some(subject) = subject_of_query(
        query.first("email"),
        query.first("phone"),
        query.first("contact"),
    ) else {
        return reply(
            400,
            json!({"error": "ask with ?email=, ?phone= or ?contact=<provider>#<id>"}),
        );
    };
    match look_up(table, &subject, settings).await {
        Ok((consent, _)) => reply(200, answer(&subject, &consent)),
        Err(e) => {
            tracing::error!(error = %e, "consent lookup failed");
            reply(
                503,
                json!({"error": "the consent table could not be read; retry"}),
            )
        }
    }
}

fn reply(status: u16, body: Value) -> lambda_http::Response<lambda_http::Body> {
    lambda_http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(lambda_http::Body::Text(body.to_string()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_has_every_channel_and_says_sms_unknown_is_not_consent() {
        let consent = consent::fold(Vec::new(), &Settings::default());
        let value = answer("email#a@b.c", &consent);
        assert_eq!(value["channels"]["email"]["verdict"], "unknown");
        assert_eq!(value["channels"]["sms"]["note"], SMS_UNKNOWN_NOTE);
        assert_eq!(value["channels"]["web_push"]["verdict"], "unknown");
        assert_eq!(value["transactional_blocked"], false);
    }

    #[test]
    fn a_query_names_one_subject() {
        assert_eq!(
            subject_of_query(Some(" A@B.c"), None, None).as_deref(),
            Some("email#a@b.c")
        );
        assert_eq!(
            subject_of_query(None, Some("+351 912"), None).as_deref(),
            Some("phone#+351912")
        );
        assert_eq!(
            subject_of_query(None, None, Some("flashy#42")).as_deref(),
            Some("contact#flashy#42")
        );
        assert_eq!(subject_of_query(Some("nobody"), None, None), None);
    }
}
