//! `webhooks suppressed`: the suppression list, to import into a platform
//! (docs/consent.md, "How a suppression reaches each platform").

use super::consent::ConsentTableArg;
use super::{out, print_json};
use crate::dates::parse_when;
use crate::db::Ctx;
use crate::error::Fail;
use crate::render::Table;
use ::consent::Channel;
use consent_fn::export::{self, Only};
use normalize::Provider;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this channel: email, sms or web_push.
    #[arg(long, value_name = "CHANNEL", value_parser = parse_channel)]
    pub channel: Option<Channel>,
    /// Only suppressions since then (YYYY-MM-DD, yesterday, Nd, Nh, or an RFC 3339 time).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only suppressions decided by this provider's event.
    #[arg(long, value_name = "PROVIDER")]
    pub provider: Option<Provider>,
    /// Print a JSON array of the rows.
    #[arg(long, group = "format")]
    pub json: bool,
    /// Print CSV: email,phone,hash,channel,reason,scope,provider,since,event_id.
    #[arg(long, group = "format")]
    pub csv: bool,
    /// Print the CSV Amazon SES's account-level suppression list imports (email,reason).
    #[arg(long, group = "format")]
    pub ses: bool,
    #[command(flatten)]
    pub table: ConsentTableArg,
}

fn parse_channel(text: &str) -> Result<Channel, String> {
    Channel::parse(text).ok_or_else(|| format!("{text:?}: use email, sms or web_push"))
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<(), Fail> {
    let since = args
        .since
        .as_deref()
        .map(|w| parse_when(w, time::OffsetDateTime::now_utc()))
        .transpose()?;
    let only = Only {
        channel: args.channel,
        provider: args.provider.map(|p| p.as_str().to_owned()),
        since,
    };
    let view = args.table.open(ctx).scan().await.map_err(|e| {
        Fail::new(format!(
            "{e} (at {}; `make dev` creates the consent table locally)",
            ctx.place
        ))
    })?;
    let rows = export::suppressed(&view, &consent_fn::settings_from_env(), &only);
    if args.json {
        return print_json(&rows);
    }
    if args.csv {
        return out(&export::csv(&rows));
    }
    if args.ses {
        return out(&export::ses(&rows));
    }
    let mut table = Table::new()
        .left("EMAIL")
        .left("PHONE")
        .left("CHANNEL")
        .left("REASON")
        .left("SCOPE")
        .left("PROVIDER")
        .left("SINCE")
        .left("EVENT_ID");
    for r in &rows {
        table.row([
            r.email.clone(),
            r.phone.clone(),
            r.channel.as_str().to_owned(),
            r.reason.as_str().to_owned(),
            r.scope.clone(),
            r.provider.clone(),
            r.since.clone(),
            r.event_id.clone(),
        ]);
    }
    if rows.is_empty() {
        return out("no suppressions\n");
    }
    out(&table.render())
}
