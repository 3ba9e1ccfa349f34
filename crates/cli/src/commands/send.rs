//! `webhooks send`: POST a file to a running endpoint, the way a provider
//! would, and print the answer.

use super::{out, print_json};
use crate::args::Output;
use crate::error::Fail;
use bytes::Bytes;
use events_table::read::innermost;
use http::{header, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use normalize::Provider;
use serde_json::{json, Value};
use std::io::Read as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub const DEV_TOKEN: &str = "dev-token";
const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, clap::Args)]
#[command(mut_arg("json", |json| json.help(
    r#"Print JSON: {"status": <code>, "body": <answer>}"#
)))]
pub struct Args {
    /// Which provider's function receives it.
    #[arg(value_name = "PROVIDER")]
    pub provider: Provider,
    /// The body to send (`-` reads standard input).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The endpoint [default: http://127.0.0.1:9000/lambda-url/<provider>/].
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// The webhook token [default: the first of WEBHOOK_TOKENS, else dev-token].
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Send no token at all.
    #[arg(long, conflicts_with = "token")]
    pub no_token: bool,
    /// Content-Type header of the request.
    #[arg(long, default_value = "application/json", value_name = "TYPE")]
    pub content_type: String,
    #[command(flatten)]
    pub output: Output,
}

pub async fn run(args: Args) -> Result<(), Fail> {
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
    let local = url.starts_with("http://127.0.0.1") || url.starts_with("http://localhost");
    let hint = if local {
        "; is `make dev` running?"
    } else {
        ""
    };
    let (status, text) = tokio::time::timeout(
        TIMEOUT,
        post(&url, &args.content_type, token.as_deref(), body),
    )
    .await
    .map_err(|_| {
        Fail::new(format!(
            "cannot POST to {url}: no answer in {}s",
            TIMEOUT.as_secs()
        ))
    })?
    .map_err(|e| Fail::new(format!("cannot POST to {url}: {e}{hint}")))?;
    if args.output.json {
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

/// One POST over http or https (rustls with the aws-lc-rs provider and the
/// system's roots, as the AWS SDK does); the status and the answer's text.
async fn post(
    url: &str,
    content_type: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> Result<(StatusCode, String), String> {
    let uri: Uri = url.parse().map_err(|e| format!("bad URL: {e}"))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .map_err(|e| format!("TLS set-up: {e}"))?
        .https_or_http()
        .enable_http1()
        .build();
    let client = Client::builder(TokioExecutor::new()).build(connector);
    let mut request = Request::post(uri)
        .header(header::CONTENT_TYPE, content_type)
        .header(
            header::USER_AGENT,
            concat!("webhooks-cli/", env!("CARGO_PKG_VERSION")),
        );
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = request
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("bad request: {e}"))?;
    let response = client.request(request).await.map_err(|e| innermost(&e))?;
    let status = response.status();
    let answer = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("reading the answer: {}", innermost(&e)))?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&answer).into_owned()))
}

pub fn read_body(path: &std::path::Path) -> Result<Vec<u8>, Fail> {
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
