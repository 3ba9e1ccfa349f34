//! `webhooks delete`: removes the items one body makes (the ids the
//! functions give its members), e.g. the sample events `make smoke` posts.

use super::{out, print_json};
use crate::args::Output;
use crate::db::Ctx;
use crate::error::Fail;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use events_table::attr::EVENT_ID;
use events_table::intake::{BodyItems, Expiry, Intake};
use events_table::read::CallError;
use events_table::store::MAX_EVENTS;
use normalize::{Provider, Timestamp};
use serde_json::json;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(mut_arg("json", |json| json.help(
    r#"Print JSON: {"event_ids": [..], "deleted": [..]}"#
)))]
pub struct Args {
    /// The provider whose body it is.
    #[arg(value_name = "PROVIDER")]
    pub provider: Provider,
    /// The body (`-` reads standard input).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Only print the ids; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub output: Output,
}

/// The ids of the items `body` makes, in body order, without repeats: the
/// functions' own path from a body to its items (events-table's intake),
/// so each event's id, or the id of the `invalid` item that keeps a member
/// (or the whole body) that is not one. None depends on the receive time.
pub fn item_ids(provider: Provider, body: &[u8]) -> Vec<String> {
    let intake = Intake {
        provider,
        received_at: Timestamp::now(),
        expiry: Expiry::Never,
    };
    let ids: Vec<String> = match intake.body(body, MAX_EVENTS) {
        BodyItems::Members(members) => members.into_iter().map(|(entry, _)| entry.id).collect(),
        BodyItems::Refused { entry, .. } => vec![entry.id],
    };
    let mut seen = std::collections::HashSet::new();
    ids.into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect()
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<(), Fail> {
    let body = super::send::read_body(&args.file)?;
    let ids = item_ids(args.provider, &body);
    let mut deleted = Vec::new();
    if !args.dry_run {
        for id in &ids {
            let old = ctx
                .client()
                .delete_item()
                .table_name(ctx.table())
                .key(EVENT_ID, AttributeValue::S(id.clone()))
                .return_values(ReturnValue::AllOld)
                .send()
                .await
                .map_err(|e| ctx.fail(CallError::from_sdk("deleting an item failed", e)))?;
            if old.attributes.is_some() {
                deleted.push(id.clone());
            }
        }
    }
    if args.output.json {
        return print_json(&json!({"event_ids": ids, "deleted": deleted}));
    }
    let mut text = String::new();
    for id in &ids {
        let what = if args.dry_run {
            "would delete"
        } else if deleted.contains(id) {
            "deleted"
        } else {
            "not stored"
        };
        text.push_str(&format!("{what} {id}\n"));
    }
    out(&text)
}
