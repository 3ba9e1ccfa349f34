//! The consent contract (docs/consent.md), one rule per test: facts in,
//! verdicts out.

use consent::{fold, Channel, Consent, Fact, Reason, Settings, Verdict};

const DAY: i64 = 86_400;

/// An event `secs` seconds after 2026-01-01T00:00:00Z.
fn at(secs: i64) -> String {
    normalize::Timestamp::from_unix_seconds(1_767_225_600 + secs)
        .expect("a valid time")
        .text()
}

fn event(id: &str, provider: &str, event_type: &str, secs: i64) -> Fact {
    Fact {
        event_id: id.to_owned(),
        provider: provider.to_owned(),
        event_type: event_type.to_owned(),
        occurred_at: at(secs),
        email: Some("ann@example.com".to_owned()),
        ..Fact::default()
    }
}

fn bounce(id: &str, kind: Option<&str>, secs: i64) -> Fact {
    Fact {
        bounce_type: kind.map(str::to_owned),
        ..event(id, "egoi", "email.bounced", secs)
    }
}

fn sms(id: &str, text: &str, secs: i64) -> Fact {
    Fact {
        email: None,
        phone: Some("+351912345678".to_owned()),
        channel: Some("sms".to_owned()),
        text: Some(text.to_owned()),
        ..event(id, "enkod", "sms.received", secs)
    }
}

fn verdicts(facts: Vec<Fact>) -> Consent {
    fold(facts, &Settings::default())
}

fn reason(consent: &Consent, channel: Channel) -> Option<Reason> {
    match &consent.channels[&channel] {
        Verdict::Suppressed { reason, .. } => Some(*reason),
        _ => None,
    }
}

fn name(consent: &Consent, channel: Channel) -> &'static str {
    consent.channels[&channel].name()
}

#[test]
fn nothing_seen_is_unknown_on_every_channel() {
    let consent = verdicts(vec![]);
    for channel in Channel::ALL {
        assert_eq!(consent.channels[&channel], Verdict::Unknown);
    }
    assert!(!consent.transactional_blocked);
}

#[test]
fn an_unsubscribe_without_a_channel_suppresses_every_channel_with_scope_all() {
    let consent = verdicts(vec![event("u1", "sendpulse", "contact.unsubscribed", 0)]);
    assert_eq!(
        consent.channels[&Channel::Email],
        Verdict::Suppressed {
            reason: Reason::Unsubscribed,
            scope: "all".into(),
            provider: "sendpulse".into(),
            since: at(0),
            event_id: "u1".into(),
        }
    );
    assert_eq!(reason(&consent, Channel::Sms), Some(Reason::Unsubscribed));
    assert_eq!(
        reason(&consent, Channel::WebPush),
        Some(Reason::Unsubscribed)
    );
    assert!(
        !consent.transactional_blocked,
        "an unsubscribe leaves transactional mail"
    );
}

#[test]
fn a_list_unsubscribe_records_the_list_and_still_suppresses_the_person() {
    let list_only = Fact {
        list_id: Some("490686".into()),
        channel: Some("email".into()),
        ..event("u1", "sendpulse", "contact.unsubscribed", 0)
    };
    let consent = verdicts(vec![list_only.clone()]);
    let Verdict::Suppressed { scope, .. } = &consent.channels[&Channel::Email] else {
        panic!("suppressed expected");
    };
    assert_eq!(scope, "list:490686");
    assert_eq!(
        name(&consent, Channel::Sms),
        "unknown",
        "an email unsubscribe is email's"
    );

    let from_all = Fact {
        from_all: Some("1".into()),
        ..list_only
    };
    let consent = verdicts(vec![from_all]);
    let Verdict::Suppressed { scope, .. } = &consent.channels[&Channel::Email] else {
        panic!("suppressed expected");
    };
    assert_eq!(scope, "all", "SendPulse's from_all covers every list");
}

#[test]
fn a_complaint_suppresses_email_and_stays_through_any_opt_in() {
    let consent = verdicts(vec![
        event("c1", "enkod", "email.complained", 0),
        event("r1", "enkod", "contact.resubscribed", DAY),
        event("k1", "flashy", "contact.confirmed", 2 * DAY),
    ]);
    assert_eq!(reason(&consent, Channel::Email), Some(Reason::Complained));
    assert_eq!(
        name(&consent, Channel::Sms),
        "unknown",
        "e-mail opt-ins say nothing about SMS"
    );
    assert!(!consent.transactional_blocked);
}

#[test]
fn a_hard_bounce_blocks_transactional_mail_until_a_confirmation() {
    let hard = bounce("b1", Some("hard"), 0);
    let consent = verdicts(vec![hard.clone()]);
    assert_eq!(reason(&consent, Channel::Email), Some(Reason::HardBounced));
    assert!(consent.transactional_blocked);

    let resubscribed = verdicts(vec![
        hard.clone(),
        event("r1", "egoi", "contact.resubscribed", DAY),
    ]);
    assert_eq!(
        reason(&resubscribed, Channel::Email),
        Some(Reason::HardBounced),
        "a resubscribe does not prove the mailbox"
    );

    let confirmed = verdicts(vec![hard, event("k1", "egoi", "contact.confirmed", DAY)]);
    assert_eq!(name(&confirmed, Channel::Email), "allowed");
    assert!(!confirmed.transactional_blocked);
}

#[test]
fn a_plain_subscribe_is_recorded_but_lifts_nothing() {
    let consent = verdicts(vec![
        event("u1", "flashy", "contact.unsubscribed", 0),
        event("s1", "flashy", "contact.subscribed", DAY),
        event("e1", "egoi", "contact.consent_changed", 2 * DAY),
    ]);
    assert_eq!(reason(&consent, Channel::Email), Some(Reason::Unsubscribed));
    let effects: Vec<&str> = consent.history.iter().map(|h| h.effect).collect();
    assert_eq!(effects, ["unsubscribed", "recorded", "recorded"]);

    let alone = verdicts(vec![event("s1", "flashy", "contact.subscribed", 0)]);
    assert_eq!(
        name(&alone, Channel::Email),
        "unknown",
        "an import is not consent"
    );
}

#[test]
fn the_latest_consent_event_decides() {
    let unsubscribed_again = verdicts(vec![
        event("u1", "sendpulse", "contact.unsubscribed", 0),
        event("r1", "flashy", "contact.resubscribed", DAY),
        event("u2", "egoi", "contact.unsubscribed", 2 * DAY),
    ]);
    assert_eq!(
        reason(&unsubscribed_again, Channel::Email),
        Some(Reason::Unsubscribed)
    );

    let back = verdicts(vec![
        event("u1", "sendpulse", "contact.unsubscribed", 0),
        event("r1", "flashy", "contact.resubscribed", DAY),
    ]);
    assert_eq!(
        back.channels[&Channel::Email],
        Verdict::Allowed {
            provider: "flashy".into(),
            since: at(DAY),
            event_id: "r1".into()
        }
    );
}

#[test]
fn a_tie_or_an_opt_in_less_than_60_s_after_goes_to_the_opt_out() {
    for (secs, expected) in [(0, "suppressed"), (59, "suppressed"), (60, "allowed")] {
        let consent = verdicts(vec![
            event("u1", "sendpulse", "contact.unsubscribed", 1000),
            event("r1", "flashy", "contact.resubscribed", 1000 + secs),
        ]);
        assert_eq!(
            name(&consent, Channel::Email),
            expected,
            "opt-in {secs} s after"
        );
    }
}

#[test]
fn an_inbound_sms_stop_word_unsubscribes_that_phone_s_sms_and_start_opts_back_in() {
    let stop = verdicts(vec![sms("m1", "Stop", 0)]);
    assert_eq!(reason(&stop, Channel::Sms), Some(Reason::Unsubscribed));
    assert_eq!(name(&stop, Channel::Email), "unknown");

    for word in ["STOPALL", "opt out", "REVOKE", "СТОП", "sair"] {
        assert_eq!(
            reason(&verdicts(vec![sms("m1", word, 0)]), Channel::Sms),
            Some(Reason::Unsubscribed),
            "{word}"
        );
    }

    let start = verdicts(vec![sms("m1", "STOP", 0), sms("m2", "START", DAY)]);
    assert_eq!(name(&start, Channel::Sms), "allowed");

    let chat = verdicts(vec![sms("m1", "stop sending me the blue ones", 0)]);
    assert_eq!(name(&chat, Channel::Sms), "unknown");
    assert!(
        chat.history.is_empty(),
        "an ordinary message is not consent history"
    );
}

#[test]
fn an_opt_in_without_a_channel_counts_on_the_channels_its_addresses_imply() {
    // The normalizer gives contact.* events no channel: an e-mail double
    // opt-in says nothing about SMS or web push.
    let email_only = verdicts(vec![event("k1", "egoi", "contact.confirmed", 0)]);
    assert_eq!(name(&email_only, Channel::Email), "allowed");
    assert_eq!(name(&email_only, Channel::Sms), "unknown");
    assert_eq!(name(&email_only, Channel::WebPush), "unknown");

    let phone_only = Fact {
        email: None,
        phone: Some("+351912345678".into()),
        ..event("r1", "enkod", "contact.resubscribed", 0)
    };
    let consent = verdicts(vec![phone_only]);
    assert_eq!(name(&consent, Channel::Sms), "allowed");
    assert_eq!(name(&consent, Channel::Email), "unknown");

    // An opt-out without a channel still suppresses all three; an e-mail
    // resubscribe lifts it on email only.
    let consent = verdicts(vec![
        event("u1", "sendpulse", "contact.unsubscribed", 0),
        event("r1", "flashy", "contact.resubscribed", DAY),
    ]);
    assert_eq!(name(&consent, Channel::Email), "allowed");
    assert_eq!(reason(&consent, Channel::Sms), Some(Reason::Unsubscribed));
    assert_eq!(
        reason(&consent, Channel::WebPush),
        Some(Reason::Unsubscribed)
    );
}

#[test]
fn an_sms_stop_is_lifted_only_by_an_sms_opt_in() {
    let both = |id: &str, event_type: &str, channel: Option<&str>, secs: i64| Fact {
        phone: Some("+351912345678".into()),
        channel: channel.map(str::to_owned),
        ..event(id, "egoi", event_type, secs)
    };
    let confirmed_by_email = verdicts(vec![
        sms("m1", "STOP", 0),
        both("k1", "contact.confirmed", None, DAY),
    ]);
    assert_eq!(
        reason(&confirmed_by_email, Channel::Sms),
        Some(Reason::Unsubscribed)
    );
    assert_eq!(name(&confirmed_by_email, Channel::Email), "allowed");

    let sms_resubscribe = verdicts(vec![
        sms("m1", "STOP", 0),
        both("r1", "contact.resubscribed", Some("sms"), DAY),
    ]);
    assert_eq!(name(&sms_resubscribe, Channel::Sms), "allowed");

    let sms_unsubscribe = verdicts(vec![
        both("u1", "contact.unsubscribed", Some("sms"), 0),
        both("r1", "contact.resubscribed", None, DAY),
    ]);
    assert_eq!(
        reason(&sms_unsubscribe, Channel::Sms),
        Some(Reason::Unsubscribed)
    );
}

#[test]
fn a_web_push_unsubscribe_is_web_push_only() {
    let consent = verdicts(vec![event("w1", "egoi", "web_push.unsubscribed", 0)]);
    assert_eq!(
        reason(&consent, Channel::WebPush),
        Some(Reason::Unsubscribed)
    );
    assert_eq!(name(&consent, Channel::Email), "unknown");
    assert_eq!(name(&consent, Channel::Sms), "unknown");
}

#[test]
fn three_soft_bounces_over_14_days_without_a_delivery_make_undeliverable() {
    let three = vec![
        bounce("b1", Some("soft"), 0),
        bounce("b2", None, 7 * DAY),
        bounce("b3", Some("soft"), 14 * DAY),
    ];
    let consent = verdicts(three.clone());
    assert_eq!(
        consent.channels[&Channel::Email],
        Verdict::Suppressed {
            reason: Reason::Undeliverable,
            scope: "all".into(),
            provider: "egoi".into(),
            since: at(14 * DAY),
            event_id: "b3".into(),
        }
    );
    assert!(consent.transactional_blocked);

    let within_13_days = vec![
        bounce("b1", Some("soft"), 0),
        bounce("b2", None, 7 * DAY),
        bounce("b3", Some("soft"), 13 * DAY),
    ];
    assert_eq!(name(&verdicts(within_13_days), Channel::Email), "unknown");

    let mut delivered_between = three.clone();
    delivered_between.push(event("d1", "egoi", "email.delivered", 10 * DAY));
    assert_eq!(
        name(&verdicts(delivered_between), Channel::Email),
        "unknown"
    );

    let mut confirmed = three.clone();
    confirmed.push(event("k1", "egoi", "contact.confirmed", 15 * DAY));
    assert_eq!(name(&verdicts(confirmed), Channel::Email), "allowed");

    let settings = Settings {
        undeliverable_bounces: 2,
        undeliverable_days: 7,
        ..Settings::default()
    };
    let two = fold(three[..2].to_vec(), &settings);
    assert_eq!(
        reason(&two, Channel::Email),
        Some(Reason::Undeliverable),
        "both numbers are settings"
    );
}

/// The consent table keeps only each address's latest delivery, so the
/// verdict must be the same with every delivery or with the latest alone.
#[test]
fn only_the_bounces_since_the_latest_delivery_count_towards_undeliverable() {
    let delivered = |id: &str, days: i64| event(id, "egoi", "email.delivered", days * DAY);
    let soft = |id: &str, days: i64| bounce(id, Some("soft"), days * DAY);
    let first_run = vec![
        soft("b0", 0),
        soft("b7", 7),
        delivered("d8", 8),
        soft("b15", 15),
    ];
    assert_eq!(
        name(&verdicts(first_run.clone()), Channel::Email),
        "unknown"
    );

    let mut then_delivered = first_run.clone();
    then_delivered.push(delivered("d20", 20));
    let as_the_table_keeps_it: Vec<Fact> = then_delivered
        .iter()
        .filter(|f| f.event_id != "d8")
        .cloned()
        .collect();
    for facts in [then_delivered.clone(), as_the_table_keeps_it] {
        assert_eq!(
            name(&verdicts(facts), Channel::Email),
            "unknown",
            "a delivery at day 8 came between the bounces"
        );
    }

    let mut bounced_again = then_delivered.clone();
    bounced_again.extend([soft("b21", 21), soft("b28", 28), soft("b36", 36)]);
    let consent = verdicts(bounced_again.clone());
    assert_eq!(
        reason(&consent, Channel::Email),
        Some(Reason::Undeliverable)
    );
    assert!(matches!(
        &consent.channels[&Channel::Email],
        Verdict::Suppressed { event_id, .. } if event_id == "b36"
    ));

    bounced_again.push(delivered("d40", 40));
    assert_eq!(
        name(&verdicts(bounced_again), Channel::Email),
        "unknown",
        "a later delivery shows the mailbox works again"
    );
}

#[test]
fn forgotten_suppresses_everything_and_stays() {
    let consent = verdicts(vec![
        event("f1", "egoi", "contact.forgotten", 0),
        event("k1", "egoi", "contact.confirmed", DAY),
    ]);
    for channel in Channel::ALL {
        assert_eq!(reason(&consent, channel), Some(Reason::Forgotten));
    }
    assert!(consent.transactional_blocked);
}

fn clear(id: &str, clears: &[&str], through_secs: i64, secs: i64) -> Fact {
    Fact {
        event_id: id.to_owned(),
        provider: "operator".to_owned(),
        event_type: consent::CLEARED.to_owned(),
        occurred_at: at(secs),
        clears: clears.iter().map(|s| (*s).to_owned()).collect(),
        through: Some(at(through_secs)),
        reason: Some("complaint filed by mistake".into()),
        by: Some("ops@example.com".into()),
        ..Fact::default()
    }
}

#[test]
fn an_operator_clear_lifts_a_complaint_and_an_older_one_arriving_later_stays_lifted() {
    let complaint = event("c2", "enkod", "email.complained", 5 * DAY);
    let cleared = clear("x1", &["c2"], 5 * DAY, 6 * DAY);
    let consent = verdicts(vec![complaint.clone(), cleared.clone()]);
    assert_eq!(name(&consent, Channel::Email), "unknown");
    assert!(consent
        .history
        .iter()
        .any(|h| h.event_id == "c2" && h.cleared));

    let older_complaint_late = event("c1", "flashy", "email.complained", 4 * DAY);
    let consent = verdicts(vec![
        complaint.clone(),
        cleared.clone(),
        older_complaint_late,
    ]);
    assert_eq!(name(&consent, Channel::Email), "unknown");

    let newer_complaint = event("c3", "flashy", "email.complained", 7 * DAY);
    let consent = verdicts(vec![complaint, cleared, newer_complaint]);
    assert_eq!(reason(&consent, Channel::Email), Some(Reason::Complained));
}

#[test]
fn a_redelivered_event_counts_once_and_the_later_copy_is_kept() {
    let first = event("u1", "enkod", "contact.unsubscribed", 0);
    let racing_copy = Fact {
        occurred_at: at(5),
        ..first.clone()
    };
    let consent = verdicts(vec![first.clone(), racing_copy.clone(), first]);
    assert_eq!(consent.history.len(), 1);
    assert_eq!(consent.history[0].occurred_at, at(5));
}

#[test]
fn a_fact_the_fold_cannot_read_is_left_out() {
    let unreadable = Fact {
        occurred_at: "yesterday-ish".into(),
        ..event("u1", "enkod", "contact.unsubscribed", 0)
    };
    assert!(unreadable.check().is_err());
    assert_eq!(name(&verdicts(vec![unreadable]), Channel::Email), "unknown");
}

#[test]
fn history_is_oldest_first_across_providers() {
    let consent = verdicts(vec![
        event("r1", "flashy", "contact.resubscribed", 2 * DAY),
        event("u1", "sendpulse", "contact.unsubscribed", 0),
        event("o1", "flashy", "email.opened", DAY),
    ]);
    let ids: Vec<&str> = consent
        .history
        .iter()
        .map(|h| h.event_id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["u1", "r1"],
        "oldest first; an open is not consent history"
    );
}
