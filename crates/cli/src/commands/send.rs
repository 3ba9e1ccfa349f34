//! `webhooks send`: POST a file to a running endpoint, the way a provider
//! would, and print the answer.

use super::{out, print_json};
use crate::error::Fail;
use crate::SendArgs;
use serde_json::{json, Value};
use std::io::Read as _;
use std::time::Duration;

pub const DEV_TOKEN: &str = "dev-token";

pub async fn run(args: SendArgs) -> Result<(), Fail> {
    let body = read_body(&args.file)?;
    let url = args
        .url
        .clone()
        .unwrap_or_else(|| default_url(args.provider.as_str()));
    let token = if args.no_token {
        None
    } else {
        Some(token(
            args.token.as_deref(),
            std::env::var("WEBHOOK_TOKENS").ok().as_deref(),
        ))
    };
    // reqwest's rustls takes the process's crypto provider (it has none of
    // its own here): the aws-lc-rs build the AWS SDK already links.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| Fail::new(format!("cannot make an HTTP client: {e}")))?;
    let mut request = client
        .post(&url)
        .header("content-type", &args.content_type)
        .body(body);
    if let Some(token) = &token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|e| {
        let hint = if url.starts_with("http://127.0.0.1") || url.starts_with("http://localhost") {
            "; is `make dev` running?"
        } else {
            ""
        };
        Fail::new(format!("cannot POST to {url}: {}{hint}", cause(&e)))
    })?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| Fail::new(format!("reading the answer from {url}: {e}")))?;
    if args.json {
        let body = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text.clone()));
        print_json(&json!({ "status": status.as_u16(), "body": body }))?;
    } else {
        out(&format!("{status} {}\n", text.trim_end()))?;
    }
    if status.is_success() {
        Ok(())
    } else {
        Err(Fail::new(format!("{url} answered {status}")))
    }
}

fn read_body(path: &std::path::Path) -> Result<Vec<u8>, Fail> {
    if path.as_os_str() == "-" {
        let mut body = Vec::new();
        std::io::stdin()
            .read_to_end(&mut body)
            .map_err(|e| Fail::new(format!("reading standard input: {e}")))?;
        return Ok(body);
    }
    std::fs::read(path).map_err(|e| Fail::new(format!("cannot read {}: {e}", path.display())))
}

/// `make dev`'s URL for a provider's function.
pub fn default_url(provider: &str) -> String {
    format!("http://127.0.0.1:9000/lambda-url/{provider}/")
}

/// The token to present: --token, else the first of WEBHOOK_TOKENS, else
/// the development token `make dev` uses.
pub fn token(flag: Option<&str>, env: Option<&str>) -> String {
    flag.map(str::to_owned)
        .or_else(|| {
            env.and_then(|tokens| {
                tokens
                    .split(',')
                    .map(str::trim)
                    .find(|t| !t.is_empty())
                    .map(str::to_owned)
            })
        })
        .unwrap_or_else(|| DEV_TOKEN.to_owned())
}

/// The innermost cause of a request error ("Connection refused").
fn cause(e: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(next) = source.source() {
        source = next;
    }
    if e.is_timeout() {
        "timed out".to_owned()
    } else {
        source.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_comes_from_the_flag_then_the_environment_then_the_dev_default() {
        assert_eq!(token(Some("t1"), Some("t2")), "t1");
        assert_eq!(token(None, Some(" new , old")), "new");
        assert_eq!(token(None, Some(" , ")), "dev-token");
        assert_eq!(token(None, None), "dev-token");
    }

    #[test]
    fn the_default_url_is_make_dev() {
        assert_eq!(
            default_url("egoi"),
            "http://127.0.0.1:9000/lambda-url/egoi/"
        );
    }
}
