//! Tokens read at run time from Secrets Manager: a real implementation of
//! its API (moto's server) started by each test, the function's own client,
//! and requests as API Gateway hands them over.
//!
//! Run with `infra/local/with-dynamodb.sh cargo test -p ingest --test secrets -- --include-ignored`
//! (`make test` does); moto comes from .venv (`make tools`).

mod common;

use aws_sdk_secretsmanager::Client;
use common::*;
use ingest::{secrets_client_at, success_body_var, App, Config, Provider, Tokens};
use std::time::Duration;

// Long enough that the few local calls between two checks of the test fit well
// inside one interval on a busy machine.
const REFRESH: Duration = Duration::from_secs(2);

async fn create(client: &Client, name: &str, value: &str) {
    client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("CreateSecret");
}

async fn put(client: &Client, name: &str, value: &str) {
    client
        .put_secret_value()
        .secret_id(name)
        .secret_string(value)
        .send()
        .await
        .expect("PutSecretValue");
}

/// A function of `provider` configured as on AWS: only the secrets' names
/// in its environment, `TOKENS_REFRESH_SECONDS` short for the test.
async fn app_reading(moto: &Moto, provider: Provider, vars: &[(&str, &str)]) -> App<MemoryTable> {
    let refresh = REFRESH.as_secs_f64().to_string();
    let mut all = vec![("TOKENS_REFRESH_SECONDS", refresh.as_str())];
    all.extend_from_slice(vars);
    let config = Config::from_lookup(
        |k| {
            all.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        },
        success_body_var(provider),
    )
    .expect("valid config");
    assert!(config.tokens.is_empty(), "no token in the configuration");
    let ids = config.secrets.clone().expect("secret names");
    let client = secrets_client_at(Some(&moto.endpoint())).await;
    let tokens = Tokens::from_secrets(client, ids, false).await;
    App::with_tokens(provider, config, tokens, MemoryTable::default())
}

async fn post(app: &App<MemoryTable>, token: &str) -> (u16, serde_json::Value) {
    let body = read("events/bodies/flashy.json");
    answer(
        app.handle(Req::post(body).query("token", token).build())
            .await,
    )
}

#[tokio::test]
#[ignore = "needs moto's server (make tools)"]
async fn a_rotated_token_is_accepted_within_the_refresh_interval_without_a_restart() {
    let moto = Moto::start().await;
    let admin = secrets_client_at(Some(&moto.endpoint())).await;
    create(&admin, "stack/webhook-tokens/flashy", "first-token").await;
    let app = app_reading(
        &moto,
        Provider::Flashy,
        &[("WEBHOOK_TOKENS_SECRET_ID", "stack/webhook-tokens/flashy")],
    )
    .await;
    assert_eq!(post(&app, "first-token").await.0, 200);
    let stored = app.table.len();
    assert_eq!(post(&app, "second-token").await.0, 401);

    // Rotation, step 1: accept both.
    put(
        &admin,
        "stack/webhook-tokens/flashy",
        "second-token,first-token",
    )
    .await;
    tokio::time::sleep(REFRESH).await;
    assert_eq!(post(&app, "second-token").await.0, 200);
    assert_eq!(post(&app, "first-token").await.0, 200);

    // A token that matches none re-reads at most once per interval: just
    // after a read, a value stored meanwhile is not seen yet ...
    assert_eq!(post(&app, "third-token").await.0, 401);
    put(
        &admin,
        "stack/webhook-tokens/flashy",
        "third-token,second-token",
    )
    .await;
    assert_eq!(post(&app, "third-token").await.0, 401);
    // ... and is once the interval has passed.
    tokio::time::sleep(REFRESH).await;
    assert_eq!(post(&app, "third-token").await.0, 200);

    // Rotation, step 2: only the new token. A removed token is refused
    // once the value held is older than five intervals, even though the
    // token still matches what was read.
    put(&admin, "stack/webhook-tokens/flashy", "third-token").await;
    assert_eq!(post(&app, "second-token").await.0, 200);
    tokio::time::sleep(REFRESH * 5).await;
    assert_eq!(post(&app, "second-token").await.0, 401);
    assert_eq!(post(&app, "third-token").await.0, 200);
    assert_eq!(app.table.len(), stored, "the same body, stored once");
}

#[tokio::test]
#[ignore = "needs moto's server (make tools)"]
async fn an_unreadable_secret_answers_503_and_never_accepts_anyone() {
    let moto = Moto::start().await;
    let app = app_reading(
        &moto,
        Provider::Flashy,
        &[("WEBHOOK_TOKENS_SECRET_ID", "stack/webhook-tokens/missing")],
    )
    .await;
    for token in ["", "anything", "first-token"] {
        let (status, json) = post(&app, token).await;
        assert_eq!(status, 503, "{json}");
        assert_eq!(
            json["error"],
            "the webhook tokens cannot be read; retry later"
        );
    }
    assert_eq!(app.table.len(), 0);
    // A reachability check needs no token.
    let get = Req::post(Vec::new()).method("GET").build();
    assert_eq!(answer(app.handle(get).await).0, 200);

    // Once the secret can be read, the function recovers without a restart.
    let admin = secrets_client_at(Some(&moto.endpoint())).await;
    create(&admin, "stack/webhook-tokens/missing", "first-token").await;
    tokio::time::sleep(REFRESH).await;
    assert_eq!(post(&app, "anything").await.0, 401);
    assert_eq!(post(&app, "first-token").await.0, 200);
}

#[tokio::test]
#[ignore = "needs moto's server (make tools)"]
async fn an_unreachable_secrets_manager_answers_503_within_the_timeouts() {
    let closed = free_port();
    let config = Config::from_lookup(
        |k| (k == "WEBHOOK_TOKENS_SECRET_ID").then(|| "stack/webhook-tokens/flashy".into()),
        None,
    )
    .unwrap();
    let client = secrets_client_at(Some(&format!("http://127.0.0.1:{closed}"))).await;
    let started = std::time::Instant::now();
    let tokens = Tokens::from_secrets(client, config.secrets.clone().unwrap(), false).await;
    assert!(started.elapsed() < Duration::from_secs(3));
    let why = tokens.unavailable().expect("a reason to log");
    assert!(why.contains("stack/webhook-tokens/flashy"), "{why}");
    let app = App::with_tokens(Provider::Flashy, config, tokens, MemoryTable::default());
    assert_eq!(post(&app, "anything").await.0, 503);
}

#[tokio::test]
#[ignore = "needs moto's server (make tools)"]
async fn sendpulse_answers_with_the_body_of_its_own_secret() {
    let moto = Moto::start().await;
    let admin = secrets_client_at(Some(&moto.endpoint())).await;
    create(&admin, "stack/webhook-tokens/sendpulse", "sp-token").await;
    create(
        &admin,
        "stack/sendpulse-response-body",
        r#"{"key":"a360-key"}"#,
    )
    .await;
    let vars = [
        ("WEBHOOK_TOKENS_SECRET_ID", "stack/webhook-tokens/sendpulse"),
        ("RESPONSE_BODY_SECRET_ID", "stack/sendpulse-response-body"),
    ];
    let app = app_reading(&moto, Provider::Sendpulse, &vars).await;
    let body = read("events/bodies/sendpulse.json");
    let request = || Req::post(body.clone()).query("token", "sp-token").build();
    let (status, json) = answer(app.handle(request()).await);
    assert_eq!(
        (status, json),
        (200, serde_json::json!({"key": "a360-key"}))
    );

    // An answer body that is not JSON cannot be answered: the function does
    // not take it (503, so SendPulse retries) until it is fixed.
    create(&admin, "stack/broken-body", "key=a360-key").await;
    let broken = [vars[0], ("RESPONSE_BODY_SECRET_ID", "stack/broken-body")];
    let app = app_reading(&moto, Provider::Sendpulse, &broken).await;
    assert_eq!(answer(app.handle(request()).await).0, 503);
}
