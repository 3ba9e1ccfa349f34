#![cfg_attr(not(test), no_main)]
//! Built by cargo fuzz; `cargo test` replays it (tests/fuzz_regressions.rs).

#[path = "check.rs"]
mod check;
#[cfg(not(test))]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| check::check(normalize::Provider::Sendpulse, body));
