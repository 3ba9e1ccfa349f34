//! The flags more than one command takes, each a struct that a command's
//! arguments flatten: where the table is ([`Global`], on every command),
//! `--json` ([`Output`]), `--provider` ([`OnlyProvider`]) and `--day`
//! ([`Day`], today unless given; [`OnlyDay`], no narrowing unless given).
//!
//! A command whose JSON has a shape of its own says so in its `--json` help
//! with `#[command(mut_arg("json", ...))]` on its arguments.

use crate::dates::{parse_day, today};
use crate::error::Fail;
use clap::Args;
use normalize::Provider;
use time::Date;

/// Which table, reached how: every command has these.
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

/// `--json`: a machine-readable answer instead of text.
#[derive(Debug, Args)]
pub struct Output {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `--provider`: one provider's events only.
#[derive(Debug, Args)]
pub struct OnlyProvider {
    /// Only this provider.
    #[arg(long, value_name = "PROVIDER")]
    pub provider: Option<Provider>,
}

impl OnlyProvider {
    /// The providers a command looks at: the one given, else all.
    pub fn providers(&self) -> Vec<Provider> {
        match self.provider {
            Some(provider) => vec![provider],
            None => Provider::ALL.to_vec(),
        }
    }
}

/// `--day`: one UTC day, today unless given.
#[derive(Debug, Args)]
pub struct Day {
    /// The day: YYYY-MM-DD, today, yesterday, or Nd (N days ago).
    #[arg(long, default_value = "today", value_name = "DAY")]
    pub day: String,
}

impl Day {
    pub fn date(&self) -> Result<Date, Fail> {
        Ok(parse_day(&self.day, today())?)
    }
}

/// `--day`: one UTC day if given; without it, the command is not narrowed
/// to a day.
#[derive(Debug, Args)]
pub struct OnlyDay {
    /// Only this day (YYYY-MM-DD, today, yesterday, or Nd).
    #[arg(long, value_name = "DAY")]
    pub day: Option<String>,
}

impl OnlyDay {
    pub fn date(&self) -> Result<Option<Date>, Fail> {
        self.day
            .as_deref()
            .map(|day| Ok(parse_day(day, today())?))
            .transpose()
    }
}
