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
