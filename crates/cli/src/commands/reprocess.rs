//! `webhooks reprocess`: re-run the current normalizer over stored raw
//! payloads and apply what changed (see `replan` for the rules).
//!
//! Reads the table page by page (Scan, eventually consistent, filtered to
//! `unknown` and `invalid` unless `--all`) and writes as it goes:
//! - a rewritten event: PutItem on its own key, only if it still exists;
//! - a quarantined body that now normalizes: its events through ingest's
//!   `store_all` (what is already stored is left alone), and only then the
//!   quarantine item is deleted, only if it is still `invalid`. Interrupted
//!   between the two, a second run finds the events stored and finishes.

use super::{out, print_json, Progress};
use crate::dates::parse_when;
use crate::db::{names, s, Ctx, Item, Scan};
use crate::error::Fail;
use crate::render::{bar, count, thousands, Table};
use crate::replan::{plan, Plan};
use crate::ReprocessArgs;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::stream::{self, StreamExt};
use ingest::store::{store_all, Stored};
use ingest::DynamoTable;
use normalize::{INVALID, UNKNOWN};
use serde::Serialize;
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
    }
}

#[derive(Debug, Serialize)]
struct Change {
    event_id: String,
    provider: String,
    /// retype, update, split or skip.
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

pub async fn run(ctx: &Ctx, args: ReprocessArgs) -> Result<(), Fail> {
    let spec = scan_spec(&args, OffsetDateTime::now_utc())?;
    let table = DynamoTable::new(ctx.client.clone(), &ctx.table);
    let total = approximate_size(ctx).await;
    let mut report = Report {
        dry_run: args.dry_run,
        summary: Summary::default(),
        changes: Vec::new(),
    };
    let mut progress = Progress::new();
    let mut start = None;
    loop {
        let page = ctx.scan_page(&spec, start).await?;
        report.summary.scanned += page.scanned;
        report.summary.candidates += page.items.len() as u64;
        // Items are independent; a few writes in flight at once, results
        // kept in scan order.
        let results: Vec<Result<Applied, Fail>> = stream::iter(&page.items)
            .map(|item| apply(ctx, &table, item, args.dry_run))
            .buffered(CONCURRENCY)
            .collect()
            .await;
        for result in results {
            let applied = result.map_err(|e| {
                let s = &report.summary;
                Fail::new(format!(
                    "reprocess stopped after {}; run it again (it is idempotent): {e}",
                    count(s.retyped + s.updated + s.split, "change", "changes")
                ))
            })?;
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
    if args.json {
        print_json(&report)
    } else {
        out(&human(&report))
    }
}

/// The table's item count as DynamoDB last computed it (every few hours),
/// for the progress bar; None when it cannot be read.
async fn approximate_size(ctx: &Ctx) -> Option<u64> {
    let output = ctx
        .client
        .describe_table()
        .table_name(&ctx.table)
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
    format!(
        "reprocess: scanned {scanned}, {} candidates, {} changed, {} skipped",
        thousands(s.candidates),
        thousands(s.retyped + s.updated + s.split),
        thousands(s.skipped)
    )
}

/// The scan: unknown and invalid items (or all), narrowed by provider and
/// receive time.
fn scan_spec(args: &ReprocessArgs, now: OffsetDateTime) -> Result<Scan, Fail> {
    let mut filters = Vec::new();
    let mut spec = Scan::default();
    if !args.all {
        filters.push("#et IN (:unknown, :invalid)".to_owned());
        spec.names.extend(names(&[("#et", "event_type")]));
        spec.values.extend([
            (":unknown".to_owned(), AttributeValue::S(UNKNOWN.to_owned())),
            (":invalid".to_owned(), AttributeValue::S(INVALID.to_owned())),
        ]);
    }
    if let Some(provider) = args.provider {
        filters.push("#p = :p".to_owned());
        spec.names.extend(names(&[("#p", "provider")]));
        spec.values
            .insert(":p".to_owned(), AttributeValue::S(provider.to_string()));
    }
    let mut received = |op: &str, placeholder: &str, when: &str| -> Result<(), Fail> {
        let at = parse_when(when, now)?;
        filters.push(format!("#ra {op} {placeholder}"));
        spec.names.extend(names(&[("#ra", "received_at")]));
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

async fn apply(
    ctx: &Ctx,
    table: &DynamoTable,
    item: &Item,
    dry_run: bool,
) -> Result<Applied, Fail> {
    let id = s(item, "event_id").unwrap_or_default().to_owned();
    let from = s(item, "event_type").unwrap_or_default().to_owned();
    let change = |action, to: String, detail: String| Change {
        event_id: id.clone(),
        provider: s(item, "provider").unwrap_or_default().to_owned(),
        action,
        from: from.clone(),
        to,
        detail,
        events: Vec::new(),
    };
    let mut tally = Summary::default();
    let change = match plan(item) {
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
            if !dry_run && !rewrite(ctx, new).await? {
                tally.skipped += 1;
                Some(change("skip", from.clone(), "the item is gone".to_owned()))
            } else if old_type == to {
                tally.updated += 1;
                Some(change("update", to, changes.join(" ")))
            } else {
                tally.retyped += 1;
                Some(change("retype", to, changes.join(" ")))
            }
        }
        Plan::Split { items } => {
            let ids: Vec<String> = items
                .iter()
                .map(|i| s(i, "event_id").unwrap_or_default().to_owned())
                .collect();
            let mut types: Vec<&str> = items.iter().filter_map(|i| s(i, "event_type")).collect();
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
                        "storing the events of quarantined {id} failed (it is kept): {e}"
                    ))
                })?;
                if let Some((_, reason)) = refused.first() {
                    return Err(Fail::new(format!(
                        "DynamoDB refused {} event(s) of quarantined {id} (it is kept): {reason}",
                        refused.len()
                    )));
                }
                let stored = written.len();
                tally.events_stored += stored as u64;
                tally.events_already_stored += duplicates as u64;
                let removed = remove_quarantined(ctx, &id).await?;
                format!(
                    "{events}: {stored} stored, {duplicates} already there; quarantine item {}",
                    if removed { "removed" } else { "already gone" }
                )
            };
            let mut c = change("split", to, detail);
            c.events = ids;
            Some(c)
        }
    };
    Ok(Applied { change, tally })
}

/// Overwrites an item in place, only if it is still there (never brings
/// back one that TTL or an operator removed). False when it was gone.
async fn rewrite(ctx: &Ctx, item: Item) -> Result<bool, Fail> {
    let result = ctx
        .client
        .put_item()
        .table_name(&ctx.table)
        .set_item(Some(item))
        .condition_expression("attribute_exists(event_id)")
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
            Ok(false)
        }
        Err(e) => Err(ctx.fail("writing the re-normalized item failed", e)),
    }
}

/// Deletes a quarantine item whose events are stored, only while it is
/// still `invalid`. False when it was already gone.
async fn remove_quarantined(ctx: &Ctx, id: &str) -> Result<bool, Fail> {
    let result = ctx
        .client
        .delete_item()
        .table_name(&ctx.table)
        .key("event_id", AttributeValue::S(id.to_owned()))
        .condition_expression("#et = :invalid")
        .expression_attribute_names("#et", "event_type")
        .expression_attribute_values(":invalid", AttributeValue::S(INVALID.to_owned()))
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
            Ok(false)
        }
        Err(e) => Err(ctx.fail("removing the quarantine item failed", e)),
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
        for c in report.changes.iter().take(LISTED) {
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
        ", {} unchanged, {} skipped\n",
        thousands(s.unchanged),
        thousands(s.skipped)
    ));
    if report.dry_run && (s.retyped + s.updated + s.split) > 0 {
        text.push_str("Run again without --dry-run to apply.\n");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn args(extra: &[&str]) -> ReprocessArgs {
        use clap::Parser;
        #[derive(Parser)]
        struct Wrap {
            #[command(flatten)]
            args: ReprocessArgs,
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
}
