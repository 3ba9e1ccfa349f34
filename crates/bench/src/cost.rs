//! Figure 4: Write request units per stored event, table plus GSIs, with
//! DynamoDB's size rules (1 WRU per started KB of the item; each GSI that
//! holds the item writes its keys and projected attributes, also rounded up
//! to a KB) over every fixture's events.

use crate::parse_vs_normalize::fixtures;
use ingest::item::{item_size, to_item, Item};
use normalize::{normalize, Provider, Timestamp};

const KB: usize = 1024;

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
    let (mut events, mut table_wru, mut index_wru, mut bytes) = (0, 0, 0, 0);
    for provider in Provider::ALL {
        for body in fixtures(provider) {
            for event in normalize(provider, &body, at).unwrap_or_default() {
                let item = to_item(&event, Some(30));
                let size = item_size(&item);
                events += 1;
                bytes += size;
                table_wru += size.div_ceil(KB);
                for (_, hash, projected) in &indexes {
                    if item.contains_key(hash) {
                        index_wru += projected_size(&item, hash, projected).div_ceil(KB);
                    }
                }
            }
        }
    }
    Cost {
        events,
        table_wru,
        index_wru,
        mean_item_bytes: bytes as f64 / events as f64,
    }
}

fn projected_size(item: &Item, hash: &str, projected: &[String]) -> usize {
    let keep: Vec<&str> = ["event_id", "occurred_at", hash]
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
