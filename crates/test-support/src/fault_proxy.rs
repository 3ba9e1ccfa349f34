//! A fault-injecting HTTP proxy in front of a local DynamoDB: for the calls
//! a test chooses (by operation, by their number among that operation's
//! calls, by an item they carry) it answers as DynamoDB does when it
//! throttles, leaves items or keys unprocessed, or refuses a request as
//! invalid; every other call is forwarded unchanged. So the functions'
//! handling of DynamoDB's answers runs against HTTP and the SDK's own error
//! parsing and retries, and what was stored is read back from the server.
//!
//! HTTP/1.1 with `Content-Length` bodies only, which is what the AWS SDK
//! sends; keep-alive connections are served one request after another.

use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::ops::{Bound, RangeBounds};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy answers instead of DynamoDB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 400 `ProvisionedThroughputExceededException`.
    ProvisionedThroughputExceeded,
    /// HTTP 400 `ThrottlingException`.
    Throttling,
    /// HTTP 400 `ValidationException` with this message.
    Validation(String),
    /// BatchWriteItem: the first half of each table's puts is forwarded and
    /// the rest come back as `UnprocessedItems` (all of them when there is
    /// one). BatchGetItem: nothing is read, every key comes back as
    /// `UnprocessedKeys`.
    Unprocessed,
}

impl Fault {
    pub fn name(&self) -> &'static str {
        match self {
            Fault::ProvisionedThroughputExceeded => "ProvisionedThroughputExceededException",
            Fault::Throttling => "ThrottlingException",
            Fault::Validation(_) => "ValidationException",
            Fault::Unprocessed => "Unprocessed",
        }
    }
}

/// Which calls get a fault: calls of `operation` (`BatchWriteItem`,
/// `BatchGetItem`, ...), numbered from 1 per operation in the order the
/// proxy receives them (retries count), within `calls`, and carrying an
/// item with the given string attribute when [`Rule::carrying`] is set.
#[derive(Debug, Clone)]
pub struct Rule {
    operation: String,
    first: usize,
    last: usize,
    carrying: Option<(String, String)>,
    fault: Fault,
}

impl Rule {
    /// Every call of `operation`.
    pub fn on(operation: &str, fault: Fault) -> Rule {
        Rule {
            operation: operation.to_owned(),
            first: 1,
            last: usize::MAX,
            carrying: None,
            fault,
        }
    }

    /// Only the calls numbered within `calls` (1 is the first call of the
    /// operation).
    pub fn calls(mut self, calls: impl RangeBounds<usize>) -> Rule {
        self.first = match calls.start_bound() {
            Bound::Included(&n) => n,
            Bound::Excluded(&n) => n + 1,
            Bound::Unbounded => 1,
        };
        self.last = match calls.end_bound() {
            Bound::Included(&n) => n,
            Bound::Excluded(&n) => n.saturating_sub(1),
            Bound::Unbounded => usize::MAX,
        };
        self
    }

    /// Only the calls putting an item whose `attribute` is the string
    /// `value`.
    pub fn carrying(mut self, attribute: &str, value: &str) -> Rule {
        self.carrying = Some((attribute.to_owned(), value.to_owned()));
        self
    }

    fn applies(&self, operation: &str, number: usize, request: &Value) -> bool {
        operation == self.operation
            && (self.first..=self.last).contains(&number)
            && self.carrying.as_ref().is_none_or(|(name, value)| {
                puts(request).any(|item| item[name.as_str()]["S"] == value.as_str())
            })
    }
}

/// One call the proxy received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub operation: String,
    /// Its number among the calls of its operation, from 1.
    pub number: usize,
    /// Items it put (BatchWriteItem) or keys it asked for (BatchGetItem).
    pub items: usize,
    /// The fault answered, if any (its [`Fault::name`]).
    pub fault: Option<&'static str>,
}

struct State {
    upstream: String,
    http: reqwest::Client,
    rules: Mutex<Vec<Rule>>,
    calls: Mutex<Vec<Call>>,
    numbers: Mutex<HashMap<String, usize>>,
}

/// The proxy, listening on 127.0.0.1 until dropped.
pub struct FaultProxy {
    pub port: u16,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// A proxy forwarding to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            rules: Mutex::default(),
            calls: Mutex::default(),
            numbers: Mutex::default(),
        });
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&shared)));
            }
        });
        FaultProxy { port, state, task }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The production client (timeouts, retries) pointed at the proxy.
    pub async fn client(&self) -> aws_sdk_dynamodb::Client {
        events_table::dynamo::client_at(Some(&self.endpoint())).await
    }

    /// Adds a rule; the first rule that applies to a call decides its fault.
    pub fn inject(&self, rule: Rule) {
        self.state.rules.lock().unwrap().push(rule);
    }

    /// Removes every rule: from now on every call is forwarded.
    pub fn heal(&self) {
        self.state.rules.lock().unwrap().clear();
    }

    /// The calls received so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state.calls.lock().unwrap().clone()
    }

    /// The calls of `operation` received so far.
    pub fn calls_of(&self, operation: &str) -> Vec<Call> {
        let mut calls = self.calls();
        calls.retain(|c| c.operation == operation);
        calls
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves one connection's requests until the client closes it.
async fn serve(stream: TcpStream, state: Arc<State>) -> std::io::Result<()> {
    let mut stream = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let path = line.split(' ').nth(1).unwrap_or("/").to_owned();
        let mut headers = Vec::new();
        let mut length = 0;
        loop {
            line.clear();
            stream.read_line(&mut line).await?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_owned());
                if name == "content-length" {
                    length = value.parse().unwrap_or(0);
                }
                headers.push((name, value));
            }
        }
        let mut body = vec![0; length];
        stream.read_exact(&mut body).await?;
        let (status, answer) = state.answer(&path, &headers, body).await;
        let reason = if status == 200 { "OK" } else { "Bad Request" };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/x-amz-json-1.0\r\nx-amzn-requestid: fault-proxy\r\ncontent-length: {}\r\n\r\n",
            answer.len()
        );
        let out = stream.get_mut();
        out.write_all(head.as_bytes()).await?;
        out.write_all(&answer).await?;
        out.flush().await?;
    }
}

impl State {
    /// The status and body answered for one request.
    async fn answer(
        &self,
        path: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> (u16, Vec<u8>) {
        let operation = headers
            .iter()
            .find(|(name, _)| name == "x-amz-target")
            .and_then(|(_, target)| target.rsplit('.').next())
            .unwrap_or_default()
            .to_owned();
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let number = {
            let mut numbers = self.numbers.lock().unwrap();
            let n = numbers.entry(operation.clone()).or_default();
            *n += 1;
            *n
        };
        let fault = self
            .rules
            .lock()
            .unwrap()
            .iter()
            .find(|rule| rule.applies(&operation, number, &request))
            .map(|rule| rule.fault.clone());
        let items = match operation.as_str() {
            "BatchWriteItem" => puts(&request).count(),
            "BatchGetItem" => tables(&request)
                .map(|(_, keys)| keys["Keys"].as_array().map_or(0, Vec::len))
                .sum(),
            _ => 0,
        };
        self.calls.lock().unwrap().push(Call {
            operation: operation.clone(),
            number,
            items,
            fault: fault.as_ref().map(Fault::name),
        });
        let error = |kind: &str, message: &str| {
            let body = json!({ "__type": kind, "message": message });
            (400, body.to_string().into_bytes())
        };
        match fault {
            None => self.forward(path, headers, body).await,
            Some(Fault::ProvisionedThroughputExceeded) => error(
                "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
            ),
            Some(Fault::Throttling) => error(
                "com.amazon.coral.availability#ThrottlingException",
                "Rate of requests exceeds the allowed throughput.",
            ),
            Some(Fault::Validation(message)) => {
                error("com.amazon.coral.validate#ValidationException", &message)
            }
            Some(Fault::Unprocessed) if operation == "BatchGetItem" => {
                let responses: Map<String, Value> =
                    tables(&request).map(|(t, _)| (t.clone(), json!([]))).collect();
                let answer = json!({
                    "Responses": responses,
                    "UnprocessedKeys": request["RequestItems"],
                });
                (200, answer.to_string().into_bytes())
            }
            Some(Fault::Unprocessed) => self.write_half(path, headers, request).await,
        }
    }

    async fn forward(
        &self,
        path: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> (u16, Vec<u8>) {
        let mut forwarded = self.http.post(format!("{}{path}", self.upstream));
        for (name, value) in headers {
            if !matches!(name.as_str(), "host" | "content-length" | "connection") {
                forwarded = forwarded.header(name.as_str(), value.as_str());
            }
        }
        match forwarded.body(body).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response
                    .bytes()
                    .await
                    .map(|b| b.to_vec())
                    .unwrap_or_default();
                (status, body)
            }
            // DynamoDB unreachable: what a dead connection looks like to
            // the client is not an HTTP answer; a 500 is the nearest.
            Err(e) => (
                500,
                json!({"__type": "InternalServerError", "message": e.to_string()})
                    .to_string()
                    .into_bytes(),
            ),
        }
    }

    /// BatchWriteItem with [`Fault::Unprocessed`]: forwards the first half
    /// of each table's puts; the rest come back unprocessed.
    async fn write_half(
        &self,
        path: &str,
        headers: &[(String, String)],
        mut request: Value,
    ) -> (u16, Vec<u8>) {
        let mut unprocessed = Map::new();
        if let Some(tables) = request["RequestItems"].as_object_mut() {
            for (table, writes) in tables.iter_mut() {
                if let Some(writes) = writes.as_array_mut() {
                    let rest = writes.split_off(writes.len() / 2);
                    unprocessed.insert(table.clone(), Value::Array(rest));
                }
            }
            tables.retain(|_, writes| writes.as_array().is_some_and(|w| !w.is_empty()));
        }
        let forwarded = request["RequestItems"]
            .as_object()
            .is_some_and(|t| !t.is_empty());
        let mut answer = if forwarded {
            let (status, body) = self
                .forward(path, headers, request.to_string().into_bytes())
                .await;
            if status != 200 {
                return (status, body);
            }
            serde_json::from_slice(&body).unwrap_or_else(|_| json!({}))
        } else {
            json!({})
        };
        let mut left = answer["UnprocessedItems"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for (table, rest) in unprocessed {
            let Value::Array(rest) = rest else { continue };
            if rest.is_empty() {
                continue;
            }
            let entry = left.entry(table).or_insert_with(|| json!([]));
            if let Some(entry) = entry.as_array_mut() {
                entry.extend(rest);
            }
        }
        answer["UnprocessedItems"] = Value::Object(left);
        (200, answer.to_string().into_bytes())
    }
}

/// The tables of a batch request, with what is asked of each.
fn tables(request: &Value) -> impl Iterator<Item = (&String, &Value)> {
    request["RequestItems"].as_object().into_iter().flatten()
}

/// The items a BatchWriteItem request puts.
fn puts(request: &Value) -> impl Iterator<Item = &Value> {
    tables(request)
        .filter_map(|(_, writes)| writes.as_array())
        .flatten()
        .map(|write| &write["PutRequest"]["Item"])
        .filter(|item| item.is_object())
}
