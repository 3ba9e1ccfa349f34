//! `webhooks`: the operator's view of the events table. What arrived, what
//! happened to a contact, what could not be understood, and re-running the
//! current normalizer over stored raw payloads.

mod args;
mod commands;
mod dates;
mod db;
mod error;
mod raw;
mod render;
mod replan;

use args::Global;
use clap::{Parser, Subcommand};
use commands::{contact, delete, export, quarantine, reprocess, send, show, stats, tail};
use db::Ctx;
use error::Fail;
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

#[derive(Debug, Subcommand)]
enum Command {
    /// Counts per provider and canonical type for one day (the by_day index).
    Stats(stats::Args),
    /// Newest events first; --follow keeps printing new ones.
    Tail(tail::Args),
    /// A contact's timeline across providers, oldest to newest (the by_contact index).
    Contact(contact::Args),
    /// One stored item, with its raw payload pretty-printed.
    Show(show::Args),
    /// Items the normalizer could not understand (`invalid`) or map (`unknown`),
    /// grouped by reason and provider event name.
    Quarantine(quarantine::Args),
    /// Re-run the current normalizer over stored raw payloads and apply what
    /// changed. A failed item is listed and the run goes on; the exit status
    /// is 1 when any failed. Items written by a newer normalizer, and
    /// quarantine items quarantined only in part, are left as they are.
    Reprocess(reprocess::Args),
    /// POST a body to a running endpoint (`make dev` by default).
    Send(send::Args),
    /// Delete the items a body makes (its events, or what keeps a member
    /// that is not one); --dry-run only prints their ids.
    Delete(delete::Args),
    /// Write every event (without raw) as JSON Lines files partitioned by
    /// provider and day, for the SQL in analytics/ (docs/analytics.md).
    Export(export::Args),
    /// A person's consent per channel across providers (the consent view),
    /// and its upkeep: clear, rebuild, follow, publish.
    Consent(commands::consent::Args),
    /// The suppression list: every suppressed address and channel, to import.
    Suppressed(commands::suppressed::Args),
    /// Erase a person: delete every stored event of theirs and keep their
    /// consent records under a keyed hash of each address (docs/consent.md).
    Forget(commands::forget::Args),
}

async fn run(cli: Cli) -> Result<(), Fail> {
    let g = &cli.global;
    match cli.command {
        Command::Stats(args) => stats::run(&Ctx::connect(g).await?, args).await,
        Command::Tail(args) => tail::run(&Ctx::connect(g).await?, args).await,
        Command::Contact(args) => contact::run(&Ctx::connect(g).await?, args).await,
        Command::Show(args) => show::run(&Ctx::connect(g).await?, args).await,
        Command::Quarantine(args) => quarantine::run(&Ctx::connect(g).await?, args).await,
        Command::Reprocess(args) => reprocess::run(&Ctx::connect(g).await?, args).await,
        Command::Send(args) => send::run(args).await,
        Command::Delete(args) => delete::run(&Ctx::connect(g).await?, args).await,
        Command::Export(args) => export::run(&Ctx::connect(g).await?, args).await,
        Command::Consent(args) => commands::consent::run(&Ctx::connect(g).await?, g, args).await,
        Command::Suppressed(args) => commands::suppressed::run(&Ctx::connect(g).await?, args).await,
        Command::Forget(args) => commands::forget::run(&Ctx::connect(g).await?, args).await,
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
    use normalize::Provider;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn providers_parse_case_insensitively() {
        let cli = Cli::try_parse_from(["webhooks", "stats", "--provider", "FLASHY"]).unwrap();
        match cli.command {
            Command::Stats(args) => assert_eq!(args.only.provider, Some(Provider::Flashy)),
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["webhooks", "stats", "--provider", "mailchimp"]).is_err());
    }

    #[test]
    fn shared_flags_keep_each_command_s_own_help() {
        let cli = Cli::command();
        let help = |command: &str, flag: &str| {
            cli.find_subcommand(command)
                .and_then(|c| c.get_arguments().find(|a| a.get_id() == flag))
                .and_then(|a| a.get_help())
                .map(|h| h.to_string())
        };
        assert_eq!(
            help("stats", "json").as_deref(),
            Some("Print JSON instead of a table")
        );
        assert_eq!(
            help("tail", "json").as_deref(),
            Some("Print JSON (one array; JSON Lines with --follow)")
        );
        assert_eq!(
            help("tail", "day").as_deref(),
            Some("Start from this day instead of today (YYYY-MM-DD, yesterday, Nd)")
        );
        assert!(help("send", "json").is_some_and(|h| h.contains(r#"{"status""#)));
    }
}
