//! One request: method and size checks, authentication, normalization,
//! storage, answer. Every answer is JSON; every request logs one line.

use crate::auth::{Authenticator, Presented};
use crate::config::Config;
use crate::error::Rejection;
pub use crate::item::MAX_ITEM_BYTES;
use crate::item::{fit, into_item};
use crate::metrics::RequestMetrics;
use crate::store::{store_all, StoreError, Stored, Table};
use lambda_http::http::{header, Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use normalize::{normalize, quarantine, Provider, Timestamp};
use std::time::Duration;
use tokio::time::Instant;

/// Events one request may carry: ten times the largest batch a provider
/// documents (SendPulse SMTP, 500), and few enough to store well inside
/// [`STORE_DEADLINE`] (200 BatchWriteItem calls).
pub const MAX_EVENTS: usize = 5_000;
/// How long storage may keep retrying: well inside Flashy's 5 s timeout.
pub const STORE_DEADLINE: Duration = Duration::from_millis(3500);

pub struct App<T> {
    pub provider: Provider,
    pub config: Config,
    pub auth: Authenticator,
    pub table: T,
}

enum Outcome {
    Reachable,
    Stored { received: usize, stored: Stored },
}

impl<T: Table> App<T> {
    pub fn new(provider: Provider, config: Config, table: T) -> Self {
        let auth = Authenticator::new(&config.tokens, config.allow_unauthenticated);
        App {
            provider,
            config,
            auth,
            table,
        }
    }

    pub async fn handle(&self, request: Request) -> Response<Body> {
        let started = Instant::now();
        let outcome = self.process(&request, started).await;
        let request_id = request
            .lambda_context_ref()
            .map(|c| c.request_id.as_str())
            .unwrap_or("-");
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let provider = self.provider.as_str();
        match outcome {
            Ok(Outcome::Reachable) => {
                tracing::info!(request_id, provider, method = %request.method(), status = 200, latency_ms, "reachability check");
                json(
                    StatusCode::OK,
                    format!(r#"{{"status":"ok","provider":"{provider}"}}"#),
                )
            }
            Ok(Outcome::Stored { received, stored }) => {
                tracing::info!(
                    request_id,
                    provider,
                    status = 200,
                    received,
                    stored = stored.stored,
                    duplicates = stored.duplicates,
                    latency_ms,
                    "webhook stored"
                );
                // Lead: fill quarantined/unknown/truncated from the rewritten process().
                RequestMetrics {
                    received,
                    stored: stored.stored,
                    duplicates: stored.duplicates,
                    ..RequestMetrics::new(provider, request_id, 200, latency_ms)
                }
                .emit();
                let body = self.config.success_body.clone().unwrap_or_else(|| {
                    format!(
                        r#"{{"received":{received},"stored":{},"duplicates":{}}}"#,
                        stored.stored, stored.duplicates
                    )
                });
                json(StatusCode::OK, body)
            }
            Err(rejection) => {
                let status = rejection.status();
                tracing::warn!(
                    request_id,
                    provider,
                    status = status.as_u16(),
                    reason = %rejection.log_detail(),
                    latency_ms,
                    "webhook refused"
                );
                // Lead: a refused body kept as an `invalid` item is quarantined: 1.
                RequestMetrics::new(provider, request_id, status.as_u16(), latency_ms).emit();
                let body = serde_json::json!({ "error": rejection.to_string() }).to_string();
                json(status, body)
            }
        }
    }

    async fn process(&self, request: &Request, started: Instant) -> Result<Outcome, Rejection> {
        match *request.method() {
            Method::POST => {}
            Method::GET | Method::HEAD => return Ok(Outcome::Reachable),
            ref other => return Err(Rejection::MethodNotAllowed(other.to_string())),
        }
        let body: &[u8] = request.body().as_ref();
        if body.len() > self.config.max_body_bytes {
            return Err(Rejection::BodyTooLarge {
                size: body.len(),
                limit: self.config.max_body_bytes,
            });
        }
        let query = request.query_string_parameters_ref();
        let presented = Presented {
            query_token: query.and_then(|q| q.first("token")),
            headers: Some(request.headers()),
        };
        if !self.auth.accepts(&presented) {
            return Err(Rejection::Unauthorized);
        }

        let received_at = Timestamp::now();
        let deadline = started + STORE_DEADLINE;
        // From here on, a refused body is kept, so nothing is lost.
        let refuse = |rejection| self.keep(body, rejection, received_at, deadline);
        let events = match normalize(self.provider, body, received_at) {
            Ok(events) => events,
            Err(error) => return Err(refuse(Rejection::BadRequest(error)).await),
        };
        if events.len() > MAX_EVENTS {
            let too_many = Rejection::TooManyEvents {
                count: events.len(),
                limit: MAX_EVENTS,
            };
            return Err(refuse(too_many).await);
        }
        let received = events.len();
        let mut items = Vec::with_capacity(received);
        for (index, event) in events.into_iter().enumerate() {
            match fit(into_item(event, self.config.retention_days)) {
                Ok(item) => items.push(item),
                Err(size) => {
                    let too_large = Rejection::EventTooLarge {
                        index,
                        size,
                        limit: MAX_ITEM_BYTES,
                    };
                    return Err(refuse(too_large).await);
                }
            }
        }
        match store_all(&self.table, items, deadline).await {
            Ok(stored) => Ok(Outcome::Stored { received, stored }),
            // Retrying cannot help; keep the body and say so, rather than
            // have the provider retry forever.
            Err(refused @ StoreError::Refused(_)) => {
                Err(refuse(Rejection::StorageRefused(refused)).await)
            }
            Err(other) => Err(other.into()),
        }
    }

    /// Keeps a refused body as an `invalid` item with the reason (its `raw`
    /// compressed if it must be; a redelivery maps to the same item), and
    /// returns the rejection to answer: the original one, or 503 when the
    /// body could not be kept, so the provider retries. A body too large
    /// for one item even compressed is logged with its size and the id it
    /// would have had.
    async fn keep(
        &self,
        body: &[u8],
        rejection: Rejection,
        received_at: Timestamp,
        deadline: Instant,
    ) -> Rejection {
        let kept = quarantine(self.provider, body, &rejection.to_string(), received_at);
        let event_id = kept.event_id.clone();
        match fit(into_item(kept, self.config.retention_days)) {
            Ok(item) => {
                if let Err(error) = store_all(&self.table, vec![item], deadline).await {
                    return Rejection::StorageUnavailable(error);
                }
            }
            Err(size) => tracing::warn!(
                provider = self.provider.as_str(),
                event_id,
                body_bytes = body.len(),
                item_bytes = size,
                "refused body not kept: too large for one item even compressed"
            ),
        }
        rejection
    }
}

fn json(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}
