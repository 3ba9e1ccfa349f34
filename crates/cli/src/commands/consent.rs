//! `webhooks consent`: a person's consent verdicts from the consent table
//! (docs/consent.md), and the view's upkeep: `clear`, `rebuild`, `follow`,
//! `publish` (in [`super::consent_publish`]).

use super::{out, print_json};
use crate::args::{Global, Output};
use crate::db::Ctx;
use crate::error::Fail;
use crate::render::Table;
use ::consent::{Settings, Verdict};
use clap::Subcommand;
use consent_fn::{follow, lookup, rebuild, ConsentTable};
use std::time::Duration;

/// Which consent table: every consent command has this.
#[derive(Debug, clap::Args)]
pub struct ConsentTableArg {
    /// The consent table.
    #[arg(
        long,
        help_heading = "Table and AWS",
        env = "CONSENT_TABLE_NAME",
        default_value = consent_fn::DEFAULT_TABLE,
        value_name = "NAME"
    )]
    pub consent_table: String,
}

impl ConsentTableArg {
    /// The table, with the hash key of forgotten subjects when
    /// `CONSENT_HASH_KEY` or `CONSENT_HASH_KEY_SECRET` is set (a lookup
    /// then finds forgotten people by their old address).
    pub async fn open(&self, ctx: &Ctx) -> Result<ConsentTable, Fail> {
        let key = consent_fn::erasure::key_at_start()
            .await
            .map_err(Fail::new)?;
        Ok(ConsentTable::new(ctx.client().clone(), &self.consent_table).with_hash_key(key))
    }
}

#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    mut_arg("json", |json| json.help(
        r#"Print one object: {"subject", "channels": {"email": {"verdict", "reason", ...}, ...}, "transactional_blocked", "history": [...]}"#
    ))
)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
    /// An e-mail address, a phone number, provider:contact_id, or a subject
    /// (email#..., phone#..., contact#<provider>#<id>).
    #[arg(value_name = "SUBJECT", required = true)]
    pub subject: Option<String>,
    #[command(flatten)]
    pub output: Output,
    #[command(flatten)]
    pub table: ConsentTableArg,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    /// Clear a person's complaint or erasure opt-out (the sticky ones), as a
    /// recorded consent event naming what it clears.
    Clear(ClearArgs),
    /// Derive the whole consent view again from the events table (after a
    /// rule change, or for events stored before the consent function).
    Rebuild(RebuildArgs),
    /// Keep the consent view current from the local DynamoDB's stream
    /// (`make dev` runs this; on AWS the consent function does it).
    Follow(FollowArgs),
    /// Publish the `consent.changed` events the consent function could not
    /// (its records gone to the dead-letter queue), oldest first, and take
    /// their marks off; run after a bus outage or the consent-failed alarm.
    /// At least once: a consumer may see a change twice.
    Publish(super::consent_publish::Args),
}

#[derive(Debug, clap::Args)]
pub struct ClearArgs {
    /// Whose verdict (as for `webhooks consent`).
    #[arg(value_name = "SUBJECT")]
    pub subject: String,
    /// Why: kept with the clear.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// Who clears it [default: $USER].
    #[arg(long, value_name = "WHO")]
    pub by: Option<String>,
    #[command(flatten)]
    pub table: ConsentTableArg,
}

#[derive(Debug, clap::Args)]
pub struct RebuildArgs {
    #[command(flatten)]
    pub output: Output,
    #[command(flatten)]
    pub table: ConsentTableArg,
}

#[derive(Debug, clap::Args)]
pub struct FollowArgs {
    /// How long to wait when the stream has nothing new.
    #[arg(long, default_value = "250", value_name = "MS")]
    pub interval_ms: u64,
    /// Apply what the stream holds now, then stop.
    #[arg(long)]
    pub once: bool,
    #[command(flatten)]
    pub table: ConsentTableArg,
}

pub async fn run(ctx: &Ctx, global: &Global, args: Args) -> Result<(), Fail> {
    match args.action {
        Some(Action::Clear(a)) => clear(ctx, a).await,
        Some(Action::Rebuild(a)) => rebuild(ctx, a).await,
        Some(Action::Follow(a)) => follow(ctx, global.endpoint_url.as_deref(), a).await,
        Some(Action::Publish(a)) => super::consent_publish::run(ctx, global, a).await,
        None => {
            show(
                ctx,
                args.subject.as_deref().unwrap_or_default(),
                &args.output,
                &args.table,
            )
            .await
        }
    }
}

pub fn subject_of(input: &str) -> Result<String, Fail> {
    ::consent::normalize_subject(input).ok_or_else(|| {
        Fail::new(format!(
            "{input:?} is not an e-mail address, a phone number, provider:contact_id or a subject"
        ))
    })
}

pub fn table_fail(ctx: &Ctx, e: consent_fn::table::TableError) -> Fail {
    Fail::new(format!(
        "{e} (at {}; `make dev` creates the consent table locally)",
        ctx.place
    ))
}

async fn show(
    ctx: &Ctx,
    input: &str,
    output: &Output,
    table: &ConsentTableArg,
) -> Result<(), Fail> {
    let subject = subject_of(input)?;
    let settings = consent_fn::settings_from_env();
    let (consent, _) = lookup::look_up(&table.open(ctx).await?, &subject, &settings)
        .await
        .map_err(|e| table_fail(ctx, e))?;
    if output.json {
        return print_json(&lookup::answer(&subject, &consent));
    }
    let mut verdicts = Table::new()
        .left("CHANNEL")
        .left("VERDICT")
        .left("REASON")
        .left("SCOPE")
        .left("PROVIDER")
        .left("SINCE")
        .left("EVENT_ID");
    for (channel, verdict) in &consent.channels {
        let row = match verdict {
            Verdict::Suppressed {
                reason,
                scope,
                provider,
                since,
                event_id,
            } => [
                reason.as_str().to_owned(),
                scope.clone(),
                provider.clone(),
                since.clone(),
                event_id.clone(),
            ],
            Verdict::Allowed {
                provider,
                since,
                event_id,
            } => [
                String::new(),
                String::new(),
                provider.clone(),
                since.clone(),
                event_id.clone(),
            ],
            Verdict::Unknown if *channel == ::consent::Channel::Sms => [
                lookup::SMS_UNKNOWN_NOTE.to_owned(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ],
            Verdict::Unknown => Default::default(),
        };
        let mut cells = vec![channel.as_str().to_owned(), verdict.name().to_owned()];
        cells.extend(row);
        verdicts.row(cells);
    }
    let mut history = Table::new()
        .left("OCCURRED_AT")
        .left("PROVIDER")
        .left("TYPE")
        .left("EFFECT")
        .left("SCOPE")
        .left("EVENT_ID");
    for h in &consent.history {
        let effect = if h.cleared {
            format!("{} (cleared)", h.effect)
        } else {
            h.effect.to_owned()
        };
        history.row([
            h.occurred_at.clone(),
            h.provider.clone(),
            h.event_type.clone(),
            effect,
            h.scope.clone().unwrap_or_default(),
            h.event_id.clone(),
        ]);
    }
    let transactional = if consent.transactional_blocked {
        "blocked"
    } else {
        "allowed"
    };
    out(&format!(
        "{subject}\n\n{}\nTransactional mail: {transactional}\n\nEvents that decided it, oldest first:\n\n{}",
        verdicts.render(),
        if history.is_empty() { "(none)\n".to_owned() } else { history.render() }
    ))
}

async fn clear(ctx: &Ctx, args: ClearArgs) -> Result<(), Fail> {
    let subject = subject_of(&args.subject)?;
    if args.reason.trim().is_empty() {
        return Err(Fail::new("--reason must say why"));
    }
    let table = args.table.open(ctx).await?;
    let settings: Settings = consent_fn::settings_from_env();
    let (consent, _) = lookup::look_up(&table, &subject, &settings)
        .await
        .map_err(|e| table_fail(ctx, e))?;
    let by = args
        .by
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "operator".to_owned());
    let now = normalize::Timestamp::now().text();
    let Some(fact) = lookup::clear_for(&subject, &consent, args.reason.trim(), &by, &now) else {
        return Err(Fail::new(format!(
            "{subject} has no complaint or erasure opt-out in force: nothing to clear"
        )));
    };
    table.apply(&fact).await.map_err(|e| table_fail(ctx, e))?;
    out(&format!(
        "cleared {} for {subject} (event {}), by {by}: {}\n",
        fact.clears.join(", "),
        fact.event_id,
        args.reason.trim()
    ))
}

async fn rebuild(ctx: &Ctx, args: RebuildArgs) -> Result<(), Fail> {
    let table = args.table.open(ctx).await?;
    let summary = rebuild::rebuild(&table, ctx.table(), |id, why| {
        eprintln!("webhooks: event {id} left out: {why}");
    })
    .await
    .map_err(|e| table_fail(ctx, e))?;
    if args.output.json {
        return print_json(&summary);
    }
    out(&format!(
        "read {} events of {}: {} about consent ({} unreadable, listed above); wrote {} consent items, deleted {} of events retyped out of the view\n",
        summary.scanned, ctx.table(), summary.applied, summary.unreadable, summary.written, summary.deleted
    ))
}

async fn follow(ctx: &Ctx, endpoint: Option<&str>, args: FollowArgs) -> Result<(), Fail> {
    let Some(endpoint) = endpoint.filter(|e| !e.is_empty()) else {
        return Err(Fail::new(
            "follow reads a local DynamoDB's stream: set AWS_ENDPOINT_URL_DYNAMODB (on AWS the consent function reads the stream)",
        ));
    };
    let mut table = args.table.open(ctx).await?;
    // As the consent function does with the same setting (docs/consent.md).
    if consent_fn::erasure::erase_later_from_env() {
        if table.hash_key.is_none() {
            return Err(Fail::new(
                "ERASE_LATER_EVENTS=true needs the erasure hash key (CONSENT_HASH_KEY or CONSENT_HASH_KEY_SECRET)",
            ));
        }
        table.erase_later_in = Some(ctx.table().to_owned());
    }
    let mut follower = follow::Follower::new(endpoint, ctx.table());
    loop {
        match follower.pass(&table).await {
            Ok(pass) if pass.records > 0 => {
                eprintln!(
                    "consent: applied {} stream records ({} failed)",
                    pass.records - pass.failed,
                    pass.failed
                );
            }
            Ok(_) => {}
            Err(e) if args.once => return Err(Fail::new(e.to_string())),
            Err(e) => eprintln!("consent: {e}; retrying"),
        }
        if args.once {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
    }
}
