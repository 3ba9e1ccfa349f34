//! Every way a request can be refused, and its HTTP status, in one place.

use crate::store::StoreError;
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
    #[error("{0}")]
    BadRequest(#[from] NormalizeError),
    #[error("body carries {count} events, over the limit of {limit} per request")]
    TooManyEvents { count: usize, limit: usize },
    #[error(
        "event {index} of the body is {size} bytes even with raw compressed, over DynamoDB's item limit of {limit} bytes"
    )]
    EventTooLarge {
        index: usize,
        size: usize,
        limit: usize,
    },
    #[error("the events could not be stored as they are (DynamoDB refused them); the body is kept for reprocessing")]
    StorageRefused(StoreError),
    #[error("storage is unavailable; retry later")]
    StorageUnavailable(#[from] StoreError),
}

impl Rejection {
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Rejection::BodyTooLarge { .. }
            | Rejection::TooManyEvents { .. }
            | Rejection::EventTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::Unauthorized => StatusCode::UNAUTHORIZED,
            Rejection::BadRequest(_) => StatusCode::BAD_REQUEST,
            Rejection::StorageRefused(_) => StatusCode::BAD_REQUEST,
            Rejection::StorageUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Detail for the log line, which may say more than the answer does.
    pub fn log_detail(&self) -> String {
        match self {
            Rejection::StorageUnavailable(cause) | Rejection::StorageRefused(cause) => {
                cause.to_string()
            }
            other => other.to_string(),
        }
    }
}
