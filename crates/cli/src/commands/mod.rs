//! One module per command; what they share is here.

pub mod consent;
pub mod consent_publish;
pub mod contact;
pub mod delete;
pub mod export;
pub mod forget;
pub mod quarantine;
pub mod reprocess;
pub mod send;
pub mod show;
pub mod stats;
pub mod suppressed;
pub mod tail;

use crate::error::Fail;
use crate::render::Table;
use events_table::StoredEvent;
use serde::Serialize;
use std::io::{IsTerminal, Write};

/// Pretty JSON on standard output.
pub fn print_json(value: &impl Serialize) -> Result<(), Fail> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Fail::new(e.to_string()))?;
    out(&format!("{text}\n"))
}

/// Text on standard output; a closed pipe (`| head`) ends quietly.
pub fn out(text: &str) -> Result<(), Fail> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(e.into()),
    }
}

/// Newest first by occurred_at (then id, so the order is stable).
pub fn newest_first(events: &mut [StoredEvent]) {
    events.sort_by(|a, b| (&b.occurred_at, &b.event_id).cmp(&(&a.occurred_at, &a.event_id)));
}

/// The columns of an event listing. `fixed` widths make rows printed at
/// different times line up (`tail --follow`); otherwise columns fit their
/// contents, with long provider event names and contacts clipped.
pub fn event_table(fixed: bool) -> Table {
    let columns = [
        ("OCCURRED_AT", 24),
        ("PROVIDER", 9),
        ("TYPE", 26),
        ("PROVIDER_EVENT", 24),
        ("CONTACT", 28),
    ];
    let mut table = Table::new();
    for (header, width) in columns {
        table = table.left(header);
        table = if fixed {
            table.fixed(width)
        } else {
            table.max(width.max(32))
        };
    }
    table.left("EVENT_ID")
}

pub fn event_row(table: &mut Table, event: &StoredEvent) {
    table.row([
        event.occurred_at.clone().unwrap_or_default(),
        event.provider.clone().unwrap_or_default(),
        event.event_type.clone().unwrap_or_default(),
        event.provider_event.clone().unwrap_or_default(),
        event.who().unwrap_or_default(),
        event.event_id.clone(),
    ]);
}

/// A one-line progress report on standard error, rewritten in place; only
/// when standard error is a terminal.
pub struct Progress {
    on: bool,
    shown: bool,
}

impl Progress {
    pub fn new() -> Self {
        Progress {
            on: std::io::stderr().is_terminal(),
            shown: false,
        }
    }

    pub fn show(&mut self, text: &str) {
        if self.on {
            eprint!("\r\x1b[2K{text}");
            self.shown = true;
        }
    }

    pub fn clear(&mut self) {
        if self.shown {
            eprint!("\r\x1b[2K");
            self.shown = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}
