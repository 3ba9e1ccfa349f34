//! Configuration, read once at start from the environment (docs/design.md,
//! "Running it locally").

use std::env;
use thiserror::Error;

pub const DEFAULT_TABLE_NAME: &str = "webhook-events";
/// Under Lambda's 6 MB synchronous payload limit once API Gateway has
/// base64-encoded a binary body.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    /// Accepted secrets; several so one can be rotated without downtime.
    pub tokens: Vec<String>,
    pub allow_unauthenticated: bool,
    pub max_body_bytes: usize,
    pub retention_days: Option<u32>,
    /// What the function answers on success instead of the counts, when
    /// set (SendPulse Automation 360 wants its key back).
    pub success_body: Option<String>,
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
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
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
        Ok(Config {
            table_name: set("TABLE_NAME").unwrap_or_else(|| DEFAULT_TABLE_NAME.to_owned()),
            tokens,
            allow_unauthenticated,
            max_body_bytes,
            retention_days,
            success_body,
        })
    }
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
        let body = [("SENDPULSE_RESPONSE_BODY", "{key: 1}")];
        assert!(config(&body, Some("SENDPULSE_RESPONSE_BODY")).is_err());
    }

    #[test]
    fn success_body_is_read_only_for_its_provider() {
        let body = [("SENDPULSE_RESPONSE_BODY", r#"{"key":"abc"}"#)];
        assert_eq!(config(&body, None).unwrap().success_body, None);
        let c = config(&body, Some("SENDPULSE_RESPONSE_BODY")).unwrap();
        assert_eq!(c.success_body.as_deref(), Some(r#"{"key":"abc"}"#));
    }
}
