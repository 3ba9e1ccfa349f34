//! GIVEN each event name a provider documents (tables copied from
//! docs/providers.md) WHEN an event with that name is normalized THEN
//! it gets the expected canonical type, and the name is kept as sent.

mod common;

use common::received_at;
use normalize::{normalize, Event, Provider, CANONICAL_TYPES, UNKNOWN};
use serde_json::json;

/// Flashy's webhook page: its 13 account webhooks.
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

/// E-goi's Webhook Events API page: its 38 actions.
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

/// enKod's webhook page; the complaint is spelled with a Cyrillic с.
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

/// SuperSend's webhook docs and help articles (the sent event's exact string
/// is unknown; both spellings seen in the docs are mapped).
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

/// SendPulse's e-mail service and SMTP webhook pages (SMTP names from
/// third-party clients).
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
        // Matched after trimming; stored exactly as sent (docs/design.md).
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
        // Matched after trimming; stored exactly as sent (docs/design.md).
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

// ------------------------------------------- "Where the fields come from"

/// The sources docs/mapping.md's field table names in each cell (its code
/// spans; `email` / `phone` split in two), by provider and canonical field.
/// The check below fails when the document and this list differ, so a
/// change to the table must come with cases that show it.
const FIELD_SOURCES: &[(Provider, &str, &[&str])] = &[
    (Provider::Flashy, "contact_id", &["contact_id"]),
    (Provider::Flashy, "campaign_id", &["campaign_id"]),
    (Provider::Flashy, "message_id", &[]),
    (Provider::Flashy, "automation_id", &["automation_id"]),
    (Provider::Flashy, "list_id", &["feed_id"]),
    (Provider::Flashy, "account_id", &["account_id"]),
    (Provider::Flashy, "email", &["email"]),
    (Provider::Flashy, "phone", &["from", "incoming_sms"]),
    (
        Provider::Egoi,
        "contact_id",
        &["contact.base[0]", "fields[].uid"],
    ),
    (Provider::Egoi, "campaign_id", &["action_data.messageHash"]),
    (Provider::Egoi, "message_id", &[]),
    (Provider::Egoi, "automation_id", &[]),
    (Provider::Egoi, "list_id", &["list_id"]),
    (Provider::Egoi, "account_id", &[]),
    (Provider::Egoi, "email", &["contact.fields[].email"]),
    (Provider::Egoi, "phone", &[".cellphone"]),
    (Provider::Enkod, "contact_id", &[]),
    (Provider::Enkod, "campaign_id", &["message_id"]),
    (Provider::Enkod, "message_id", &["message_uid"]),
    (Provider::Enkod, "automation_id", &[]),
    (Provider::Enkod, "list_id", &["group_id"]),
    (Provider::Enkod, "account_id", &[]),
    (Provider::Enkod, "email", &["to", "email"]),
    (Provider::Enkod, "phone", &["phone"]),
    (
        Provider::Supersend,
        "contact_id",
        &["ContactId", "contact.id"],
    ),
    (
        Provider::Supersend,
        "campaign_id",
        &["CampaignId", "contact.CampaignId"],
    ),
    (Provider::Supersend, "message_id", &[]),
    (Provider::Supersend, "automation_id", &[]),
    (Provider::Supersend, "list_id", &[]),
    (
        Provider::Supersend,
        "account_id",
        &["contact.OrgId", "TeamId"],
    ),
    (Provider::Supersend, "email", &["contact.email"]),
    (Provider::Supersend, "phone", &["contact.phone"]),
    (Provider::Sendpulse, "contact_id", &[]),
    (Provider::Sendpulse, "campaign_id", &["task_id"]),
    (Provider::Sendpulse, "message_id", &["message_id"]),
    (Provider::Sendpulse, "automation_id", &["automation_id"]),
    (Provider::Sendpulse, "list_id", &["book_id"]),
    (Provider::Sendpulse, "account_id", &[]),
    (Provider::Sendpulse, "email", &["email", "recipient"]),
    (Provider::Sendpulse, "phone", &["phone"]),
];

/// The event object the cases below add fields to, by provider: no field
/// the table names, unlike the registry's example members.
const MINIMAL_EVENTS: &[(Provider, &str)] = &[
    (
        Provider::Flashy,
        r#"{"event": "email_automation_opened", "timestamp": 1717000000}"#,
    ),
    (
        Provider::Egoi,
        r#"{"action": "email_open", "action_date": 1717000000}"#,
    ),
    (Provider::Enkod, r#"{"event": "message open"}"#),
    (Provider::Supersend, r#"{"type": "open"}"#),
    (
        Provider::Sendpulse,
        r#"{"event": "open", "timestamp": "1717000000"}"#,
    ),
];

/// An event of `provider` with `fields` added to its minimal event object,
/// in the provider's envelope.
fn event_with(provider: Provider, fields: serde_json::Value) -> Vec<u8> {
    let (_, minimal) = MINIMAL_EVENTS
        .iter()
        .find(|(p, _)| *p == provider)
        .unwrap_or_else(|| panic!("{provider}: no entry in MINIMAL_EVENTS"));
    let mut event: serde_json::Value = serde_json::from_str(minimal).expect("JSON");
    for (key, value) in fields.as_object().expect("an object") {
        event[key] = value.clone();
    }
    provider.example_body(&[event.to_string()]).into_bytes()
}

/// For each documented source, an event carrying a value there and the
/// canonical field that must hold it; where a cell names several sources
/// ("else", "or"), both present: the first named wins.
fn field_cases() -> Vec<(Provider, &'static str, Vec<u8>, &'static str)> {
    use Provider::*;
    let e = event_with;
    vec![
        (
            Flashy,
            "contact_id",
            e(Flashy, json!({"contact_id": "c-1"})),
            "c-1",
        ),
        (
            Flashy,
            "campaign_id",
            e(Flashy, json!({"campaign_id": 77})),
            "77",
        ),
        (
            Flashy,
            "automation_id",
            e(Flashy, json!({"automation_id": "a-1"})),
            "a-1",
        ),
        (
            Flashy,
            "list_id",
            e(Flashy, json!({"feed_id": "f-1"})),
            "f-1",
        ),
        (
            Flashy,
            "account_id",
            e(Flashy, json!({"account_id": 5})),
            "5",
        ),
        (
            Flashy,
            "email",
            br#"{"event": "contact_updated", "body": {"email": " Legacy@Example.com"}}"#.to_vec(),
            "legacy@example.com",
        ),
        (
            Flashy,
            "phone",
            e(
                Flashy,
                json!({"event": "incoming_sms", "from": "+15550100"}),
            ),
            "+15550100",
        ),
        (
            Egoi,
            "contact_id",
            e(Egoi, json!({"contact": {"base": ["b-1"]}})),
            "b-1",
        ),
        (
            Egoi,
            "contact_id",
            e(Egoi, json!({"contact": {"fields": [{"uid": "u-1"}]}})),
            "u-1",
        ),
        (
            Egoi,
            "contact_id",
            e(
                Egoi,
                json!({"contact": {"base": ["b-1"], "fields": [{"uid": "u-1"}]}}),
            ),
            "b-1",
        ),
        (
            Egoi,
            "campaign_id",
            e(Egoi, json!({"action_data": {"messageHash": "h-1"}})),
            "h-1",
        ),
        (Egoi, "list_id", e(Egoi, json!({"list_id": 3})), "3"),
        (
            Egoi,
            "email",
            e(
                Egoi,
                json!({"contact": {"fields": [{"email": "E@X.example"}]}}),
            ),
            "e@x.example",
        ),
        (
            Egoi,
            "phone",
            e(
                Egoi,
                json!({"contact": {"fields": [{"cellphone": "351-910000000"}]}}),
            ),
            "351-910000000",
        ),
        (
            Enkod,
            "campaign_id",
            e(Enkod, json!({"message_id": "m-1"})),
            "m-1",
        ),
        (
            Enkod,
            "message_id",
            e(Enkod, json!({"message_uid": "u-1"})),
            "u-1",
        ),
        (Enkod, "list_id", e(Enkod, json!({"group_id": 9})), "9"),
        (
            Enkod,
            "email",
            e(Enkod, json!({"to": "To@X.example"})),
            "to@x.example",
        ),
        (
            Enkod,
            "email",
            e(Enkod, json!({"email": "Em@X.example"})),
            "em@x.example",
        ),
        (
            Enkod,
            "email",
            e(
                Enkod,
                json!({"to": "to@x.example", "email": "em@x.example"}),
            ),
            "to@x.example",
        ),
        (
            Enkod,
            "phone",
            e(Enkod, json!({"phone": "+70000000001"})),
            "+70000000001",
        ),
        // "WhatsApp customer number": the sender of a received message,
        // the addressee of a template.
        (
            Enkod,
            "phone",
            e(
                Enkod,
                json!({"event": "whatsapp inbox message received", "from_number": "+70000000002"}),
            ),
            "+70000000002",
        ),
        (
            Enkod,
            "phone",
            e(
                Enkod,
                json!({"event": "whatsapp template sent", "to_number": "+70000000003"}),
            ),
            "+70000000003",
        ),
        (
            Supersend,
            "contact_id",
            e(Supersend, json!({"ContactId": "c-1"})),
            "c-1",
        ),
        (
            Supersend,
            "contact_id",
            e(Supersend, json!({"contact": {"id": "c-2"}})),
            "c-2",
        ),
        (
            Supersend,
            "contact_id",
            e(
                Supersend,
                json!({"ContactId": "c-1", "contact": {"id": "c-2"}}),
            ),
            "c-1",
        ),
        (
            Supersend,
            "campaign_id",
            e(Supersend, json!({"CampaignId": "k-1"})),
            "k-1",
        ),
        (
            Supersend,
            "campaign_id",
            e(Supersend, json!({"contact": {"CampaignId": "k-2"}})),
            "k-2",
        ),
        (
            Supersend,
            "campaign_id",
            e(
                Supersend,
                json!({"CampaignId": "k-1", "contact": {"CampaignId": "k-2"}}),
            ),
            "k-1",
        ),
        (
            Supersend,
            "account_id",
            e(Supersend, json!({"contact": {"OrgId": "o-1"}})),
            "o-1",
        ),
        (
            Supersend,
            "account_id",
            e(Supersend, json!({"contact": {"TeamId": "t-1"}})),
            "t-1",
        ),
        (
            Supersend,
            "account_id",
            e(
                Supersend,
                json!({"contact": {"OrgId": "o-1", "TeamId": "t-1"}}),
            ),
            "o-1",
        ),
        (
            Supersend,
            "email",
            e(Supersend, json!({"contact": {"email": "S@X.example"}})),
            "s@x.example",
        ),
        (
            Supersend,
            "phone",
            e(Supersend, json!({"contact": {"phone": "+15550101"}})),
            "+15550101",
        ),
        (
            Sendpulse,
            "campaign_id",
            e(Sendpulse, json!({"task_id": 12})),
            "12",
        ),
        (
            Sendpulse,
            "message_id",
            e(Sendpulse, json!({"message_id": "sm-1"})),
            "sm-1",
        ),
        (
            Sendpulse,
            "automation_id",
            e(Sendpulse, json!({"automation_id": "au-1"})),
            "au-1",
        ),
        (
            Sendpulse,
            "list_id",
            e(Sendpulse, json!({"book_id": 4})),
            "4",
        ),
        (
            Sendpulse,
            "email",
            e(Sendpulse, json!({"email": "P@X.example"})),
            "p@x.example",
        ),
        (
            Sendpulse,
            "email",
            e(Sendpulse, json!({"recipient": "R@X.example"})),
            "r@x.example",
        ),
        (
            Sendpulse,
            "email",
            e(
                Sendpulse,
                json!({"email": "p@x.example", "recipient": "r@x.example"}),
            ),
            "p@x.example",
        ),
        (
            Sendpulse,
            "phone",
            e(Sendpulse, json!({"phone": "+15550102"})),
            "+15550102",
        ),
    ]
}

fn field(event: &Event, name: &str) -> Option<String> {
    let value = match name {
        "contact_id" => &event.contact_id,
        "campaign_id" => &event.campaign_id,
        "message_id" => &event.message_id,
        "automation_id" => &event.automation_id,
        "list_id" => &event.list_id,
        "account_id" => &event.account_id,
        "email" => &event.email,
        "phone" => &event.phone,
        other => panic!("no canonical field {other}"),
    };
    value.clone()
}

/// The code spans of a table cell.
fn spans(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// docs/mapping.md's field table, cell by cell: (provider, field, the
/// sources the cell names).
fn documented_field_sources() -> Vec<(Provider, String, Vec<String>)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/mapping.md");
    let text = std::fs::read_to_string(path).expect("docs/mapping.md");
    let section = text
        .split("\n## Where the fields come from")
        .nth(1)
        .expect("docs/mapping.md has \"Where the fields come from\"");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut rows = section.lines().filter(|l| l.starts_with('|'));
    let header: Vec<&str> = rows
        .next()
        .expect("a table")
        .split('|')
        .map(str::trim)
        .collect();
    let mut columns = Vec::new();
    for cell in &header[2..header.len() - 1] {
        columns.extend(cell.split(" / ").flat_map(spans));
    }
    let mut cells = Vec::new();
    for row in rows.filter(|r| !r.starts_with("|---")) {
        let row: Vec<&str> = row.split('|').map(str::trim).collect();
        let name = row[1].to_lowercase().replace('-', "");
        let provider: Provider = name.parse().unwrap_or_else(|_| panic!("provider {name}"));
        let mut values: Vec<Vec<String>> = row[2..row.len() - 2].iter().map(|c| spans(c)).collect();
        let (email, phone) = row[row.len() - 2]
            .split_once(" / ")
            .expect("`email` / `phone` cells hold both, split by \" / \"");
        values.extend([spans(email), spans(phone)]);
        assert_eq!(values.len(), columns.len(), "{provider}'s row");
        for (column, sources) in columns.iter().zip(values) {
            cells.push((provider, column.clone(), sources));
        }
    }
    cells
}

#[test]
fn mapping_md_field_table_names_the_sources_the_cases_show() {
    let documented = documented_field_sources();
    let listed: Vec<(Provider, String, Vec<String>)> = FIELD_SOURCES
        .iter()
        .map(|(p, f, s)| (*p, f.to_string(), s.iter().map(|s| s.to_string()).collect()))
        .collect();
    assert_eq!(documented, listed, "docs/mapping.md's field table");
    // Every cell that names a source has a case showing it.
    let cases = field_cases();
    for (provider, name, sources) in FIELD_SOURCES {
        let shown = cases.iter().any(|(p, f, _, _)| p == provider && f == name);
        assert_eq!(shown, !sources.is_empty(), "{provider} {name}");
    }
}

#[test]
fn mapping_md_field_sources_fill_the_canonical_fields() {
    for (provider, name, body, expected) in field_cases() {
        let event = only_event(provider, &body);
        assert_eq!(
            field(&event, name).as_deref(),
            Some(expected),
            "{provider} {name} from {}",
            String::from_utf8_lossy(&body)
        );
    }
}
