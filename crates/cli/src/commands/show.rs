//! `webhooks show`: one item from the table (not an index, so `raw` and
//! `attributes` are there), its raw payload decoded and pretty-printed.

use super::{out, print_json};
use crate::args::Output;
use crate::db::{item_json, typed, Ctx, Item};
use crate::error::Fail;
use crate::raw;
use crate::render::Table;
use aws_sdk_dynamodb::types::AttributeValue;
use events_table::attr;
use serde_json::json;

/// Attributes in the order an operator reads them; others follow by name.
const ORDER: &[&str] = &[
    attr::EVENT_ID,
    attr::PROVIDER,
    attr::EVENT_TYPE,
    attr::PROVIDER_EVENT,
    attr::OCCURRED_AT,
    attr::OCCURRED_AT_SOURCE,
    attr::RECEIVED_AT,
    attr::CHANNEL,
    attr::EMAIL,
    attr::PHONE,
    attr::CONTACT_ID,
    attr::ACCOUNT_ID,
    attr::CAMPAIGN_ID,
    attr::MESSAGE_ID,
    attr::AUTOMATION_ID,
    attr::LIST_ID,
    attr::CONTACT_KEY,
    attr::DAY_KEY,
    attr::EXPIRES_AT,
    attr::SCHEMA_VERSION,
];

#[derive(Debug, clap::Args)]
#[command(mut_arg("json", |json| json.help(
    r#"Print JSON: {"item": <as stored>, "raw": <decoded raw payload>}"#
)))]
pub struct Args {
    /// The event_id (64 hex characters).
    #[arg(value_name = "EVENT_ID")]
    pub event_id: String,
    #[command(flatten)]
    pub output: Output,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<(), Fail> {
    let id = args.event_id.trim();
    let item = ctx.get(id).await?.ok_or_else(|| {
        Fail::new(format!(
            "no item with event_id {id} in table {} at {}",
            ctx.table(),
            ctx.place
        ))
    })?;
    let decoded = typed(&item)?.raw_bytes();
    if args.output.json {
        let raw = match &decoded {
            Some(Ok(bytes)) => raw::as_json(bytes),
            _ => serde_json::Value::Null,
        };
        return print_json(&json!({ "item": item_json(&item), "raw": raw }));
    }
    out(&human(&item, decoded))
}

fn human(item: &Item, decoded: Option<Result<Vec<u8>, String>>) -> String {
    let mut table = Table::new().left("ATTRIBUTE").left("VALUE");
    let mut names: Vec<&String> = item
        .keys()
        .filter(|k| k.as_str() != attr::RAW && k.as_str() != attr::ATTRIBUTES)
        .collect();
    names.sort_by_key(|name| {
        (
            ORDER.iter().position(|o| o == name).unwrap_or(ORDER.len()),
            name.as_str(),
        )
    });
    for name in names {
        table.row([name.clone(), scalar(&item[name.as_str()])]);
    }
    if let Some(AttributeValue::M(attributes)) = item.get(attr::ATTRIBUTES) {
        let mut keys: Vec<&String> = attributes.keys().collect();
        keys.sort();
        for key in keys {
            table.row([
                format!("{}.{key}", attr::ATTRIBUTES),
                scalar(&attributes[key]),
            ]);
        }
    }
    let mut text = table.render();
    text.push('\n');
    match decoded {
        None => text.push_str("raw: (none stored)\n"),
        Some(Err(e)) => text.push_str(&format!("raw: cannot be decoded: {e}\n")),
        Some(Ok(bytes)) => {
            let encoding = typed(item).ok();
            let how = match encoding.as_ref().and_then(|e| e.raw_encoding()) {
                Some(encoding) => format!(" (stored {encoding}, {} bytes decoded)", bytes.len()),
                None => String::new(),
            };
            text.push_str(&format!("raw{how}:\n{}\n", raw::pretty(&bytes)));
        }
    }
    text
}

/// A value on one line: strings and numbers as they are, the rest as JSON.
fn scalar(value: &AttributeValue) -> String {
    match value {
        AttributeValue::S(s) => s.clone(),
        AttributeValue::N(n) => n.clone(),
        other => {
            let mut item = Item::new();
            item.insert("v".to_owned(), other.clone());
            item_json(&item)["v"].to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use events_table::item::to_item;
    use normalize::{normalize, Provider, Timestamp};

    #[test]
    fn known_attributes_first_then_attributes_then_raw() {
        let at = Timestamp::parse("2024-05-01T12:00:00Z").unwrap();
        let body = r#"{"event":"email_automation_clicked","email":"a@example.com","link":"https://x.example/p","timestamp":1674573849}"#;
        let event = normalize(Provider::Flashy, format!("[{body}]").as_bytes(), at)
            .unwrap()
            .remove(0);
        let item = to_item(&event, None);
        let text = human(&item, Some(Ok(body.as_bytes().to_vec())));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("ATTRIBUTE"));
        assert!(lines[1].starts_with("event_id "));
        assert!(lines[2].starts_with("provider ") && lines[2].ends_with("flashy"));
        assert!(lines[3].ends_with("email.clicked"));
        assert!(text.contains("attributes.url"));
        assert!(text.contains("raw:\n{\n  \"event\": \"email_automation_clicked\","));
    }
}
