//! Where the accepted tokens (and a provider's own answer body) come from:
//! fixed from the environment (`WEBHOOK_TOKENS`, for a local run), or read
//! at run time from Secrets Manager (on AWS), so that neither is ever part
//! of a function's configuration and a new value takes effect without a
//! deploy.
//!
//! The secrets are read when the function starts and kept in memory. They
//! are read again, at most once per refresh interval (60 s by default),
//! when a request presents a token that matches none (a token just added
//! is accepted within the interval), and before the held value is used
//! once it is older than five intervals (a token just removed stops being
//! accepted within five minutes). A read that fails keeps the last value
//! read; before any read has succeeded every request is answered 503
//! (never accepted) and the reason is logged.

use crate::auth::{Authenticator, Presented, Verified};
use crate::config::{Config, SecretIds};
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use aws_sdk_secretsmanager::Client;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How much older than the refresh interval the held value may get before
/// it is read again whatever the request presents.
const MAX_AGE_INTERVALS: u32 = 5;
/// After a failed read, the next may come this soon (or after the refresh
/// interval, if shorter): a cold start that met a passing error recovers
/// quickly.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// Who may post, and what a provider answers on success.
pub struct Tokens {
    source: Source,
}

enum Source {
    Fixed(Arc<Known>),
    Secrets(SecretTokens),
}

/// One reading of the tokens and the answer body.
struct Known {
    auth: Authenticator,
    success_body: Option<Arc<str>>,
}

/// Why a request's token was not accepted.
#[derive(Debug)]
pub enum Refusal {
    /// No token, or one that matches none.
    Unauthorized,
    /// The tokens could not be read; the detail says why (for the log).
    Unavailable(String),
}

struct SecretTokens {
    client: Client,
    ids: SecretIds,
    allow_unauthenticated: bool,
    state: Mutex<State>,
    /// Held while reading, so that requests arriving together read once.
    reading: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    known: Option<Arc<Known>>,
    /// When `known` was read.
    read_at: Option<Instant>,
    /// When the last read was tried, and why it failed if it did.
    tried_at: Option<Instant>,
    failure: Option<String>,
}

impl Tokens {
    /// The tokens and answer body of the configuration (`WEBHOOK_TOKENS`,
    /// the provider's body variable).
    pub fn fixed(config: &Config) -> Self {
        Tokens {
            source: Source::Fixed(Arc::new(Known {
                auth: Authenticator::new(&config.tokens, config.allow_unauthenticated),
                success_body: config.success_body.as_deref().map(Arc::from),
            })),
        }
    }

    /// The tokens (and answer body) of the secrets in `ids`, read now.
    pub async fn from_secrets(client: Client, ids: SecretIds, allow_unauthenticated: bool) -> Self {
        let secrets = SecretTokens {
            client,
            ids,
            allow_unauthenticated,
            state: Mutex::new(State::default()),
            reading: tokio::sync::Mutex::new(()),
        };
        secrets.read().await;
        Tokens {
            source: Source::Secrets(secrets),
        }
    }

    /// The request's body once it presents an accepted token.
    pub async fn verify<'r>(
        &self,
        presented: &Presented<'_>,
        body: &'r [u8],
    ) -> Result<Verified<'r>, Refusal> {
        match &self.source {
            Source::Fixed(known) => known
                .auth
                .verify(presented, body)
                .ok_or(Refusal::Unauthorized),
            Source::Secrets(secrets) => secrets.verify(presented, body).await,
        }
    }

    /// What to answer on success instead of the counts, if anything (as of
    /// the last reading).
    pub fn success_body(&self) -> Option<Arc<str>> {
        self.known().and_then(|k| k.success_body.clone())
    }

    /// True when, as read so far, no token is accepted and unauthenticated
    /// access is not allowed.
    pub fn refuses_everyone(&self) -> bool {
        self.known().is_some_and(|k| k.auth.refuses_everyone())
    }

    /// Why the tokens could not be read, when they never could.
    pub fn unavailable(&self) -> Option<String> {
        match &self.source {
            Source::Fixed(_) => None,
            Source::Secrets(s) => {
                let state = s.state();
                state.known.is_none().then(|| state.failure.clone())?
            }
        }
    }

    fn known(&self) -> Option<Arc<Known>> {
        match &self.source {
            Source::Fixed(known) => Some(known.clone()),
            Source::Secrets(s) => s.state().known.clone(),
        }
    }
}

impl SecretTokens {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state half
        // written (each write is one assignment), so a poisoned lock is
        // still good.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn verify<'r>(
        &self,
        presented: &Presented<'_>,
        body: &'r [u8],
    ) -> Result<Verified<'r>, Refusal> {
        let max_age = self.ids.refresh * MAX_AGE_INTERVALS;
        let (known, fresh) = {
            let state = self.state();
            let fresh = state.read_at.is_some_and(|at| at.elapsed() < max_age);
            (state.known.clone(), fresh)
        };
        if let (Some(known), true) = (&known, fresh) {
            if let Some(verified) = known.auth.verify(presented, body) {
                return Ok(verified);
            }
        }
        if self.may_read() {
            let _reading = self.reading.lock().await;
            // Another request may have read while this one waited.
            if self.may_read() {
                self.read().await;
            }
        }
        let state = self.state();
        match &state.known {
            Some(known) => known
                .auth
                .verify(presented, body)
                .ok_or(Refusal::Unauthorized),
            None => {
                Err(Refusal::Unavailable(state.failure.clone().unwrap_or_else(
                    || "the tokens have not been read yet".into(),
                )))
            }
        }
    }

    /// Whether enough time has passed since the last read (or failed read).
    fn may_read(&self) -> bool {
        let state = self.state();
        let wait = if state.failure.is_some() {
            self.ids.refresh.min(RETRY_AFTER_FAILURE)
        } else {
            self.ids.refresh
        };
        state.tried_at.is_none_or(|at| at.elapsed() >= wait)
    }

    /// Reads both secrets; on success replaces what is held, on failure
    /// keeps it and logs why.
    async fn read(&self) {
        let started = Instant::now();
        let result = self.fetch().await;
        let mut state = self.state();
        state.tried_at = Some(started);
        match result {
            Ok(known) => {
                if known.auth.refuses_everyone() {
                    tracing::warn!(
                        secret = self.ids.tokens,
                        "the token secret holds no token: every request will be refused with 401"
                    );
                }
                state.known = Some(Arc::new(known));
                state.read_at = Some(started);
                state.failure = None;
            }
            Err(reason) => {
                if state.known.is_some() {
                    tracing::warn!(
                        reason,
                        "webhook tokens could not be read again; the tokens read before stay in use"
                    );
                } else {
                    tracing::error!(
                        reason,
                        "webhook tokens cannot be read: every request is answered 503 until they can"
                    );
                }
                state.failure = Some(reason);
            }
        }
    }

    async fn fetch(&self) -> Result<Known, String> {
        let tokens = self.secret_string(&self.ids.tokens);
        let body = async {
            match &self.ids.success_body {
                None => Ok(None),
                Some(id) => self.secret_string(id).await.map(Some),
            }
        };
        let (tokens, body) = tokio::join!(tokens, body);
        let tokens = crate::config::split_tokens(&tokens?);
        let success_body = match body? {
            None => None,
            Some(body) => {
                let body = body.trim();
                serde_json::from_str::<serde_json::Value>(body).map_err(|e| {
                    format!(
                        "secret {} must hold the answer body as JSON: {e}",
                        self.ids.success_body.as_deref().unwrap_or_default()
                    )
                })?;
                Some(Arc::from(body))
            }
        };
        Ok(Known {
            auth: Authenticator::new(&tokens, self.allow_unauthenticated),
            success_body,
        })
    }

    async fn secret_string(&self, id: &str) -> Result<String, String> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| format!("secret {id}: {}", DisplayErrorContext(&e)))?;
        output
            .secret_string
            .ok_or_else(|| format!("secret {id} holds no SecretString"))
    }
}

/// The Secrets Manager client for Lambda, with timeouts that keep a read
/// on the request path well inside the providers' patience.
pub async fn secrets_client() -> Client {
    secrets_client_at(None).await
}

/// The same client with an explicit endpoint (tests); `None` resolves it
/// the usual way (`AWS_ENDPOINT_URL_SECRETS_MANAGER`, then AWS).
pub async fn secrets_client_at(endpoint: Option<&str>) -> Client {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(1000))
        .operation_attempt_timeout(Duration::from_millis(1000))
        .operation_timeout(Duration::from_millis(2000))
        .build();
    let mut loader = aws_config::from_env();
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    let config = loader
        .timeout_config(timeouts)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2))
        .load()
        .await;
    Client::new(&config)
}
