//! Helpers shared by the ingest tests: API Gateway requests, the local
//! DynamoDB (a dynoxide server of a test's own), and an in-memory table
//! that behaves like DynamoDB's limits.
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

/// A test of one item.
pub type ItemTest = fn(&Item) -> bool;

/// A table in memory that holds DynamoDB's request limits (at most 25 puts
/// and no duplicate keys per BatchWriteItem, at most 100 keys per
/// BatchGetItem), which no local server holds all of, and can be told to
/// throttle, hang, refuse items, or leave items unprocessed.
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

/// Waits until something listens on 127.0.0.1:`port` (up to 30 s).
pub async fn wait_port(port: u16) {
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("nothing listens on 127.0.0.1:{port}");
}

/// A local DynamoDB (dynoxide) of a test's own, on 127.0.0.1, so the test
/// can pause, kill and restart it. In memory, or in a SQLite file: then a
/// restart keeps what the server acknowledged, as DynamoDB does. Its log
/// goes to target/local/dynoxide-<port>.log.
pub struct Dynoxide {
    child: Option<Child>,
    pub port: u16,
    db: Option<PathBuf>,
}

impl Dynoxide {
    pub async fn in_memory() -> Dynoxide {
        Dynoxide::start(None).await
    }

    /// Data in a file <name>-<port>.db, deleted when dropped. The file is in
    /// /dev/shm where there is one: dynoxide syncs every commit to disk, which
    /// on a busy disk takes long enough (here 40 concurrent batch writes took
    /// 4 s, against 0.3 s on tmpfs) to trip the client's timeouts. A killed
    /// process loses nothing it committed either way; only a machine crash
    /// would tell the two apart.
    pub async fn with_file(name: &str) -> Dynoxide {
        let shm = PathBuf::from("/dev/shm");
        let dir = if shm.is_dir() {
            shm
        } else {
            repo_root().join("target/local")
        };
        Dynoxide::start(Some(dir.join(format!("webhooks-{name}")))).await
    }

    async fn start(db: Option<PathBuf>) -> Dynoxide {
        std::fs::create_dir_all(repo_root().join("target/local")).unwrap();
        let port = free_port();
        let mut server = Dynoxide {
            child: None,
            port,
            db: db.map(|prefix| {
                let mut path = prefix.into_os_string();
                path.push(format!("-{port}.db"));
                PathBuf::from(path)
            }),
        };
        server.remove_db();
        server.spawn().await;
        server
    }

    async fn spawn(&mut self) {
        // `make` installs it into .local/bin (and env.sh puts that on PATH).
        let local = repo_root().join(".local/bin/dynoxide");
        let program = if local.exists() {
            local
        } else {
            PathBuf::from("dynoxide")
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(repo_root().join(format!("target/local/dynoxide-{}.log", self.port)))
            .unwrap();
        let mut command = Command::new(program);
        command.args([
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            &self.port.to_string(),
        ]);
        if let Some(db) = &self.db {
            command.arg("--db-path").arg(db);
        }
        let child = command
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("dynoxide (`make tools` installs it into .local/bin)");
        self.child = Some(child);
        wait_port(self.port).await;
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn client(&self) -> aws_sdk_dynamodb::Client {
        events_table::dynamo::client_at(Some(&self.endpoint())).await
    }

    /// Sends `signal` (`-STOP`, `-CONT` ...) to the server.
    pub fn signal(&self, signal: &str) {
        let pid = self
            .child
            .as_ref()
            .expect("server running")
            .id()
            .to_string();
        let ok = Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {signal} {pid}");
    }

    /// Kills the server (SIGKILL: no chance to flush or shut down cleanly).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A new server on the same port and database file.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }

    fn remove_db(&self) {
        if let Some(db) = &self.db {
            // SQLite may keep -wal and -shm files beside the database.
            for suffix in ["", "-wal", "-shm"] {
                let mut path = db.clone().into_os_string();
                path.push(suffix);
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

impl Drop for Dynoxide {
    fn drop(&mut self) {
        self.kill();
        self.remove_db();
    }
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
