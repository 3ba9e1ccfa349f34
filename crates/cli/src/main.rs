//! `webhooks`: the operator's view of the events table. What arrived, what
//! happened to a contact, what could not be understood, and re-running the
//! current normalizer over stored raw payloads.

mod commands;
mod dates;
mod db;
mod error;
mod raw;
mod render;
mod replan;
mod version;

use clap::{Args, Parser, Subcommand};
use error::Fail;
use normalize::Provider;
use std::path::PathBuf;
use std::process::ExitCode;

/// Operate the marketing-webhooks events table: see what arrived, follow a
/// contact, inspect quarantine, re-normalize after a parser upgrade.
///
/// Talks to DynamoDB with the usual AWS configuration (profile, region,
/// credentials), or to a local server through AWS_ENDPOINT_URL_DYNAMODB.
/// Days are UTC, as in the table's day_key.
#[derive(Debug, Parser)]
#[command(name = "webhooks", version)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The events table.
    #[arg(
        long,
        global = true,
        help_heading = "Table and AWS",
        env = "TABLE_NAME",
        default_value = "webhook-events",
        value_name = "NAME"
    )]
    pub table: String,
    /// A DynamoDB-compatible endpoint instead of AWS (e.g. http://127.0.0.1:8000).
    #[arg(
        long,
        global = true,
        help_heading = "Table and AWS",
        env = "AWS_ENDPOINT_URL_DYNAMODB",
        value_name = "URL"
    )]
    pub endpoint_url: Option<String>,
    /// AWS region (default: AWS_REGION or the profile's).
    #[arg(
        long,
        global = true,
        help_heading = "Table and AWS",
        value_name = "REGION"
    )]
    pub region: Option<String>,
    /// AWS profile (default: AWS_PROFILE or `default`).
    #[arg(
        long,
        global = true,
        help_heading = "Table and AWS",
        value_name = "NAME"
    )]
    pub profile: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Counts per provider and canonical type for one day (the by_day index).
    Stats(StatsArgs),
    /// Newest events first; --follow keeps printing new ones.
    Tail(TailArgs),
    /// A contact's timeline across providers, oldest to newest (the by_contact index).
    Contact(ContactArgs),
    /// One stored item, with its raw payload pretty-printed.
    Show(ShowArgs),
    /// Items the normalizer could not understand (`invalid`) or map (`unknown`),
    /// grouped by reason and provider event name.
    Quarantine(QuarantineArgs),
    /// Re-run the current normalizer over stored raw payloads and apply what
    /// changed. A failed item is listed and the run goes on; the exit status
    /// is 1 when any failed. Items written by a newer normalizer, and
    /// quarantine items kept only in part, are left as they are.
    Reprocess(ReprocessArgs),
    /// POST a body to a running endpoint (`make dev` by default).
    Send(SendArgs),
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The day: YYYY-MM-DD, today, yesterday, or Nd (N days ago).
    #[arg(long, default_value = "today", value_name = "DAY")]
    pub day: String,
    /// Only this provider.
    #[arg(long, value_name = "PROVIDER")]
    pub provider: Option<Provider>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TailArgs {
    /// Only this provider.
    #[arg(long, value_name = "PROVIDER")]
    pub provider: Option<Provider>,
    /// Only this canonical type (e.g. email.opened, unknown, invalid).
    #[arg(long = "type", value_name = "TYPE")]
    pub event_type: Option<String>,
    /// How many events to show.
    #[arg(long, short = 'n', default_value_t = 20, value_name = "N")]
    pub limit: usize,
    /// Start from this day instead of today (YYYY-MM-DD, yesterday, Nd).
    #[arg(long, default_value = "today", value_name = "DAY")]
    pub day: String,
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
    /// Print JSON (one array; JSON Lines with --follow).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ContactArgs {
    /// An e-mail address, provider:contact_id (e.g. flashy:c3b0), a phone
    /// number, or a raw contact_key (email#…, contact#…#…, phone#…).
    #[arg(value_name = "CONTACT")]
    pub contact: String,
    /// At most this many events (the oldest first).
    #[arg(long, short = 'n', value_name = "N")]
    pub limit: Option<usize>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The event_id (64 hex characters).
    #[arg(value_name = "EVENT_ID")]
    pub event_id: String,
    /// Print JSON: {"item": <as stored>, "raw": <decoded raw payload>}.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct QuarantineArgs {
    /// Only this day (the by_day index); without it the whole table is scanned.
    #[arg(long, value_name = "DAY")]
    pub day: Option<String>,
    /// Only this provider.
    #[arg(long, value_name = "PROVIDER")]
    pub provider: Option<Provider>,
    /// Also list every item, newest first.
    #[arg(long)]
    pub items: bool,
    /// Print JSON (groups and items).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReprocessArgs {
    /// Only this provider.
    #[arg(long, value_name = "PROVIDER")]
    pub provider: Option<Provider>,
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
    /// Print JSON (summary and every change).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Which provider's function receives it.
    #[arg(value_name = "PROVIDER")]
    pub provider: Provider,
    /// The body to send (`-` reads standard input).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The endpoint [default: http://127.0.0.1:9000/lambda-url/<provider>/].
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// The webhook token [default: the first of WEBHOOK_TOKENS, else dev-token].
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Send no token at all.
    #[arg(long, conflicts_with = "token")]
    pub no_token: bool,
    /// Content-Type header of the request.
    #[arg(long, default_value = "application/json", value_name = "TYPE")]
    pub content_type: String,
    /// Print JSON: {"status": <code>, "body": <answer>}.
    #[arg(long)]
    pub json: bool,
}

async fn run(cli: Cli) -> Result<(), Fail> {
    let g = &cli.global;
    match cli.command {
        Command::Stats(args) => commands::stats::run(&db::Ctx::connect(g).await?, args).await,
        Command::Tail(args) => commands::tail::run(&db::Ctx::connect(g).await?, args).await,
        Command::Contact(args) => commands::contact::run(&db::Ctx::connect(g).await?, args).await,
        Command::Show(args) => commands::show::run(&db::Ctx::connect(g).await?, args).await,
        Command::Quarantine(args) => {
            commands::quarantine::run(&db::Ctx::connect(g).await?, args).await
        }
        Command::Reprocess(args) => {
            commands::reprocess::run(&db::Ctx::connect(g).await?, args).await
        }
        Command::Send(args) => commands::send::run(args).await,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("webhooks: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(fail) => {
            eprintln!("webhooks: {fail}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn providers_parse_case_insensitively() {
        let cli = Cli::try_parse_from(["webhooks", "stats", "--provider", "FLASHY"]).unwrap();
        match cli.command {
            Command::Stats(args) => assert_eq!(args.provider, Some(Provider::Flashy)),
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["webhooks", "stats", "--provider", "mailchimp"]).is_err());
    }
}
