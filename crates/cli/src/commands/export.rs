//! `webhooks export`: the events table as files for SQL engines, in the
//! layout the analytics queries read (docs/analytics.md): one directory per
//! provider and day of `occurred_at`, hive-style
//! (`provider=<p>/day=<YYYY-MM-DD>/events.jsonl`), one JSON object per line.
//!
//! A row is the stored item without `raw`, with its attributes' stored names
//! and types (S a string, N a number), `attributes` as one JSON string, and
//! `provider` only in the directory name, as in the Parquet files Firehose
//! writes on AWS (a partition column is not repeated in the data). Every
//! other attribute is copied as it is, so one added to the item later is
//! exported without a change here.
//!
//! The export is written beside `--out` first and moved into place once
//! complete, so a failed run never leaves half an export where `make
//! report` would read it; an earlier export in `--out` is replaced.

use super::{out, Progress};
use crate::args::OnlyProvider;
use crate::dates::parse_when;
use crate::db::{item_json, Ctx, Item};
use crate::error::Fail;
use crate::render::thousands;
use aws_sdk_dynamodb::types::AttributeValue;
use events_table::attr;
use events_table::read::Scan;
use normalize::Provider;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// The file an export holds besides the partitions: what was exported, when
/// and how much. Its presence marks a directory as an export that a later
/// one may replace.
pub const MANIFEST: &str = "export.json";
/// Each partition's file.
const PART_FILE: &str = "events.jsonl";
/// Rows held in memory before they are appended to their files.
const FLUSH_BYTES: usize = 8 << 20;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The directory to write (created; an earlier export there is replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Only events that occurred at or after this (YYYY-MM-DD, an RFC 3339
    /// time, today, yesterday, Nd, Nh or Nm).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    #[command(flatten)]
    pub only: OnlyProvider,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<(), Fail> {
    let since = args
        .since
        .as_deref()
        .map(|w| parse_when(w, OffsetDateTime::now_utc()))
        .transpose()?;
    check_replaceable(&args.out)?;
    let partial = partial_dir(&args.out);
    if partial.exists() {
        fs::remove_dir_all(&partial).map_err(|e| io_fail(&partial, e))?;
    }
    fs::create_dir_all(&partial).map_err(|e| io_fail(&partial, e))?;

    let spec = scan_spec(since.as_deref(), args.only.provider);
    let mut writer = PartitionWriter::new(partial.clone());
    let mut progress = Progress::new();
    let (mut scanned, mut skipped) = (0u64, 0u64);
    let mut start = None;
    loop {
        let page = ctx.scan_page(&spec, start).await?;
        scanned += page.scanned;
        for item in &page.items {
            match row(item) {
                Some((partition, line)) => writer.push(partition, line)?,
                None => skipped += 1,
            }
        }
        progress.show(&format!(
            "export: scanned {} items, exported {} events",
            thousands(scanned),
            thousands(writer.rows)
        ));
        match page.next {
            Some(next) => start = Some(next),
            None => break,
        }
    }
    writer.flush()?;
    progress.clear();

    let manifest = json!({
        "table": ctx.table(),
        "exported_at": normalize::Timestamp::now().to_string(),
        "since": since,
        "provider": args.only.provider.map(|p| p.as_str()),
        "events": writer.rows,
        "skipped": skipped,
        "partitions": writer.counts.iter().map(|(k, n)| (k.path(), *n)).collect::<BTreeMap<_, _>>(),
    });
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| Fail::new(e.to_string()))?;
    let path = partial.join(MANIFEST);
    fs::write(&path, text + "\n").map_err(|e| io_fail(&path, e))?;
    replace(&partial, &args.out)?;

    let mut summary = format!(
        "exported {} events in {} partitions to {}\n",
        thousands(writer.rows),
        thousands(writer.counts.len() as u64),
        args.out.display()
    );
    if skipped > 0 {
        summary.push_str(&format!(
            "skipped {} items without a known provider or a valid occurred_at\n",
            thousands(skipped)
        ));
    }
    out(&summary)
}

/// The scan: every item, or those of one provider and/or since a time.
fn scan_spec(since: Option<&str>, provider: Option<Provider>) -> Scan {
    let mut spec = Scan::default();
    if let Some(since) = since {
        spec.names
            .insert("#oa".to_owned(), attr::OCCURRED_AT.to_owned());
        spec.values
            .insert(":since".to_owned(), AttributeValue::S(since.to_owned()));
        spec.and("#oa >= :since");
    }
    if let Some(provider) = provider {
        spec.names
            .insert("#p".to_owned(), attr::PROVIDER.to_owned());
        spec.values
            .insert(":p".to_owned(), AttributeValue::S(provider.to_string()));
        spec.and("#p = :p");
    }
    spec
}

/// Where a row goes: `provider=<p>/day=<YYYY-MM-DD>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Partition {
    provider: &'static str,
    day: String,
}

impl Partition {
    fn path(&self) -> String {
        format!("provider={}/day={}", self.provider, self.day)
    }
}

/// An item's partition and its line of JSON; `None` for an item without a
/// known provider or a well-formed `occurred_at` (the schema promises both;
/// the path is built from them, so nothing else is trusted there).
fn row(item: &Item) -> Option<(Partition, String)> {
    let provider = Provider::ALL
        .into_iter()
        .find(|p| Some(p.as_str()) == text(item, attr::PROVIDER))?;
    let day = text(item, attr::OCCURRED_AT).and_then(day_of)?;
    let Value::Object(mut columns) = item_json(item) else {
        return None;
    };
    columns.remove(attr::RAW);
    columns.remove(attr::PROVIDER);
    if let Some(attributes) = columns.get_mut(attr::ATTRIBUTES) {
        *attributes = Value::String(attributes.to_string());
    }
    let line = Value::Object(columns).to_string();
    Some((
        Partition {
            provider: provider.as_str(),
            day: day.to_owned(),
        },
        line,
    ))
}

/// A string attribute.
fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// `YYYY-MM-DD` of a stored timestamp, only when it is one.
fn day_of(at: &str) -> Option<&str> {
    let day = at.get(..10)?;
    let shape = day.bytes().enumerate().all(|(i, b)| {
        if i == 4 || i == 7 {
            b == b'-'
        } else {
            b.is_ascii_digit()
        }
    });
    shape.then_some(day)
}

/// Rows grouped by partition in memory, appended to their files every
/// [`FLUSH_BYTES`], so a large export keeps neither every row nor a file
/// handle per partition open.
struct PartitionWriter {
    root: PathBuf,
    pending: HashMap<Partition, Vec<u8>>,
    pending_bytes: usize,
    counts: BTreeMap<Partition, u64>,
    rows: u64,
}

impl PartitionWriter {
    fn new(root: PathBuf) -> Self {
        PartitionWriter {
            root,
            pending: HashMap::new(),
            pending_bytes: 0,
            counts: BTreeMap::new(),
            rows: 0,
        }
    }

    fn push(&mut self, partition: Partition, line: String) -> Result<(), Fail> {
        *self.counts.entry(partition.clone()).or_default() += 1;
        self.rows += 1;
        self.pending_bytes += line.len() + 1;
        let buffer = self.pending.entry(partition).or_default();
        buffer.extend_from_slice(line.as_bytes());
        buffer.push(b'\n');
        if self.pending_bytes >= FLUSH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Fail> {
        for (partition, bytes) in self.pending.drain() {
            let dir = self.root.join(partition.path());
            fs::create_dir_all(&dir).map_err(|e| io_fail(&dir, e))?;
            let path = dir.join(PART_FILE);
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .and_then(|mut file| file.write_all(&bytes))
                .map_err(|e| io_fail(&path, e))?;
        }
        self.pending_bytes = 0;
        Ok(())
    }
}

/// `--out` may be new, empty, or an earlier export; anything else is left
/// alone.
fn check_replaceable(dir: &Path) -> Result<(), Fail> {
    if !dir.exists() {
        return Ok(());
    }
    let mut entries = fs::read_dir(dir).map_err(|e| io_fail(dir, e))?;
    if entries.next().is_none() || dir.join(MANIFEST).is_file() {
        return Ok(());
    }
    Err(Fail::new(format!(
        "{} is not empty and holds no earlier export ({MANIFEST}): choose a new or empty directory",
        dir.display()
    )))
}

/// `<out>.partial`, beside `--out`.
fn partial_dir(dir: &Path) -> PathBuf {
    let mut name = dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "export".into());
    name.push(".partial");
    dir.with_file_name(name)
}

fn replace(partial: &Path, dir: &Path) -> Result<(), Fail> {
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|e| io_fail(dir, e))?;
    }
    fs::rename(partial, dir).map_err(|e| io_fail(dir, e))
}

fn io_fail(path: &Path, e: std::io::Error) -> Fail {
    Fail::new(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn s_(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_owned())
    }

    #[test]
    fn a_row_is_the_item_without_raw_and_provider_with_attributes_as_json_text() {
        let stored = item(&[
            ("event_id", s_("e1")),
            ("provider", s_("sendpulse")),
            ("event_type", s_("email.bounced")),
            ("occurred_at", s_("2024-06-03T11:01:06.000Z")),
            ("raw", s_("{\"event\":\"bounce\"}")),
            ("campaign_id", s_("4102887")),
            ("expires_at", AttributeValue::N("1749036067".into())),
            ("schema_version", AttributeValue::N("1".into())),
            (
                "attributes",
                AttributeValue::M(HashMap::from([
                    ("bounce_type".to_owned(), s_("hard")),
                    ("code".to_owned(), AttributeValue::N("550".into())),
                    ("score".to_owned(), AttributeValue::N("412.5".into())),
                    (
                        "order".to_owned(),
                        AttributeValue::N("123456789012345678901234".into()),
                    ),
                    (
                        "ratio".to_owned(),
                        AttributeValue::N("0.12345678901234567890".into()),
                    ),
                ])),
            ),
        ]);
        let (partition, line) = row(&stored).unwrap();
        assert_eq!(partition.path(), "provider=sendpulse/day=2024-06-03");
        let columns: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            columns,
            json!({
                "event_id": "e1",
                "event_type": "email.bounced",
                "occurred_at": "2024-06-03T11:01:06.000Z",
                "campaign_id": "4102887",
                "expires_at": 1749036067,
                "schema_version": 1,
                // numbers JSON cannot give back exactly stay their text
                "attributes": "{\"bounce_type\":\"hard\",\"code\":550,\"order\":\"123456789012345678901234\",\"ratio\":\"0.12345678901234567890\",\"score\":412.5}"
            })
        );
    }

    #[test]
    fn items_that_cannot_name_their_partition_are_skipped() {
        let at = ("occurred_at", s_("2024-06-03T11:01:06.000Z"));
        assert!(row(&item(&[("provider", s_("mailchimp")), at.clone()])).is_none());
        assert!(row(&item(&[("provider", s_("../x")), at.clone()])).is_none());
        assert!(row(&item(&[("provider", s_("flashy"))])).is_none());
        for bad in ["2024-6-3T00:00", "../../etc/x", "20240603", ""] {
            let item = item(&[("provider", s_("flashy")), ("occurred_at", s_(bad))]);
            assert!(row(&item).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn filters_narrow_the_scan() {
        assert_eq!(scan_spec(None, None).filter, None);
        let spec = scan_spec(Some("2024-06-01T00:00:00.000Z"), Some(Provider::Egoi));
        assert_eq!(spec.filter.as_deref(), Some("#oa >= :since AND #p = :p"));
        assert_eq!(spec.values[":p"], s_("egoi"));
    }

    #[test]
    fn only_new_empty_or_earlier_export_directories_are_replaced() {
        let root = std::env::temp_dir().join(format!("export-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("empty")).unwrap();
        fs::create_dir_all(root.join("earlier")).unwrap();
        fs::write(root.join("earlier").join(MANIFEST), "{}").unwrap();
        fs::create_dir_all(root.join("other")).unwrap();
        fs::write(root.join("other/notes.txt"), "mine").unwrap();
        assert!(check_replaceable(&root.join("new")).is_ok());
        assert!(check_replaceable(&root.join("empty")).is_ok());
        assert!(check_replaceable(&root.join("earlier")).is_ok());
        assert!(check_replaceable(&root.join("other")).is_err());
        assert_eq!(
            partial_dir(&root.join("out")),
            root.join("out.partial"),
            "written beside --out"
        );
        fs::remove_dir_all(&root).unwrap();
    }
}
