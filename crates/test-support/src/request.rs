//! API Gateway HTTP API (v2) requests as Lambda receives them, and reading
//! the answers.

use base64::Engine as _;
use lambda_http::{Body, Request};
use serde_json::json;

/// The token the tests' functions accept.
pub const TOKEN: &str = "test-token";

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
        lambda_http::request::from_str(&self.event().to_string()).expect("valid API Gateway event")
    }

    /// The event as JSON, as the Lambda runtime API hands it over.
    pub fn event(&self) -> serde_json::Value {
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
        event
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
