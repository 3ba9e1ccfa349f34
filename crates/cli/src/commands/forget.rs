//! `webhooks forget`: erase a person (docs/consent.md, "Erasure"): their
//! stored events deleted, their consent records kept under a keyed hash of
//! each address, and a record of the erasure that names no address.

use super::consent::{subject_of, table_fail, ConsentTableArg};
use super::{out, print_json};
use crate::db::Ctx;
use crate::error::Fail;
use crate::render::Table;
use consent_fn::erasure::{self, HashKey};
use serde_json::json;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// An e-mail address, a phone number, provider:contact_id, or a subject
    /// (email#..., phone#..., contact#<provider>#<id>). Every subject linked
    /// to it is forgotten too.
    #[arg(value_name = "SUBJECT")]
    pub subject: String,
    /// List what would be erased (events per subject) and erase nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The legal basis or the request this answers: kept in the erasure record.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// Who erases [default: $USER].
    #[arg(long, value_name = "WHO")]
    pub by: Option<String>,
    /// Print one JSON object: {"subjects": [...], "events", "erasure"}.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub table: ConsentTableArg,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<(), Fail> {
    let subject = subject_of(&args.subject)?;
    if args.reason.trim().is_empty() {
        return Err(Fail::new(
            "--reason must give the legal basis or the request",
        ));
    }
    // The reason is kept; the address must not be (the record names none).
    let address = subject.split_once('#').map_or("", |(_, a)| a);
    if args.reason.to_lowercase().contains(address) {
        return Err(Fail::new(
            "--reason must not name the address: it is kept in the erasure record",
        ));
    }
    let table = args.table.open(ctx).await?;
    let key: HashKey = table.hash_key.clone().ok_or_else(|| {
        Fail::new(format!(
            "no hash key: set {} to the stack's secret (<stack>/consent-hash-key), or {} to the key itself (`make dev`'s is {:?}, not a secret)",
            erasure::SECRET_VAR,
            erasure::KEY_VAR,
            erasure::DEV_KEY
        ))
    })?;
    let plan = erasure::plan(&table, &ctx.reader, &key, std::slice::from_ref(&subject))
        .await
        .map_err(|e| table_fail(ctx, e))?;
    let record = if args.dry_run {
        None
    } else {
        let by = args
            .by
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "operator".to_owned());
        let now = normalize::Timestamp::now().text();
        Some(
            erasure::forget(
                &table,
                &ctx.reader,
                &key,
                &plan,
                &by,
                args.reason.trim(),
                &now,
            )
            .await
            .map_err(|e| table_fail(ctx, e))?,
        )
    };
    if args.json {
        return print_json(&json!({
            "subjects": plan.subjects,
            "events": plan.events,
            "dry_run": args.dry_run,
            "erasure": record,
        }));
    }
    let mut rows = Table::new()
        .left("SUBJECT")
        .right("EVENTS")
        .right("CONSENT_ITEMS")
        .left("KEPT_AS");
    for s in &plan.subjects {
        rows.row([
            s.subject.clone(),
            s.events.to_string(),
            s.consent_items.to_string(),
            s.forgotten.clone(),
        ]);
    }
    let summary = match &record {
        None => format!(
            "dry run: would delete {} stored events of {} subjects; deleted nothing\n",
            plan.events,
            plan.subjects.len()
        ),
        Some(r) => format!(
            "forgotten: {} stored events deleted, {} consent items kept under keyed hashes, by {} at {}: {}\n",
            r.events_deleted, r.consent_items, r.by, r.erased_at, r.reason
        ),
    };
    out(&format!("{}\n{summary}", rows.render()))
}
