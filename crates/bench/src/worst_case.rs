//! Figure 7: the release function against the worst bodies a provider (or
//! anyone holding a token) can send under `MAX_BODY_BYTES`. Each body goes
//! to a fresh process through our Runtime API; measured: the process's peak
//! resident set (VmHWM), the time from the event being handed out to the
//! answer, and the answer's status.

use crate::cold_start::{api_gateway_event, lambda_env, peak_rss};
use crate::runtime_api::RuntimeApi;
use ingest::DEFAULT_MAX_BODY_BYTES;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::process::Command;

/// Longest a case may take before it counts as unanswered.
const TIMEOUT: Duration = Duration::from_secs(60);
/// How often VmHWM is sampled while waiting, so a process that dies before
/// answering still has a figure.
const SAMPLE_EVERY: Duration = Duration::from_millis(5);
/// The target for every case.
pub const RSS_TARGET_BYTES: u64 = 128 * 1024 * 1024;

pub struct Case {
    /// Key in summary.json.
    pub name: &'static str,
    /// What the body is made of, for the table.
    pub shape: String,
    pub body_bytes: usize,
    pub peak_rss_bytes: Option<u64>,
    /// Event handed out to answer received; `None` when never answered.
    pub answer: Option<Duration>,
    /// `statusCode` of the answer, or why there is none.
    pub status: Result<u16, String>,
}

impl Case {
    pub fn within_target(&self) -> bool {
        self.status.is_ok() && self.peak_rss_bytes.is_some_and(|b| b <= RSS_TARGET_BYTES)
    }
}

/// Every case, each against its own fresh process.
pub async fn run(binary: &Path) -> Vec<Case> {
    let limit = DEFAULT_MAX_BODY_BYTES;
    let tag = format!("{:x}", fastrand::u64(..));
    let mut cases = Vec::new();
    for (name, (shape, body)) in [
        ("empty_objects", empty_objects(limit)),
        ("tiny_events", tiny_events(limit)),
        ("events_800b", events_800b(limit, &tag)),
        ("one_string", one_string(limit)),
        ("deep_nesting", deep_nesting(limit)),
        ("one_event_long_list", one_event_long_list(limit)),
        ("one_event_wide_map", one_event_wide_map(limit)),
    ] {
        assert!(body.len() <= limit, "{name}: {} bytes", body.len());
        eprintln!("  {name}: {shape}, {} bytes", body.len());
        let body_bytes = body.len();
        let event = api_gateway_event(&body, &format!("{tag}-{name}"));
        drop(body);
        let (peak_rss_bytes, answer, status) = one(binary, event).await;
        cases.push(Case {
            name,
            shape,
            body_bytes,
            peak_rss_bytes,
            answer,
            status,
        });
    }
    cases
}

/// Starts `binary`, hands it `event`, waits for the answer or its death.
async fn one(binary: &Path, event: String) -> (Option<u64>, Option<Duration>, Result<u16, String>) {
    let api = RuntimeApi::start().await;
    let mut command = Command::new(binary);
    lambda_env(&mut command, &api);
    let mut child = command.spawn().expect("start the function");
    let pid = child.id().expect("a running child");

    let sampled = Arc::new(AtomicU64::new(0));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = tokio::spawn({
        let (sampled, sampling) = (sampled.clone(), sampling.clone());
        async move {
            while sampling.load(Ordering::Relaxed) {
                if let Some(bytes) = peak_rss(pid) {
                    sampled.fetch_max(bytes, Ordering::Relaxed);
                }
                tokio::time::sleep(SAMPLE_EVERY).await;
            }
        }
    });

    let (answer, status) = tokio::select! {
        done = api.invoke(event) => {
            let response = serde_json::from_str::<serde_json::Value>(&done.response).ok();
            let status = response
                .as_ref()
                .and_then(|v| v.get("statusCode")?.as_u64())
                .and_then(|s| u16::try_from(s).ok())
                .ok_or_else(|| format!("no status: {}", clip(&done.response)));
            let said = response.as_ref().and_then(|v| v.get("body")?.as_str());
            eprintln!("    answered: {}", clip(said.unwrap_or(&done.response)));
            (Some(done.answered - done.handed_out), status)
        }
        exit = child.wait() => (None, Err(match exit {
            Ok(status) => format!("died: {status}"),
            Err(e) => format!("lost: {e}"),
        })),
        _ = tokio::time::sleep(TIMEOUT) => (None, Err(format!("no answer in {} s", TIMEOUT.as_secs()))),
    };

    // After the answer VmHWM is exact; the samples cover a process gone.
    let last = peak_rss(pid);
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.await;
    let peak = last
        .into_iter()
        .chain([sampled.load(Ordering::Relaxed)])
        .max();
    let _ = child.kill().await;
    (peak.filter(|b| *b > 0), answer, status)
}

fn clip(text: &str) -> &str {
    let end = text
        .char_indices()
        .map(|(i, _)| i)
        .find(|i| *i >= 120)
        .unwrap_or(text.len());
    &text[..end]
}

/// Joins elements made by `element(i)` into one array, as many as fit in
/// `limit` bytes, at most `max`.
fn array_of(limit: usize, max: usize, element: impl FnMut(usize) -> String) -> (usize, String) {
    filled("[", "]", limit, max, element)
}

/// `open`, elements made by `element(i)` joined by commas, `close`: as many
/// as fit in `limit` bytes, at most `max`.
fn filled(
    open: &str,
    close: &str,
    limit: usize,
    max: usize,
    mut element: impl FnMut(usize) -> String,
) -> (usize, String) {
    let mut body = String::with_capacity(limit);
    body.push_str(open);
    let mut n = 0;
    while n < max {
        let next = element(n);
        if body.len() + usize::from(n > 0) + next.len() + close.len() > limit {
            break;
        }
        if n > 0 {
            body.push(',');
        }
        body.push_str(&next);
        n += 1;
    }
    body.push_str(close);
    (n, body)
}

/// One SendPulse Automation 360 event whose `variables` (copied into the
/// event's attributes) hold a list of empty objects, as long as fits: the
/// most values per byte inside one event.
fn one_event_long_list(limit: usize) -> (String, String) {
    let open = r#"[{"title":"worst","automation_id":1,"variables":{"list":["#;
    let (n, body) = filled(open, "]}}]", limit, usize::MAX, |_| "{}".to_owned());
    let shape = format!("one event, a list of {} empty objects", thousands(n));
    (shape, body)
}

/// One SendPulse Automation 360 event whose `variables` map has as many
/// keys as fit.
fn one_event_wide_map(limit: usize) -> (String, String) {
    let open = r#"[{"title":"worst","automation_id":1,"variables":{"#;
    let (n, body) = filled(open, "}}]", limit, usize::MAX, |i| format!(r#""k{i}":1"#));
    (format!("one event, a map of {} keys", thousands(n)), body)
}

/// `[{},{},...]`: the most members per byte.
fn empty_objects(limit: usize) -> (String, String) {
    let (n, body) = array_of(limit, usize::MAX, |_| "{}".to_owned());
    (format!("{} empty objects", thousands(n)), body)
}

/// The smallest events that still name a SendPulse event.
fn tiny_events(limit: usize) -> (String, String) {
    let (n, body) = array_of(limit, usize::MAX, |i| {
        format!(r#"{{"event":"open","id":{i}}}"#)
    });
    (format!("{} tiny events", thousands(n)), body)
}

/// 5,000 (the event cap) realistic click events of 800 bytes each.
fn events_800b(limit: usize, tag: &str) -> (String, String) {
    const SIZE: usize = 800;
    const COUNT: usize = 5_000;
    let (n, body) = array_of(limit, COUNT, |i| {
        let head = format!(
            r#"{{"timestamp":"{}","event":"redirect","task_id":"{tag}","email":"reader{i}@example.com","link_id":"{i}","open_device":"desktop","open_platform":"Linux","browser_name":"Firefox","browser_ver":"133.0","link_url":"https://shop.example.com/offer?campaign={tag}&reader={i}&pad="#,
            1_732_528_800 + i
        );
        let tail = r#""}"#;
        let pad = SIZE.saturating_sub(head.len() + tail.len());
        let event = format!("{head}{}{tail}", "p".repeat(pad));
        debug_assert_eq!(event.len(), SIZE);
        event
    });
    assert_eq!(n, COUNT, "5,000 events of 800 bytes fit under the limit");
    (format!("{} events of {SIZE} B", thousands(n)), body)
}

/// A body that is one JSON string of random letters (as incompressible as
/// text gets), filling the limit.
fn one_string(limit: usize) -> (String, String) {
    let mut body = String::with_capacity(limit);
    body.push('"');
    body.extend((0..limit - 2).map(|_| fastrand::alphanumeric()));
    body.push('"');
    (
        format!("one string of {:.1} MB", (limit - 2) as f64 / 1e6),
        body,
    )
}

/// `[[[...]]]` as deep as fits.
fn deep_nesting(limit: usize) -> (String, String) {
    let depth = limit / 2;
    let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    (format!("{} levels of nesting", thousands(depth)), body)
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
