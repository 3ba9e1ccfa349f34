//! The request path end to end in-process, against an in-memory table that
//! enforces DynamoDB's per-call limits. Storage itself is proven against a
//! real server in dynamodb.rs.

mod common;

use common::{answer, app_with, counts, read, sample_event, MemoryTable, Req, TOKEN};
use events_table::item::Item;
use ingest::{App, Config, Provider};
use normalize::Timestamp;

fn app(provider: Provider) -> App<MemoryTable> {
    app_with(provider, &[])
}

fn sendpulse_batch(n: usize) -> String {
    let items: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"timestamp":"{}","event":"open","task_id":"9001","email":"reader{i}@example.com"}}"#, 1732528800 + i))
        .collect();
    format!("[{}]", items.join(","))
}

#[tokio::test]
async fn sample_events_are_stored_and_counted() {
    for provider in Provider::ALL {
        let app = app_with(provider, &[("WEBHOOK_TOKENS", "dev-token")]);
        let request = lambda_http::request::from_str(&sample_event(provider))
            .expect("the sample event is an API Gateway v2 event");
        let (status, json) = answer(app.handle(request).await);
        assert_eq!(status, 200, "{provider}: {json}");
        let (received, stored, duplicates) = counts(&json);
        assert!(received >= 1, "{provider}");
        assert_eq!((stored, duplicates), (received, 0), "{provider}");
        assert_eq!(app.table.len() as u64, received, "{provider}");
    }
}

#[tokio::test]
async fn redelivery_stores_nothing_new() {
    let app = app(Provider::Sendpulse);
    let body = sendpulse_batch(30);
    let first = counts(&answer(app.handle(Req::post(body.clone()).build()).await).1);
    let second = counts(&answer(app.handle(Req::post(body).build()).await).1);
    assert_eq!(first, (30, 30, 0));
    assert_eq!(second, (30, 0, 30));
    assert_eq!(app.table.len(), 30);
}

#[tokio::test]
async fn repeats_within_one_body_are_duplicates() {
    let app = app(Provider::Flashy);
    let one = r#"{"account_id":1,"contact_id":"ab","feed_id":2,"timestamp":1700000000,"event":"contact_subscribed"}"#;
    let (_, json) = answer(
        app.handle(Req::post(format!("[{one},{one}, {one}]")).build())
            .await,
    );
    assert_eq!(counts(&json), (3, 1, 2));
    assert_eq!(app.table.len(), 1);
}

#[tokio::test]
async fn a_hundred_events_cost_one_read_and_four_writes() {
    let app = app(Provider::Sendpulse);
    let (status, json) = answer(app.handle(Req::post(sendpulse_batch(100)).build()).await);
    assert_eq!(status, 200, "{json}");
    let calls = app.table.calls.lock().unwrap().clone();
    assert_eq!(calls.iter().filter(|c| **c == "BatchGetItem").count(), 1);
    assert_eq!(calls.iter().filter(|c| **c == "BatchWriteItem").count(), 4);
}

#[tokio::test]
async fn unprocessed_items_and_throttling_are_retried() {
    let app = app(Provider::Sendpulse);
    *app.table.unprocessed_puts.lock().unwrap() = vec![10, 25, 3];
    *app.table.throttle_next.lock().unwrap() = 2;
    let (status, json) = answer(app.handle(Req::post(sendpulse_batch(60)).build()).await);
    assert_eq!(status, 200, "{json}");
    assert_eq!(counts(&json), (60, 60, 0));
    assert_eq!(app.table.len(), 60);
}

#[tokio::test]
async fn storage_down_answers_503_and_the_retry_stores_everything_once() {
    let app = app(Provider::Sendpulse);
    let body = sendpulse_batch(40);
    *app.table.down.lock().unwrap() = true;
    let (status, json) = answer(app.handle(Req::post(body.clone()).build()).await);
    assert_eq!(status, 503, "{json}");
    assert_eq!(json["error"], "storage is unavailable; retry later");
    *app.table.down.lock().unwrap() = false;
    let (status, json) = answer(app.handle(Req::post(body).build()).await);
    assert_eq!(status, 200);
    assert_eq!(counts(&json), (40, 40, 0));
}

#[tokio::test]
async fn throttling_past_the_deadline_answers_503() {
    let app = app(Provider::Enkod);
    *app.table.throttle_next.lock().unwrap() = usize::MAX;
    let started = std::time::Instant::now();
    let (status, _) = answer(
        app.handle(Req::post(read("events/bodies/enkod.json")).build())
            .await,
    );
    assert_eq!(status, 503);
    // Gave up by the storage deadline, well inside Flashy's 5 s.
    assert!(started.elapsed() < std::time::Duration::from_millis(4500));
}

#[tokio::test]
async fn bad_bodies_get_400_and_are_kept_in_quarantine() {
    let cases: [(&[u8], &str); 5] = [
        (b"{not json", "body is not valid JSON"),
        (b"", "body is empty"),
        (
            b"42",
            "body is not a egoi webhook: expected a JSON object or array, got a number",
        ),
        (br#"{"hello":"world"}"#, "body is not a egoi webhook"),
        (b"\xff\xfe{}", "body is not valid UTF-8"),
    ];
    for (body, reason) in cases {
        let app = app(Provider::Egoi);
        let (status, json) = answer(app.handle(Req::post(body).base64().build()).await);
        assert_eq!(status, 400, "{body:?}");
        let error = json["error"].as_str().unwrap();
        assert!(
            error.starts_with(reason),
            "{error:?} should start with {reason:?}"
        );
        assert!(!error.contains('\n'));
        let items = app.table.items.lock().unwrap();
        assert_eq!(items.len(), 1, "quarantine item for {body:?}");
        let item = items.values().next().unwrap();
        assert_eq!(item["event_type"].as_s().unwrap(), "invalid");
        let kept = item["attributes"].as_m().unwrap();
        assert_eq!(kept["reason"].as_s().unwrap(), error);
    }
}

#[tokio::test]
async fn unknown_events_are_stored_and_answered_200() {
    let app = app(Provider::Enkod);
    let body = r#"{"event":"brand new thing","to":"a@b.example"}"#;
    let (status, json) = answer(app.handle(Req::post(body).build()).await);
    assert_eq!((status, counts(&json)), (200, (1, 1, 0)));
    let items = app.table.items.lock().unwrap();
    let item = items.values().next().unwrap();
    assert_eq!(item["event_type"].as_s().unwrap(), "unknown");
    assert_eq!(item["provider_event"].as_s().unwrap(), "brand new thing");
}

#[tokio::test]
async fn refusals_carry_their_status_and_store_nothing() {
    let body = read("events/bodies/flashy.json");
    let cases = [
        (Req::post(body.clone()).no_token(), 401),
        (Req::post(body.clone()).query("token", "wrong"), 401),
        (
            Req::post(body.clone()).query("token", &TOKEN[..TOKEN.len() - 1]),
            401,
        ),
        (
            Req::post(body.clone())
                .no_token()
                .header("x-api-key", TOKEN),
            401,
        ),
        (Req::post(body.clone()).method("PUT"), 405),
        (Req::post(body.clone()).method("DELETE"), 405),
        (Req::post(vec![b' '; 2048]), 413),
    ];
    for (request, expected) in cases {
        let app = app_with(Provider::Flashy, &[("MAX_BODY_BYTES", "1024")]);
        let (status, json) = answer(app.handle(request.build()).await);
        assert_eq!(status, expected, "{json}");
        assert!(json["error"].as_str().is_some_and(|e| !e.is_empty()));
        assert_eq!(app.table.len(), 0);
    }
}

#[tokio::test]
async fn no_configured_token_refuses_everyone_unless_explicitly_open() {
    let body = read("events/bodies/flashy.json");
    let closed = App::new(
        Provider::Flashy,
        Config::from_lookup(|_| None, None).unwrap(),
        MemoryTable::default(),
    );
    assert_eq!(
        answer(closed.handle(Req::post(body.clone()).build()).await).0,
        401
    );
    let open_config = Config::from_lookup(
        |k| (k == "ALLOW_UNAUTHENTICATED").then(|| "true".into()),
        None,
    )
    .unwrap();
    let open = App::new(Provider::Flashy, open_config, MemoryTable::default());
    assert_eq!(
        answer(open.handle(Req::post(body).no_token().build()).await).0,
        200
    );
}

#[tokio::test]
async fn token_is_accepted_from_headers_and_basic_auth() {
    let body = read("events/bodies/flashy.json");
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("user:{TOKEN}"),
    );
    let requests = [
        Req::post(body.clone())
            .no_token()
            .header("authorization", &format!("Bearer {TOKEN}")),
        Req::post(body.clone())
            .no_token()
            .header("x-webhook-token", TOKEN),
        Req::post(body.clone())
            .no_token()
            .header("authorization", &format!("Basic {basic}")),
    ];
    for request in requests {
        let app = app(Provider::Flashy);
        assert_eq!(answer(app.handle(request.build()).await).0, 200);
    }
}

#[tokio::test]
async fn reachability_checks_get_200_without_storing() {
    let app = app(Provider::Enkod);
    let (status, json) = answer(
        app.handle(Req::post("").method("GET").no_token().build())
            .await,
    );
    assert_eq!(status, 200);
    assert_eq!(json["status"], "ok");
    assert_eq!(app.table.len(), 0);
}

#[tokio::test]
async fn base64_and_form_content_types_are_read_as_json() {
    let app = app(Provider::Enkod);
    let body = read("events/bodies/enkod.json");
    let request = Req::post(body)
        .base64()
        .header("content-type", "application/x-www-form-urlencoded");
    let (status, json) = answer(app.handle(request.build()).await);
    assert_eq!((status, counts(&json)), (200, (1, 1, 0)));
}

#[tokio::test]
async fn sendpulse_answers_with_the_configured_key() {
    let key_body = r#"{"key":"a360-key-123"}"#;
    let app = app_with(Provider::Sendpulse, &[("RESPONSE_BODY", key_body)]);
    let response = app.handle(Req::post(sendpulse_batch(2)).build()).await;
    assert_eq!(response.headers()["content-type"], "application/json");
    let (status, json) = answer(response);
    assert_eq!(status, 200);
    assert_eq!(json, serde_json::json!({"key": "a360-key-123"}));
    assert_eq!(app.table.len(), 2);
    // Other providers ignore the variable.
    let flashy = app_with(Provider::Flashy, &[("RESPONSE_BODY", key_body)]);
    let (_, json) = answer(
        flashy
            .handle(Req::post(read("events/bodies/flashy.json")).build())
            .await,
    );
    assert!(json.get("received").is_some());
}

#[tokio::test]
async fn received_at_is_the_time_of_receipt() {
    let before = Timestamp::now();
    let app = app(Provider::Enkod);
    app.handle(Req::post(read("events/bodies/enkod.json")).build())
        .await;
    let items = app.table.items.lock().unwrap();
    let item = items.values().next().unwrap();
    let received = Timestamp::parse(item["received_at"].as_s().unwrap()).unwrap();
    assert!(received >= before && received <= Timestamp::now());
    assert_eq!(item["occurred_at_source"].as_s().unwrap(), "received");
}

#[tokio::test]
async fn events_the_table_refuses_are_each_kept_as_invalid_items_and_answered_200() {
    let app = app(Provider::Sendpulse);
    *app.table.refuse_events.lock().unwrap() = true;
    let body = sendpulse_batch(3);
    let (status, json) = answer(app.handle(Req::post(body.as_str()).build()).await);
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["quarantined"], 3, "{json}");
    assert_eq!(json["stored"], 0, "{json}");
    let items = app.table.items.lock().unwrap();
    assert_eq!(items.len(), 3);
    for item in items.values() {
        assert_eq!(item["event_type"].as_s().unwrap(), "invalid");
        let reason = item["attributes"].as_m().unwrap()["reason"].as_s().unwrap();
        assert!(reason.starts_with("DynamoDB refused the item"), "{reason}");
        // Each keeps its own member, not the whole body.
        let raw = item["raw"].as_s().unwrap();
        assert!(raw.starts_with('{') && body.contains(raw.as_str()), "{raw}");
    }
}

/// Nothing is counted as quarantined unless it is stored: GIVEN a table
/// that refuses one member's event and every item that would quarantine it
/// (whole, in part, as a summary) WHEN the batch is delivered THEN the
/// answer is 503, not 200 with the member counted, and the provider's retry,
/// once the table takes it, stores it.
#[tokio::test]
async fn a_member_the_table_will_not_take_even_as_a_summary_answers_503() {
    let app = app(Provider::Sendpulse);
    let poison =
        r#"{"event":"open","timestamp":1732528800,"task_id":"t","email":"poison@example.com"}"#;
    let others = sendpulse_batch(2);
    let body = format!("[{},{poison}]", &others[1..others.len() - 1]);
    fn poisoned(item: &Item) -> bool {
        let is = |name: &str, value: &str| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .is_some_and(|v| v == value)
        };
        is("email", "poison@example.com") || is("event_type", "invalid")
    }
    *app.table.refuse_item.lock().unwrap() = Some(poisoned);
    let (status, json) = answer(app.handle(Req::post(body.as_str()).build()).await);
    assert_eq!(status, 503, "{json}");
    {
        let items = app.table.items.lock().unwrap();
        assert_eq!(items.len(), 2, "the other members are stored");
        assert!(
            items.values().all(|i| !poisoned(i)),
            "nothing of the poison member"
        );
    }
    // The retry, once the table takes the member.
    *app.table.refuse_item.lock().unwrap() = None;
    let (status, json) = answer(app.handle(Req::post(body.as_str()).build()).await);
    assert_eq!(status, 200, "{json}");
    assert_eq!(
        (&json["stored"], &json["duplicates"], &json["quarantined"]),
        (
            &serde_json::json!(1),
            &serde_json::json!(2),
            &serde_json::json!(0)
        )
    );
}
