//! Secrets stay out of the logs: every kind of request runs the full
//! request path with a JSON subscriber capturing every line, and no line
//! holds a token (right or wrong), any part of a body, or a whole e-mail
//! address. In-process against the in-memory table at TRACE level, and
//! against the local DynamoDB (AWS SDK included) at the level the deployed
//! functions use.

mod common;

use base64::Engine as _;
use common::{MemoryTable, Req};
use events_table::{dynamo, DynamoTable};
use ingest::{App, Config, Provider};
use lambda_http::tracing::subscriber::filter::LevelFilter;
use lambda_http::tracing::subscriber::fmt::MakeWriter;
use std::io::Write;
use std::sync::{Arc, Mutex};

const TOKEN: &str = "tok-3a9f0c71e2d84b56";
const OLD_TOKEN: &str = "tok-old-5d1e88aa09c7";
/// Presented but wrong: it may be another function's secret, so it must not
/// be logged either.
const WRONG_TOKEN: &str = "tok-3a9f0c71e2d84b5";
const MARKER: &str = "body-marker-q8z1";
const EMAILS: [&str; 3] = [
    "Jane.Doe@Example.COM",
    "reader.one@example.org",
    "x.y@z.example",
];

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Capture {
    fn lines(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .expect("log output is UTF-8")
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// Runs `f` with every log line of this thread captured as JSON.
async fn captured<F: std::future::Future<Output = ()>>(
    level: LevelFilter,
    f: impl FnOnce() -> F,
) -> Vec<String> {
    let capture = Capture::default();
    let subscriber = lambda_http::tracing::subscriber::fmt()
        .json()
        .with_max_level(level)
        .with_writer(capture.clone())
        .finish();
    let guard = lambda_http::tracing::subscriber::util::SubscriberInitExt::set_default(subscriber);
    f().await;
    drop(guard);
    capture.lines()
}

fn config(table: &str) -> Config {
    let tokens = format!("{TOKEN},{OLD_TOKEN}");
    Config::from_lookup(
        |k| match k {
            "WEBHOOK_TOKENS" => Some(tokens.clone()),
            "TABLE_NAME" => Some(table.to_owned()),
            "MAX_BODY_BYTES" => Some("1000000".into()),
            _ => None,
        },
        None,
    )
    .unwrap()
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Every kind of request, each carrying the marker, the e-mails or a token.
fn requests() -> Vec<(&'static str, Req)> {
    let [a, b, c] = EMAILS;
    let good = format!(
        r#"[{{"event":"open","timestamp":1732528800,"task_id":"{MARKER}","email":"{a}"}},{{"event":"redirect","timestamp":1732528801,"email":"{b}","link_url":"https://example.com/?{MARKER}&to={c}"}}]"#
    );
    let bad_json = format!(r#"[{{"event":"open","email":"{a}","note":"{MARKER}"#);
    let bad_shape = format!(r#"[1,"{MARKER}","{b}"]"#);
    let not_utf8 = [&b"\xff"[..], good.as_bytes()].concat();
    let many: Vec<String> = (0..5001)
        .map(|i| format!(r#"{{"event":"open","email":"{c}","n":{i},"m":"{MARKER}"}}"#))
        .collect();
    let noise: String = (0..600_000).map(|_| fastrand::alphanumeric()).collect();
    let huge = format!(
        r#"[{{"event":"redirect","email":"{a}","link_url":"https://example.com/{MARKER}/{noise}"}}]"#
    );
    let post = |body: &str| Req::post(body.to_owned()).query("token", TOKEN);
    vec![
        ("stored", post(&good)),
        ("duplicates", post(&good)),
        (
            "bearer",
            Req::post(good.replace("1732528800", "1732528900"))
                .no_token()
                .header("authorization", &format!("Bearer {OLD_TOKEN}")),
        ),
        (
            "basic",
            Req::post(good.replace("1732528800", "1732529000"))
                .no_token()
                .header(
                    "authorization",
                    &format!("Basic {}", b64(&format!("u:{TOKEN}"))),
                ),
        ),
        (
            "x-webhook-token",
            Req::post(good.replace("1732528800", "1732529100"))
                .no_token()
                .header("x-webhook-token", TOKEN),
        ),
        ("bad json", post(&bad_json)),
        ("bad shape", post(&bad_shape)),
        (
            "not utf-8",
            Req::post(not_utf8).query("token", TOKEN).base64(),
        ),
        ("wrong token", post(&good).query("token", WRONG_TOKEN)),
        (
            "token as basic user",
            Req::post(good.clone()).no_token().header(
                "authorization",
                &format!("Basic {}", b64(&format!("{TOKEN}:x"))),
            ),
        ),
        (
            "wrong bearer",
            Req::post(good.clone())
                .no_token()
                .header("authorization", &format!("Bearer {WRONG_TOKEN}")),
        ),
        ("method", post(&good).method("PUT")),
        ("reachability", post("").method("GET")),
        ("too many events", post(&format!("[{}]", many.join(",")))),
        ("too large to keep", post(&huge)),
        ("body over limit", post(&format!("{huge}{huge}"))),
    ]
}

fn assert_clean(lines: &[String]) {
    assert!(!lines.is_empty());
    let forbidden: Vec<String> = [TOKEN, OLD_TOKEN, WRONG_TOKEN, MARKER]
        .into_iter()
        .map(str::to_owned)
        .chain(EMAILS.iter().map(|e| e.to_lowercase()))
        // The Basic credentials as sent, too.
        .chain([b64(&format!("u:{TOKEN}")), b64(&format!("{TOKEN}:x"))])
        .collect();
    for line in lines {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        let lower = line.to_lowercase();
        for secret in &forbidden {
            assert!(
                !lower.contains(&secret.to_lowercase()),
                "log line contains {secret:?}: {line}"
            );
        }
        // No whole address of any kind: nothing like local@domain.tld, at
        // any `@` of the line.
        assert!(
            !holds_an_address(&lower),
            "log line contains an e-mail address: {line}"
        );
    }
}

/// Whether any `@` in `text` is followed by a domain with a dot.
fn holds_an_address(text: &str) -> bool {
    text.match_indices('@').any(|(i, _)| {
        text[i + 1..]
            .split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '-'))
            .next()
            .is_some_and(|domain| domain.contains('.'))
    })
}

/// One line per request, carrying the request id, the provider and the
/// status; plus the line saying a member was quarantined only in part.
fn assert_one_line_per_request(lines: &[String], requests: usize) {
    let parsed: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|l: &serde_json::Value| l["fields"]["status"].is_u64())
        .collect();
    assert_eq!(parsed.len(), requests, "{lines:#?}");
    for line in &parsed {
        assert_eq!(line["fields"]["provider"], "sendpulse", "{line}");
        assert!(line["fields"]["request_id"].is_string(), "{line}");
    }
    let in_part = lines
        .iter()
        .filter(|l| l.contains("member quarantined only in part"))
        .count();
    assert_eq!(in_part, 1, "{lines:#?}");
}

#[tokio::test]
async fn no_log_line_holds_a_token_a_body_or_an_email_address() {
    let app = App::new(
        Provider::Sendpulse,
        config("memory"),
        MemoryTable::default(),
    );
    let requests = requests();
    let count = requests.len() + 1;
    let lines = captured(LevelFilter::TRACE, || async {
        for (_, request) in &requests {
            app.handle(request.build()).await;
        }
        // And a storage outage.
        *app.table.down.lock().unwrap() = true;
        let body = format!(
            r#"[{{"event":"open","email":"{}","n":"{MARKER}"}}]"#,
            EMAILS[0]
        );
        let status = app
            .handle(Req::post(body).query("token", TOKEN).build())
            .await
            .status();
        assert_eq!(status, 503);
    })
    .await;
    assert_clean(&lines);
    assert_one_line_per_request(&lines, count);
    let statuses: Vec<u64> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|l| l["fields"]["status"].as_u64())
        .collect();
    assert_eq!(
        statuses,
        // A bad member (bad shape, too large) is kept and answered 200.
        [200, 200, 200, 200, 200, 400, 200, 400, 401, 401, 401, 405, 200, 413, 200, 413, 503]
    );
}

#[test]
fn the_check_catches_each_kind_of_leak() {
    let leaks = [
        format!(r#"{{"token":"{TOKEN}"}}"#),
        format!(r#"{{"q":"token={WRONG_TOKEN}"}}"#),
        format!(r#"{{"body":"..{MARKER}.."}}"#),
        r#"{"email":"jane.doe@example.com"}"#.to_owned(),
        r#"{"email":"someone@else.example"}"#.to_owned(),
        // An address after a harmless `@`.
        r#"{"reason":"at offset 3 @ nothing","to":"someone@else.example"}"#.to_owned(),
        format!(r#"{{"auth":"Basic {}"}}"#, b64(&format!("u:{TOKEN}"))),
        "not json".to_owned(),
    ];
    for leak in leaks {
        let caught = std::panic::catch_unwind(|| assert_clean(std::slice::from_ref(&leak)));
        assert!(caught.is_err(), "not caught: {leak}");
    }
    assert_clean(&[r#"{"reason":"at offset 3 @ nothing"}"#.to_owned()]);
}

#[tokio::test]
#[ignore = "needs the local DynamoDB of `make test`"]
async fn with_the_aws_sdk_at_every_log_level_no_line_holds_a_secret() {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok(),
        "run through `make test`"
    );
    let table = std::env::var("TABLE_NAME").unwrap_or_else(|_| "webhook-events".into());
    let app = App::new(
        Provider::Sendpulse,
        config(&table),
        DynamoTable::new(dynamo::client().await, &table),
    );
    // infra/template.yaml: ApplicationLogLevel INFO. DEBUG and TRACE are
    // checked too (the SDK logs no bodies even then). But at TRACE the
    // Lambda runtime, which this test does not run, logs the raw invocation
    // event, token and body included (lambda_runtime's api_response.rs):
    // SECURITY.md says never to run TRACE in production.
    for level in [LevelFilter::INFO, LevelFilter::DEBUG, LevelFilter::TRACE] {
        let requests = requests();
        let count = requests.len();
        let lines = captured(level, || async {
            for (_, request) in &requests {
                app.handle(request.build()).await;
            }
        })
        .await;
        assert_clean(&lines);
        assert_one_line_per_request(&lines, count);
    }
}
