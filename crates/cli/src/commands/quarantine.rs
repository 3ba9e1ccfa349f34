//! `webhooks quarantine`: what the normalizer could not understand
//! (`invalid`: the body is quarantined with the reason) or could not map
//! (`unknown`: stored, waiting for a mapping), grouped so the common
//! causes stand out.
//!
//! An invalid item quarantined only in part (a body too large even for a
//! quarantine item: `attributes.truncated`, with the whole body's size and
//! SHA-256, `raw` its first part) is marked truncated wherever it shows.
//!
//! With `--day`, one by_day partition per provider is queried (the index
//! has no `attributes`, so the reasons of invalid items are then read from
//! the table by id); without it, the table is scanned.

use super::{out, print_json, Progress};
use crate::args::{OnlyDay, OnlyProvider, Output};
use crate::dates::day_string;
use crate::db::{describe_truncated, typed, Ctx};
use crate::error::Fail;
use crate::render::{thousands, Table};
use aws_sdk_dynamodb::types::AttributeValue;
use events_table::attr;
use events_table::read::{Projection, Query, Scan};
use events_table::stored::Truncated;
use events_table::StoredEvent;
use futures_util::future::try_join_all;
use normalize::{INVALID, UNKNOWN};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Serialize)]
struct Report {
    day: Option<String>,
    invalid: u64,
    /// Of the invalid items, those quarantined only in part.
    truncated: u64,
    unknown: u64,
    groups: Vec<Group>,
    items: Vec<Entry>,
}

/// Items with the same type, provider and reason (invalid) or provider
/// event name (unknown).
#[derive(Debug, Serialize)]
struct Group {
    event_type: String,
    provider: String,
    /// The reason (invalid) or the provider's event name (unknown).
    detail: String,
    count: u64,
    /// Of them, quarantined only in part.
    #[serde(skip_serializing_if = "is_zero")]
    truncated: u64,
    last_seen: String,
    latest_event_id: String,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Serialize)]
struct Entry {
    event_id: String,
    provider: String,
    event_type: String,
    occurred_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider_event: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// Quarantined only in part: `raw` is the first part of the body.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    truncated: bool,
    /// The whole body's size and SHA-256 (hex), when truncated.
    #[serde(skip_serializing_if = "Option::is_none")]
    original_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
}

#[derive(Debug, clap::Args)]
#[command(
    mut_arg("day", |day| day.help("Only this day (the by_day index); without it the whole table is scanned")),
    mut_arg("json", |json| json.help("Print JSON (groups and items)")),
)]
pub struct Args {
    #[command(flatten)]
    pub day: OnlyDay,
    #[command(flatten)]
    pub only: OnlyProvider,
    /// Also list every item, newest first.
    #[arg(long)]
    pub items: bool,
    #[command(flatten)]
    pub output: Output,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<(), Fail> {
    let day = args.day.date()?.map(day_string);
    let items = match &day {
        Some(day) => for_day(ctx, &args, day).await?,
        None => scan(ctx, &args).await?,
    };
    let report = report(day, &items);
    if args.output.json {
        print_json(&report)
    } else {
        out(&human(&report, args.items))
    }
}

async fn for_day(ctx: &Ctx, args: &Args, day: &str) -> Result<Vec<StoredEvent>, Fail> {
    let queries = args.only.providers().into_iter().map(|provider| {
        let q = Query::day(&normalize::keys::day_key(provider, day)).types(&[INVALID, UNKNOWN]);
        async move { ctx.query(&q).await }
    });
    let mut events: Vec<StoredEvent> = try_join_all(queries).await?.into_iter().flatten().collect();
    // The reasons live in `attributes`, which the index does not carry.
    let invalid: Vec<String> = events
        .iter()
        .filter(|e| e.event_type.as_deref() == Some(INVALID))
        .map(|e| e.event_id.clone())
        .collect();
    if !invalid.is_empty() {
        let projection = Projection::of(&[attr::EVENT_ID, attr::ATTRIBUTES]);
        let found = ctx.get_many(&invalid, Some(&projection)).await?;
        for event in &mut events {
            if let Some(full) = found.get(&event.event_id) {
                event.attributes = typed(full)?.attributes;
            }
        }
    }
    Ok(events)
}

async fn scan(ctx: &Ctx, args: &Args) -> Result<Vec<StoredEvent>, Fail> {
    let mut spec = Scan {
        filter: Some("#et IN (:invalid, :unknown)".to_owned()),
        names: HashMap::from([("#et".to_owned(), attr::EVENT_TYPE.to_owned())]),
        values: HashMap::from([
            (":invalid".to_owned(), AttributeValue::S(INVALID.to_owned())),
            (":unknown".to_owned(), AttributeValue::S(UNKNOWN.to_owned())),
        ]),
        ..Scan::default()
    }
    .project(&[
        attr::EVENT_ID,
        attr::PROVIDER,
        attr::EVENT_TYPE,
        attr::PROVIDER_EVENT,
        attr::OCCURRED_AT,
        attr::ATTRIBUTES,
    ]);
    if let Some(provider) = args.only.provider {
        spec.and("#p = :p");
        spec.names
            .insert("#p".to_owned(), attr::PROVIDER.to_owned());
        spec.values
            .insert(":p".to_owned(), AttributeValue::S(provider.to_string()));
    }
    let mut progress = Progress::new();
    let mut events = Vec::new();
    let mut scanned = 0u64;
    let mut start = None;
    loop {
        let page = ctx.scan_page(&spec, start).await?;
        scanned += page.scanned;
        for item in &page.items {
            events.push(typed(item)?);
        }
        progress.show(&format!(
            "quarantine: scanned {} items, {} in quarantine",
            thousands(scanned),
            thousands(events.len() as u64)
        ));
        match page.next {
            Some(next) => start = Some(next),
            None => break,
        }
    }
    Ok(events)
}

fn report(day: Option<String>, items: &[StoredEvent]) -> Report {
    let get = |value: &Option<String>| value.clone().unwrap_or_default();
    let mut groups: BTreeMap<(String, String, String), Group> = BTreeMap::new();
    let mut entries = Vec::new();
    let (mut invalid, mut unknown, mut truncated_items) = (0, 0, 0);
    for item in items {
        let event_type = get(&item.event_type);
        let detail = if event_type == INVALID {
            invalid += 1;
            item.reason().unwrap_or("(no reason stored)").to_owned()
        } else {
            unknown += 1;
            item.provider_event
                .as_deref()
                .unwrap_or("(no event name)")
                .to_owned()
        };
        let (id, provider, at) = (
            item.event_id.clone(),
            get(&item.provider),
            get(&item.occurred_at),
        );
        let part = (event_type == INVALID).then(|| item.truncated()).flatten();
        truncated_items += u64::from(part.is_some());
        let group = groups
            .entry((event_type.clone(), provider.clone(), detail.clone()))
            .or_insert_with(|| Group {
                event_type: event_type.clone(),
                provider: provider.clone(),
                detail: detail.clone(),
                count: 0,
                truncated: 0,
                last_seen: String::new(),
                latest_event_id: String::new(),
            });
        group.count += 1;
        group.truncated += u64::from(part.is_some());
        if (at.as_str(), id.as_str()) > (group.last_seen.as_str(), group.latest_event_id.as_str()) {
            group.last_seen = at.clone();
            group.latest_event_id = id.clone();
        }
        entries.push(Entry {
            event_id: id,
            provider,
            occurred_at: at,
            provider_event: item.provider_event.clone(),
            reason: (event_type == INVALID).then(|| detail.clone()),
            event_type,
            truncated: part.is_some(),
            original_bytes: part.as_ref().and_then(|p| p.original_bytes),
            sha256: part.and_then(|p| p.sha256),
        });
    }
    let mut groups: Vec<Group> = groups.into_values().collect();
    groups.sort_by(|a, b| {
        (
            &a.event_type,
            std::cmp::Reverse(a.count),
            &a.provider,
            &a.detail,
        )
            .cmp(&(
                &b.event_type,
                std::cmp::Reverse(b.count),
                &b.provider,
                &b.detail,
            ))
    });
    entries.sort_by(|a, b| (&b.occurred_at, &b.event_id).cmp(&(&a.occurred_at, &a.event_id)));
    Report {
        day,
        invalid,
        truncated: truncated_items,
        unknown,
        groups,
        items: entries,
    }
}

fn human(report: &Report, list_items: bool) -> String {
    let scope = match &report.day {
        Some(day) => format!("on {day} (UTC)"),
        None => "in the table".to_owned(),
    };
    if report.invalid + report.unknown == 0 {
        return format!("Nothing in quarantine {scope}.\n");
    }
    let in_part = if report.truncated > 0 {
        format!(
            "; {} quarantined only in part, truncated",
            thousands(report.truncated)
        )
    } else {
        String::new()
    };
    let mut text = format!(
        "Quarantine {scope}: {} invalid (quarantined with the reason{in_part}), {} unknown (no mapping yet)\n",
        thousands(report.invalid),
        thousands(report.unknown)
    );
    for (event_type, heading) in [(INVALID, "REASON"), (UNKNOWN, "PROVIDER_EVENT")] {
        let mut table = Table::new()
            .right(&event_type.to_uppercase())
            .left("PROVIDER")
            .left(heading)
            .max(90)
            .left("LAST_SEEN")
            .left("LATEST_EVENT_ID");
        for g in report.groups.iter().filter(|g| g.event_type == event_type) {
            let detail = if g.truncated > 0 {
                format!("{} [{} truncated]", g.detail, thousands(g.truncated))
            } else {
                g.detail.clone()
            };
            table.row([
                thousands(g.count),
                g.provider.clone(),
                detail,
                g.last_seen.clone(),
                g.latest_event_id.clone(),
            ]);
        }
        if !table.is_empty() {
            text.push('\n');
            text.push_str(&table.render());
        }
    }
    if list_items {
        let mut table = Table::new()
            .left("OCCURRED_AT")
            .left("PROVIDER")
            .left("TYPE")
            .left("REASON_OR_EVENT")
            .max(90)
            .left("EVENT_ID");
        for e in &report.items {
            table.row([
                e.occurred_at.clone(),
                e.provider.clone(),
                e.event_type.clone(),
                match (&e.reason, e.truncated) {
                    (Some(reason), true) => format!(
                        "[truncated: {}] {reason}",
                        describe_truncated(&Truncated {
                            original_bytes: e.original_bytes,
                            sha256: e.sha256.clone(),
                        })
                    ),
                    (Some(reason), false) => reason.clone(),
                    (None, _) => e.provider_event.clone().unwrap_or_default(),
                },
                e.event_id.clone(),
            ]);
        }
        text.push('\n');
        text.push_str(&table.render());
    }
    if report.truncated > 0 {
        text.push_str(
            "\nA truncated item keeps only the first part of the body (raw), the whole body's size and SHA-256; reprocess cannot re-normalize it.",
        );
    }
    text.push_str(
        "\nInspect one: webhooks show <event_id>. After a normalizer upgrade: webhooks reprocess --dry-run\n",
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;
    use events_table::item::to_item;
    use normalize::{normalize, quarantine, Provider, Timestamp};

    #[test]
    fn groups_by_reason_and_by_provider_event() {
        let at = |t| Timestamp::parse(t).unwrap();
        let mut items = Vec::new();
        for (body, when) in [("{", "2024-05-01T10:00:00Z"), ("{", "2024-05-01T11:00:00Z")] {
            let reason = normalize(Provider::Egoi, body.as_bytes(), at(when))
                .unwrap_err()
                .to_string();
            let mut kept = quarantine(Provider::Egoi, body.as_bytes(), &reason, at(when));
            kept.event_id.push_str(when); // two deliveries
            items.push(to_item(&kept, None));
        }
        let unknown = r#"[{"event":"brand_new_thing","created_at":1714568400}]"#;
        let event = normalize(
            Provider::Flashy,
            unknown.as_bytes(),
            at("2024-05-01T12:00:00Z"),
        )
        .unwrap()
        .remove(0);
        items.push(to_item(&event, None));

        let items: Vec<StoredEvent> = items.iter().map(|i| typed(i).unwrap()).collect();
        let report = report(Some("2024-05-01".into()), &items);
        assert_eq!((report.invalid, report.unknown), (2, 1));
        assert_eq!(report.groups.len(), 2);
        let g = &report.groups[0];
        assert_eq!((g.event_type.as_str(), g.count), ("invalid", 2));
        assert!(g.detail.starts_with("body is not valid JSON"));
        assert_eq!(g.last_seen, "2024-05-01T11:00:00.000Z");
        assert_eq!(report.groups[1].detail, "brand_new_thing");
        assert_eq!(report.items[0].event_type, "unknown", "newest first");

        let text = human(&report, false);
        assert!(text.starts_with("Quarantine on 2024-05-01 (UTC): 2 invalid"));
        assert!(text.contains("\nINVALID  PROVIDER  REASON"));
        assert!(text.contains("\nUNKNOWN  PROVIDER  PROVIDER_EVENT"));
    }

    #[test]
    fn an_item_kept_only_in_part_is_marked_truncated() {
        let at = Timestamp::parse("2024-05-01T10:00:00Z").unwrap();
        let body = br#"[{"event":"purchase","note":"#;
        let mut item = to_item(
            &quarantine(Provider::Flashy, body, "member 3 too large to keep", at),
            None,
        );
        let Some(AttributeValue::M(attributes)) = item.get_mut("attributes") else {
            panic!("attributes");
        };
        attributes.insert("truncated".into(), AttributeValue::Bool(true));
        attributes.insert("original_bytes".into(), AttributeValue::N("5242880".into()));
        attributes.insert("sha256".into(), AttributeValue::S("0f".repeat(32)));
        let whole = to_item(
            &quarantine(Provider::Flashy, b"{", "member 3 too large to keep", at),
            None,
        );

        let report = report(None, &[typed(&item).unwrap(), typed(&whole).unwrap()]);
        assert_eq!((report.invalid, report.truncated), (2, 1));
        assert_eq!(report.groups[0].truncated, 1);
        let json = serde_json::to_value(&report).unwrap();
        let marked: Vec<&serde_json::Value> = json["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["truncated"] == serde_json::json!(true))
            .collect();
        assert_eq!(marked.len(), 1);
        assert_eq!(marked[0]["original_bytes"], serde_json::json!(5242880));
        assert_eq!(marked[0]["sha256"], serde_json::json!("0f".repeat(32)));

        let text = human(&report, true);
        assert!(text.starts_with("Quarantine in the table: 2 invalid (quarantined with the reason; 1 quarantined only in part, truncated)"), "{text}");
        assert!(
            text.contains("member 3 too large to keep [1 truncated]"),
            "{text}"
        );
        assert!(
            text.contains("[truncated: 5,242,880 bytes in full, sha256 0f0f"),
            "{text}"
        );
        assert!(text.contains("reprocess cannot re-normalize it"), "{text}");
    }
}
