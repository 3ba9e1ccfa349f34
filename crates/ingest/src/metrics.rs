//! Per-request metrics as one CloudWatch Embedded Metric Format (EMF) line.
//!
//! Lambda sends whatever a function writes to stdout to its log group, and
//! CloudWatch Logs turns every line that follows the EMF specification into
//! metrics: no PutMetricData call, no agent, no extra latency. One line per
//! webhook request (reachability checks write none; see docs/metrics-and-alarms.md).
//!
//! The set is fixed on purpose: namespace [`NAMESPACE`], one dimension,
//! `provider`, and the metrics in [`METRICS`]. Every distinct metric (name ×
//! dimension value) is billed monthly, so a new metric or dimension comes with
//! its cost in the docs.
//!
//! The line carries counts, the status, the latency and the request id only:
//! never a body, a token or an address.

use events_table::save::Counts;
use serde_json::{json, Map, Value};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "MarketingWebhooks";
/// The one dimension.
pub const DIMENSION: &str = "provider";

/// Every metric of the line, with its CloudWatch unit, in the order written.
pub const METRICS: [(&str, &str); 10] = [
    ("Received", "Count"),
    ("Stored", "Count"),
    ("Duplicates", "Count"),
    ("Quarantined", "Count"),
    ("Unknown", "Count"),
    ("Truncated", "Count"),
    ("Requests2xx", "Count"),
    ("Requests4xx", "Count"),
    ("Requests5xx", "Count"),
    ("Latency", "Milliseconds"),
];

/// What one webhook request did. The handler fills it and calls [`emit`](Self::emit).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestMetrics<'a> {
    pub provider: &'a str,
    /// Lambda's request id ("-" outside Lambda); a log field, not a dimension.
    pub request_id: &'a str,
    /// The HTTP status answered.
    pub status: u16,
    /// From arrival to the answer being ready.
    pub latency_ms: f64,
    /// What became of the members: received, stored, duplicates,
    /// quarantined (members or whole bodies, as `invalid` items), unknown,
    /// truncated (quarantined only in part).
    pub counts: Counts,
}

impl<'a> RequestMetrics<'a> {
    /// A request that stored nothing (a refusal); set the counts that apply.
    pub fn new(provider: &'a str, request_id: &'a str, status: u16, latency_ms: f64) -> Self {
        RequestMetrics {
            provider,
            request_id,
            status,
            latency_ms,
            counts: Counts::default(),
        }
    }

    /// The EMF object for a line written at `timestamp_ms` (ms since the epoch).
    pub fn to_json(&self, timestamp_ms: u64) -> Value {
        let class = |low: u16| u8::from(self.status / 100 == low / 100);
        // 1xx and 3xx are never answered; anything outside 4xx/5xx counts as 2xx.
        let ok = u8::from(self.status < 400 || self.status >= 600);
        // Milliseconds with microsecond precision; never NaN or negative.
        let latency = if self.latency_ms.is_finite() && self.latency_ms > 0.0 {
            (self.latency_ms * 1000.0).round() / 1000.0
        } else {
            0.0
        };
        let c = &self.counts;
        let values: [Value; 10] = [
            json!(c.received),
            json!(c.stored),
            json!(c.duplicates),
            json!(c.quarantined),
            json!(c.unknown),
            json!(c.truncated),
            json!(ok),
            json!(class(400)),
            json!(class(500)),
            json!(latency),
        ];
        let definitions: Vec<Value> = METRICS
            .iter()
            .map(|(name, unit)| json!({ "Name": name, "Unit": unit }))
            .collect();
        let mut line = Map::new();
        line.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [[DIMENSION]],
                    "Metrics": definitions,
                }],
            }),
        );
        line.insert(DIMENSION.into(), json!(self.provider));
        for ((name, _), value) in METRICS.iter().zip(values) {
            line.insert((*name).into(), value);
        }
        line.insert("status".into(), json!(self.status));
        line.insert("request_id".into(), json!(self.request_id));
        Value::Object(line)
    }

    /// The line (without its newline) as written now.
    pub fn render(&self) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        self.to_json(now).to_string()
    }

    /// Writes the line to stdout in one write (or to this thread's
    /// [`capture`], if one is active). A failed write is ignored: metrics
    /// never fail a request.
    pub fn emit(&self) {
        let mut line = self.render();
        let captured = CAPTURE.with(|c| {
            c.borrow()
                .as_ref()
                .map(|lines| lines.borrow_mut().push(line.clone()))
                .is_some()
        });
        if !captured {
            line.push('\n');
            write_stdout(&line);
        }
    }
}

/// The release build (Lambda) writes straight to stdout and ignores a
/// failed write. Debug builds (tests, `make dev`) print through `print!`,
/// which the test harness captures, so test output is not flooded with
/// metrics lines; `print!` would panic on a failed write, which only a
/// closed stdout causes.
#[cfg(not(debug_assertions))]
fn write_stdout(line: &str) {
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(line.as_bytes());
}

#[cfg(debug_assertions)]
fn write_stdout(line: &str) {
    print!("{line}");
}

thread_local! {
    static CAPTURE: RefCell<Option<Rc<RefCell<Vec<String>>>>> = const { RefCell::new(None) };
}

/// While the returned guard lives, lines emitted on this thread are kept in
/// it instead of written to stdout (for tests; a current-thread runtime runs
/// the handler on the test's thread).
pub fn capture() -> Capture {
    let lines = Rc::new(RefCell::new(Vec::new()));
    let previous = CAPTURE.with(|c| c.borrow_mut().replace(lines.clone()));
    Capture { lines, previous }
}

pub struct Capture {
    lines: Rc<RefCell<Vec<String>>>,
    previous: Option<Rc<RefCell<Vec<String>>>>,
}

impl Capture {
    /// The lines emitted so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.borrow().clone()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CAPTURE.with(|c| *c.borrow_mut() = previous);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks `line` against the EMF specification's required structure
    /// and returns the metric values by name.
    pub(crate) fn check_emf(line: &str) -> Map<String, Value> {
        let root: Value = serde_json::from_str(line).expect("an EMF line is one JSON object");
        let root = root.as_object().expect("a JSON object").clone();
        let aws = root["_aws"].as_object().expect("_aws is an object");
        let ts = aws["Timestamp"]
            .as_u64()
            .expect("Timestamp: ms since epoch");
        assert!(ts > 1_600_000_000_000, "Timestamp in milliseconds: {ts}");
        let directives = aws["CloudWatchMetrics"].as_array().expect("array");
        assert_eq!(directives.len(), 1);
        let d = directives[0].as_object().unwrap();
        let ns = d["Namespace"].as_str().unwrap();
        assert!(!ns.is_empty() && ns.len() <= 1024);
        let sets = d["Dimensions"].as_array().unwrap();
        for set in sets {
            let set = set.as_array().unwrap();
            assert!(set.len() <= 30);
            for dim in set {
                let dim = dim.as_str().unwrap();
                assert!(root[dim].is_string(), "dimension {dim} has a string value");
            }
        }
        let metrics = d["Metrics"].as_array().unwrap();
        assert!(!metrics.is_empty() && metrics.len() <= 100);
        let mut values = Map::new();
        for m in metrics {
            let name = m["Name"].as_str().unwrap();
            assert!(!name.is_empty() && name.len() <= 1024);
            assert!(m.get("Unit").is_none_or(|u| u.is_string()));
            assert!(root[name].is_number(), "metric {name} has a number value");
            assert!(
                values.insert(name.into(), root[name].clone()).is_none(),
                "{name} twice"
            );
        }
        values
    }

    fn metrics(status: u16) -> RequestMetrics<'static> {
        RequestMetrics {
            counts: Counts {
                received: 3,
                stored: 2,
                duplicates: 1,
                ..Counts::default()
            },
            ..RequestMetrics::new("flashy", "req-1", status, 12.345_678)
        }
    }

    #[test]
    fn the_line_is_emf_with_the_contracted_namespace_dimension_and_metrics() {
        let line = metrics(200).render();
        assert!(!line.contains('\n'));
        let values = check_emf(&line);
        let root: Value = serde_json::from_str(&line).unwrap();
        let directive = &root["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "MarketingWebhooks");
        assert_eq!(directive["Dimensions"], json!([["provider"]]));
        assert_eq!(root["provider"], "flashy");
        let mut names: Vec<&str> = values.keys().map(String::as_str).collect();
        let mut expected = METRICS.map(|(n, _)| n);
        names.sort_unstable();
        expected.sort_unstable();
        assert_eq!(names, expected);
        assert_eq!(
            directive["Metrics"][9],
            json!({"Name": "Latency", "Unit": "Milliseconds"})
        );
        assert_eq!(values["Received"], 3);
        assert_eq!(values["Stored"], 2);
        assert_eq!(values["Duplicates"], 1);
        assert_eq!(values["Latency"], 12.346);
        assert_eq!(root["status"], 200);
        assert_eq!(root["request_id"], "req-1");
    }

    #[test]
    fn each_status_counts_in_exactly_one_class() {
        for (status, class) in [
            (200, "Requests2xx"),
            (400, "Requests4xx"),
            (401, "Requests4xx"),
            (413, "Requests4xx"),
            (503, "Requests5xx"),
        ] {
            let values = check_emf(&metrics(status).render());
            for name in ["Requests2xx", "Requests4xx", "Requests5xx"] {
                assert_eq!(values[name], u8::from(name == class), "{status} {name}");
            }
        }
    }

    #[test]
    fn a_bad_latency_is_written_as_zero_never_null() {
        for latency in [f64::NAN, f64::INFINITY, -1.0] {
            let m = RequestMetrics::new("egoi", "-", 200, latency);
            assert_eq!(check_emf(&m.render())["Latency"], 0.0);
        }
    }

    #[test]
    fn capture_keeps_lines_of_this_thread_and_restores_on_drop() {
        let outer = capture();
        {
            let inner = capture();
            metrics(200).emit();
            assert_eq!(inner.lines().len(), 1);
        }
        assert!(outer.lines().is_empty());
        metrics(503).emit();
        assert_eq!(outer.lines().len(), 1);
    }

    #[test]
    fn the_spec_check_catches_what_cloudwatch_would_drop() {
        let good = metrics(200).to_json(1_700_000_000_000);
        let broken = [
            ("_aws", json!(null)),
            ("provider", json!(7)),
            ("Stored", json!("2")),
        ];
        for (key, value) in broken {
            let mut bad = good.clone();
            bad[key] = value;
            let line = bad.to_string();
            assert!(
                std::panic::catch_unwind(|| check_emf(&line)).is_err(),
                "not caught: {key}"
            );
        }
        let mut seconds = good.clone();
        seconds["_aws"]["Timestamp"] = json!(1_700_000_000);
        let line = seconds.to_string();
        assert!(std::panic::catch_unwind(|| check_emf(&line)).is_err());
    }
}
