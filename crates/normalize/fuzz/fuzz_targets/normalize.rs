#![no_main]
//! Every provider's normalizer, one at a time: `FUZZ_PROVIDER` names the
//! provider (`make fuzz` runs this target once for each provider of the
//! registry, with a corpus of its own).

#[path = "check.rs"]
mod check;

use normalize::Provider;
use std::sync::OnceLock;

fn provider() -> Provider {
    static PROVIDER: OnceLock<Provider> = OnceLock::new();
    *PROVIDER.get_or_init(|| {
        let name = std::env::var("FUZZ_PROVIDER").unwrap_or_default();
        name.parse()
            .unwrap_or_else(|e| panic!("FUZZ_PROVIDER must name a provider: {e}"))
    })
}

libfuzzer_sys::fuzz_target!(|body: &[u8]| check::check(provider(), body));
