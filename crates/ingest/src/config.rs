//! Configuration, read once at start from the environment (docs/design.md,
//! "Running it locally").

use std::env;
use std::time::Duration;
use thiserror::Error;

pub const DEFAULT_TABLE_NAME: &str = "webhook-events";
/// Under Lambda's 6 MB synchronous payload limit once API Gateway has
/// base64-encoded a binary body.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// How often, at most, the token secret is read again when a request
/// presents a token that matches none.
pub const DEFAULT_TOKENS_REFRESH: Duration = Duration::from_secs(60);
/// The variable naming the token secret (its name or ARN).
pub const TOKENS_SECRET_VAR: &str = "WEBHOOK_TOKENS_SECRET_ID";

/// Its `Debug` shows how many tokens there are and whether an answer body
/// is set, never their values.
#[derive(Clone)]
pub struct Config {
    pub table_name: String,
    /// Accepted secrets; several so one can be rotated without downtime.
    pub tokens: Vec<String>,
    /// Where to read the tokens (and the answer body) at run time instead:
    /// Secrets Manager.
    pub secrets: Option<SecretIds>,
    pub allow_unauthenticated: bool,
    pub max_body_bytes: usize,
    pub retention_days: Option<u32>,
    /// What the function answers on success instead of the counts, when
    /// set (SendPulse Automation 360 wants its key back).
    pub success_body: Option<String>,
}

/// The secrets a function reads at run time (names or ARNs, not values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretIds {
    /// Holds the accepted tokens, comma-separated (`WEBHOOK_TOKENS_SECRET_ID`).
    pub tokens: String,
    /// Holds the answer body, for a provider that has one
    /// (`<body variable>_SECRET_ID`, e.g. `RESPONSE_BODY_SECRET_ID`).
    pub success_body: Option<String>,
    /// At most one read per this interval (`TOKENS_REFRESH_SECONDS`).
    pub refresh: Duration,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("table_name", &self.table_name)
            .field(
                "tokens",
                &format_args!("<{} token(s), not shown>", self.tokens.len()),
            )
            .field("secrets", &self.secrets)
            .field("allow_unauthenticated", &self.allow_unauthenticated)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("retention_days", &self.retention_days)
            .field(
                "success_body",
                &self
                    .success_body
                    .as_ref()
                    .map(|_| format_args!("<set, not shown>")),
            )
            .finish()
    }
}

#[derive(Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

// `main` prints its error with Debug: make that the one-line message.
impl std::fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl Config {
    /// Reads the environment. `success_body_var` names the variable holding
    /// a custom success body, for the providers that have one.
    pub fn from_env(success_body_var: Option<&str>) -> Result<Self, ConfigError> {
        Self::from_lookup(|name| env::var(name).ok(), success_body_var)
    }

    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
        success_body_var: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let set = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let tokens = set("WEBHOOK_TOKENS")
            .map(|v| split_tokens(&v))
            .unwrap_or_default();
        let allow_unauthenticated = match set("ALLOW_UNAUTHENTICATED").as_deref() {
            None => false,
            Some(v) => parse_bool(v).ok_or_else(|| {
                ConfigError(format!(
                    "ALLOW_UNAUTHENTICATED must be true or false, not {v:?}"
                ))
            })?,
        };
        let max_body_bytes = match set("MAX_BODY_BYTES") {
            None => DEFAULT_MAX_BODY_BYTES,
            Some(v) => v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                ConfigError(format!(
                    "MAX_BODY_BYTES must be a positive integer, not {v:?}"
                ))
            })?,
        };
        let retention_days = match set("RETENTION_DAYS") {
            None => None,
            Some(v) => match v.parse::<u32>() {
                Ok(0) => None,
                Ok(days) => Some(days),
                Err(_) => {
                    return Err(ConfigError(format!(
                        "RETENTION_DAYS must be a whole number of days, not {v:?}"
                    )))
                }
            },
        };
        let success_body = match success_body_var.and_then(&set) {
            None => None,
            Some(body) => {
                serde_json::from_str::<serde_json::Value>(&body).map_err(|e| {
                    ConfigError(format!(
                        "{} must be JSON: {e}",
                        success_body_var.unwrap_or_default()
                    ))
                })?;
                Some(body)
            }
        };
        let secrets = secret_ids(&set, success_body_var)?;
        if secrets.is_some() && (!tokens.is_empty() || success_body.is_some()) {
            return Err(ConfigError(format!(
                "{TOKENS_SECRET_VAR} and WEBHOOK_TOKENS (or the answer body) are both set: set one"
            )));
        }
        Ok(Config {
            table_name: set("TABLE_NAME").unwrap_or_else(|| DEFAULT_TABLE_NAME.to_owned()),
            tokens,
            secrets,
            allow_unauthenticated,
            max_body_bytes,
            retention_days,
            success_body,
        })
    }
}

/// The secrets named by the environment, if any.
fn secret_ids(
    set: &impl Fn(&str) -> Option<String>,
    success_body_var: Option<&str>,
) -> Result<Option<SecretIds>, ConfigError> {
    let body_secret_var = success_body_var.map(|v| format!("{v}_SECRET_ID"));
    let success_body = body_secret_var.as_deref().and_then(set);
    let refresh = match set("TOKENS_REFRESH_SECONDS") {
        None => DEFAULT_TOKENS_REFRESH,
        Some(v) => v
            .parse::<f64>()
            .ok()
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                ConfigError(format!(
                    "TOKENS_REFRESH_SECONDS must be a positive number of seconds, not {v:?}"
                ))
            })?,
    };
    match set(TOKENS_SECRET_VAR) {
        Some(tokens) => Ok(Some(SecretIds {
            tokens,
            success_body,
            refresh,
        })),
        None if success_body.is_some() => Err(ConfigError(format!(
            "{} needs {TOKENS_SECRET_VAR}",
            body_secret_var.unwrap_or_default()
        ))),
        None => Ok(None),
    }
}

/// `new, old` -> the tokens, in order, without blanks.
pub(crate) fn split_tokens(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)], body_var: Option<&str>) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| vars.get(k).cloned(), body_var)
    }

    #[test]
    fn defaults_refuse_everyone() {
        let c = config(&[], None).unwrap();
        assert!(c.tokens.is_empty());
        assert!(!c.allow_unauthenticated);
        assert_eq!(c.table_name, DEFAULT_TABLE_NAME);
        assert_eq!(c.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert_eq!(c.retention_days, None);
    }

    #[test]
    fn tokens_are_comma_separated_for_rotation() {
        let c = config(&[("WEBHOOK_TOKENS", " new-token , old-token ,,")], None).unwrap();
        assert_eq!(c.tokens, ["new-token", "old-token"]);
    }

    #[test]
    fn bad_values_are_refused_at_start() {
        assert!(config(&[("MAX_BODY_BYTES", "lots")], None).is_err());
        assert!(config(&[("ALLOW_UNAUTHENTICATED", "maybe")], None).is_err());
        assert!(config(&[("RETENTION_DAYS", "-3")], None).is_err());
        let body = [("RESPONSE_BODY", "{key: 1}")];
        assert!(config(&body, Some("RESPONSE_BODY")).is_err());
    }

    #[test]
    fn success_body_is_read_only_for_its_provider() {
        let body = [("RESPONSE_BODY", r#"{"key":"abc"}"#)];
        assert_eq!(config(&body, None).unwrap().success_body, None);
        let c = config(&body, Some("RESPONSE_BODY")).unwrap();
        assert_eq!(c.success_body.as_deref(), Some(r#"{"key":"abc"}"#));
    }

    #[test]
    fn debug_never_prints_a_token_or_the_answer_body() {
        let vars = [
            ("WEBHOOK_TOKENS", "first-secret-token,second-secret-token"),
            ("RESPONSE_BODY", r#"{"key":"a360-secret-key"}"#),
        ];
        let c = config(&vars, Some("RESPONSE_BODY")).unwrap();
        for shown in [format!("{c:?}"), format!("{c:#?}")] {
            for secret in [
                "first-secret-token",
                "second-secret-token",
                "a360-secret-key",
            ] {
                assert!(!shown.contains(secret), "{shown}");
            }
            assert!(shown.contains("<2 token(s), not shown>"), "{shown}");
            assert!(shown.contains("<set, not shown>"), "{shown}");
            assert!(shown.contains(DEFAULT_TABLE_NAME), "{shown}");
        }
    }

    #[test]
    fn secrets_are_named_not_given() {
        let vars = [
            ("WEBHOOK_TOKENS_SECRET_ID", "stack/webhook-tokens/sendpulse"),
            ("RESPONSE_BODY_SECRET_ID", "stack/sendpulse-response-body"),
            ("TOKENS_REFRESH_SECONDS", "0.25"),
        ];
        let c = config(&vars, Some("RESPONSE_BODY")).unwrap();
        assert!(c.tokens.is_empty());
        assert_eq!(
            c.secrets,
            Some(SecretIds {
                tokens: "stack/webhook-tokens/sendpulse".into(),
                success_body: Some("stack/sendpulse-response-body".into()),
                refresh: Duration::from_millis(250),
            })
        );
        // Other providers have no answer body to read.
        let c = config(&vars[..1], Some("RESPONSE_BODY")).unwrap();
        assert_eq!(c.secrets.unwrap().refresh, DEFAULT_TOKENS_REFRESH);
        let c = config(&vars, None).unwrap();
        assert_eq!(c.secrets.unwrap().success_body, None);
    }

    #[test]
    fn secrets_and_fixed_values_do_not_mix() {
        let both = [
            ("WEBHOOK_TOKENS_SECRET_ID", "stack/webhook-tokens/flashy"),
            ("WEBHOOK_TOKENS", "local"),
        ];
        assert!(config(&both, None).is_err());
        let body_alone = [("RESPONSE_BODY_SECRET_ID", "stack/body")];
        assert!(config(&body_alone, Some("RESPONSE_BODY")).is_err());
        for refresh in ["0", "-1", "soon"] {
            let vars = [
                ("WEBHOOK_TOKENS_SECRET_ID", "stack/webhook-tokens/flashy"),
                ("TOKENS_REFRESH_SECONDS", refresh),
            ];
            assert!(config(&vars, None).is_err(), "{refresh}");
        }
    }
}
