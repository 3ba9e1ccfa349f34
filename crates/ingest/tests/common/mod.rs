//! Helpers shared by the ingest tests: API Gateway requests, the local
//! DynamoDB, and an in-memory table that behaves like DynamoDB's limits.
#![allow(dead_code)]

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;
use events_table::item::{Item, GZIP_BASE64};
use events_table::store::{Lookup, StoreError, Table, MAX_GET_KEYS, MAX_WRITE_ITEMS};
use ingest::{success_body_var, App, Config, Provider};
use lambda_http::{Body, Request};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::io::Read as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

pub const TOKEN: &str = "test-token";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn read(path: &str) -> String {
    let path = repo_root().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An API Gateway HTTP API (v2) request, as Lambda receives it.
pub struct Req {
    pub method: &'static str,
    pub query: Vec<(&'static str, String)>,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    pub base64: bool,
}

impl Req {
    pub fn post(body: impl Into<Vec<u8>>) -> Self {
        Req {
            method: "POST",
            query: vec![("token", TOKEN.to_owned())],
            headers: vec![("content-type", "application/json".to_owned())],
            body: body.into(),
            base64: false,
        }
    }

    pub fn method(mut self, method: &'static str) -> Self {
        self.method = method;
        self
    }

    pub fn no_token(mut self) -> Self {
        self.query.retain(|(k, _)| *k != "token");
        self
    }

    pub fn query(mut self, key: &'static str, value: &str) -> Self {
        self.query.retain(|(k, _)| *k != key);
        self.query.push((key, value.to_owned()));
        self
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.retain(|(k, _)| *k != name);
        self.headers.push((name, value.to_owned()));
        self
    }

    pub fn base64(mut self) -> Self {
        self.base64 = true;
        self
    }

    pub fn build(&self) -> Request {
        let body = if self.base64 {
            base64::engine::general_purpose::STANDARD.encode(&self.body)
        } else {
            String::from_utf8(self.body.clone()).expect("non-UTF-8 bodies must be sent base64")
        };
        let raw_query: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let event = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": "/webhooks/test",
            "rawQueryString": raw_query.join("&"),
            "queryStringParameters": self.query.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "headers": self.headers.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "requestContext": {
                "accountId": "123456789012", "apiId": "test", "domainName": "test.example", "domainPrefix": "test",
                "http": {"method": self.method, "path": "/webhooks/test", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.1", "userAgent": "test"},
                "requestId": "test-request", "routeKey": "$default", "stage": "$default",
                "time": "01/Jan/2024:00:00:00 +0000", "timeEpoch": 1704067200000u64
            },
            "body": body,
            "isBase64Encoded": self.base64,
        });
        lambda_http::request::from_str(&event.to_string()).expect("valid API Gateway event")
    }
}

/// Status and parsed JSON body of a response.
pub fn answer(response: lambda_http::Response<Body>) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let body: &[u8] = response.body().as_ref();
    let json = serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!(
            "answer is not JSON ({e}): {}",
            String::from_utf8_lossy(body)
        )
    });
    (status, json)
}

pub fn counts(json: &serde_json::Value) -> (u64, u64, u64) {
    let n = |k: &str| {
        json[k]
            .as_u64()
            .unwrap_or_else(|| panic!("no {k} in {json}"))
    };
    (n("received"), n("stored"), n("duplicates"))
}

/// A table in memory that enforces what moto does not (at most 25 puts and
/// no duplicate keys per BatchWriteItem, at most 100 keys per
/// BatchGetItem) and can be told to throttle or leave items unprocessed.
/// A test of one item.
pub type ItemTest = fn(&Item) -> bool;

#[derive(Default)]
pub struct MemoryTable {
    pub items: Mutex<HashMap<String, Item>>,
    pub calls: Mutex<Vec<&'static str>>,
    /// Leave this many puts of the next BatchWriteItem calls unprocessed.
    pub unprocessed_puts: Mutex<Vec<usize>>,
    /// Answer the next n calls with a throttling error.
    pub throttle_next: Mutex<usize>,
    /// Answer every call with this error.
    pub down: Mutex<bool>,
    /// Refuse (as DynamoDB's ValidationException does) every write that
    /// holds an event other than a quarantined body.
    pub refuse_events: Mutex<bool>,
    /// Refuse, as a ValidationException, every write holding an item this
    /// says is invalid (the way DynamoDB refuses a whole batch for one item).
    pub refuse_item: Mutex<Option<ItemTest>>,
    /// Never answer: every call hangs (a frozen server).
    pub stall: Mutex<bool>,
}

impl MemoryTable {
    pub fn len(&self) -> usize {
        self.items.lock().unwrap().len()
    }

    async fn fault(&self, call: &'static str) -> Result<(), StoreError> {
        self.calls.lock().unwrap().push(call);
        if *self.stall.lock().unwrap() {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        if *self.down.lock().unwrap() {
            return Err(StoreError::Unavailable("connection refused".into()));
        }
        let mut throttle = self.throttle_next.lock().unwrap();
        if *throttle > 0 {
            *throttle -= 1;
            return Err(StoreError::Throttled(
                "ProvisionedThroughputExceededException".into(),
            ));
        }
        Ok(())
    }
}

fn id(item: &Item) -> String {
    match item.get("event_id") {
        Some(AttributeValue::S(id)) => id.clone(),
        other => panic!("item without event_id: {other:?}"),
    }
}

impl Table for MemoryTable {
    async fn lookup(&self, ids: Vec<String>) -> Result<Lookup, StoreError> {
        assert!(
            ids.len() <= MAX_GET_KEYS,
            "BatchGetItem with {} keys",
            ids.len()
        );
        assert_eq!(
            ids.iter().collect::<HashSet<_>>().len(),
            ids.len(),
            "duplicate keys in BatchGetItem"
        );
        self.fault("BatchGetItem").await?;
        let items = self.items.lock().unwrap();
        Ok(Lookup {
            found: ids
                .into_iter()
                .filter(|id| items.contains_key(id))
                .collect(),
            unprocessed: Vec::new(),
        })
    }

    async fn put_batch(&self, batch: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        assert!(
            !batch.is_empty() && batch.len() <= MAX_WRITE_ITEMS,
            "BatchWriteItem with {} puts",
            batch.len()
        );
        let ids: HashSet<String> = batch.iter().map(id).collect();
        assert_eq!(
            ids.len(),
            batch.len(),
            "duplicate keys in one BatchWriteItem"
        );
        self.fault("BatchWriteItem").await?;
        let refuse_item = *self.refuse_item.lock().unwrap();
        if let Some(invalid) = refuse_item {
            if batch.iter().any(invalid) {
                return Err(StoreError::Refused(
                    "ValidationException: One or more parameter values were invalid".into(),
                ));
            }
        }
        let quarantined = |item: &Item| {
            item.get("event_type")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                == Some("invalid")
        };
        if *self.refuse_events.lock().unwrap() && !batch.iter().all(quarantined) {
            return Err(StoreError::Refused("ValidationException".into()));
        }
        let skip = {
            let mut plan = self.unprocessed_puts.lock().unwrap();
            if plan.is_empty() {
                0
            } else {
                plan.remove(0)
            }
        };
        let (left, written) = batch.split_at(skip.min(batch.len()));
        let mut items = self.items.lock().unwrap();
        for item in written {
            items.insert(id(item), item.clone());
        }
        Ok(left.to_vec())
    }
}

/// An app over an in-memory table, configured by `vars` as the environment
/// would (later values win), with `WEBHOOK_TOKENS` = [`TOKEN`] unless given.
pub fn app_with(provider: Provider, vars: &[(&str, &str)]) -> App<MemoryTable> {
    let mut all = vec![("WEBHOOK_TOKENS", TOKEN)];
    all.extend_from_slice(vars);
    let config = Config::from_lookup(
        |k| {
            all.iter()
                .rev()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        },
        success_body_var(provider),
    )
    .expect("valid config");
    App::new(provider, config, MemoryTable::default())
}

/// A TCP port nothing listens on.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `cargo lambda watch` serving the five functions, in its own process
/// group, stopped with it.
pub struct Watch {
    child: Child,
    pub port: u16,
}

impl Watch {
    /// `env`: the functions' environment; `extra`: more watch arguments;
    /// its log goes to target/<log>.
    pub fn start(env: &[(&str, String)], extra: &[&str], log: &str) -> Watch {
        let port = free_port();
        let mut command = Command::new("cargo");
        command
            .current_dir(repo_root())
            .args([
                "lambda",
                "watch",
                "-A",
                "127.0.0.1",
                "-P",
                &port.to_string(),
            ])
            .args(extra);
        for (name, value) in env {
            command.args(["--env-var", &format!("{name}={value}")]);
        }
        let log = std::fs::File::create(repo_root().join("target").join(log)).unwrap();
        command.stdout(Stdio::null()).stderr(log);
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .spawn()
            .expect("`cargo lambda watch` (make installs cargo-lambda into .venv)");
        Watch { child, port }
    }

    pub fn url(&self, provider: Provider) -> String {
        format!(
            "http://127.0.0.1:{}/lambda-url/{provider}/webhooks/{provider}",
            self.port
        )
    }

    /// Waits for every function to answer its reachability check (the
    /// first request of each builds it).
    pub async fn ready(&self, http: &reqwest::Client) {
        for provider in Provider::ALL {
            let mut ready = false;
            for _ in 0..3000 {
                if let Ok(r) = http.get(self.url(provider)).send().await {
                    ready = r.status() == 200;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            assert!(ready, "{provider} did not answer its reachability check");
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// The bytes the provider sent, from a stored item's `raw`, whatever its
/// encoding.
pub fn raw_bytes(item: &Item) -> Vec<u8> {
    let raw = item["raw"].as_s().unwrap();
    let encoding = item
        .get("attributes")
        .and_then(|a| a.as_m().ok())
        .and_then(|a| a.get("raw_encoding"))
        .and_then(|e| e.as_s().ok())
        .map(String::as_str);
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.decode(s).unwrap();
    match encoding {
        None => raw.as_bytes().to_vec(),
        Some("base64") => b64(raw),
        Some(GZIP_BASE64) => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&b64(raw)[..])
                .read_to_end(&mut out)
                .unwrap();
            out
        }
        Some(other) => panic!("unknown raw_encoding {other}"),
    }
}
