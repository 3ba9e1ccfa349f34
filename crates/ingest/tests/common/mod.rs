//! The ingest tests' helpers: everything shared with the other crates'
//! tests and the bench is in `test-support`; an app over the in-memory
//! table is ingest's own.
#![allow(dead_code)]

pub use test_support::*;

use ingest::{success_body_var, App, Config, Provider};

/// An app over an in-memory table, configured by `vars` as the environment
/// would (later values win), with `WEBHOOK_TOKENS` = [`TOKEN`] unless given.
pub fn app_with(provider: Provider, vars: &[(&str, &str)]) -> App<MemoryTable> {
    let mut all = vec![("WEBHOOK_TOKENS", TOKEN)];
    all.extend_from_slice(vars);
    let config = Config::from_lookup(
        |k| {
            all.iter()
                .rev()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        },
        success_body_var(provider),
    )
    .expect("valid config");
    App::new(provider, config, MemoryTable::default())
}
