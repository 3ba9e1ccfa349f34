//! `webhooks forget` against the local DynamoDB of `make test`
//! (infra/local/with-dynamodb.sh): a person's events deleted, their consent
//! records kept under a keyed hash, the lookup by the old address still
//! `suppressed`, and later events of the person deleted on arrival when
//! the deployer turned that on. Each test makes tables of its own, with
//! the indexes of infra/template.yaml.

mod common;

use common::{deliver, egoi, enkod_complaint, lookup, ok, ok_with, sendpulse_unsubscribe};
use common::{webhooks, webhooks_with, Tables, DAY, T0};
use consent_fn::erasure::{HashKey, DEV_KEY};
use normalize::Provider;
use serde_json::Value;

const ANN: &str = "ann@example.com";
const BOB: &str = "bob@example.com";

fn tables(name: &str) -> Tables {
    common::template_tables(name)
}

/// Every item of a table, each as one line of text (addresses searched in it).
async fn scan(table: &str) -> Vec<String> {
    common::scan_all(table)
        .await
        .iter()
        .map(|item| format!("{item:?}"))
        .collect()
}

fn mentioning(items: &[String], text: &str) -> usize {
    items.iter().filter(|i| i.contains(text)).count()
}

#[tokio::test]
#[ignore = "needs a local DynamoDB: infra/local/with-dynamodb.sh"]
async fn a_forgotten_person_has_no_events_left_and_stays_suppressed_by_hash() {
    let t = tables("forget");
    deliver(&t, Provider::Sendpulse, &sendpulse_unsubscribe(ANN, T0), T0).await;
    deliver(
        &t,
        Provider::Egoi,
        &egoi("resubscription", ANN, "u1", T0 + DAY),
        T0 + DAY,
    )
    .await;
    deliver(&t, Provider::Enkod, &enkod_complaint(ANN), T0 + 2 * DAY).await;
    deliver(&t, Provider::Sendpulse, &sendpulse_unsubscribe(BOB, T0), T0).await;
    ok(&t, &["consent", "follow", "--once"]);
    assert_eq!(mentioning(&scan(&t.events).await, ANN), 3);

    // A dry run lists and deletes nothing.
    let dry: Value = serde_json::from_str(&ok(
        &t,
        &[
            "forget",
            ANN,
            "--dry-run",
            "--reason",
            "GDPR art. 17",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(dry["events"], 3, "{dry:#}");
    assert_eq!(dry["erasure"], Value::Null);
    let subjects: Vec<&str> = dry["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["subject"].as_str().unwrap())
        .collect();
    assert!(subjects.contains(&"email#ann@example.com"), "{dry:#}");
    assert!(
        subjects.contains(&"contact#egoi#u1"),
        "the linked contact id: {dry:#}"
    );
    assert_eq!(scan(&t.events).await.len(), 4);
    assert_eq!(
        mentioning(&scan(&t.consent).await, ANN),
        mentioning(&scan(&t.consent).await, ANN)
    );
    assert!(mentioning(&scan(&t.consent).await, ANN) > 0);

    let done: Value = serde_json::from_str(&ok(
        &t,
        &[
            "forget",
            "Ann@Example.com",
            "--reason",
            "GDPR art. 17, request 12",
            "--by",
            "dpo",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(done["erasure"]["events_deleted"], 3, "{done:#}");

    // No event of hers is left; Bob's is.
    let events = scan(&t.events).await;
    assert_eq!(events.len(), 1);
    assert_eq!(mentioning(&events, ANN), 0);
    assert_eq!(mentioning(&events, BOB), 1);

    // The consent table keeps no trace of the address, and the erasure record.
    let consent = scan(&t.consent).await;
    assert_eq!(mentioning(&consent, "ann@"), 0, "{consent:#?}");
    assert_eq!(
        mentioning(&consent, "u1\""),
        0,
        "the contact id: {consent:#?}"
    );
    let key = HashKey::new(DEV_KEY.as_bytes()).unwrap();
    let hash = key.hex(ANN);
    let record: Vec<&String> = consent
        .iter()
        .filter(|i| i.contains("erasure#") && i.contains(&format!("forgotten#email#{hash}")))
        .collect();
    assert_eq!(record.len(), 1, "{consent:#?}");
    assert!(record[0].contains("GDPR art. 17, request 12") && record[0].contains("dpo"));

    // The lookup by the old address still answers suppressed, as forgotten.
    let after = lookup(&t, ANN);
    for channel in ["email", "sms", "web_push"] {
        assert_eq!(
            after["channels"][channel]["verdict"], "suppressed",
            "{after:#}"
        );
        assert_eq!(
            after["channels"][channel]["reason"], "forgotten",
            "{after:#}"
        );
    }
    assert_eq!(after["transactional_blocked"], true);
    assert_eq!(
        lookup(&t, "egoi:u1")["channels"]["email"]["reason"],
        "forgotten"
    );
    // Without the key, the lookup cannot know her.
    let blind = webhooks_with(&t, &["consent", ANN, "--json"], &[("CONSENT_HASH_KEY", "")]);
    let blind: Value = serde_json::from_slice(&blind.stdout).unwrap();
    assert_eq!(blind["channels"]["email"]["verdict"], "unknown");

    // The export lists the hash, never the address.
    let csv = ok(&t, &["suppressed", "--csv", "--channel", "email"]);
    assert!(!csv.contains(ANN), "{csv}");
    assert!(
        csv.contains(&format!(",,{hash},email,forgotten,all,operator,")),
        "{csv}"
    );
    assert!(
        csv.contains(&format!("{BOB},,,email,unsubscribed")),
        "{csv}"
    );

    // A rebuild from the events table keeps her records.
    ok(&t, &["consent", "rebuild"]);
    assert_eq!(lookup(&t, ANN)["channels"]["email"]["reason"], "forgotten");

    // A later event of hers is deleted on arrival when that is turned on,
    // and recorded nowhere.
    deliver(&t, Provider::Enkod, &enkod_complaint(ANN), T0 + 3 * DAY).await;
    ok_with(
        &t,
        &["consent", "follow", "--once"],
        &[("ERASE_LATER_EVENTS", "true")],
    );
    assert_eq!(mentioning(&scan(&t.events).await, ANN), 0);
    assert_eq!(mentioning(&scan(&t.consent).await, "ann@"), 0);
    // Without the setting, a later event is stored and recorded as any other.
    deliver(
        &t,
        Provider::Sendpulse,
        &sendpulse_unsubscribe(ANN, T0 + 4 * DAY),
        T0 + 4 * DAY,
    )
    .await;
    ok(&t, &["consent", "follow", "--once"]);
    assert_eq!(mentioning(&scan(&t.events).await, ANN), 1);
    assert_eq!(lookup(&t, ANN)["channels"]["email"]["reason"], "forgotten");
}

#[tokio::test]
#[ignore = "needs a local DynamoDB: infra/local/with-dynamodb.sh"]
async fn a_contact_forgotten_event_erases_the_person_when_turned_on() {
    let t = tables("forgotten-event");
    let carol = "carol@example.com";
    deliver(
        &t,
        Provider::Sendpulse,
        &sendpulse_unsubscribe(carol, T0),
        T0,
    )
    .await;
    deliver(
        &t,
        Provider::Egoi,
        &egoi("forget_subscription", carol, "u9", T0 + DAY),
        T0 + DAY,
    )
    .await;
    ok_with(
        &t,
        &["consent", "follow", "--once"],
        &[("ERASE_LATER_EVENTS", "true")],
    );
    assert_eq!(mentioning(&scan(&t.events).await, carol), 0);
    assert_eq!(mentioning(&scan(&t.consent).await, "carol@"), 0);
    let after = lookup(&t, carol);
    assert_eq!(
        after["channels"]["email"]["reason"], "forgotten",
        "{after:#}"
    );
    assert!(scan(&t.consent)
        .await
        .iter()
        .any(|i| i.contains("contact.forgotten from egoi")));
}

#[tokio::test]
#[ignore = "needs a local DynamoDB: infra/local/with-dynamodb.sh"]
async fn forget_needs_a_reason_and_the_key() {
    let t = tables("forget-refusals");
    let out = webhooks(&t, &["forget", ANN, "--reason", " "]);
    assert!(!out.status.success());
    let out = webhooks_with(
        &t,
        &["forget", ANN, "--reason", "x"],
        &[("CONSENT_HASH_KEY", "")],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CONSENT_HASH_KEY"));
    let out = webhooks(
        &t,
        &["forget", ANN, "--reason", "request of Ann@Example.com"],
    );
    assert!(
        !out.status.success(),
        "the reason is kept: it may not name the address"
    );
}

#[test]
fn make_dev_uses_the_documented_development_key() {
    let dev = test_support::read("infra/local/dev.sh");
    assert!(
        dev.contains(&format!("CONSENT_HASH_KEY:-{DEV_KEY}")),
        "dev.sh"
    );
    let docs = test_support::read("docs/consent.md");
    assert!(docs.contains(&format!("`{DEV_KEY}`")), "docs/consent.md");
}
