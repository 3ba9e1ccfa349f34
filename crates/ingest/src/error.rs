//! Every way a request can be refused, named by its answer, and its HTTP
//! status, in one place.

use events_table::store::StoreError;
use lambda_http::http::StatusCode;
use normalize::NormalizeError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum Rejection {
    /// 405: only POST (and GET or HEAD, to check the URL) is answered.
    #[error("method {0} is not allowed; webhooks are POSTed")]
    MethodNotAllowed(String),
    /// 401: no token, or a wrong one.
    #[error("missing or wrong webhook token")]
    Unauthorized,
    /// 413: the body is over the size limit, or carries more members than
    /// a request may (then it is quarantined as one `invalid` item).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 400: the body as a whole is not the provider's envelope; it is
    /// quarantined as one `invalid` item.
    #[error("{0}")]
    BadRequest(NormalizeError),
    /// 503: storage failed; the provider retries.
    #[error("storage is unavailable; retry later")]
    ServiceUnavailable(#[from] StoreError),
    /// 503: the token secret could not be read, so no token can be checked;
    /// the detail (for the log) says why.
    #[error("the webhook tokens cannot be read; retry later")]
    TokensUnavailable(String),
}

impl From<NormalizeError> for Rejection {
    fn from(error: NormalizeError) -> Self {
        match error {
            NormalizeError::TooManyEvents { .. } => Rejection::PayloadTooLarge(error.to_string()),
            other => Rejection::BadRequest(other),
        }
    }
}

impl Rejection {
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Rejection::Unauthorized => StatusCode::UNAUTHORIZED,
            Rejection::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::BadRequest(_) => StatusCode::BAD_REQUEST,
            Rejection::ServiceUnavailable(_) | Rejection::TokensUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// Detail for the log line, which may say more than the answer does.
    pub fn log_detail(&self) -> String {
        match self {
            Rejection::ServiceUnavailable(cause) => cause.to_string(),
            Rejection::TokensUnavailable(reason) => reason.clone(),
            other => other.to_string(),
        }
    }
}
