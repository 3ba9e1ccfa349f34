//! End to end, as `make dev` runs it: the functions under
//! `cargo lambda watch`, the view kept from the local DynamoDB's stream by
//! the follower (`webhooks consent follow`), a provider's unsubscribe
//! POSTed over HTTP and asked of the lookup function. Run by `make test`.

use consent_fn::follow::Follower;
use consent_fn::{table_name_from_env, ConsentTable};
use normalize::Provider;
use std::time::{Duration, Instant};
use test_support::watch::Watch;
use test_support::{local_dynamodb_env, table_name};

const TOKEN: &str = "dev-token";

#[tokio::test]
#[ignore = "needs the local DynamoDB and cargo-lambda of `make test`"]
async fn a_webhook_s_opt_out_shows_in_the_lookup_within_5_seconds() {
    let mut vars = vec![("WEBHOOK_TOKENS", TOKEN.to_owned())];
    vars.extend(local_dynamodb_env());
    let watch = Watch::start(&vars, &[], "consent-e2e-watch.log");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    watch.ready_one(&http, Provider::Sendpulse).await;

    let email = format!("e2e-{}@example.com", fastrand::u32(..));
    let lookup = format!(
        "http://127.0.0.1:{}/lambda-url/consent-lookup/?email={email}",
        watch.port
    );
    let verdict = || async {
        let text = http.get(&lookup).send().await.ok()?.text().await.ok()?;
        let answer: serde_json::Value = serde_json::from_str(&text).ok()?;
        answer["channels"]["email"]["verdict"]
            .as_str()
            .map(str::to_owned)
    };
    // The first request builds the lookup function.
    let mut before = None;
    for _ in 0..600 {
        before = verdict().await;
        if before.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(before.as_deref(), Some("unknown"));

    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap();
    let table = ConsentTable::new(events_table::dynamo::client().await, table_name_from_env());
    let mut follower = Follower::new(&endpoint, &table_name());
    follower.pass(&table).await.expect("the stream so far");

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let body = format!(
        r#"[{{"event":"unsubscribe","email":"{email}","timestamp":"{now}","from_all":1,"book_id":490686,"task_id":"1"}}]"#
    );
    let started = Instant::now();
    let posted = http
        .post(format!("{}?token={TOKEN}", watch.url(Provider::Sendpulse)))
        .body(body)
        .send()
        .await
        .expect("POST");
    assert_eq!(posted.status(), 200);
    loop {
        follower.pass(&table).await.expect("the stream");
        if verdict().await.as_deref() == Some("suppressed") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the opt-out did not show within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "opt-out in the lookup {} ms after the POST",
        started.elapsed().as_millis()
    );
}
