//! Every way a request can be refused, and its HTTP status, in one place.

use events_table::store::StoreError;
use lambda_http::http::StatusCode;
use normalize::NormalizeError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum Rejection {
    #[error("method {0} is not allowed; webhooks are POSTed")]
    MethodNotAllowed(String),
    #[error("body is {size} bytes, over the limit of {limit} bytes")]
    BodyTooLarge { size: usize, limit: usize },
    #[error("missing or wrong webhook token")]
    Unauthorized,
    /// The body as a whole is not the provider's envelope, or carries too
    /// many events; it is kept as one `invalid` item.
    #[error("{0}")]
    BadRequest(#[from] NormalizeError),
    #[error("storage is unavailable; retry later")]
    StorageUnavailable(#[from] StoreError),
    /// The token secret could not be read, so no token can be checked; the
    /// detail (for the log) says why.
    #[error("the webhook tokens cannot be read; retry later")]
    TokensUnavailable(String),
}

impl Rejection {
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Rejection::BodyTooLarge { .. }
            | Rejection::BadRequest(NormalizeError::TooManyEvents { .. }) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            Rejection::Unauthorized => StatusCode::UNAUTHORIZED,
            Rejection::BadRequest(_) => StatusCode::BAD_REQUEST,
            Rejection::StorageUnavailable(_) | Rejection::TokensUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// Detail for the log line, which may say more than the answer does.
    pub fn log_detail(&self) -> String {
        match self {
            Rejection::StorageUnavailable(cause) => cause.to_string(),
            Rejection::TokensUnavailable(reason) => reason.clone(),
            other => other.to_string(),
        }
    }
}
