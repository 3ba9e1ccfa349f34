//! The stream function against the local DynamoDB (dynoxide): run with
//! `infra/local/with-dynamodb.sh cargo test -p consent-fn -- --include-ignored`.

use consent::{Channel, Settings, Verdict};
use consent_fn::{lookup, stream, table, ConsentTable};
use serde_json::{json, Value};

async fn fresh_table() -> ConsentTable {
    let client = events_table::dynamo::client().await;
    let name = format!(
        "consent-test-{}",
        std::process::id() as u64 * 1000 + u64::from(fastrand::u16(..))
    );
    table::create_table(&client, &name)
        .await
        .expect("create the consent table");
    ConsentTable::new(client, name)
}

/// A stream record as Lambda hands it over: the stored item as `NewImage`.
fn record(sequence: u64, image: Value) -> Value {
    json!({
        "eventID": format!("ev{sequence}"),
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "Keys": {"event_id": image["event_id"].clone()},
            "NewImage": image,
            "SequenceNumber": sequence.to_string(),
            "SizeBytes": 100,
            "StreamViewType": "NEW_IMAGE"
        }
    })
}

fn stored(id: &str, provider: &str, event_type: &str, occurred_at: &str, email: &str) -> Value {
    json!({
        "event_id": {"S": id}, "provider": {"S": provider}, "event_type": {"S": event_type},
        "occurred_at": {"S": occurred_at}, "email": {"S": email}, "raw": {"S": "{}"},
        "schema_version": {"N": "1"}
    })
}

fn failures(response: &aws_lambda_events::streams::DynamoDbEventResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .filter_map(|f| f.item_identifier.clone())
        .collect()
}

#[tokio::test]
#[ignore = "needs a local DynamoDB: infra/local/with-dynamodb.sh"]
async fn a_bad_record_is_reported_alone_and_redelivered_or_late_events_change_nothing() {
    let table = fresh_table().await;
    let unsubscribe = record(
        1,
        stored(
            "u1",
            "sendpulse",
            "contact.unsubscribed",
            "2026-03-02T10:00:00.000Z",
            "ann@example.com",
        ),
    );
    let malformed = json!({"eventID": "ev2", "eventName": "INSERT", "dynamodb": {"SequenceNumber": "2", "NewImage": "not an image"}});
    let mut no_time = stored(
        "u3",
        "flashy",
        "contact.unsubscribed",
        "",
        "bob@example.com",
    );
    no_time.as_object_mut().unwrap().remove("occurred_at");
    let unreadable = record(3, no_time);
    // Arrives after the unsubscribe, but occurred a day before it.
    let earlier_resubscribe = record(
        4,
        stored(
            "r1",
            "flashy",
            "contact.resubscribed",
            "2026-03-01T10:00:00.000Z",
            "ann@example.com",
        ),
    );
    let batch = json!({"Records": [unsubscribe, malformed, unreadable, earlier_resubscribe]});

    let first = stream::handle_batch(
        &table,
        &batch,
        &mut Default::default(),
        &consent_fn::changes::Changes::off(),
    )
    .await
    .unwrap();
    assert_eq!(failures(&first), ["2", "3"], "only the bad records fail");
    let again = stream::handle_batch(
        &table,
        &batch,
        &mut Default::default(),
        &consent_fn::changes::Changes::off(),
    )
    .await
    .unwrap();
    assert_eq!(failures(&again), ["2", "3"]);

    let (consent, facts) = lookup::look_up(&table, "email#ann@example.com", &Settings::default())
        .await
        .unwrap();
    assert_eq!(facts.len(), 2, "a redelivered record is kept once");
    match &consent.channels[&Channel::Email] {
        Verdict::Suppressed { event_id, .. } => assert_eq!(event_id, "u1"),
        other => panic!("the unsubscribe, the latest event, decides: {other:?}"),
    }
    let (bob, _) = lookup::look_up(&table, "email#bob@example.com", &Settings::default())
        .await
        .unwrap();
    assert_eq!(bob.channels[&Channel::Email], Verdict::Unknown);
}

#[tokio::test]
#[ignore = "needs a local DynamoDB: infra/local/with-dynamodb.sh"]
async fn a_contact_id_s_opt_out_reaches_the_address_an_event_linked_to_it() {
    let table = fresh_table().await;
    let mut by_id = stored(
        "u1",
        "flashy",
        "contact.unsubscribed",
        "2026-03-02T10:00:00.000Z",
        "",
    );
    by_id.as_object_mut().unwrap().remove("email");
    by_id["contact_id"] = json!({"S": "42"});
    let mut opened = stored(
        "o1",
        "flashy",
        "email.opened",
        "2026-03-01T10:00:00.000Z",
        "cy@example.com",
    );
    opened["contact_id"] = json!({"S": "42"});
    let batch = json!({"Records": [record(1, by_id), record(2, opened)]});
    assert!(failures(
        &stream::handle_batch(
            &table,
            &batch,
            &mut Default::default(),
            &consent_fn::changes::Changes::off()
        )
        .await
        .unwrap()
    )
    .is_empty());

    let (consent, _) = lookup::look_up(&table, "email#cy@example.com", &Settings::default())
        .await
        .unwrap();
    assert!(
        consent.channels[&Channel::Email].is_suppressed(),
        "{consent:?}"
    );
    let answer = lookup::answer("email#cy@example.com", &consent);
    assert_eq!(answer["channels"]["email"]["reason"], "unsubscribed");
    assert_eq!(answer["channels"]["email"]["provider"], "flashy");
}

#[tokio::test]
async fn a_payload_that_is_not_a_batch_fails_the_invocation() {
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .build(),
    );
    let table = ConsentTable::new(client, "unused");
    assert!(stream::handle_batch(
        &table,
        &json!({"hello": 1}),
        &mut Default::default(),
        &consent_fn::changes::Changes::off()
    )
    .await
    .is_err());
}

/// `GET /consent?<query>` as API Gateway (HTTP API, payload 2.0) hands it over.
fn get_consent(query: &str, params: Value) -> lambda_http::Request {
    let event = json!({
        "version": "2.0", "routeKey": "GET /consent", "rawPath": "/consent", "rawQueryString": query,
        "queryStringParameters": params,
        "headers": {"host": "abc123.execute-api.us-east-1.amazonaws.com"},
        "requestContext": {"accountId": "123456789012", "apiId": "abc123", "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123", "http": {"method": "GET", "path": "/consent", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10", "userAgent": "curl"},
            "requestId": "r1", "routeKey": "GET /consent", "stage": "$default", "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 1_767_225_600_000_i64},
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).expect("an HTTP API request")
}

fn body_json(response: &lambda_http::Response<lambda_http::Body>) -> Value {
    match response.body() {
        lambda_http::Body::Text(text) => serde_json::from_str(text).expect("JSON"),
        other => panic!("a text body expected: {other:?}"),
    }
}

#[tokio::test]
#[ignore = "needs a local DynamoDB: infra/local/with-dynamodb.sh"]
async fn the_http_lookup_answers_the_json_object_of_the_cli() {
    let table = fresh_table().await;
    let complaint = record(
        1,
        stored(
            "c1",
            "enkod",
            "email.complained",
            "2026-03-02T10:00:00.000Z",
            "dee@example.com",
        ),
    );
    let mut tally = consent_fn::metrics::Tally::default();
    stream::handle_batch(
        &table,
        &json!({"Records": [complaint]}),
        &mut tally,
        &consent_fn::changes::Changes::off(),
    )
    .await
    .unwrap();
    let metrics: Value = serde_json::from_str(&tally.lines(0)[0]).unwrap();
    assert_eq!(
        (&metrics["provider"], &metrics["Complained"]),
        (&json!("enkod"), &json!(1)),
        "a newly stored complaint is counted for the deliverability alarms"
    );
    let settings = Settings::default();

    let response = lookup::http_answer(
        &table,
        &settings,
        &get_consent(
            "email=Dee%40example.com",
            json!({"email": "Dee@example.com"}),
        ),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let answer = body_json(&response);
    assert_eq!(answer["subject"], "email#dee@example.com");
    assert_eq!(answer["channels"]["email"]["verdict"], "suppressed");
    assert_eq!(answer["channels"]["email"]["reason"], "complained");
    assert_eq!(answer["channels"]["email"]["event_id"], "c1");
    assert_eq!(answer["history"][0]["event_id"], "c1");

    let nobody = lookup::http_answer(&table, &settings, &get_consent("", json!({}))).await;
    assert_eq!(nobody.status(), 400);

    let gone = ConsentTable::new(events_table::dynamo::client().await, "no-such-table");
    let unavailable = lookup::http_answer(
        &gone,
        &settings,
        &get_consent("phone=%2B351912", json!({"phone": "+351912"})),
    )
    .await;
    assert_eq!(unavailable.status(), 503);
}

#[tokio::test]
#[ignore = "needs a local DynamoDB: infra/local/with-dynamodb.sh"]
async fn each_verdict_change_is_published_once_and_a_redelivery_publishes_nothing() {
    let table = fresh_table().await;
    let changes = consent_fn::changes::Changes::recorded(Settings::default());
    let email = "eve@example.com";
    let unsubscribe = record(
        1,
        stored(
            "u1",
            "sendpulse",
            "contact.unsubscribed",
            "2026-03-02T10:00:00.000Z",
            email,
        ),
    );
    let subscribe = record(
        2,
        stored(
            "s1",
            "flashy",
            "contact.subscribed",
            "2026-03-03T10:00:00.000Z",
            email,
        ),
    );
    let resubscribe = record(
        3,
        stored(
            "r1",
            "egoi",
            "contact.resubscribed",
            "2026-03-04T10:00:00.000Z",
            email,
        ),
    );
    let batch = json!({"Records": [unsubscribe, subscribe, resubscribe]});
    let mut tally = Default::default();
    stream::handle_batch(&table, &batch, &mut tally, &changes)
        .await
        .unwrap();
    stream::handle_batch(&table, &batch, &mut tally, &changes)
        .await
        .unwrap();

    let published = changes.published();
    let steps: Vec<(&str, &str, &str)> = published
        .iter()
        .map(|d| {
            (
                d["event_id"].as_str().unwrap(),
                d["previous"]["email"]["verdict"].as_str().unwrap(),
                d["channels"]["email"]["verdict"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("u1", "unknown", "suppressed"),
            ("r1", "suppressed", "allowed")
        ],
        "a plain subscribe changes nothing; the redelivered batch publishes nothing"
    );
    assert_eq!(published[0]["subject"], "email#eve@example.com");
    assert_eq!(published[0]["channels"]["email"]["reason"], "unsubscribed");
}

#[tokio::test]
#[ignore = "needs a local DynamoDB: infra/local/with-dynamodb.sh"]
async fn a_reprocessed_event_of_the_same_time_replaces_its_fact() {
    let table = fresh_table().await;
    let at = "2026-03-02T10:00:00.000Z";
    let bounce = |kind: &str| {
        let mut image = stored("b1", "egoi", "email.bounced", at, "dan@example.com");
        image["attributes"] = json!({"M": {"bounce_type": {"S": kind}}});
        image
    };
    let mut modified = record(2, bounce("hard"));
    modified["eventName"] = json!("MODIFY");
    let complained = {
        let mut r = record(
            3,
            stored("b1", "egoi", "email.complained", at, "dan@example.com"),
        );
        r["eventName"] = json!("MODIFY");
        r
    };
    let reason = || async {
        let (consent, facts) =
            lookup::look_up(&table, "email#dan@example.com", &Settings::default())
                .await
                .unwrap();
        assert_eq!(facts.len(), 1);
        match &consent.channels[&Channel::Email] {
            Verdict::Suppressed { reason, .. } => reason.as_str().to_owned(),
            other => other.name().to_owned(),
        }
    };
    let off = consent_fn::changes::Changes::off();
    for (batch, expected) in [
        (record(1, bounce("soft")), "unknown"),
        (modified, "hard_bounced"),
        (complained.clone(), "complained"),
        (complained, "complained"),
    ] {
        let response = stream::handle_batch(
            &table,
            &json!({"Records": [batch]}),
            &mut Default::default(),
            &off,
        )
        .await
        .unwrap();
        assert!(failures(&response).is_empty());
        assert_eq!(reason().await, expected);
    }
}

#[tokio::test]
#[ignore = "needs a local DynamoDB: infra/local/with-dynamodb.sh"]
async fn with_the_bus_down_the_opt_out_still_reaches_the_view_and_is_published_on_retry() {
    let table = fresh_table().await;
    let changes = consent_fn::changes::Changes::failing(1, Settings::default());
    let unsubscribe = record(
        1,
        stored(
            "u1",
            "sendpulse",
            "contact.unsubscribed",
            "2026-03-02T10:00:00.000Z",
            "fay@example.com",
        ),
    );
    let batch = json!({"Records": [unsubscribe]});
    let first = stream::handle_batch(&table, &batch, &mut Default::default(), &changes)
        .await
        .unwrap();
    assert_eq!(failures(&first), ["1"], "the failed publish is retried");
    assert!(changes.published().is_empty());
    let (consent, _) = lookup::look_up(&table, "email#fay@example.com", &Settings::default())
        .await
        .unwrap();
    assert!(
        consent.channels[&Channel::Email].is_suppressed(),
        "the opt-out did not wait for the bus"
    );

    for _ in 0..2 {
        let retried = stream::handle_batch(&table, &batch, &mut Default::default(), &changes)
            .await
            .unwrap();
        assert!(failures(&retried).is_empty());
    }
    let published = changes.published();
    assert_eq!(published.len(), 1, "published on retry, then not again");
    assert_eq!(published[0]["event_id"], "u1");
    assert_eq!(published[0]["channels"]["email"]["verdict"], "suppressed");
    let raw = table.raw_items("email#fay@example.com").await.unwrap();
    assert!(
        raw.iter()
            .all(|item| !item.contains_key(table::UNPUBLISHED)),
        "the mark is taken off once published"
    );
}
