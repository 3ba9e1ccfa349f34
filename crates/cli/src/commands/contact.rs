//! `webhooks contact`: one contact's timeline across providers, oldest to
//! newest, from the by_contact index.

use super::{newest_first, out, print_json};
use crate::args::Output;
use crate::db::{event_json, Ctx};
use crate::error::Fail;
use crate::render::{count, Table};
use events_table::read::Query;
use events_table::StoredEvent;
use normalize::{keys, Provider};
use std::collections::HashSet;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// An e-mail address, provider:contact_id (e.g. flashy:c3b0), a phone
    /// number, or a raw contact_key (email#…, contact#…#…, phone#…).
    #[arg(value_name = "CONTACT")]
    pub contact: String,
    /// At most this many events (the oldest first).
    #[arg(long, short = 'n', value_name = "N")]
    pub limit: Option<usize>,
    #[command(flatten)]
    pub output: Output,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<(), Fail> {
    let keys = contact_keys(&args.contact)?;
    let mut events: Vec<StoredEvent> = Vec::new();
    let mut ids = HashSet::new();
    for key in &keys {
        for event in ctx.query(&Query::contact(key)).await? {
            if ids.insert(event.event_id.clone()) {
                events.push(event);
            }
        }
    }
    newest_first(&mut events);
    events.reverse();
    if let Some(limit) = args.limit {
        events.truncate(limit);
    }

    if args.output.json {
        let items: Vec<_> = events.iter().map(event_json).collect();
        return print_json(&items);
    }
    if events.is_empty() {
        return out(&format!("No events for {}.\n", keys.join(" or ")));
    }
    let mut table = Table::new()
        .left("OCCURRED_AT")
        .left("PROVIDER")
        .left("TYPE")
        .left("PROVIDER_EVENT")
        .max(32)
        .left("CHANNEL")
        .left("CAMPAIGN")
        .max(24)
        .left("EVENT_ID");
    for event in &events {
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        table.row([
            text(&event.occurred_at),
            text(&event.provider),
            text(&event.event_type),
            text(&event.provider_event),
            text(&event.channel),
            text(&event.campaign_id.clone().or(event.automation_id.clone())),
            event.event_id.clone(),
        ]);
    }
    let providers: HashSet<&str> = events
        .iter()
        .filter_map(|e| e.provider.as_deref())
        .collect();
    out(&format!(
        "{}: {} from {}, oldest first\n\n{}",
        keys.join(" or "),
        count(events.len() as u64, "event", "events"),
        count(providers.len() as u64, "provider", "providers"),
        table.render()
    ))
}

/// The by_contact partition keys an operator's input stands for, made by
/// the same functions that gave the events theirs (`normalize::keys`:
/// `email#<email>`, `contact#<provider>#<id>`, `phone#<phone>`, bounded
/// when over DynamoDB's limit). A phone number is looked up with and without
/// its leading `+`, as providers differ in how they send it.
pub fn contact_keys(input: &str) -> Result<Vec<String>, Fail> {
    let input = input.trim();
    if input.is_empty() {
        return Err(Fail::new(
            "no contact given: use an e-mail address, provider:contact_id or a phone number",
        ));
    }
    if ["email#", "contact#", "phone#"]
        .iter()
        .any(|prefix| input.starts_with(prefix))
    {
        return Ok(vec![keys::bounded_key(input.to_owned())]);
    }
    if input.contains('@') {
        return Ok(vec![keys::email_key(&input.to_lowercase())]);
    }
    if let Some((provider, id)) = input.split_once(':') {
        let provider: Provider = provider.parse().map_err(Fail::new)?;
        if id.is_empty() {
            return Err(Fail::new(format!("no contact id after {provider}:")));
        }
        return Ok(vec![keys::contact_id_key(provider, id)]);
    }
    let digits = input.strip_prefix('+').unwrap_or(input);
    if !digits.is_empty()
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.'))
    {
        let other = match input.strip_prefix('+') {
            Some(bare) => bare.to_owned(),
            None => format!("+{input}"),
        };
        return Ok(vec![keys::phone_key(input), keys::phone_key(&other)]);
    }
    Err(Fail::new(format!(
        "cannot tell what contact {input:?} is: use an e-mail address, provider:contact_id (e.g. flashy:c3b0), a phone number, or a contact_key"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_way_to_name_a_contact() {
        let keys = |input| contact_keys(input).map_err(|e| e.to_string());
        assert_eq!(
            keys(" John.Doe@Example.COM "),
            Ok(vec!["email#john.doe@example.com".to_owned()])
        );
        assert_eq!(
            keys("Flashy:c3b0"),
            Ok(vec!["contact#flashy#c3b0".to_owned()])
        );
        assert_eq!(
            keys("+351912345678"),
            Ok(vec![
                "phone#+351912345678".to_owned(),
                "phone#351912345678".to_owned()
            ])
        );
        assert_eq!(
            keys("contact#egoi#7"),
            Ok(vec!["contact#egoi#7".to_owned()])
        );
        assert!(keys("mailchimp:1")
            .unwrap_err()
            .contains("unknown provider"));
        assert!(keys("flashy:").is_err());
        assert!(keys("somebody").unwrap_err().contains("cannot tell"));
        assert!(keys("  ").is_err());
    }

    #[test]
    fn an_over_long_address_finds_the_key_its_events_were_stored_under() {
        let address = format!("{}@example.com", "x".repeat(3_000));
        let stored = normalize::bounded_key(format!("email#{address}"));
        assert!(stored.len() <= normalize::MAX_PARTITION_KEY_BYTES);
        assert_eq!(contact_keys(&address).unwrap(), vec![stored]);
    }
}
