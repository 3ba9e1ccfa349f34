//! GIVEN each event name a provider documents (tables copied from
//! ../shared/providers.md) WHEN an event with that name is normalized THEN
//! it gets the expected canonical type, and the name is kept as sent.

mod common;

use common::received_at;
use normalize::{normalize, Event, Provider, CANONICAL_TYPES, UNKNOWN};

/// providers.md §1, the 13 events of F1.
const FLASHY: &[(&str, &str)] = &[
    ("page_view", "commerce.page_viewed"),
    ("add_to_cart", "commerce.cart_added"),
    ("contact_subscribed", "contact.subscribed"),
    ("contact_unsubscribed", "contact.unsubscribed"),
    ("contact_updated", "contact.updated"),
    ("contact_created", "contact.created"),
    ("purchase", "commerce.order_placed"),
    ("automation_completed", "automation.completed"),
    ("email_automation_delivered", "email.delivered"),
    ("email_automation_opened", "email.opened"),
    ("email_automation_clicked", "email.clicked"),
    ("email_campaign_bounced", "email.bounced"),
    ("incoming_sms", "sms.received"),
];

/// providers.md §2, the 38 actions of E1.
const EGOI: &[(&str, &str)] = &[
    ("forget_subscription", "contact.forgotten"),
    ("change_consent", "contact.consent_changed"),
    ("web_push_bounce", "web_push.bounced"),
    ("web_push_click", "web_push.clicked"),
    ("web_push_delivered", "web_push.delivered"),
    ("web_push_open", "web_push.opened"),
    ("web_push_send", "web_push.sent"),
    ("web_push_subscription", "web_push.subscribed"),
    ("web_push_unsubscription", "web_push.unsubscribed"),
    ("email_send", "email.sent"),
    ("email_open", "email.opened"),
    ("email_click", "email.clicked"),
    ("email_soft_bounce", "email.bounced"),
    ("email_hard_bounce", "email.bounced"),
    ("sms_send", "sms.sent"),
    ("sms_delivered", "sms.delivered"),
    ("voice_send", "voice.sent"),
    ("new_order", "commerce.order_placed"),
    ("goal_conversion", "automation.goal_reached"),
    ("unsubscribe", "contact.unsubscribed"),
    ("subscription", "contact.subscribed"),
    ("edit_subscription", "contact.updated"),
    ("resubscription", "contact.resubscribed"),
    ("facebook_like", "social.liked"),
    ("social_share", "social.shared"),
    ("double_optin", "contact.confirmed"),
    ("email_spam_complaint", "email.complained"),
    ("email_field_disable", "contact.field_disabled"),
    ("cellphone_field_disable", "contact.field_disabled"),
    ("phone_field_disable", "contact.field_disabled"),
    ("push_send", "push.sent"),
    ("push_open", "push.opened"),
    ("push_click", "push.clicked"),
    ("push_received", "push.delivered"),
    ("push_error", "push.failed"),
    ("push_canceled", "push.canceled"),
    ("cart_update", "commerce.cart_updated"),
    ("product_view", "commerce.product_viewed"),
];

/// providers.md §3, K1 and K2; the complaint is spelled with a Cyrillic с.
const ENKOD: &[(&str, &str)] = &[
    ("message sent", "email.sent"),
    ("delivery bounce", "email.bounced"),
    ("message open", "email.opened"),
    ("message clicked", "email.clicked"),
    ("\u{441}omplaint", "email.complained"),
    ("whatsapp template sent", "whatsapp.sent"),
    ("whatsapp template delivered", "whatsapp.delivered"),
    ("whatsapp template read", "whatsapp.read"),
    ("whatsapp inbox message received", "whatsapp.received"),
    ("whatsapp template bounce", "whatsapp.failed"),
    ("mailing group subscribe", "contact.subscribed"),
    ("mailing group unsubscribe", "contact.unsubscribed"),
    ("contact adding", "contact.created"),
];

/// providers.md §4, S1 and S3 (the sent event's exact string is unknown;
/// both spellings seen in the docs are mapped).
const SUPERSEND: &[(&str, &str)] = &[
    ("open", "email.opened"),
    ("click", "email.clicked"),
    ("reply", "email.replied"),
    ("bounce", "email.bounced"),
    ("interest", "contact.interest_changed"),
    ("appointment", "contact.appointment_booked"),
    ("unsubscribe", "contact.unsubscribed"),
    ("finished", "automation.completed"),
    ("autoresponse", "email.auto_replied"),
    ("sent", "email.sent"),
    ("email_sent", "email.sent"),
];

/// providers.md §5b (e-mail service) and §5c (SMTP, names from third-party
/// clients).
const SENDPULSE: &[(&str, &str)] = &[
    ("spam", "email.complained"),
    ("open", "email.opened"),
    ("redirect", "email.clicked"),
    ("unsubscribe", "contact.unsubscribed"),
    ("new_emails", "contact.subscribed"),
    ("delete", "contact.deleted"),
    ("delivered", "email.delivered"),
    ("task_status_update", "campaign.status_changed"),
    ("soft_bounces", "email.bounced"),
    ("hard_bounces", "email.bounced"),
    ("undelivered", "email.failed"),
    ("opened", "email.opened"),
    ("clicked", "email.clicked"),
    ("redirected", "email.clicked"),
    ("unsubscribed", "contact.unsubscribed"),
    ("spam_by_user", "email.complained"),
];

/// A minimal body of `provider` carrying one event named `name`.
fn body(provider: Provider, name: &str) -> Vec<u8> {
    provider
        .example_body(&[provider.example_member(name)])
        .into_bytes()
}

fn only_event(provider: Provider, body: &[u8]) -> Event {
    let mut events =
        normalize(provider, body, received_at()).unwrap_or_else(|e| panic!("{provider}: {e}"));
    assert_eq!(events.len(), 1, "{provider}");
    events.remove(0)
}

fn check(provider: Provider, table: &[(&str, &str)]) {
    for (name, expected) in table {
        assert!(
            CANONICAL_TYPES.contains(expected),
            "{expected} in the test table"
        );
        let event = only_event(provider, &body(provider, name));
        assert_eq!(event.event_type, *expected, "{provider}: {name}");
        assert_eq!(event.provider_event.as_deref(), Some(*name), "{provider}");
    }
}

#[test]
fn flashy_events_map_as_documented() {
    check(Provider::Flashy, FLASHY);
}

#[test]
fn egoi_actions_map_as_documented() {
    assert_eq!(EGOI.len(), 38);
    check(Provider::Egoi, EGOI);
}

#[test]
fn enkod_events_map_as_documented() {
    check(Provider::Enkod, ENKOD);
}

#[test]
fn supersend_types_map_as_documented() {
    check(Provider::Supersend, SUPERSEND);
}

#[test]
fn sendpulse_events_map_as_documented() {
    check(Provider::Sendpulse, SENDPULSE);
}

#[test]
fn sendpulse_automation_360_items_are_triggers_named_by_title() {
    let body = br#"[{"automation_id": "42", "title": "Step3Opened", "execution_date": "2024-06-03 14:07:52", "email": "a@b.c"}]"#;
    let event = only_event(Provider::Sendpulse, body);
    assert_eq!(event.event_type, "automation.triggered");
    assert_eq!(event.provider_event.as_deref(), Some("Step3Opened"));
    assert_eq!(event.occurred_at.to_string(), "2024-06-03T14:07:52.000Z");
}

#[test]
fn supersend_api_webhooks_name_the_event_in_event() {
    let body = br#"{"event": "reply", "timestamp": 1717000000, "ContactId": "c1"}"#;
    let event = only_event(Provider::Supersend, body);
    assert_eq!(event.event_type, "email.replied");
}

#[test]
fn supersend_api_webhooks_take_the_address_in_details() {
    let body =
        br#"{"event": "open", "ContactId": "c1", "details": {"email": " Ann@Example.COM "}}"#;
    let event = only_event(Provider::Supersend, body);
    assert_eq!(event.email.as_deref(), Some("ann@example.com"));
    assert_eq!(event.contact_key.as_deref(), Some("email#ann@example.com"));
    // Not an address, or not a string: no email, the contact id keys it.
    for details in [
        r#"{"email": "n/a"}"#,
        r#"{"email": 7}"#,
        r#"{"email": " "}"#,
        "[]",
    ] {
        let body = format!(r#"{{"event": "open", "ContactId": "c1", "details": {details}}}"#);
        let event = only_event(Provider::Supersend, body.as_bytes());
        assert_eq!(event.email, None, "{details}");
        assert_eq!(event.contact_key.as_deref(), Some("contact#supersend#c1"));
    }
    // The integration webhook's contact record comes first.
    let body = br#"{"type": "open", "contact": {"id": "c1", "email": "rec@example.com"}, "details": {"email": "det@example.com"}}"#;
    let event = only_event(Provider::Supersend, body);
    assert_eq!(event.email.as_deref(), Some("rec@example.com"));
}

#[test]
fn enkod_complaint_maps_with_either_first_letter() {
    for name in [
        "\u{441}omplaint",
        "complaint",
        " Complaint ",
        "\u{421}omplaint",
    ] {
        let event = only_event(Provider::Enkod, &body(Provider::Enkod, name));
        assert_eq!(event.event_type, "email.complained", "{name:?}");
        // Matched after trimming; stored exactly as sent (DESIGN.md).
        assert_eq!(event.provider_event.as_deref(), Some(name));
    }
    // K2's label for the read event, in case it is sent as written.
    let event = only_event(
        Provider::Enkod,
        &body(Provider::Enkod, "template message read"),
    );
    assert_eq!(event.event_type, "whatsapp.read");
}

#[test]
fn names_are_matched_after_trim_case_and_separator_folding() {
    let cases = [
        (
            Provider::Flashy,
            "  Email_Automation_Opened ",
            "email.opened",
        ),
        (Provider::Egoi, "EMAIL-SOFT-BOUNCE", "email.bounced"),
        (Provider::Enkod, "message\u{a0}\u{a0}open", "email.opened"),
        (Provider::Enkod, "Message_Clicked", "email.clicked"),
        (Provider::Supersend, "Auto Response", "email.auto_replied"),
        (Provider::Sendpulse, "Hard Bounces", "email.bounced"),
    ];
    for (provider, name, expected) in cases {
        let event = only_event(provider, &body(provider, name));
        assert_eq!(event.event_type, expected, "{provider} {name:?}");
        // Matched after trimming; stored exactly as sent (DESIGN.md).
        assert_eq!(event.provider_event.as_deref(), Some(name));
    }
}

#[test]
fn unknown_names_are_stored_as_unknown_with_the_name_as_sent() {
    let cases = [
        (Provider::Flashy, "checkout_started"),
        (Provider::Egoi, "mms_send"),
        (Provider::Egoi, "reply_to_email"),
        (Provider::Enkod, "Сообщение прочитано"),
        (Provider::Supersend, "linkedin_message"),
        (Provider::Sendpulse, "resubscribe"),
    ];
    for (provider, name) in cases {
        let event = only_event(provider, &body(provider, name));
        assert_eq!(event.event_type, UNKNOWN, "{provider} {name}");
        assert_eq!(event.provider_event.as_deref(), Some(name));
    }
}

#[test]
fn an_event_without_a_name_is_unknown_without_provider_event() {
    let cases: [(Provider, &[u8]); 4] = [
        (Provider::Flashy, br#"[{"account_id": 1}]"#),
        (Provider::Egoi, br#"{"events": [{"action": 17}]}"#),
        (Provider::Enkod, br#"{"event": "   "}"#),
        (Provider::Sendpulse, br#"[{"email": "a@b.c"}]"#),
    ];
    for (provider, body) in cases {
        let event = only_event(provider, body);
        assert_eq!(event.event_type, UNKNOWN, "{provider}");
        assert_eq!(event.provider_event, None, "{provider}");
    }
}

/// The tables of docs/mapping.md ("Event mapping"): every row must be what
/// the code does.
#[test]
fn mapping_md_agrees_with_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/mapping.md");
    let text = std::fs::read_to_string(path).expect("docs/mapping.md");
    assert!(
        text.starts_with("# Event mapping"),
        "docs/mapping.md is the Event mapping"
    );
    let mut provider = None;
    let mut rows = std::collections::HashMap::new();
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            provider = heading
                .split_whitespace()
                .next()
                .and_then(|w| w.to_lowercase().replace('-', "").parse::<Provider>().ok());
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (Some(p), [_, name, event_type, ..]) = (provider, cells.as_slice()) else {
            continue;
        };
        let (Some(name), Some(event_type)) = (code(name), code(event_type)) else {
            continue;
        };
        if name == "title" {
            continue; // SendPulse A360 row: the name is the webhook's title.
        }
        let event = only_event(p, &body(p, &name));
        assert_eq!(
            event.event_type,
            event_type.as_str(),
            "docs/mapping.md: {p} {name}"
        );
        *rows.entry(p).or_insert(0) += 1;
    }
    for p in Provider::ALL {
        assert!(
            rows.contains_key(&p),
            "docs/mapping.md: no table of {p}'s events (a `## {p} ...` heading, then a row per event)"
        );
    }
}

/// The text of a table cell that starts with a `code` span.
fn code(cell: &str) -> Option<String> {
    let inner = cell.strip_prefix('`')?.split('`').next()?;
    Some(inner.to_owned())
}
