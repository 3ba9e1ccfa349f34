//! The consent verbs against the local DynamoDB of `make test`
//! (infra/local/with-dynamodb.sh): events stored as the webhooks store them,
//! the view kept by `webhooks consent follow` from the local stream, asked
//! with `webhooks consent` and `webhooks suppressed`, cleared, rebuilt.
//! Each test makes tables of its own.

mod common;

use common::*;
use normalize::Provider;
use serde_json::Value;
use std::collections::BTreeSet;

fn follow(tables: &Tables) {
    ok(tables, &["consent", "follow", "--once"]);
}

#[tokio::test]
#[ignore = "needs a local DynamoDB: infra/local/with-dynamodb.sh"]
async fn an_opt_out_in_one_provider_reaches_the_lookup_the_export_and_a_complaint_stays() {
    let t = tables("session").await;
    let ann = "ann@example.com";
    // Out of order: the opt-in (a day later) is stored before the unsubscribe.
    deliver(
        &t,
        Provider::Egoi,
        &egoi("resubscription", ann, "u1", T0 + DAY),
        T0 + DAY,
    )
    .await;
    deliver(
        &t,
        Provider::Sendpulse,
        &sendpulse_unsubscribe(ann, T0),
        T0 + 2 * DAY,
    )
    .await;
    follow(&t);
    let first = lookup(&t, "Ann@Example.com");
    assert_eq!(first["subject"], "email#ann@example.com");
    assert_eq!(
        first["channels"]["email"]["verdict"], "allowed",
        "{first:#}"
    );
    assert_eq!(first["channels"]["email"]["provider"], "egoi");
    let history: Vec<&str> = first["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["provider"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["sendpulse", "egoi"], "oldest first");

    // The stream read again from its start (a redelivery of every record).
    follow(&t);
    assert_eq!(lookup(&t, ann), first);

    deliver(&t, Provider::Enkod, &enkod_complaint(ann), T0 + 3 * DAY).await;
    deliver(
        &t,
        Provider::Egoi,
        &egoi("double_optin", ann, "u1", T0 + 4 * DAY),
        T0 + 4 * DAY,
    )
    .await;
    follow(&t);
    let complained = lookup(&t, ann);
    assert_eq!(complained["channels"]["email"]["verdict"], "suppressed");
    assert_eq!(complained["channels"]["email"]["reason"], "complained");
    assert_eq!(complained["channels"]["email"]["provider"], "enkod");
    // The e-mail opt-ins lift SendPulse's channel-less unsubscribe on email
    // only: sms and web push stay suppressed.
    assert_eq!(complained["channels"]["sms"]["reason"], "unsubscribed");
    assert_eq!(complained["channels"]["web_push"]["provider"], "sendpulse");
    assert_eq!(complained["transactional_blocked"], false);

    let csv = ok(&t, &["suppressed", "--csv"]);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("email,phone,hash,channel,reason,scope,provider,since,event_id")
    );
    let row: Vec<&str> = lines.next().expect("one row").split(',').collect();
    assert_eq!(
        &row[..7],
        [ann, "", "", "email", "complained", "all", "enkod"]
    );
    for channel in ["sms", "web_push"] {
        let row: Vec<&str> = lines.next().expect("a row").split(',').collect();
        assert_eq!(
            &row[..7],
            [ann, "", "", channel, "unsubscribed", "all", "sendpulse"]
        );
    }
    assert_eq!(lines.next(), None);
    assert_eq!(
        ok(&t, &["suppressed", "--ses"]),
        format!("email,reason\n{ann},COMPLAINT\n")
    );
    let json: Value =
        serde_json::from_str(&ok(&t, &["suppressed", "--json", "--channel", "sms"])).unwrap();
    assert_eq!(json[0]["reason"], "unsubscribed");
    assert_eq!(json.as_array().map(Vec::len), Some(1));

    // The rebuild from the events table ends where the stream did.
    let streamed = items(&t.consent).await;
    let rebuilt = Tables {
        events: t.events.clone(),
        consent: tables("rebuilt").await.consent,
    };
    ok(&rebuilt, &["consent", "rebuild"]);
    assert_eq!(items(&rebuilt.consent).await, streamed);

    // Only an operator lifts a complaint, as a recorded event.
    let cleared = ok(
        &t,
        &[
            "consent",
            "clear",
            ann,
            "--reason",
            "complaint filed by mistake",
            "--by",
            "ops",
        ],
    );
    assert!(cleared.contains("cleared"), "{cleared}");
    let after = lookup(&t, ann);
    assert_eq!(
        after["channels"]["email"]["verdict"], "allowed",
        "{after:#}"
    );
    let clear = after["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(clear["effect"], "clear");
    assert_eq!(clear["by"], "ops");
    // A rebuild keeps the operator's clear.
    ok(&t, &["consent", "rebuild"]);
    assert_eq!(lookup(&t, ann)["channels"]["email"]["verdict"], "allowed");
}

#[tokio::test]
#[ignore = "needs a local DynamoDB: infra/local/with-dynamodb.sh"]
async fn an_egoi_sms_opt_out_stops_the_same_phone_as_other_platforms_write_it() {
    // GIVEN E-goi's unsubscribe of a contact whose phone it writes 351-912345678
    let t = tables("egoi-phone").await;
    let body = format!(
        r#"{{"events":[{{"action":"unsubscribe","action_date":{T0},"list_id":"7","contact":{{"base":["u9"],"fields":[{{"uid":"u9","cellphone":"351-912345678"}}]}}}}]}}"#
    );
    deliver(&t, Provider::Egoi, &body, T0).await;
    follow(&t);

    // THEN the phone as SendPulse or Flashy write it, or a person types it, is suppressed for SMS
    for who in ["+351 912 345 678", "+351912345678", "00351912345678"] {
        let phone = lookup(&t, who);
        assert_eq!(phone["subject"], "phone#+351912345678", "{who}");
        assert_eq!(phone["channels"]["sms"]["verdict"], "suppressed", "{who}");
        assert_eq!(phone["channels"]["sms"]["provider"], "egoi", "{who}");
    }
}

#[tokio::test]
#[ignore = "needs a local DynamoDB: infra/local/with-dynamodb.sh"]
async fn nothing_sticky_cannot_be_cleared_and_a_bad_subject_is_refused() {
    let t = tables("refusals").await;
    let out = webhooks(
        &t,
        &["consent", "clear", "bob@example.com", "--reason", "x"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to clear"));
    let out = webhooks(&t, &["consent", "nobody"]);
    assert!(!out.status.success());
}

/// Every item of a consent table, as comparable text.
async fn items(table: &str) -> BTreeSet<String> {
    scan_all(table)
        .await
        .iter()
        .map(|item| {
            let mut pairs: Vec<String> = item.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            pairs.sort();
            pairs.join(" ")
        })
        .collect()
}

/// The stored events of a table, by id, as (event_id, event_type).
async fn stored_events(table: &str) -> Vec<(String, String)> {
    let s = |item: &std::collections::HashMap<_, _>, name: &str| match item.get(name) {
        Some(aws_sdk_dynamodb::types::AttributeValue::S(s)) => s.clone(),
        _ => String::new(),
    };
    scan_all(table)
        .await
        .iter()
        .map(|item| (s(item, "event_id"), s(item, "event_type")))
        .collect()
}

#[tokio::test]
#[ignore = "needs a local DynamoDB: infra/local/with-dynamodb.sh"]
async fn a_rebuild_keeps_an_opt_out_whose_event_expired_and_drops_one_retyped() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let t = tables("expired").await;
    let (ann, bob) = ("ann@example.com", "bob@example.com");
    deliver(&t, Provider::Sendpulse, &sendpulse_unsubscribe(ann, T0), T0).await;
    deliver(&t, Provider::Sendpulse, &sendpulse_unsubscribe(bob, T0), T0).await;
    follow(&t);
    let events = stored_events(&t.events).await;
    assert_eq!(events.len(), 2);
    let id_of = |who: &str| {
        let subject = format!("email#{who}");
        let answer = lookup(&t, who);
        assert_eq!(answer["subject"], subject);
        answer["channels"]["email"]["event_id"]
            .as_str()
            .expect("suppressed")
            .to_owned()
    };
    let (ann_event, bob_event) = (id_of(ann), id_of(bob));

    // Ann's unsubscribe expires (retention); Bob's is reprocessed into a
    // type the view does not keep.
    let db = client().await;
    db.delete_item()
        .table_name(&t.events)
        .key("event_id", AttributeValue::S(ann_event.clone()))
        .send()
        .await
        .expect("DeleteItem");
    db.update_item()
        .table_name(&t.events)
        .key("event_id", AttributeValue::S(bob_event.clone()))
        .update_expression("SET event_type = :t")
        .expression_attribute_values(":t", AttributeValue::S("unknown".into()))
        .send()
        .await
        .expect("UpdateItem");

    ok(&t, &["consent", "rebuild"]);
    let ann_after = lookup(&t, ann);
    assert_eq!(
        ann_after["channels"]["email"]["reason"], "unsubscribed",
        "an expired event takes nothing away: {ann_after:#}"
    );
    assert_eq!(ann_after["channels"]["email"]["event_id"], ann_event);
    assert_eq!(
        lookup(&t, bob)["channels"]["email"]["verdict"],
        "unknown",
        "a retyped event no longer counts"
    );
}
