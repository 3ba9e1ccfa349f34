//! `make smoke` (infra/smoke.py) against a local stack, so it cannot rot:
//! a DynamoDB of the test's own (dynoxide) with the table, moto's Secrets
//! Manager holding the token, and the five functions under
//! `cargo lambda watch` reading it from there at start, as on AWS. The
//! script must pass, and must fail naming the provider when a token is
//! wrong.

use std::process::{Command, Output};
use std::time::Duration;
use test_support::{repo_root, Dynoxide, Moto, Watch};

const TABLE: &str = "smoke-events";
const TOKEN: &str = "smoke-token";

fn smoke(base_url: &str, token: &str, dynamodb: &str) -> Output {
    Command::new(repo_root().join(".venv/bin/python"))
        .arg(repo_root().join("infra/smoke.py"))
        .args(["--base-url", base_url, "--token", token])
        .args(["--cli", env!("CARGO_BIN_EXE_webhooks")])
        .env("AWS_ENDPOINT_URL_DYNAMODB", dynamodb)
        .env("TABLE_NAME", TABLE)
        .output()
        .expect("python runs infra/smoke.py")
}

#[tokio::test]
#[ignore = "needs dynoxide, moto and cargo-lambda (make tools)"]
async fn smoke_passes_against_a_local_stack_and_names_what_fails() {
    let dynamodb = Dynoxide::in_memory().await;
    let created = Command::new(repo_root().join(".venv/bin/python"))
        .arg(repo_root().join("infra/local/create_table.py"))
        .args([&dynamodb.endpoint(), TABLE])
        .status()
        .unwrap();
    assert!(created.success(), "create_table.py");

    let moto = Moto::start().await;
    let secrets = ingest::secrets_client_at(Some(&moto.endpoint())).await;
    secrets
        .create_secret()
        .name("local/webhook-tokens")
        .secret_string(format!("{TOKEN},older-token"))
        .send()
        .await
        .expect("CreateSecret");

    let env = [
        ("TABLE_NAME", TABLE.to_owned()),
        ("AWS_ENDPOINT_URL_DYNAMODB", dynamodb.endpoint()),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.endpoint()),
        (
            "WEBHOOK_TOKENS_SECRET_ID",
            "local/webhook-tokens".to_owned(),
        ),
        // Not inherited from `make test`'s environment: the functions must
        // read the secret, which is exclusive with WEBHOOK_TOKENS.
        ("WEBHOOK_TOKENS", String::new()),
    ];
    let watch = Watch::start(&env, &[], "smoke-watch.log");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    watch.ready(&http).await;
    let base = format!("http://127.0.0.1:{}/lambda-url", watch.port);

    let passed = smoke(&base, TOKEN, &dynamodb.endpoint());
    let stdout = String::from_utf8_lossy(&passed.stdout);
    let stderr = String::from_utf8_lossy(&passed.stderr);
    assert!(passed.status.success(), "{stdout}\n{stderr}");
    for provider in ["flashy", "egoi", "enkod", "supersend", "sendpulse"] {
        assert!(
            stdout.contains(&format!("{provider}: ")) && stdout.contains("deleted"),
            "{stdout}"
        );
    }
    // What it stored, it deleted: a second run stores everything anew.
    let again = smoke(&base, TOKEN, &dynamodb.endpoint());
    let again_out = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{again_out}");
    assert!(!again_out.contains("\"stored\":0"), "{again_out}");

    let failed = smoke(&base, "wrong-token", &dynamodb.endpoint());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("smoke: FAILED: egoi: POST events/bodies/egoi.json")
            && stderr.contains("answered 401"),
        "{stderr}"
    );
}
