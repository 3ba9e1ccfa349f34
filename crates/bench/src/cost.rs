//! Figure 4: Write request units per stored event, table plus GSIs, with
//! DynamoDB's size rules (1 WRU per started KB of the item; each GSI that
//! holds the item writes its keys and projected attributes, also rounded up
//! to a KB) over every fixture's events.

use crate::parse_vs_normalize::fixtures;
use events_table::attr;
use events_table::item::{fit, item_size, to_item, write_units, Item, GZIP_BASE64};
use events_table::StoredEvent;
use normalize::{normalize, Provider, Timestamp};

/// The GSIs as infra/template.yaml defines them: name, partition key, and
/// projected non-key attributes.
fn indexes() -> Vec<(String, String, Vec<String>)> {
    let template =
        std::fs::read_to_string(crate::root().join("infra/template.yaml")).expect("template");
    let mut found = Vec::new();
    let (mut name, mut hash) = (None, None);
    for line in template.lines() {
        let line = line.trim();
        if let Some(n) = line.strip_prefix("- IndexName:") {
            name = Some(n.trim().to_owned());
            hash = None;
        } else if let Some(attr) = line.strip_prefix("- AttributeName:") {
            // An index's first key attribute is its partition key.
            if name.is_some() && hash.is_none() {
                hash = Some(attr.trim().to_owned());
            }
        } else if let Some(list) = line.strip_prefix("NonKeyAttributes:") {
            let attrs = list
                .trim()
                .trim_matches(['[', ']'])
                .split(',')
                .map(|a| a.trim().to_owned())
                .collect();
            if let (Some(n), Some(h)) = (name.take(), hash.take()) {
                found.push((n, h, attrs));
            }
        }
    }
    found
}

pub struct Cost {
    pub events: usize,
    /// Events whose `raw` is stored gzip+base64 (where that saves a unit).
    pub compressed: usize,
    pub table_wru: usize,
    pub index_wru: usize,
    pub mean_item_bytes: f64,
}

pub fn run() -> Cost {
    let indexes = indexes();
    assert_eq!(
        indexes.len(),
        2,
        "expected the two GSIs in infra/template.yaml, found {indexes:?}"
    );
    let at = Timestamp::now();
    let (mut events, mut compressed, mut table_wru, mut index_wru, mut bytes) = (0, 0, 0, 0, 0);
    for provider in Provider::ALL {
        for body in fixtures(provider) {
            for event in normalize(provider, &body, at).unwrap_or_default() {
                // Every fixture event is storable; one that is not would
                // otherwise vanish from the figure.
                let item = fit(to_item(&event, Some(30)))
                    .unwrap_or_else(|size| panic!("a {provider} fixture event is {size} bytes"));
                let size = item_size(&item);
                events += 1;
                bytes += size;
                if item_is_compressed(&item) {
                    compressed += 1;
                }
                table_wru += write_units(size);
                for (_, hash, projected) in &indexes {
                    if item.contains_key(hash) {
                        index_wru += write_units(projected_size(&item, hash, projected));
                    }
                }
            }
        }
    }
    Cost {
        events,
        compressed,
        table_wru,
        index_wru,
        mean_item_bytes: bytes as f64 / events as f64,
    }
}

fn projected_size(item: &Item, hash: &str, projected: &[String]) -> usize {
    let keep: Vec<&str> = [attr::EVENT_ID, attr::OCCURRED_AT, hash]
        .into_iter()
        .chain(projected.iter().map(String::as_str))
        .collect();
    let subset: Item = item
        .iter()
        .filter(|(k, _)| keep.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    item_size(&subset)
}

fn item_is_compressed(item: &Item) -> bool {
    StoredEvent::try_from(item).is_ok_and(|e| e.raw_encoding() == Some(GZIP_BASE64))
}
