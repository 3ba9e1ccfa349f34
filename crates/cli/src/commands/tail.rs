//! `webhooks tail`: the newest events, from the by_day index, merged across
//! providers, newest first; `--follow` prints them oldest first instead and
//! keeps polling, printing new ones below as they arrive.
//!
//! The index sorts on occurred_at (the provider's time), so "new" means a
//! new item whose occurred_at is within `--window` of now; a delivery that
//! arrives later than that is in the table (see `stats`, `contact`) but is
//! not printed by `--follow`.

use super::{event_row, event_table, newest_first, out};
use crate::args::{Day, OnlyProvider, Output};
use crate::dates::{day_string, parse_duration};
use crate::db::{event_json, Ctx};
use crate::error::Fail;
use events_table::read::Query;
use events_table::StoredEvent;
use futures_util::future::try_join_all;
use normalize::{Provider, Timestamp};
use std::collections::HashMap;
use std::time::Duration;
use time::{Date, OffsetDateTime};

#[derive(Debug, clap::Args)]
#[command(
    mut_arg("day", |day| day.help("Start from this day instead of today (YYYY-MM-DD, yesterday, Nd)")),
    mut_arg("json", |json| json.help("Print JSON (one array; JSON Lines with --follow)")),
)]
pub struct Args {
    #[command(flatten)]
    pub only: OnlyProvider,
    /// Only this canonical type (e.g. email.opened, unknown, invalid).
    #[arg(long = "type", value_name = "TYPE")]
    pub event_type: Option<String>,
    /// How many events to show.
    #[arg(long, short = 'n', default_value_t = 20, value_name = "N")]
    pub limit: usize,
    #[command(flatten)]
    pub day: Day,
    /// How many days back to look for events.
    #[arg(long, default_value_t = 7, value_name = "N")]
    pub days: u32,
    /// Keep polling and print new events below as they arrive (Ctrl-C
    /// stops); the first ones are then listed oldest first. Shows events
    /// whose occurred_at is at most --window old when they arrive.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Seconds between polls with --follow.
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    pub interval: f64,
    /// With --follow: how far back in occurred_at a newly stored event may be
    /// and still be shown (providers send late; e.g. 15m, 2h).
    #[arg(long, default_value = "15m", value_name = "DURATION")]
    pub window: String,
    #[command(flatten)]
    pub output: Output,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<(), Fail> {
    let start = args.day.date()?;
    let window = parse_duration(&args.window)?;
    if !(args.interval.is_finite() && args.interval > 0.0) {
        return Err(Fail::new("--interval must be a positive number of seconds"));
    }
    let providers = args.only.providers();
    let types: Vec<&str> = args.event_type.as_deref().into_iter().collect();
    if let Some(t) = types.iter().find(|t| !is_type(t)) {
        return Err(Fail::new(format!(
            "unknown event type {t:?}: use a canonical type (email.opened, contact.subscribed, ...; docs/mapping.md lists them), unknown or invalid"
        )));
    }

    let mut latest: Vec<StoredEvent> = Vec::new();
    let mut day = start;
    for _ in 0..args.days.max(1) {
        if latest.len() >= args.limit {
            break;
        }
        let want = args.limit - latest.len();
        let mut found = newest_of_day(ctx, &providers, &types, day, want).await?;
        found.truncate(want);
        latest.extend(found);
        match day.previous_day() {
            Some(previous) => day = previous,
            None => break,
        }
    }

    if args.follow {
        // A stream reads top to bottom: oldest first, new ones below.
        latest.reverse();
    }
    let json = args.output.json;
    if json && args.follow {
        // JSON Lines, one event per line as it arrives.
        for item in &latest {
            out(&format!("{}\n", event_json(item)))?;
        }
    } else if json {
        let items: Vec<_> = latest.iter().map(event_json).collect();
        super::print_json(&items)?;
    } else if latest.is_empty() && !args.follow {
        out(&format!(
            "No events from {} back to {} (UTC).\n",
            day_string(start),
            day_string(day.next_day().unwrap_or(day))
        ))?;
    } else {
        let mut table = event_table(args.follow);
        for item in &latest {
            event_row(&mut table, item);
        }
        out(&table.render())?;
    }

    if args.follow {
        follow(
            ctx,
            &providers,
            &types,
            window,
            args.interval,
            json,
            &latest,
        )
        .await?;
    }
    Ok(())
}

fn is_type(name: &str) -> bool {
    name == normalize::INVALID || normalize::CANONICAL_TYPES.contains(&name)
}

/// The `want` newest events of one UTC day across providers.
async fn newest_of_day(
    ctx: &Ctx,
    providers: &[Provider],
    types: &[&str],
    day: Date,
    want: usize,
) -> Result<Vec<StoredEvent>, Fail> {
    let day = day_string(day);
    let queries = providers.iter().map(|provider| {
        let mut q = Query::day(&normalize::keys::day_key(*provider, &day)).types(types);
        q.newest_first = true;
        q.want = Some(want);
        async move { ctx.query(&q).await }
    });
    let mut items: Vec<StoredEvent> = try_join_all(queries).await?.into_iter().flatten().collect();
    newest_first(&mut items);
    Ok(items)
}

async fn follow(
    ctx: &Ctx,
    providers: &[Provider],
    types: &[&str],
    window: time::Duration,
    interval: f64,
    json: bool,
    shown: &[StoredEvent],
) -> Result<(), Fail> {
    // event_id -> occurred_at of everything already seen (or deliberately
    // not shown: what was in the window when following began).
    let mut seen: HashMap<String, String> = HashMap::new();
    let remember = |seen: &mut HashMap<String, String>, event: &StoredEvent| {
        if let Some(at) = &event.occurred_at {
            seen.insert(event.event_id.clone(), at.clone());
        }
    };
    for item in shown {
        remember(&mut seen, item);
    }
    for item in recent(ctx, providers, types, window).await?.1 {
        remember(&mut seen, &item);
    }
    eprintln!("following: new events every {interval}s (Ctrl-C stops)");
    let mut header = shown.is_empty() && !json;
    loop {
        tokio::time::sleep(Duration::from_secs_f64(interval)).await;
        let (since, mut items) = recent(ctx, providers, types, window).await?;
        seen.retain(|_, at| at.as_str() >= since.as_str());
        items.retain(|event| !seen.contains_key(&event.event_id));
        if items.is_empty() {
            continue;
        }
        // Oldest first within a poll: the stream reads top to bottom.
        newest_first(&mut items);
        items.reverse();
        let mut text = String::new();
        let mut table = event_table(true);
        for item in &items {
            remember(&mut seen, item);
            if json {
                text.push_str(&format!("{}\n", event_json(item)));
            } else {
                event_row(&mut table, item);
            }
        }
        if !json {
            text = if header {
                header = false;
                table.render()
            } else {
                table.render_rows()
            };
        }
        out(&text)?;
    }
}

/// Everything with occurred_at in the last `window`, across the UTC days
/// that window touches; and the window's start.
async fn recent(
    ctx: &Ctx,
    providers: &[Provider],
    types: &[&str],
    window: time::Duration,
) -> Result<(String, Vec<StoredEvent>), Fail> {
    let now = OffsetDateTime::now_utc();
    let from = now - window;
    let since = Timestamp::from_unix_millis((from.unix_timestamp_nanos() / 1_000_000) as i64)
        .map(|t| t.to_string())
        .unwrap_or_default();
    let mut days = vec![from.date()];
    while let Some(next) = days.last().and_then(|d| d.next_day()) {
        if next > now.date() {
            break;
        }
        days.push(next);
    }
    let queries = days.iter().flat_map(|day| {
        let since = &since;
        providers.iter().map(move |provider| {
            let q = Query::day(&normalize::keys::day_key(*provider, &day_string(*day)))
                .types(types)
                .occurred_since(since);
            async move { ctx.query(&q).await }
        })
    });
    let items = try_join_all(queries).await?.into_iter().flatten().collect();
    Ok((since, items))
}
