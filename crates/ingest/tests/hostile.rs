//! Hostile input through the whole request path (App::handle), in-process
//! against the in-memory table of common/mod.rs, and against the real local
//! DynamoDB where the server's own limits matter. Every case is answered
//! with its status and a one-line JSON reason, nothing panics, nothing is
//! stored that should not be, and nothing that should be kept is lost.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;
use common::{answer, counts, raw_bytes, read, stored_item, table_name, MemoryTable, Req, TOKEN};
use events_table::item::{item_size, Item, GZIP_BASE64, MAX_ITEM_BYTES};
use events_table::store::MAX_EVENTS;
use events_table::{dynamo, DynamoTable};
use ingest::{App, Config, Provider};
use normalize::{normalize, Timestamp};
use std::time::{Duration, Instant};

const OLD_TOKEN: &str = "previous-token-being-rotated-out";

fn app(provider: Provider) -> App<MemoryTable> {
    app_with(provider, &[])
}

fn app_with(provider: Provider, vars: &[(&str, &str)]) -> App<MemoryTable> {
    let tokens = format!("{TOKEN},{OLD_TOKEN}");
    let mut all = vec![("WEBHOOK_TOKENS", tokens.as_str())];
    all.extend_from_slice(vars);
    common::app_with(provider, &all)
}

/// What one request came to: status, the one-line reason (for refusals),
/// the parsed answer, and every item the table holds afterwards.
struct Seen {
    status: u16,
    json: serde_json::Value,
    items: Vec<Item>,
}

impl Seen {
    fn reason(&self) -> &str {
        self.json["error"].as_str().unwrap_or("")
    }

    /// A refusal: the status, and a reason that starts as expected and is
    /// one line.
    fn refused(&self, status: u16, reason: &str) -> &Self {
        assert_eq!(self.status, status, "{}", self.json);
        let got = self.reason();
        assert!(
            got.starts_with(reason),
            "reason {got:?} should start with {reason:?}"
        );
        assert!(!got.contains('\n') && got.len() < 300, "{got:?}");
        self
    }

    fn nothing_stored(&self) {
        assert!(self.items.is_empty(), "stored {} item(s)", self.items.len());
    }

    /// The one `invalid` item holding the body, with the answer's reason.
    fn quarantined(&self) -> &Item {
        assert_eq!(self.items.len(), 1, "one quarantine item expected");
        let item = &self.items[0];
        assert_eq!(item["event_type"].as_s().unwrap(), "invalid");
        let reason = item["attributes"].as_m().unwrap()["reason"].as_s().unwrap();
        assert_eq!(reason, self.reason());
        item
    }
}

async fn send(app: &App<MemoryTable>, request: Req) -> Seen {
    let response = app.handle(request.build()).await;
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "every answer is JSON"
    );
    let (status, json) = answer(response);
    let items = app.table.items.lock().unwrap().values().cloned().collect();
    Seen {
        status,
        json,
        items,
    }
}

fn flashy_body() -> String {
    read("events/bodies/flashy.json")
}

// ---------------------------------------------------------------- tokens

#[tokio::test]
async fn tokens_that_are_missing_empty_wrong_or_almost_right_get_401() {
    let body = flashy_body();
    let almost = [
        String::new(),
        " ".into(),
        "wrong".into(),
        TOKEN[..1].into(),
        TOKEN[..TOKEN.len() - 1].into(),
        format!("{TOKEN}x"),
        format!("{TOKEN}{TOKEN}"),
        TOKEN.to_uppercase(),
        format!("{TOKEN},{OLD_TOKEN}"),
        format!("{TOKEN}\0"),
        OLD_TOKEN[..OLD_TOKEN.len() - 1].into(),
    ];
    let mut requests = vec![Req::post(body.clone()).no_token()];
    for token in &almost {
        // The test request does not percent-encode its query string.
        if token.bytes().all(|b| b.is_ascii_graphic()) {
            requests.push(Req::post(body.clone()).query("token", token));
        }
        if !token.contains('\0') {
            requests.push(
                Req::post(body.clone())
                    .no_token()
                    .header("x-webhook-token", token),
            );
            requests.push(
                Req::post(body.clone())
                    .no_token()
                    .header("authorization", &format!("Bearer {token}")),
            );
        }
    }
    for request in requests {
        let app = app(Provider::Flashy);
        send(&app, request)
            .await
            .refused(401, "missing or wrong webhook token")
            .nothing_stored();
    }
}

#[tokio::test]
async fn a_token_in_the_wrong_place_gets_401() {
    let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
    let body = flashy_body();
    let in_body = format!(r#"[{{"event":"contact_created","token":"{TOKEN}"}}]"#);
    let requests = [
        // Headers nobody reads.
        Req::post(body.clone())
            .no_token()
            .header("x-api-key", TOKEN),
        Req::post(body.clone()).no_token().header("token", TOKEN),
        Req::post(body.clone())
            .no_token()
            .header("cookie", &format!("token={TOKEN}")),
        // Authorization without a scheme, or with another one.
        Req::post(body.clone())
            .no_token()
            .header("authorization", TOKEN),
        Req::post(body.clone())
            .no_token()
            .header("authorization", &format!("Token {TOKEN}")),
        Req::post(body.clone())
            .no_token()
            .header("authorization", &format!("Digest {TOKEN}")),
        // Basic with the token as the user name, or not base64.
        Req::post(body.clone()).no_token().header(
            "authorization",
            &format!("Basic {}", b64(format!("{TOKEN}:"))),
        ),
        Req::post(body.clone())
            .no_token()
            .header("authorization", &format!("Basic {}", b64(TOKEN.into()))),
        Req::post(body.clone())
            .no_token()
            .header("authorization", &format!("Basic {TOKEN}")),
        // Query parameters with other names.
        Req::post(body.clone())
            .no_token()
            .query("access_token", TOKEN),
        Req::post(body.clone()).no_token().query("Token", TOKEN),
        Req::post(body.clone()).no_token().query("key", TOKEN),
        // In the body.
        Req::post(in_body).no_token(),
    ];
    for request in requests {
        let app = app(Provider::Flashy);
        send(&app, request)
            .await
            .refused(401, "missing or wrong webhook token")
            .nothing_stored();
    }
}

#[tokio::test]
async fn both_tokens_work_during_rotation_and_a_wrong_one_beside_a_right_one_does_not_block() {
    for token in [TOKEN, OLD_TOKEN] {
        let app = app(Provider::Flashy);
        let seen = send(&app, Req::post(flashy_body()).query("token", token)).await;
        assert_eq!(seen.status, 200, "{}", seen.json);
    }
    // Rotated out: only the new token is configured.
    let rotated = app_with(Provider::Flashy, &[("WEBHOOK_TOKENS", TOKEN)]);
    send(&rotated, Req::post(flashy_body()).query("token", OLD_TOKEN))
        .await
        .refused(401, "missing or wrong webhook token")
        .nothing_stored();
    // A stale query token does not hide a right header token.
    let app = app(Provider::Flashy);
    let request = Req::post(flashy_body())
        .query("token", "stale")
        .header("x-webhook-token", TOKEN);
    assert_eq!(send(&app, request).await.status, 200);
}

#[tokio::test]
async fn refused_tokens_are_checked_before_the_body_is_read() {
    // Garbage without a token: 401, not 400, and no quarantine item (an
    // unauthenticated sender cannot write to the table).
    for body in [&b"{not json"[..], b"\xff\xfe", b"", b"[1,2,3]"] {
        let app = app(Provider::Egoi);
        send(&app, Req::post(body).base64().no_token())
            .await
            .refused(401, "missing or wrong webhook token")
            .nothing_stored();
    }
}

// ---------------------------------------------------------------- limits

#[tokio::test]
async fn a_body_over_the_limit_gets_413_before_it_is_parsed() {
    let limit = 1024;
    let vars = [("MAX_BODY_BYTES", "1024")];
    // Over the limit: refused whatever it holds, token or not, before the
    // JSON is looked at (invalid JSON would otherwise be a 400).
    for request in [
        Req::post(vec![b'{'; limit + 1]),
        Req::post(vec![b'{'; limit + 1]).no_token(),
        Req::post(vec![0xff; limit + 1]).base64(),
        Req::post(format!("[{}]", "{},".repeat(2000))),
    ] {
        let app = app_with(Provider::Flashy, &vars);
        send(&app, request)
            .await
            .refused(413, "body is ")
            .nothing_stored();
    }
    // Exactly at the limit: read as usual.
    let app = app_with(Provider::Flashy, &vars);
    let event = r#"{"event":"contact_created","contact_id":"c1","pad":""#;
    let body = format!("[{event}{}\"}}]", "x".repeat(limit - event.len() - 4));
    assert_eq!(body.len(), limit);
    let seen = send(&app, Req::post(body)).await;
    assert_eq!((seen.status, counts(&seen.json)), (200, (1, 1, 0)));
}

#[tokio::test]
async fn wrong_methods_get_405_and_reachability_checks_store_nothing() {
    for method in ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"] {
        let app = app(Provider::Supersend);
        send(
            &app,
            Req::post(read("events/bodies/supersend.json")).method(method),
        )
        .await
        .refused(405, &format!("method {method} is not allowed"))
        .nothing_stored();
    }
    for provider in Provider::ALL {
        for method in ["GET", "HEAD"] {
            let app = app(provider);
            let request = Req::post("{}").method(method).no_token().build();
            let response = app.handle(request).await;
            assert_eq!(response.status(), 200, "{provider} {method}");
            assert_eq!(response.headers()["content-type"], "application/json");
            // Exactly this, and nothing else (API Gateway drops it for HEAD).
            let body = std::str::from_utf8(response.body().as_ref()).unwrap();
            let expected = format!(r#"{{"status":"ok","provider":"{provider}"}}"#);
            assert_eq!(body, expected, "{provider} {method}");
            assert!(app.table.items.lock().unwrap().is_empty());
        }
    }
}

// ------------------------------------------------------------ bad bodies

#[tokio::test]
async fn json_nested_thousands_deep_gets_400_and_is_kept() {
    let deep_array = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(5000), "}".repeat(5000));
    let deep_field = format!(
        r#"[{{"event":"page_view","utm":{}1{}}}]"#,
        r#"{"a":"#.repeat(5000),
        "}".repeat(5000)
    );
    let unclosed = "[".repeat(100_000);
    for provider in Provider::ALL {
        for body in [&deep_array, &deep_object, &deep_field, &unclosed] {
            let app = app(provider);
            let seen = send(&app, Req::post(body.as_str())).await;
            if seen.status == 400 {
                let item = seen.quarantined();
                assert_eq!(raw_bytes(item), body.as_bytes(), "{provider}");
                // The depth limit names the cause.
                assert!(
                    seen.reason().contains("nested deeper than 128 levels")
                        || seen.reason().contains("EOF")
                        || seen.reason().starts_with("body is not a"),
                    "{provider}: {}",
                    seen.reason()
                );
            } else {
                // A valid array whose one member is not an event: that
                // member is kept on its own.
                assert_eq!(seen.status, 200, "{provider}: {}", seen.json);
                assert_eq!(seen.json["quarantined"], 1, "{provider}: {}", seen.json);
                let item = &seen.items[0];
                assert_eq!(item["event_type"].as_s().unwrap(), "invalid");
                assert_eq!(
                    raw_bytes(item),
                    &body.as_bytes()[1..body.len() - 1],
                    "{provider}"
                );
            }
        }
    }
}

/// An object body nested `levels` deep, the body itself counted: its event
/// object holds a field `levels - 1` objects deep.
fn nested_object_body(provider: Provider, levels: usize) -> String {
    let inner = format!(
        "{}\"leaf\"{}",
        r#"{"a":"#.repeat(levels - 1),
        "}".repeat(levels - 1)
    );
    match provider {
        Provider::Enkod => {
            format!(r#"{{"event":"message open","to":"a@example.com","x":{inner}}}"#)
        }
        Provider::Supersend => format!(r#"{{"type":"open","contact":{{"id":"c1"}},"x":{inner}}}"#),
        other => unreachable!("{other} takes no object body"),
    }
}

/// Depth is counted from the body's top: an object body 128 levels deep is
/// stored, one level more is refused with 400 and kept whole, never
/// answered another way.
#[tokio::test]
async fn object_bodies_128_levels_deep_are_stored_and_129_refused_and_kept() {
    for provider in [Provider::Enkod, Provider::Supersend] {
        let body = nested_object_body(provider, 128);
        let seen = send(&app(provider), Req::post(body.as_str())).await;
        assert_eq!(
            (seen.status, counts(&seen.json)),
            (200, (1, 1, 0)),
            "{provider}: 128 levels: {}",
            seen.json
        );
        assert_eq!(seen.json["quarantined"], 0, "{provider}");
        assert_eq!(raw_bytes(&seen.items[0]), body.as_bytes(), "{provider}");

        let body = nested_object_body(provider, 129);
        let seen = send(&app(provider), Req::post(body.as_str())).await;
        seen.refused(400, "body cannot be read: nested deeper than 128 levels");
        assert_eq!(raw_bytes(seen.quarantined()), body.as_bytes(), "{provider}");
    }
}

#[tokio::test]
async fn moderately_nested_attributes_are_stored_within_dynamodb_depth() {
    // 100 levels parse (serde_json allows 128); the stored attribute keeps
    // 8 levels as maps and the rest as JSON text, far inside DynamoDB's 32.
    let body = format!(
        r#"[{{"event":"page_view","contact_id":"c","utm":{}"leaf"{}}}]"#,
        r#"{"a":"#.repeat(100),
        "}".repeat(100)
    );
    let app = app(Provider::Flashy);
    let seen = send(&app, Req::post(body.as_str())).await;
    assert_eq!((seen.status, counts(&seen.json)), (200, (1, 1, 0)));
    fn depth(v: &AttributeValue) -> usize {
        match v {
            AttributeValue::M(m) => 1 + m.values().map(depth).max().unwrap_or(0),
            AttributeValue::L(l) => 1 + l.iter().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
    let item = &seen.items[0];
    let deepest = item.values().map(depth).max().unwrap();
    assert!(deepest <= 32, "{deepest} levels");
    assert_eq!(raw_bytes(item), &body.as_bytes()[1..body.len() - 1]);
}

#[tokio::test]
async fn invalid_utf8_scalars_empty_and_non_json_bodies_get_400_and_are_kept() {
    let cases: [(&[u8], &str); 15] = [
        (
            b"\xff\xfe{}",
            "body is not valid UTF-8 (first bad byte at offset 0)",
        ),
        (
            b"[{\"event\":\"open\",\"email\":\"a\xc3(@b.example\"}]",
            "body is not valid UTF-8 (first bad byte at offset 27)",
        ),
        (b"\xed\xa0\x80", "body is not valid UTF-8"), // a lone surrogate
        (
            b"42",
            "body is not a flashy webhook: expected a JSON object or array, got a number",
        ),
        (b"-1e999", "body is not valid JSON"),
        (
            b"\"text\"",
            "body is not a flashy webhook: expected a JSON object or array, got a string",
        ),
        (
            b"null",
            "body is not a flashy webhook: expected a JSON object or array, got null",
        ),
        (
            b"true",
            "body is not a flashy webhook: expected a JSON object or array, got a boolean",
        ),
        (b"", "body is empty"),
        (b" \r\n\t ", "body is empty"),
        (b"{\"event\":\"x\"} trailing", "body is not valid JSON"),
        (b"[{\"event\":\"x\"},]", "body is not valid JSON"),
        (b"event=open&email=a%40b.example", "body is not valid JSON"),
        (b"<xml><event>open</event></xml>", "body is not valid JSON"),
        (b"\x00\x00\x00", "body is not valid JSON"),
    ];
    for (body, reason) in cases {
        let app = app(Provider::Flashy);
        let seen = send(&app, Req::post(body).base64()).await;
        seen.refused(400, reason);
        let item = seen.quarantined();
        assert_eq!(raw_bytes(item), body, "{reason}");
    }
}

#[tokio::test]
async fn duplicate_keys_are_refused_naming_the_key_and_the_body_kept() {
    let body = r#"{"event":"message open","email":"a@b.example","event":"spam"}"#;
    let app = app(Provider::Enkod);
    let seen = send(&app, Req::post(body)).await;
    seen.refused(
        400,
        r#"body cannot be read: duplicate key "event" at line 1"#,
    );
    assert_eq!(raw_bytes(seen.quarantined()), body.as_bytes());
}

#[tokio::test]
async fn numbers_out_of_range_are_refused_or_kept_as_text_never_mangled_into_dynamodb() {
    // Beyond f64: a member serde_json cannot read is kept on its own.
    for body in [
        r#"[{"event":"purchase","value":1e400}]"#,
        r#"[{"event":"purchase","value":-1e400}]"#,
    ] {
        let app = app(Provider::Flashy);
        let seen = send(&app, Req::post(body)).await;
        assert_eq!(seen.status, 200, "{}", seen.json);
        assert_eq!(seen.json["quarantined"], 1);
        let item = &seen.items[0];
        let reason = item["attributes"].as_m().unwrap()["reason"].as_s().unwrap();
        assert!(
            reason.starts_with("body[0] cannot be read: number out of range"),
            "{reason}"
        );
        assert_eq!(raw_bytes(item), &body.as_bytes()[1..body.len() - 1]);
    }
    // Readable, but beyond what DynamoDB can store as N: kept as text; ids
    // beyond u64 become their decimal text. Stored, with raw as sent.
    let body = r#"[{"event":"contact_updated","contact_id":123456789012345678901234567890,"old":{"score":1e200,"tiny":1e-200,"big":18446744073709551616},"new":{"score":-0.0}}]"#;
    let app = app(Provider::Flashy);
    let seen = send(&app, Req::post(body)).await;
    assert_eq!((seen.status, counts(&seen.json)), (200, (1, 1, 0)));
    let item = &seen.items[0];
    assert_eq!(raw_bytes(item), &body.as_bytes()[1..body.len() - 1]);
    fn numbers_storable(v: &AttributeValue) -> bool {
        match v {
            AttributeValue::N(n) => {
                let f: f64 = n.parse().unwrap();
                f == 0.0 || (1e-130..=9.9e125).contains(&f.abs())
            }
            AttributeValue::M(m) => m.values().all(numbers_storable),
            AttributeValue::L(l) => l.iter().all(numbers_storable),
            _ => true,
        }
    }
    assert!(item.values().all(numbers_storable), "{item:?}");
    let old = item["attributes"].as_m().unwrap()["old"].as_m().unwrap();
    assert_eq!(old["score"].as_s().unwrap(), "1e+200");
    assert_eq!(old["tiny"].as_s().unwrap(), "1e-200");
}

#[tokio::test]
async fn odd_content_types_and_base64_bodies_are_read_as_json() {
    let body = read("events/bodies/sendpulse.json");
    let expected = normalize(Provider::Sendpulse, body.as_bytes(), Timestamp::now())
        .unwrap()
        .len() as u64;
    let types = [
        "application/json",
        "application/json; charset=iso-8859-1",
        "text/plain",
        "text/html",
        "application/xml",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/octet-stream",
        "image/png",
        "",
        "application/json\tx",
    ];
    for content_type in types {
        for base64 in [false, true] {
            let app = app(Provider::Sendpulse);
            let mut request = Req::post(body.clone());
            request.headers.retain(|(k, _)| *k != "content-type");
            if !content_type.is_empty() {
                request = request.header("content-type", content_type);
            }
            if base64 {
                request = request.base64();
            }
            let seen = send(&app, request).await;
            assert_eq!(
                (seen.status, counts(&seen.json)),
                (200, (expected, expected, 0)),
                "{content_type:?} base64={base64}"
            );
        }
    }
    // A body that is base64 text itself (double-encoded) is not JSON: 400, kept.
    let app = app(Provider::Sendpulse);
    let encoded = base64::engine::general_purpose::STANDARD.encode(&body);
    let seen = send(&app, Req::post(encoded.clone())).await;
    seen.refused(400, "body is not valid JSON");
    assert_eq!(raw_bytes(seen.quarantined()), encoded.as_bytes());
}

// -------------------------------------------------------- many and large

fn sendpulse_events(n: usize, tag: &str) -> String {
    let mut body = String::with_capacity(n * 90 + 2);
    body.push('[');
    for i in 0..n {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!(
            r#"{{"event":"open","timestamp":{},"task_id":"{tag}","email":"r{i}@example.com"}}"#,
            1_732_528_800 + i
        ));
    }
    body.push(']');
    body
}

fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

#[tokio::test]
async fn a_hundred_thousand_events_are_refused_with_413_and_the_body_kept() {
    // Compact events, so the body is within the 4 MiB body limit.
    let events: Vec<String> = (0..100_000)
        .map(|i| format!(r#"{{"event":"open","n":{i}}}"#))
        .collect();
    let body = format!("[{}]", events.join(","));
    assert!(body.len() < 4 * 1024 * 1024, "{} bytes", body.len());
    let app = app(Provider::Sendpulse);
    let started = Instant::now();
    let seen = send(&app, Req::post(body.as_str())).await;
    let took = started.elapsed();
    seen.refused(
        413,
        &format!("body carries 100000 events, over the limit of {MAX_EVENTS} per request"),
    );
    // Kept, compressed, in one quarantine item: nothing lost, nothing of it
    // stored as events.
    let item = seen.quarantined();
    assert!(item_size(item) <= MAX_ITEM_BYTES);
    assert_eq!(raw_bytes(item), body.as_bytes());
    let calls = app.table.calls.lock().unwrap().len();
    eprintln!(
        "100,000 events ({} bytes): {took:?}, {calls} table calls, peak RSS {} MiB",
        body.len(),
        peak_rss_mib()
    );
    assert!(calls <= 2, "{calls} calls");
    // Debug build on a shared 2-core machine: seconds, not minutes.
    assert!(took < Duration::from_secs(30), "{took:?}");
    assert!(peak_rss_mib() < 2048, "{} MiB", peak_rss_mib());
}

#[tokio::test]
async fn events_up_to_the_cap_are_all_stored_in_batches() {
    let body = sendpulse_events(MAX_EVENTS, "cap");
    let app = app(Provider::Sendpulse);
    let started = Instant::now();
    let seen = send(&app, Req::post(body.as_str())).await;
    let n = MAX_EVENTS as u64;
    assert_eq!((seen.status, counts(&seen.json)), (200, (n, n, 0)));
    assert_eq!(seen.items.len(), MAX_EVENTS);
    let calls = app.table.calls.lock().unwrap().clone();
    let gets = calls.iter().filter(|c| **c == "BatchGetItem").count();
    let writes = calls.iter().filter(|c| **c == "BatchWriteItem").count();
    assert_eq!((gets, writes), (MAX_EVENTS / 100, MAX_EVENTS / 25));
    eprintln!("{MAX_EVENTS} events: {:?}", started.elapsed());
    // One more is refused.
    let app = app_with(Provider::Sendpulse, &[]);
    send(&app, Req::post(sendpulse_events(MAX_EVENTS + 1, "over")))
        .await
        .refused(413, "body carries 5001 events");
}

/// A click with a URL of `n` bytes, compressible or not.
fn huge_click(n: usize, compressible: bool) -> String {
    let path: String = if compressible {
        "utm_source=newsletter&".repeat(n / 22 + 1)[..n].to_owned()
    } else {
        (0..n).map(|_| fastrand::alphanumeric()).collect()
    };
    format!(
        r#"[{{"event":"redirect","timestamp":1732528800,"email":"a@b.example","link_url":"https://example.com/?{path}"}}]"#
    )
}

#[tokio::test]
async fn huge_strings_are_stored_intact_with_raw_compressed() {
    // Near and over the item limit: the URL is in attributes and in raw, so
    // the item is about twice its length; compressing raw makes it fit.
    for n in [150_000, 199_000, 250_000, 380_000] {
        let body = huge_click(n, true);
        let app = app(Provider::Sendpulse);
        let seen = send(&app, Req::post(body.as_str())).await;
        assert_eq!(
            (seen.status, counts(&seen.json)),
            (200, (1, 1, 0)),
            "{n}: {}",
            seen.json
        );
        let item = &seen.items[0];
        assert!(item_size(item) <= MAX_ITEM_BYTES);
        assert_eq!(raw_bytes(item), &body.as_bytes()[1..body.len() - 1], "{n}");
        let url = item["attributes"].as_m().unwrap()["url"].as_s().unwrap();
        assert_eq!(url.len(), n + "https://example.com/?".len(), "{n}");
        // Compressing raw saves write units even where the item would fit
        // without it (`fit`), so every one of these is stored compressed.
        let encoding = item["attributes"].as_m().unwrap().get("raw_encoding");
        assert_eq!(
            encoding.and_then(|e| e.as_s().ok()).map(String::as_str),
            Some(GZIP_BASE64),
            "{n}"
        );
    }
}

#[tokio::test]
async fn events_too_large_for_an_item_are_kept_whole_or_in_part_beside_the_others() {
    // 260 KB of noise twice (URL attribute + raw): over the limit even with
    // raw compressed. The member alone fits a quarantine item: kept whole.
    let click = huge_click(260_000, false);
    let member = &click[1..click.len() - 1];
    let body = format!(
        "[{},{member}]",
        sendpulse_events(2, "small")[1..].trim_end_matches(']')
    );
    let app = app(Provider::Sendpulse);
    let seen = send(&app, Req::post(body.as_str())).await;
    assert_eq!(seen.status, 200, "{}", seen.json);
    assert_eq!(counts(&seen.json), (3, 2, 0));
    assert_eq!(seen.json["quarantined"], 1);
    let kept: Vec<&Item> = seen
        .items
        .iter()
        .filter(|i| i["event_type"].as_s().unwrap() == "invalid")
        .collect();
    assert_eq!(kept.len(), 1);
    let reason = kept[0]["attributes"].as_m().unwrap()["reason"]
        .as_s()
        .unwrap();
    assert!(reason.starts_with("event is "), "{reason}");
    assert!(reason.contains("even with raw compressed"), "{reason}");
    assert_eq!(raw_bytes(kept[0]), member.as_bytes());

    // 600 KB of noise: not even the member fits. Its first 256 KiB are
    // kept, with its size and SHA-256, marked truncated.
    let body = huge_click(600_000, false);
    let member = &body.as_bytes()[1..body.len() - 1];
    let other = app_with(Provider::Sendpulse, &[]);
    let seen = send(&other, Req::post(body.as_str())).await;
    assert_eq!(seen.status, 200, "{}", seen.json);
    assert_eq!(seen.json["quarantined"], 1);
    let item = &seen.items[0];
    let attributes = item["attributes"].as_m().unwrap();
    assert_eq!(attributes["truncated"], AttributeValue::Bool(true));
    assert_eq!(
        attributes["original_bytes"],
        AttributeValue::N(member.len().to_string())
    );
    use sha2::Digest as _;
    let digest: String = sha2::Sha256::digest(member)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(attributes["sha256"].as_s().unwrap(), &digest);
    assert_eq!(raw_bytes(item), &member[..256 * 1024]);
    assert!(item_size(item) <= MAX_ITEM_BYTES);
}

#[tokio::test]
async fn bad_bodies_too_large_for_an_item_are_kept_compressed() {
    // 1 MB of invalid JSON: 400, kept in one compressed item.
    let body = format!("{{{}", "\"key\": 1, ".repeat(100_000));
    let app = app(Provider::Egoi);
    let seen = send(&app, Req::post(body.as_str())).await;
    seen.refused(400, "body is not valid JSON");
    assert_eq!(raw_bytes(seen.quarantined()), body.as_bytes());
}

// ------------------------------------------------- the real local server

/// The SendPulse function over the local DynamoDB of `make test`, and a
/// client to read the table with.
async fn local_sendpulse() -> (App<DynamoTable>, aws_sdk_dynamodb::Client) {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok(),
        "run through `make test`"
    );
    let config = Config::from_lookup(
        |k| match k {
            "WEBHOOK_TOKENS" => Some(TOKEN.into()),
            "TABLE_NAME" => Some(table_name()),
            _ => None,
        },
        None,
    )
    .unwrap();
    let client = dynamo::client().await;
    let app = App::new(
        Provider::Sendpulse,
        config,
        DynamoTable::new(client.clone(), table_name()),
    );
    (app, client)
}

#[tokio::test]
#[ignore = "needs the local DynamoDB of `make test`"]
async fn items_near_the_size_limit_are_accepted_by_the_server_and_read_back_intact() {
    let (app, client) = local_sendpulse().await;
    // Plain items just under the limit (URL ≈ raw ≈ 199.5 KB), compressed
    // ones, and an incompressible one too large as an event, kept whole as
    // an `invalid` item instead.
    let nonce = format!("{:08x}", fastrand::u32(..));
    let cases = [
        (199_300, true, true),
        (300_000, true, true),
        (190_000, false, true),
        (260_000, false, false),
    ];
    for (n, compressible, as_event) in cases {
        let body =
            huge_click(n, compressible).replace("a@b.example", &format!("{nonce}@b.example"));
        let (got, json) = answer(app.handle(Req::post(body.as_str()).build()).await);
        assert_eq!(got, 200, "{n}: {json}");
        assert_eq!(json["quarantined"], u64::from(!as_event), "{n}: {json}");
        let member = &body.as_bytes()[1..body.len() - 1];
        let id = if as_event {
            normalize(Provider::Sendpulse, body.as_bytes(), Timestamp::now())
                .unwrap()
                .remove(0)
                .event_id
        } else {
            // Too large as an event even compressed: the member is kept.
            normalize::quarantine(Provider::Sendpulse, member, "", Timestamp::now()).event_id
        };
        let item = stored_item(&client, &table_name(), &id)
            .await
            .expect("stored");
        assert!(item_size(&item) <= MAX_ITEM_BYTES, "{n}");
        assert_eq!(raw_bytes(&item), member, "{n}");
    }
}

#[tokio::test]
#[ignore = "needs the local DynamoDB of `make test`"]
async fn a_batch_with_a_bad_member_of_each_kind_is_stored_member_by_member_on_the_server() {
    let (app, client) = local_sendpulse().await;
    let nonce = format!("{:08x}", fastrand::u32(..));
    let good: Vec<String> = (0..3)
        .map(|i| {
            format!(
                r#"{{"event":"open","timestamp":1732528800,"email":"g{i}-{nonce}@example.com"}}"#
            )
        })
        .collect();
    let not_an_object = format!(r#"["{nonce}"]"#);
    let noise: String = (0..450_000).map(|_| fastrand::alphanumeric()).collect();
    let too_large =
        format!(r#"{{"event":"open","email":"big-{nonce}@example.com","note":"{noise}"}}"#);
    let long_address = format!("{}-{nonce}@example.com", "a".repeat(3_000));
    let long = format!(r#"{{"event":"open","timestamp":1732528800,"email":"{long_address}"}}"#);
    let members = [
        &good[0],
        &not_an_object,
        &good[1],
        &too_large,
        &long,
        &good[2],
    ];
    let body = format!(
        "[{}]",
        members
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(",")
    );

    let (status, json) = answer(app.handle(Req::post(body.as_str()).build()).await);
    assert_eq!(status, 200, "{json}");
    assert_eq!(counts(&json), (6, 4, 0), "{json}");
    assert_eq!(json["quarantined"], 2, "{json}");

    let get = |id: String| {
        let client = client.clone();
        async move {
            stored_item(&client, &table_name(), &id)
                .await
                .expect("on the server")
        }
    };
    let now = Timestamp::now();
    for member in [&good[0], &good[1], &good[2], &long] {
        let event = normalize(Provider::Sendpulse, format!("[{member}]").as_bytes(), now)
            .unwrap()
            .remove(0);
        let item = get(event.event_id).await;
        assert_eq!(item["event_type"].as_s().unwrap(), "email.opened");
        assert_eq!(raw_bytes(&item), member.as_bytes());
        assert!(item["contact_key"].as_s().unwrap().len() <= 2048);
    }
    let kept =
        get(normalize::quarantine(Provider::Sendpulse, not_an_object.as_bytes(), "", now).event_id)
            .await;
    assert_eq!(raw_bytes(&kept), not_an_object.as_bytes());
    let part =
        get(normalize::quarantine(Provider::Sendpulse, too_large.as_bytes(), "", now).event_id)
            .await;
    let attributes = part["attributes"].as_m().unwrap();
    assert_eq!(attributes["truncated"], AttributeValue::Bool(true));
    assert_eq!(raw_bytes(&part), &too_large.as_bytes()[..256 * 1024]);

    // A redelivery leaves the table as it was.
    let (status, json) = answer(app.handle(Req::post(body.as_str()).build()).await);
    assert_eq!(status, 200, "{json}");
    assert_eq!(counts(&json), (6, 0, 4), "{json}");
    assert_eq!(json["quarantined"], 2, "{json}");
}
