//! `webhooks reprocess`: re-run the current normalizer over stored raw
//! payloads and apply what changed (see `replan` for the rules).
//!
//! Reads the table page by page (Scan, eventually consistent, filtered to
//! `unknown` and `invalid` unless `--all`) and writes as it goes:
//! - a rewritten event: PutItem on its own key, only if it still exists and
//!   still carries the `normalizer` it was read with (no newer normalizer
//!   wrote it meanwhile);
//! - a quarantined body that now normalizes: its events through ingest's
//!   `store_all` (what is already stored is left alone), and only then the
//!   quarantine item is deleted, only if it is still `invalid` and still
//!   carries the `normalizer` it was read with. Interrupted between the
//!   two, a second run finds the events stored and finishes.
//!
//! An item whose write fails is listed (action `fail`) and the run goes
//! on; the command then exits with status 1. `--all` (every item, not only
//! `unknown` and `invalid` ones) asks for confirmation first unless
//! `--yes`, and refuses without a terminal to ask on.

use super::{out, print_json, Progress};
use crate::args::{OnlyProvider, Output};
use crate::dates::parse_when;
use crate::db::{Ctx, Item};
use crate::error::Fail;
use crate::render::{bar, count, thousands, Table};
use crate::replan::{plan, Options, Plan};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use events_table::attr;
use events_table::read::{CallError, Scan};
use events_table::store::{store_all, Stored};
use events_table::{DynamoTable, StoredEvent};
use futures_util::stream::{self, StreamExt};
use normalize::{INVALID, UNKNOWN};
use serde::Serialize;
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;
use time::OffsetDateTime;

/// How long `store_all` may keep retrying one quarantined body's events.
const STORE_DEADLINE: Duration = Duration::from_secs(120);
/// Changes listed in the human output (all of them are in `--json`).
const LISTED: usize = 50;
/// Items of a scan page worked on at once.
const CONCURRENCY: usize = 16;

#[derive(Debug, Default, Clone, Serialize)]
struct Summary {
    scanned: u64,
    candidates: u64,
    unchanged: u64,
    /// Rewritten in place with a new event_type.
    retyped: u64,
    /// Rewritten in place, same type (new fields, or a new reason).
    updated: u64,
    /// Quarantined bodies turned into events.
    split: u64,
    /// Events those bodies gave, and of them how many were new.
    split_events: u64,
    events_stored: u64,
    events_already_stored: u64,
    skipped: u64,
    /// Items whose write failed (listed with action `fail`).
    failed: u64,
}

impl Summary {
    fn add(&mut self, other: &Summary) {
        self.scanned += other.scanned;
        self.candidates += other.candidates;
        self.unchanged += other.unchanged;
        self.retyped += other.retyped;
        self.updated += other.updated;
        self.split += other.split;
        self.split_events += other.split_events;
        self.events_stored += other.events_stored;
        self.events_already_stored += other.events_already_stored;
        self.skipped += other.skipped;
        self.failed += other.failed;
    }
}

#[derive(Debug, Serialize)]
struct Change {
    event_id: String,
    provider: String,
    /// retype, update, split, skip or fail.
    action: &'static str,
    from: String,
    to: String,
    detail: String,
    /// The ids of a split body's events.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    events: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Report {
    dry_run: bool,
    summary: Summary,
    changes: Vec<Change>,
}

#[derive(Debug, clap::Args)]
#[command(mut_arg("json", |json| json.help("Print JSON (summary and every change)")))]
pub struct Args {
    #[command(flatten)]
    pub only: OnlyProvider,
    /// Only items received at or after this day or time
    /// (YYYY-MM-DD, RFC 3339, today, yesterday, Nd, Nh).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only items received before this day or time (same forms as --since).
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// Every item, not only `unknown` and `invalid` ones. Asks for
    /// confirmation first (unless --yes or --dry-run); refused when there is
    /// no terminal to ask on.
    #[arg(long)]
    pub all: bool,
    /// With --all: do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Also rewrite a typed event that this normalizer can only read as
    /// `unknown` (by default it is left as it is, and listed as skipped).
    #[arg(long)]
    pub allow_downgrade: bool,
    /// Show what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub output: Output,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<(), Fail> {
    let spec = scan_spec(&args, OffsetDateTime::now_utc())?;
    if args.all && !args.yes && !args.dry_run {
        let stdin = std::io::stdin();
        confirm(
            stdin.is_terminal(),
            &mut stdin.lock(),
            &mut std::io::stderr(),
            &scope(ctx, &args),
        )?;
    }
    let options = Options {
        allow_downgrade: args.allow_downgrade,
    };
    let table = DynamoTable::new(ctx.client().clone(), ctx.table());
    let total = approximate_size(ctx).await;
    let mut report = Report {
        dry_run: args.dry_run,
        summary: Summary::default(),
        changes: Vec::new(),
    };
    let mut progress = Progress::new();
    let mut start = None;
    let mut stopped = None;
    loop {
        let page = match ctx.scan_page(&spec, start).await {
            Ok(page) => page,
            Err(e) => {
                stopped = Some(e);
                break;
            }
        };
        report.summary.scanned += page.scanned;
        report.summary.candidates += page.items.len() as u64;
        // Items are independent; a few writes in flight at once, results
        // kept in scan order. A failed item is listed, and the run goes on.
        let results: Vec<Applied> = stream::iter(&page.items)
            .map(|item| apply_or_fail(ctx, &table, item, args.dry_run, options))
            .buffered(CONCURRENCY)
            .collect()
            .await;
        for applied in results {
            report.summary.add(&applied.tally);
            report.changes.extend(applied.change);
        }
        progress.show(&progress_line(&report.summary, total));
        match page.next {
            Some(next) => start = Some(next),
            None => break,
        }
    }
    progress.clear();
    if args.output.json {
        print_json(&report)?;
    } else {
        out(&human(&report))?;
    }
    let s = &report.summary;
    let failed = (s.failed > 0).then(|| {
        format!(
            "{} failed (listed as `fail`)",
            count(s.failed, "item", "items")
        )
    });
    match (stopped, failed) {
        (None, None) => Ok(()),
        (None, Some(failed)) => Err(Fail::new(format!(
            "{failed}; the others were applied. Run it again to retry them (it is idempotent)"
        ))),
        (Some(e), failed) => Err(Fail::new(format!(
            "reprocess stopped after {}{}: reading the table failed: {e}. Run it again (it is idempotent)",
            count(s.retyped + s.updated + s.split, "change", "changes"),
            failed.map(|f| format!(" ({f})")).unwrap_or_default(),
        ))),
    }
}

/// What `--all` is about to go over, for the confirmation.
fn scope(ctx: &Ctx, args: &Args) -> String {
    let mut narrowed = Vec::new();
    if let Some(provider) = args.only.provider {
        narrowed.push(format!("provider {provider}"));
    }
    if let Some(since) = &args.since {
        narrowed.push(format!("received since {since}"));
    }
    if let Some(until) = &args.until {
        narrowed.push(format!("received before {until}"));
    }
    let narrowed = if narrowed.is_empty() {
        String::new()
    } else {
        format!(" ({})", narrowed.join(", "))
    };
    format!(
        "every item{narrowed} of table {:?} at {}",
        ctx.table(),
        ctx.place
    )
}

/// `--all` re-normalizes every item in scope and rewrites the ones that
/// change: asked on a terminal, refused without one.
fn confirm(
    interactive: bool,
    input: &mut impl BufRead,
    prompt: &mut impl Write,
    scope: &str,
) -> Result<(), Fail> {
    if !interactive {
        return Err(Fail::new(format!(
            "reprocess --all re-normalizes {scope} and rewrites each one that changes; \
             there is no terminal to confirm on: add --yes to go ahead (or --dry-run to look first)"
        )));
    }
    write!(
        prompt,
        "reprocess --all re-normalizes {scope} and rewrites each one that changes. Continue? [y/N] "
    )?;
    prompt.flush()?;
    let mut answer = String::new();
    input.read_line(&mut answer)?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(Fail::new("not confirmed; nothing was written")),
    }
}

/// The table's item count as DynamoDB last computed it (every few hours),
/// for the progress bar; None when it cannot be read.
async fn approximate_size(ctx: &Ctx) -> Option<u64> {
    let output = ctx
        .client()
        .describe_table()
        .table_name(ctx.table())
        .send()
        .await
        .ok()?;
    let count = output.table?.item_count?;
    u64::try_from(count).ok().filter(|n| *n > 0)
}

fn progress_line(s: &Summary, total: Option<u64>) -> String {
    let scanned = match total {
        Some(total) => {
            let share = s.scanned.min(total);
            format!(
                "{} of ~{} items [{:<20}] {:>3}%",
                thousands(s.scanned),
                thousands(total),
                bar(share, total, 20),
                share * 100 / total
            )
        }
        None => format!("{} items", thousands(s.scanned)),
    };
    let failed = if s.failed > 0 {
        format!(", {} failed", thousands(s.failed))
    } else {
        String::new()
    };
    format!(
        "reprocess: scanned {scanned}, {} candidates, {} changed, {} skipped{failed}",
        thousands(s.candidates),
        thousands(s.retyped + s.updated + s.split),
        thousands(s.skipped)
    )
}

/// The scan: unknown and invalid items (or all), narrowed by provider and
/// receive time.
fn scan_spec(args: &Args, now: OffsetDateTime) -> Result<Scan, Fail> {
    let mut filters = Vec::new();
    let mut spec = Scan::default();
    if !args.all {
        filters.push("#et IN (:unknown, :invalid)".to_owned());
        spec.names
            .insert("#et".to_owned(), attr::EVENT_TYPE.to_owned());
        spec.values.extend([
            (":unknown".to_owned(), AttributeValue::S(UNKNOWN.to_owned())),
            (":invalid".to_owned(), AttributeValue::S(INVALID.to_owned())),
        ]);
    }
    if let Some(provider) = args.only.provider {
        filters.push("#p = :p".to_owned());
        spec.names
            .insert("#p".to_owned(), attr::PROVIDER.to_owned());
        spec.values
            .insert(":p".to_owned(), AttributeValue::S(provider.to_string()));
    }
    let mut received = |op: &str, placeholder: &str, when: &str| -> Result<(), Fail> {
        let at = parse_when(when, now)?;
        filters.push(format!("#ra {op} {placeholder}"));
        spec.names
            .insert("#ra".to_owned(), attr::RECEIVED_AT.to_owned());
        spec.values
            .insert(placeholder.to_owned(), AttributeValue::S(at));
        Ok(())
    };
    if let Some(since) = &args.since {
        received(">=", ":since", since)?;
    }
    if let Some(until) = &args.until {
        received("<", ":until", until)?;
    }
    spec.filter = (!filters.is_empty()).then(|| filters.join(" AND "));
    Ok(spec)
}

/// What one item's plan came to: the change to list, and its counts.
struct Applied {
    change: Option<Change>,
    tally: Summary,
}

/// [`apply`], with a failure listed as the item's change (action `fail`)
/// instead of ending the run.
async fn apply_or_fail(
    ctx: &Ctx,
    table: &DynamoTable,
    item: &Item,
    dry_run: bool,
    options: Options,
) -> Applied {
    match apply(ctx, table, item, dry_run, options).await {
        Ok(applied) => applied,
        Err(e) => {
            let view = StoredEvent::try_from(item).unwrap_or_default();
            let from = view.event_type.unwrap_or_default();
            Applied {
                change: Some(Change {
                    event_id: view.event_id,
                    provider: view.provider.unwrap_or_default(),
                    action: "fail",
                    to: from.clone(),
                    from,
                    detail: e.to_string(),
                    events: Vec::new(),
                }),
                tally: Summary {
                    failed: 1,
                    ..Summary::default()
                },
            }
        }
    }
}

async fn apply(
    ctx: &Ctx,
    table: &DynamoTable,
    item: &Item,
    dry_run: bool,
    options: Options,
) -> Result<Applied, Fail> {
    let view = StoredEvent::try_from(item).map_err(|e| Fail::new(e.to_string()))?;
    let id = view.event_id.clone();
    let from = view.event_type.clone().unwrap_or_default();
    // The writer read with the item: a write applies only while it is the
    // same (no newer normalizer rewrote the item meanwhile).
    let seen = view.normalizer.as_deref();
    let change = |action, to: String, detail: String| Change {
        event_id: id.clone(),
        provider: view.provider.clone().unwrap_or_default(),
        action,
        from: from.clone(),
        to,
        detail,
        events: Vec::new(),
    };
    let mut tally = Summary::default();
    let change = match plan(item, options) {
        Plan::Unchanged => {
            tally.unchanged += 1;
            None
        }
        Plan::Skip(reason) => {
            tally.skipped += 1;
            Some(change("skip", from.clone(), reason))
        }
        Plan::Rewrite {
            item: new,
            from: old_type,
            to,
            changes,
        } => {
            if !dry_run && !rewrite(ctx, new, seen).await? {
                tally.skipped += 1;
                Some(change(
                    "skip",
                    from.clone(),
                    "the item is gone, or was rewritten meanwhile".to_owned(),
                ))
            } else if old_type == to {
                tally.updated += 1;
                Some(change("update", to, changes.join(" ")))
            } else {
                tally.retyped += 1;
                Some(change("retype", to, changes.join(" ")))
            }
        }
        Plan::Split { items } => {
            let views: Vec<StoredEvent> = items
                .iter()
                .filter_map(|i| StoredEvent::try_from(i).ok())
                .collect();
            let ids: Vec<String> = views.iter().map(|v| v.event_id.clone()).collect();
            let mut types: Vec<&str> = views
                .iter()
                .filter_map(|v| v.event_type.as_deref())
                .collect();
            types.sort_unstable();
            types.dedup();
            let n = ids.len();
            let events = count(n as u64, "event", "events");
            let to = format!("{events}: {}", types.join(", "));
            tally.split += 1;
            tally.split_events += n as u64;
            let detail = if dry_run {
                format!("would store {events}, then remove the quarantine item")
            } else {
                let deadline = tokio::time::Instant::now() + STORE_DEADLINE;
                let Stored {
                    written,
                    duplicates,
                    refused,
                } = store_all(table, items, deadline).await.map_err(|e| {
                    Fail::new(format!(
                        "storing the events of quarantined {id} failed (the quarantine item stays): {e}"
                    ))
                })?;
                if let Some((_, reason)) = refused.first() {
                    return Err(Fail::new(format!(
                        "DynamoDB refused {} event(s) of quarantined {id} (the quarantine item stays): {reason}",
                        refused.len()
                    )));
                }
                let stored = written.len();
                tally.events_stored += stored as u64;
                tally.events_already_stored += duplicates as u64;
                let removed = remove_quarantined(ctx, &id, seen).await?;
                format!(
                    "{events}: {stored} stored, {duplicates} already there; quarantine item {}",
                    if removed {
                        "removed"
                    } else {
                        "already gone, or rewritten meanwhile"
                    }
                )
            };
            let mut c = change("split", to, detail);
            c.events = ids;
            Some(c)
        }
    };
    Ok(Applied { change, tally })
}

/// The condition that the item's `normalizer` is still `seen` (absent when
/// `None`), with its placeholders.
fn same_normalizer(seen: Option<&str>) -> (&'static str, Option<AttributeValue>) {
    match seen {
        Some(version) => ("#nz = :seen", Some(AttributeValue::S(version.to_owned()))),
        None => ("attribute_not_exists(#nz)", None),
    }
}

/// Overwrites an item in place, only if it is still there (never brings
/// back one that TTL or an operator removed) and no other normalizer wrote
/// it since it was read. False when it was gone or rewritten.
async fn rewrite(ctx: &Ctx, item: Item, seen: Option<&str>) -> Result<bool, Fail> {
    let (unchanged, value) = same_normalizer(seen);
    let result = ctx
        .client()
        .put_item()
        .table_name(ctx.table())
        .set_item(Some(item))
        .condition_expression(format!("attribute_exists(#id) AND {unchanged}"))
        .expression_attribute_names("#id", attr::EVENT_ID)
        .expression_attribute_names("#nz", attr::NORMALIZER)
        .set_expression_attribute_values(value.map(|v| [(":seen".to_owned(), v)].into()))
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
            Ok(false)
        }
        Err(e) => Err(ctx.fail(CallError::from_sdk(
            "writing the re-normalized item failed",
            e,
        ))),
    }
}

/// Deletes a quarantine item whose events are stored, only while it is
/// still `invalid` and no other normalizer wrote it since it was read.
/// False when it was already gone or rewritten.
async fn remove_quarantined(ctx: &Ctx, id: &str, seen: Option<&str>) -> Result<bool, Fail> {
    let (unchanged, value) = same_normalizer(seen);
    let mut request = ctx
        .client()
        .delete_item()
        .table_name(ctx.table())
        .key(attr::EVENT_ID, AttributeValue::S(id.to_owned()))
        .condition_expression(format!("#et = :invalid AND {unchanged}"))
        .expression_attribute_names("#et", attr::EVENT_TYPE)
        .expression_attribute_names("#nz", attr::NORMALIZER)
        .expression_attribute_values(":invalid", AttributeValue::S(INVALID.to_owned()));
    if let Some(value) = value {
        request = request.expression_attribute_values(":seen", value);
    }
    let result = request.send().await;
    match result {
        Ok(_) => Ok(true),
        Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
            Ok(false)
        }
        Err(e) => Err(ctx.fail(CallError::from_sdk(
            "removing the quarantine item failed",
            e,
        ))),
    }
}

fn human(report: &Report) -> String {
    let s = &report.summary;
    let mut text = String::new();
    if !report.changes.is_empty() {
        let mut table = Table::new()
            .left("ACTION")
            .left("PROVIDER")
            .left("FROM")
            .left("TO")
            .max(40)
            .left("DETAIL")
            .max(70)
            .left("EVENT_ID");
        // Failures first, so a long list never hides one.
        let failed = report.changes.iter().filter(|c| c.action == "fail");
        let others = report.changes.iter().filter(|c| c.action != "fail");
        for c in failed.chain(others).take(LISTED) {
            table.row([
                c.action.to_owned(),
                c.provider.clone(),
                c.from.clone(),
                c.to.clone(),
                c.detail.clone(),
                c.event_id.clone(),
            ]);
        }
        text.push_str(&table.render());
        if report.changes.len() > LISTED {
            text.push_str(&format!(
                "… and {} more (--json lists them all)\n",
                thousands((report.changes.len() - LISTED) as u64)
            ));
        }
        text.push('\n');
    }
    let verb = if report.dry_run { "would be " } else { "" };
    text.push_str(&format!(
        "{}scanned {}, {}: {} {verb}retyped, {} {verb}updated, {} {verb}split into {}",
        if report.dry_run {
            "Dry run (nothing written): "
        } else {
            ""
        },
        count(s.scanned, "item", "items"),
        count(s.candidates, "candidate", "candidates"),
        thousands(s.retyped),
        thousands(s.updated),
        count(s.split, "quarantined body", "quarantined bodies"),
        count(s.split_events, "event", "events"),
    ));
    if !report.dry_run && s.split > 0 {
        text.push_str(&format!(
            " ({} new, {} already stored)",
            thousands(s.events_stored),
            thousands(s.events_already_stored)
        ));
    }
    text.push_str(&format!(
        ", {} unchanged, {} skipped",
        thousands(s.unchanged),
        thousands(s.skipped)
    ));
    if s.failed > 0 {
        text.push_str(&format!(", {} failed", thousands(s.failed)));
    }
    text.push('\n');
    if report.dry_run && (s.retyped + s.updated + s.split) > 0 {
        text.push_str("Run again without --dry-run to apply.\n");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn args(extra: &[&str]) -> Args {
        use clap::Parser;
        #[derive(Parser)]
        struct Wrap {
            #[command(flatten)]
            args: Args,
        }
        let mut argv = vec!["reprocess"];
        argv.extend(extra);
        Wrap::parse_from(argv).args
    }

    #[test]
    fn by_default_only_unknown_and_invalid_items_are_read() {
        let spec = scan_spec(&args(&[]), datetime!(2024-05-01 0:00 UTC)).unwrap();
        assert_eq!(spec.filter.as_deref(), Some("#et IN (:unknown, :invalid)"));
        let spec = scan_spec(&args(&["--all"]), datetime!(2024-05-01 0:00 UTC)).unwrap();
        assert_eq!(spec.filter, None);
        assert!(spec.names.is_empty() && spec.values.is_empty());
    }

    #[test]
    fn provider_and_receive_window_narrow_the_scan() {
        let spec = scan_spec(
            &args(&[
                "--provider",
                "egoi",
                "--since",
                "2024-04-01",
                "--until",
                "1d",
                "--all",
            ]),
            datetime!(2024-05-01 10:00 UTC),
        )
        .unwrap();
        assert_eq!(
            spec.filter.as_deref(),
            Some("#p = :p AND #ra >= :since AND #ra < :until")
        );
        assert_eq!(
            spec.values[":since"],
            AttributeValue::S("2024-04-01T00:00:00.000Z".into())
        );
        assert_eq!(
            spec.values[":until"],
            AttributeValue::S("2024-04-30T00:00:00.000Z".into())
        );
        assert!(scan_spec(
            &args(&["--since", "last week"]),
            datetime!(2024-05-01 0:00 UTC)
        )
        .is_err());
    }

    #[test]
    fn progress_shows_a_bar_when_the_table_size_is_known() {
        let s = Summary {
            scanned: 2500,
            candidates: 40,
            retyped: 3,
            ..Summary::default()
        };
        assert_eq!(
            progress_line(&s, Some(10_000)),
            "reprocess: scanned 2,500 of ~10,000 items [█████               ]  25%, 40 candidates, 3 changed, 0 skipped"
        );
        assert_eq!(
            progress_line(&s, None),
            "reprocess: scanned 2,500 items, 40 candidates, 3 changed, 0 skipped"
        );
    }

    #[test]
    fn the_summary_says_what_a_dry_run_would_do() {
        let report = Report {
            dry_run: true,
            summary: Summary {
                scanned: 1200,
                candidates: 3,
                retyped: 1,
                split: 1,
                split_events: 2,
                unchanged: 1,
                ..Summary::default()
            },
            changes: Vec::new(),
        };
        assert_eq!(
            human(&report),
            "Dry run (nothing written): scanned 1,200 items, 3 candidates: 1 would be retyped, 0 would be updated, 1 quarantined body would be split into 2 events, 1 unchanged, 0 skipped\n\
             Run again without --dry-run to apply.\n"
        );
    }

    #[test]
    fn all_is_confirmed_on_a_terminal_and_refused_without_one() {
        let scope = "every item of table \"t\" at http://127.0.0.1:8000";
        let mut prompt = Vec::new();
        let refused = confirm(false, &mut &b"y\n"[..], &mut prompt, scope).unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("no terminal to confirm on: add --yes"),
            "{refused}"
        );
        assert!(prompt.is_empty(), "nothing asked");
        for yes in ["y\n", "Y\n", " yes \n", "YES"] {
            let mut prompt = Vec::new();
            assert_eq!(
                confirm(true, &mut yes.as_bytes(), &mut prompt, scope),
                Ok(()),
                "{yes:?}"
            );
            let asked = String::from_utf8(prompt).unwrap();
            assert!(
                asked.starts_with("reprocess --all re-normalizes every item of table \"t\""),
                "{asked}"
            );
            assert!(asked.ends_with("Continue? [y/N] "), "{asked}");
        }
        for no in ["\n", "n\n", "no\n", "yep\n", ""] {
            let err = confirm(true, &mut no.as_bytes(), &mut Vec::new(), scope).unwrap_err();
            assert_eq!(
                err.to_string(),
                "not confirmed; nothing was written",
                "{no:?}"
            );
        }
    }

    #[test]
    fn failures_are_counted_and_listed_first() {
        let change = |action: &'static str, id: &str| Change {
            event_id: id.to_owned(),
            provider: "egoi".to_owned(),
            action,
            from: "unknown".to_owned(),
            to: "email.opened".to_owned(),
            detail: String::new(),
            events: Vec::new(),
        };
        let mut changes: Vec<Change> = (0..LISTED)
            .map(|i| change("retype", &format!("r{i}")))
            .collect();
        changes.push(change("fail", "broken"));
        let report = Report {
            dry_run: false,
            summary: Summary {
                scanned: 60,
                candidates: 51,
                retyped: 50,
                failed: 1,
                ..Summary::default()
            },
            changes,
        };
        let text = human(&report);
        let first_row = text.lines().nth(1).unwrap();
        assert!(
            first_row.starts_with("fail") && first_row.ends_with("broken"),
            "{first_row}"
        );
        assert!(text.contains("… and 1 more"), "{text}");
        assert!(
            text.ends_with(", 0 unchanged, 0 skipped, 1 failed\n"),
            "{text}"
        );
        assert!(progress_line(&report.summary, None).ends_with("0 skipped, 1 failed"));
    }
}
