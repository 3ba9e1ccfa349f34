#![cfg_attr(not(test), no_main)]
//! The whole request path without I/O: App::handle over an in-memory table
//! that enforces DynamoDB's per-call limits. The first two bytes choose the
//! provider, method, token placement and content type; the rest is the
//! body. Any input must get one of the documented answers, as JSON, with
//! what the contract says stored and nothing else: in a body the provider's
//! envelope, each member on its own account (an event stored, anything else
//! kept as an `invalid` item), a refused body kept whole.
//!
//! Built by cargo fuzz; `cargo test` replays it on its seeds and saved
//! regressions (crates/ingest/tests/fuzz_replay.rs).

#[cfg(not(test))]
use libfuzzer_sys::fuzz_target;

use base64::Engine as _;
use events_table::item::{item_size, Item, MAX_ITEM_BYTES};
use events_table::store::{event_id, Lookup, StoreError, Table, MAX_GET_KEYS, MAX_WRITE_ITEMS};
use ingest::{App, Config, Provider};
use lambda_http::http::{header, HeaderValue, Method};
use lambda_http::{Body, Request, RequestExt};
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

const TOKEN: &str = "fuzz-token";

#[derive(Default)]
struct Memory(Mutex<HashMap<String, Item>>);

impl Table for Memory {
    async fn lookup(&self, ids: Vec<String>) -> Result<Lookup, StoreError> {
        assert!(!ids.is_empty() && ids.len() <= MAX_GET_KEYS);
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
        let items = self.0.lock().unwrap();
        Ok(Lookup {
            found: ids.into_iter().filter(|i| items.contains_key(i)).collect(),
            unprocessed: Vec::new(),
        })
    }

    async fn put_batch(&self, batch: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        assert!(!batch.is_empty() && batch.len() <= MAX_WRITE_ITEMS);
        let ids: HashSet<&str> = batch.iter().map(event_id).collect();
        assert_eq!(ids.len(), batch.len(), "duplicate keys in one batch");
        let mut items = self.0.lock().unwrap();
        for item in batch {
            assert!(item_size(&item) <= MAX_ITEM_BYTES);
            assert!(!event_id(&item).is_empty());
            items.insert(event_id(&item).to_owned(), item);
        }
        Ok(Vec::new())
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    })
}

fn app(provider: Provider) -> App<Memory> {
    let config = Config::from_lookup(
        |k| match k {
            "WEBHOOK_TOKENS" => Some(format!("{TOKEN},other-token")),
            "MAX_BODY_BYTES" => Some("65536".into()),
            _ => None,
        },
        ingest::success_body_var(provider),
    )
    .unwrap();
    App::new(provider, config, Memory::default())
}

fn request(data: &[u8]) -> (Provider, Request, bool) {
    let (head, body) = data.split_at(data.len().min(2));
    let a = head.first().copied().unwrap_or(0);
    let b = head.get(1).copied().unwrap_or(0);
    let provider = Provider::ALL[a as usize % Provider::ALL.len()];
    let method = [
        Method::POST,
        Method::POST,
        Method::POST,
        Method::GET,
        Method::PUT,
    ][(a as usize / 5) % 5]
        .clone();
    let body = if b & 0x80 != 0 {
        Body::Binary(body.to_vec())
    } else {
        match std::str::from_utf8(body) {
            Ok(text) => Body::Text(text.to_owned()),
            Err(_) => Body::Binary(body.to_vec()),
        }
    };
    let mut request = Request::new(body);
    *request.method_mut() = method;
    let token = if b & 0x40 != 0 { "fuzz-toke" } else { TOKEN };
    let authenticated = b & 0x40 == 0 && b & 0x03 != 0;
    match b & 0x03 {
        0 => {}
        1 => {
            let query: HashMap<String, String> = [("token".to_owned(), token.to_owned())].into();
            request = request.with_query_string_parameters(query);
        }
        2 => {
            request.headers_mut().insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
            );
        }
        _ => {
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("u:{token}"));
            request.headers_mut().insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Basic {basic}")).unwrap(),
            );
        }
    }
    let content_type = [
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/octet-stream",
    ][(b as usize >> 2) % 4];
    request
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    (provider, request, authenticated)
}

fuzz_target!(|data: &[u8]| {
    let (provider, request, authenticated) = request(data);
    let method = request.method().clone();
    let body_len = request.body().len();
    let app = app(provider);
    let response = runtime().block_on(app.handle(request));
    let status = response.status().as_u16();
    let answer: serde_json::Value =
        serde_json::from_slice(response.body().as_ref()).expect("every answer is JSON");
    let items = app.table.0.lock().unwrap();
    let invalid = items
        .values()
        .filter(|i| i["event_type"].as_s().unwrap() == "invalid")
        .count() as u64;
    let events = items.len() as u64 - invalid;
    match status {
        200 if method == Method::GET => {
            assert!(items.is_empty());
            let expected = serde_json::json!({"status": "ok", "provider": provider.as_str()});
            assert_eq!(answer, expected);
        }
        200 => {
            assert!(authenticated);
            let n = |k: &str| answer[k].as_u64().expect("counts");
            let quarantined = n("quarantined");
            assert_eq!(
                n("received"),
                n("stored") + n("duplicates") + quarantined,
                "{answer}"
            );
            // A fresh table: every event this request wrote is new.
            assert_eq!(events, n("stored"), "{answer}");
            // Each quarantined member in an `invalid` item; identical
            // members share one.
            if quarantined == 0 {
                assert_eq!(invalid, 0, "{answer}");
            } else {
                assert!((1..=quarantined).contains(&invalid), "{answer}");
            }
        }
        400 | 413 => {
            // Over the body limit: refused before anything is read.
            let over_limit = status == 413 && body_len > 65536;
            assert!(authenticated || over_limit);
            let reason = answer["error"].as_str().expect("a reason");
            assert!(!reason.is_empty() && !reason.contains('\n'));
            // Otherwise kept whole as one invalid item (in part when too
            // large even compressed).
            assert_eq!(events, 0);
            assert_eq!(invalid, u64::from(!over_limit), "{answer}");
        }
        401 => {
            assert!(!authenticated);
            assert!(items.is_empty());
        }
        405 => {
            assert_eq!(method, Method::PUT);
            assert!(items.is_empty());
        }
        other => panic!("unexpected status {other}: {answer}"),
    }
});
