//! `webhooks consent publish`: the `consent.changed` events the consent
//! function could not publish before Lambda gave up on their records
//! (docs/consent.md, "`consent.changed` on the bus"), published from the
//! marks they left on the consent table, oldest first, with the function's
//! own code ([`consent_fn::pending`]).

use super::consent::{table_fail, ConsentTableArg};
use super::out;
use crate::args::Global;
use crate::db::Ctx;
use crate::error::Fail;
use consent_fn::changes::Changes;
use consent_fn::pending::{self, Unpublished};
use consent_fn::ConsentTable;
use events_table::dynamo::{sdk_config, Patience, Settings};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The event bus, name or ARN (the stack's `EventBusArn` output).
    #[arg(long, env = "EVENT_BUS_NAME", value_name = "NAME")]
    pub bus: Option<String>,
    /// List what would be published; publish nothing, take no mark off.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub table: ConsentTableArg,
}

pub async fn run(ctx: &Ctx, global: &Global, args: Args) -> Result<(), Fail> {
    let bus = args.bus.filter(|b| !b.trim().is_empty());
    if bus.is_none() && !args.dry_run {
        return Err(Fail::new(
            "which bus? pass --bus or set EVENT_BUS_NAME (the stack's EventBusArn output)",
        ));
    }
    // Marks are found and taken off by key and digest: no hash key needed.
    let table = ConsentTable::new(ctx.client().clone(), &args.table.consent_table);
    let found = pending::find(&table)
        .await
        .map_err(|e| table_fail(ctx, e))?;
    for why in &found.unreadable {
        eprintln!("webhooks: left marked: {why}");
    }
    let events = found.unpublished.len();
    let changes_in = |list: &[Unpublished]| list.iter().map(|u| u.details.len()).sum::<usize>();
    let Some(bus) = bus.filter(|_| !args.dry_run) else {
        for one in &found.unpublished {
            out(&format!("would publish {}\n", line(one)))?;
        }
        out(&format!(
            "dry run: {} changes of {events} events to publish; nothing published\n",
            changes_in(&found.unpublished)
        ))?;
        return unreadable(&found.unreadable);
    };

    let config = sdk_config(&Settings {
        endpoint: None,
        region: global.region.as_deref(),
        profile: global.profile.as_deref(),
        patience: Patience::Terminal,
    })
    .await;
    let changes = Changes::to_bus_with(&config, bus.clone(), consent_fn::settings_from_env());
    for (published, one) in found.unpublished.iter().enumerate() {
        // Stop at the first failure: the rest stay marked and go out, in
        // order, on the next run (a bus that refuses one refuses the next).
        if let Err(e) = changes
            .publish_marked(&table, &one.fact, one.details.clone())
            .await
        {
            out(&format!(
                "published {} changes of {published} events on {bus}\n",
                changes_in(&found.unpublished[..published])
            ))?;
            return Err(Fail::new(format!(
                "event {}: {e}; it and the {} after it stay marked: run again once the bus takes events",
                one.fact.event_id,
                events - published - 1
            )));
        }
        out(&format!("published {}\n", line(one)))?;
    }
    out(&format!(
        "published {} changes of {events} events on {bus}\n",
        changes_in(&found.unpublished)
    ))?;
    unreadable(&found.unreadable)
}

/// `<event_id> <occurred_at> <provider> <event_type>: <n> change(s): <subjects>`
fn line(one: &Unpublished) -> String {
    let fact = &one.fact;
    let n = one.details.len();
    format!(
        "{} {} {} {}: {n} change{}: {}",
        fact.event_id,
        fact.occurred_at,
        fact.provider,
        fact.event_type,
        if n == 1 { "" } else { "s" },
        one.subjects().join(", ")
    )
}

fn unreadable(list: &[String]) -> Result<(), Fail> {
    if list.is_empty() {
        return Ok(());
    }
    Err(Fail::new(format!(
        "{} marked items could not be published (listed above)",
        list.len()
    )))
}
