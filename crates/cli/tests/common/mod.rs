//! What the consent and forget tests share: two tables of a test's own in
//! the local DynamoDB of `make test` (infra/local/with-dynamodb.sh), the
//! `webhooks` binary run on them as under `make dev`, and the opt-out
//! bodies the providers send. Each test file uses part of it.
#![allow(dead_code)]

use aws_sdk_dynamodb::types::AttributeValue;
use consent_fn::erasure::DEV_KEY;
use normalize::Provider;
use serde_json::Value;
use std::process::{Command, Output};

pub const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
pub const DAY: i64 = 86_400;

pub struct Tables {
    pub events: String,
    pub consent: String,
}

pub async fn client() -> aws_sdk_dynamodb::Client {
    events_table::dynamo::client_at(None).await
}

fn names(name: &str) -> Tables {
    let suffix = format!("{name}-{}-{}", std::process::id(), fastrand::u32(..));
    Tables {
        events: format!("events-{suffix}"),
        consent: format!("consent-{suffix}"),
    }
}

/// An events table keyed by `event_id` with its stream, and a consent table.
pub async fn tables(name: &str) -> Tables {
    let t = names(name);
    let client = client().await;
    test_support::create_events_table(&client, &t.events).await;
    consent_fn::table::create_table(&client, &t.consent)
        .await
        .expect("create the consent table");
    t
}

/// Both tables as the template defines them, indexes included
/// (infra/local/create_table.py reads it).
pub fn template_tables(name: &str) -> Tables {
    let t = names(name);
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .expect("AWS_ENDPOINT_URL_DYNAMODB (infra/local/with-dynamodb.sh sets it)");
    let created = Command::new("python3")
        .arg(test_support::repo_root().join("infra/local/create_table.py"))
        .args([&endpoint, &t.events])
        .env("CONSENT_TABLE_NAME", &t.consent)
        .output()
        .expect("python3 (make puts .venv/bin on PATH)");
    assert!(
        created.status.success(),
        "create_table.py: {}",
        String::from_utf8_lossy(&created.stderr)
    );
    t
}

/// Every item of a table (a consistent Scan, all pages).
pub async fn scan_all(table: &str) -> Vec<std::collections::HashMap<String, AttributeValue>> {
    client()
        .await
        .scan()
        .table_name(table)
        .consistent_read(true)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .expect("Scan")
}

/// Stores what a provider sent, as its function would.
pub async fn deliver(t: &Tables, provider: Provider, body: &str, received: i64) {
    test_support::store_body(&client().await, &t.events, provider, body, received).await;
}

/// `webhooks args` on the test's tables with `make dev`'s hash key, `env`
/// added or overriding.
pub fn webhooks_with(t: &Tables, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_webhooks"))
        .args(args)
        .env("TABLE_NAME", &t.events)
        .env("CONSENT_TABLE_NAME", &t.consent)
        .env("CONSENT_HASH_KEY", DEV_KEY)
        .envs(env.iter().copied())
        .output()
        .expect("the webhooks binary runs")
}

pub fn webhooks(t: &Tables, args: &[&str]) -> Output {
    webhooks_with(t, args, &[])
}

/// Its standard output, once it succeeded.
pub fn ok(t: &Tables, args: &[&str]) -> String {
    ok_with(t, args, &[])
}

pub fn ok_with(t: &Tables, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = webhooks_with(t, args, env);
    assert!(
        out.status.success(),
        "webhooks {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// `webhooks consent <who> --json`.
pub fn lookup(t: &Tables, who: &str) -> Value {
    serde_json::from_str(&ok(t, &["consent", who, "--json"])).expect("JSON")
}

pub fn sendpulse_unsubscribe(email: &str, at: i64) -> String {
    format!(
        r#"[{{"event":"unsubscribe","email":"{email}","timestamp":"{at}","from_all":1,"book_id":490686,"task_id":"1"}}]"#
    )
}

/// An E-goi `action` of contact `uid` (its e-mail `email`) on list 7.
pub fn egoi(action: &str, email: &str, uid: &str, at: i64) -> String {
    format!(
        r#"{{"events":[{{"action":"{action}","action_date":{at},"list_id":"7","contact":{{"base":["{uid}"],"fields":[{{"uid":"{uid}","email":"{email}"}}]}}}}]}}"#
    )
}

pub fn enkod_complaint(email: &str) -> String {
    format!(r#"{{"event":"complaint","email":"{email}","message_id":"m1"}}"#)
}
