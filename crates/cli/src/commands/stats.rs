//! `webhooks stats`: counts per provider and canonical type for one day.

use super::{out, print_json};
use crate::args::{Day, OnlyProvider, Output};
use crate::dates::day_string;
use crate::db::Ctx;
use crate::error::Fail;
use crate::render::{bar, thousands, Table};
use events_table::attr;
use events_table::read::Query;
use futures_util::future::try_join_all;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub day: Day,
    #[command(flatten)]
    pub only: OnlyProvider,
    #[command(flatten)]
    pub output: Output,
}

#[derive(Debug, Serialize)]
struct Report {
    day: String,
    total: u64,
    providers: BTreeMap<String, u64>,
    counts: Vec<Count>,
}

#[derive(Debug, Serialize)]
struct Count {
    provider: String,
    event_type: String,
    count: u64,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<(), Fail> {
    let day = day_string(args.day.date()?);
    let queries = args.only.providers().into_iter().map(|provider| {
        let q = Query::day(&normalize::keys::day_key(provider, &day))
            .project(&[attr::EVENT_ID, attr::EVENT_TYPE]);
        async move {
            let items = ctx.query(&q).await?;
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            for event in &items {
                let event_type = event.event_type.as_deref().unwrap_or("?");
                *counts.entry(event_type.to_owned()).or_default() += 1;
            }
            Ok::<_, Fail>((provider, counts))
        }
    });
    let per_provider = try_join_all(queries).await?;
    let report = report(day, per_provider);
    if args.output.json {
        print_json(&report)
    } else {
        out(&human(&report))
    }
}

fn report(day: String, per_provider: Vec<(normalize::Provider, BTreeMap<String, u64>)>) -> Report {
    let mut counts = Vec::new();
    let mut providers = BTreeMap::new();
    for (provider, types) in per_provider {
        let total: u64 = types.values().sum();
        if total == 0 {
            continue;
        }
        providers.insert(provider.to_string(), total);
        let mut rows: Vec<Count> = types
            .into_iter()
            .map(|(event_type, count)| Count {
                provider: provider.to_string(),
                event_type,
                count,
            })
            .collect();
        rows.sort_by(|a, b| b.count.cmp(&a.count).then(a.event_type.cmp(&b.event_type)));
        counts.extend(rows);
    }
    counts.sort_by(|a, b| a.provider.cmp(&b.provider));
    Report {
        day,
        total: providers.values().sum(),
        providers,
        counts,
    }
}

fn human(report: &Report) -> String {
    if report.total == 0 {
        return format!("No events on {} (UTC).\n", report.day);
    }
    let by_provider: Vec<String> = report
        .providers
        .iter()
        .map(|(p, n)| format!("{p} {}", thousands(*n)))
        .collect();
    let mut text = format!(
        "{} events on {} (UTC): {}\n\n",
        thousands(report.total),
        report.day,
        by_provider.join(", ")
    );
    let max = report.counts.iter().map(|c| c.count).max().unwrap_or(0);
    let mut table = Table::new()
        .left("PROVIDER")
        .left("TYPE")
        .right("COUNT")
        .left("");
    let mut last = "";
    for c in &report.counts {
        let provider = if c.provider == last { "" } else { &c.provider };
        last = &c.provider;
        table.row([
            provider.to_owned(),
            c.event_type.clone(),
            thousands(c.count),
            bar(c.count, max, 30),
        ]);
    }
    text.push_str(&table.render());
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use normalize::Provider;

    #[test]
    fn counts_group_by_provider_largest_first() {
        let report = report(
            "2024-05-01".into(),
            vec![
                (
                    Provider::Flashy,
                    BTreeMap::from([("email.opened".into(), 1), ("unknown".into(), 4)]),
                ),
                (Provider::Egoi, BTreeMap::new()),
                (Provider::Enkod, BTreeMap::from([("email.sent".into(), 8)])),
            ],
        );
        assert_eq!(report.total, 13);
        assert_eq!(
            human(&report),
            "13 events on 2024-05-01 (UTC): enkod 8, flashy 5\n\n\
             PROVIDER  TYPE          COUNT\n\
             enkod     email.sent        8  ██████████████████████████████\n\
             flashy    unknown           4  ███████████████\n\
             \x20         email.opened      1  ███▊\n"
        );
    }

    #[test]
    fn an_empty_day_says_so() {
        let report = report("2024-05-01".into(), vec![]);
        assert_eq!(human(&report), "No events on 2024-05-01 (UTC).\n");
    }
}
