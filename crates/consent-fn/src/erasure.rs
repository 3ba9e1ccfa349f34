//! Erasure (`webhooks forget`, docs/consent.md "Erasure"): a person's stored
//! events deleted, their consent records kept under a keyed hash of each
//! address instead of the address, so a lookup by the old address still
//! answers `suppressed` (reason `forgotten`), and a record of what was
//! erased, by whom and why, that names no address.
//!
//! A forgotten subject is `forgotten#<kind>#<hex>`: `kind` is `email`,
//! `phone` or `contact`, and `hex` the HMAC-SHA-256 (lower-case hex) under
//! the deployment's key of what follows the kind in the subject: the e-mail
//! address trimmed and lower-cased (UTF-8), the phone as the consent view
//! normalizes it (digits, with the `+` of E.164), or `<provider>#<id>`.

use crate::table::{delete_request, put_request, ConsentTable, Item, TableError};
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use consent::{Fact, Subject};
use events_table::read::{Projection, Query, Reader};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::collections::{BTreeMap, BTreeSet};

/// The key itself, locally: `make dev` sets [`DEV_KEY`].
pub const KEY_VAR: &str = "CONSENT_HASH_KEY";
/// Else the Secrets Manager secret (name or ARN) whose SecretString is the
/// key: on AWS, the stack's `<stack>/consent-hash-key`, read at start.
pub const SECRET_VAR: &str = "CONSENT_HASH_KEY_SECRET";
/// `make dev`'s key. It is in the repository: not a secret.
pub const DEV_KEY: &str = "marketing-webhooks-dev-consent-hash-key-not-secret";
/// The setting that lets the consent function delete a forgotten person's
/// later events, and erase on `contact.forgotten`.
pub const ERASE_LATER_VAR: &str = "ERASE_LATER_EVENTS";
/// The subject prefix of a forgotten person's consent records.
pub const FORGOTTEN: &str = "forgotten#";
/// The sort-key prefix of an erasure record.
pub const ERASURE_SK: &str = "erasure#";
/// A person's links are followed this far at most; past it, `forget`
/// refuses rather than sweep in people a shared contact id links to.
pub const MAX_SUBJECTS: usize = 50;

/// The HMAC key of forgotten subjects.
#[derive(Clone)]
pub struct HashKey(Hmac<Sha256>);

impl std::fmt::Debug for HashKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HashKey(..)")
    }
}

impl HashKey {
    /// `None` for an empty key.
    pub fn new(key: &[u8]) -> Option<Self> {
        if key.is_empty() {
            return None;
        }
        <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .ok()
            .map(HashKey)
    }

    /// [`KEY_VAR`], when set and not empty.
    pub fn from_env() -> Option<Self> {
        std::env::var(KEY_VAR)
            .ok()
            .and_then(|key| Self::new(key.as_bytes()))
    }

    /// HMAC-SHA-256 of `text` (UTF-8), lower-case hex.
    pub fn hex(&self, text: &str) -> String {
        let mut mac = self.0.clone();
        mac.update(text.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The forgotten subject of a (normalized) subject; a forgotten subject
    /// is its own.
    pub fn forgotten_subject(&self, subject: &str) -> Option<Subject> {
        if subject.starts_with(FORGOTTEN) {
            return Some(subject.to_owned());
        }
        let (kind, address) = subject.split_once('#')?;
        matches!(kind, "email" | "phone" | "contact")
            .then(|| format!("{FORGOTTEN}{kind}#{}", self.hex(address)))
    }
}

/// The key from [`KEY_VAR`], else from the secret [`SECRET_VAR`] names;
/// `Ok(None)` when neither is set.
pub async fn key_at_start() -> Result<Option<HashKey>, String> {
    if let Some(key) = HashKey::from_env() {
        return Ok(Some(key));
    }
    let Some(secret) = std::env::var(SECRET_VAR).ok().filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let config = aws_config::load_from_env().await;
    let answer = aws_sdk_secretsmanager::Client::new(&config)
        .get_secret_value()
        .secret_id(&secret)
        .send()
        .await
        .map_err(|e| {
            format!(
                "reading the hash key secret {secret}: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
            )
        })?;
    let key = answer
        .secret_string()
        .and_then(|k| HashKey::new(k.as_bytes()))
        .ok_or_else(|| format!("the hash key secret {secret} holds no SecretString"))?;
    Ok(Some(key))
}

/// `ERASE_LATER_EVENTS` is `true` (or `1`).
pub fn erase_later_from_env() -> bool {
    std::env::var(ERASE_LATER_VAR)
        .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1"))
        .unwrap_or(false)
}

/// What an erasure did, kept under each forgotten subject of the person
/// (sort key `erasure#<erased_at>`). It names no address.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ErasureRecord {
    pub erased_at: String,
    pub by: String,
    /// The legal basis or the request it answers.
    pub reason: String,
    /// How many subjects (addresses, phones, contact ids) the person had.
    pub subjects: u64,
    pub events_deleted: u64,
    /// Consent items moved under the keyed hashes.
    pub consent_items: u64,
}

impl ErasureRecord {
    fn item(&self, subject: &str) -> Item {
        let n = |v: u64| AttributeValue::N(v.to_string());
        let s = |v: &str| AttributeValue::S(v.to_owned());
        Item::from([
            ("subject".to_owned(), s(subject)),
            (
                "sk".to_owned(),
                s(&format!("{ERASURE_SK}{}", self.erased_at)),
            ),
            ("erased_at".to_owned(), s(&self.erased_at)),
            ("by".to_owned(), s(&self.by)),
            ("reason".to_owned(), s(&self.reason)),
            ("subjects".to_owned(), n(self.subjects)),
            ("events_deleted".to_owned(), n(self.events_deleted)),
            ("consent_items".to_owned(), n(self.consent_items)),
        ])
    }

    pub fn from_item(item: &Item) -> Option<Self> {
        let s = |name: &str| match item.get(name) {
            Some(AttributeValue::S(v)) => Some(v.clone()),
            _ => None,
        };
        let n = |name: &str| match item.get(name) {
            Some(AttributeValue::N(v)) => v.parse().ok(),
            _ => None,
        };
        Some(ErasureRecord {
            erased_at: s("erased_at")?,
            by: s("by")?,
            reason: s("reason")?,
            subjects: n("subjects")?,
            events_deleted: n("events_deleted")?,
            consent_items: n("consent_items")?,
        })
    }
}

/// One subject of the person, and the stored events found through it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SubjectPlan {
    pub subject: Subject,
    pub forgotten: Subject,
    /// Stored events found through this subject (an event found through
    /// two subjects counts under both).
    pub events: u64,
    pub consent_items: u64,
}

/// What `forget` will do, or did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Plan {
    pub subjects: Vec<SubjectPlan>,
    /// Distinct stored events of the person.
    pub events: u64,
    #[serde(skip)]
    event_ids: BTreeSet<String>,
    /// The person's consent items, by subject.
    #[serde(skip)]
    items: BTreeMap<Subject, Vec<Item>>,
}

fn fail(action: &str, e: impl std::fmt::Display) -> TableError {
    TableError(format!("{action}: {e}"))
}

fn text(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

/// The `by_contact` keys a fact's stored event had: its e-mail, else its
/// contact id, else its phone, as the events table formed them.
fn contact_key_of(fact: &Fact) -> Option<String> {
    let key = if let Some(email) = &fact.email {
        format!("email#{email}")
    } else if let Some(id) = &fact.contact_id {
        format!("contact#{}#{id}", fact.provider)
    } else {
        format!("phone#{}", fact.phone.as_deref()?)
    };
    Some(normalize::bounded_key(key))
}

/// Finds the person the `subjects` belong to (every subject linked to
/// them, and theirs), their consent items and their stored events. Deletes
/// nothing.
pub async fn plan(
    table: &ConsentTable,
    events: &Reader,
    key: &HashKey,
    subjects: &[Subject],
) -> Result<Plan, TableError> {
    let mut plan = Plan::default();
    let mut queue = subjects.to_vec();
    let mut seen: BTreeSet<Subject> = subjects.iter().cloned().collect();
    let subject = subjects.join(", ");
    while let Some(current) = queue.pop() {
        let items = table.raw_items(&current).await?;
        for link in items.iter().filter_map(|i| text(i, "link")) {
            if seen.insert(link.clone()) {
                if seen.len() > MAX_SUBJECTS {
                    return Err(TableError(format!(
                        "{subject} is linked to more than {MAX_SUBJECTS} subjects: forget them one by one"
                    )));
                }
                queue.push(link);
            }
        }
        plan.items.insert(current, items);
    }
    for (subject, items) in &plan.items {
        let mut keys = BTreeSet::from([normalize::bounded_key(subject.clone())]);
        let mut ids = BTreeSet::new();
        for item in items.iter().filter(|i| !i.contains_key("link")) {
            let mut body = item.clone();
            body.remove("subject");
            body.remove("sk");
            if let Ok(fact) = serde_dynamo::aws_sdk_dynamodb_1::from_item::<Fact>(body) {
                keys.extend(contact_key_of(&fact));
                if fact.provider != "operator" {
                    ids.insert(fact.event_id);
                }
            }
        }
        for contact_key in keys {
            let query = Query::contact(&contact_key).project(&[events_table::attr::EVENT_ID]);
            let found = events
                .query(&query)
                .await
                .map_err(|e| fail("Query by_contact", e))?;
            ids.extend(
                found
                    .iter()
                    .filter_map(|i| text(i, events_table::attr::EVENT_ID)),
            );
        }
        // Facts whose event is gone already (retention) are not counted.
        let stored = events
            .get_many(
                &ids.iter().cloned().collect::<Vec<_>>(),
                Some(&Projection::of(&[events_table::attr::EVENT_ID])),
            )
            .await
            .map_err(|e| fail("BatchGetItem", e))?;
        let ids: BTreeSet<String> = ids
            .into_iter()
            .filter(|id| stored.contains_key(id))
            .collect();
        plan.subjects.push(SubjectPlan {
            subject: subject.clone(),
            forgotten: key.forgotten_subject(subject).unwrap_or_default(),
            events: ids.len() as u64,
            consent_items: items.len() as u64,
        });
        plan.event_ids.extend(ids);
    }
    plan.events = plan.event_ids.len() as u64;
    Ok(plan)
}

/// A consent item moved under the forgotten subjects: links point at the
/// forgotten subject, facts lose the address, phone and contact id.
fn forgotten_item(key: &HashKey, item: &Item) -> Option<Item> {
    let mut item = item.clone();
    let subject = key.forgotten_subject(&text(&item, "subject")?)?;
    item.insert("subject".into(), AttributeValue::S(subject));
    if let Some(link) = text(&item, "link") {
        let link = key.forgotten_subject(&link)?;
        item.insert("sk".into(), AttributeValue::S(format!("link#{link}")));
        item.insert("link".into(), AttributeValue::S(link));
    }
    // `digest` is an unkeyed hash of the fact, address included, and
    // `unpublished` names the subject: neither may outlive the address.
    for name in [
        "email",
        "phone",
        "contact_id",
        crate::table::DIGEST,
        crate::table::UNPUBLISHED,
    ] {
        item.remove(name);
    }
    Some(item)
}

/// Carries out `plan`: writes the consent items under the forgotten
/// subjects with a `contact.forgotten` fact and the erasure record under
/// each, then deletes the stored events, then the consent items that named
/// the person. Run again after a failure, it finishes the work.
pub async fn forget(
    table: &ConsentTable,
    events: &Reader,
    key: &HashKey,
    plan: &Plan,
    by: &str,
    reason: &str,
    now: &str,
) -> Result<ErasureRecord, TableError> {
    let consent_items: usize = plan.items.values().map(Vec::len).sum();
    let record = ErasureRecord {
        erased_at: now.to_owned(),
        by: by.to_owned(),
        reason: reason.to_owned(),
        subjects: plan.items.len() as u64,
        events_deleted: plan.events,
        consent_items: consent_items as u64,
    };
    let forgotten_fact = Fact {
        event_id: format!("forget#{now}"),
        occurred_at: now.to_owned(),
        provider: "operator".to_owned(),
        event_type: "contact.forgotten".to_owned(),
        reason: Some(reason.to_owned()),
        by: Some(by.to_owned()),
        ..Fact::default()
    };
    let fact_body: Item = serde_dynamo::aws_sdk_dynamodb_1::to_item(&forgotten_fact)
        .map_err(|e| fail("the forgotten fact as an item", e))?;
    let mut puts = Vec::new();
    for (subject, items) in &plan.items {
        let Some(forgotten) = key.forgotten_subject(subject) else {
            continue;
        };
        for item in items {
            puts.extend(forgotten_item(key, item).map(put_request).transpose()?);
        }
        let mut fact = fact_body.clone();
        fact.insert("subject".into(), AttributeValue::S(forgotten.clone()));
        fact.insert(
            "sk".into(),
            AttributeValue::S(format!("fact#{}", forgotten_fact.event_id)),
        );
        puts.push(put_request(fact)?);
        puts.push(put_request(record.item(&forgotten))?);
    }
    table.write_batch(puts).await?;

    delete_events(&table.client, events.table(), &plan.event_ids).await?;

    let mut deletes = Vec::new();
    for (subject, items) in &plan.items {
        if subject.starts_with(FORGOTTEN) {
            continue;
        }
        for sk in items.iter().filter_map(|i| text(i, "sk")) {
            deletes.push(delete_request(subject, &sk)?);
        }
    }
    table.write_batch(deletes).await?;
    Ok(record)
}

/// The consent function's part, when the deployer turned it on
/// (`ERASE_LATER_EVENTS`): a `contact.forgotten` event forgets its person
/// (the event included); any other event of a forgotten person is deleted
/// from the events table and recorded nowhere. Answers whether `fact`'s
/// event was erased.
pub async fn erase_on_arrival(
    table: &ConsentTable,
    events_table: &str,
    fact: &Fact,
) -> Result<bool, TableError> {
    let Some(key) = table.hash_key.clone() else {
        return Ok(false);
    };
    let mut subjects = consent::subjects(fact);
    subjects.extend(consent::links(fact).into_iter().map(|(_, contact)| contact));
    if subjects.is_empty() {
        return Ok(false);
    }
    let events = Reader::new(table.client.clone(), events_table);
    if fact.event_type == "contact.forgotten" {
        // Recorded first, so its links and its event are part of the person.
        table.apply(fact).await?;
        let plan = plan(table, &events, &key, &subjects).await?;
        let reason = format!(
            "contact.forgotten from {} (event {})",
            fact.provider, fact.event_id
        );
        let now = normalize::Timestamp::now().text();
        forget(
            table,
            &events,
            &key,
            &plan,
            "consent function",
            &reason,
            &now,
        )
        .await?;
        return Ok(true);
    }
    for subject in &subjects {
        if is_forgotten(table, &key, subject).await? {
            delete_event(&table.client, events_table, &fact.event_id).await?;
            tracing::info!(
                event_id = fact.event_id,
                "consent: event of a forgotten person deleted on arrival"
            );
            return Ok(true);
        }
    }
    Ok(false)
}

async fn delete_event(client: &Client, events_table: &str, id: &str) -> Result<(), TableError> {
    client
        .delete_item()
        .table_name(events_table)
        .key(
            events_table::attr::EVENT_ID,
            AttributeValue::S(id.to_owned()),
        )
        .send()
        .await
        .map_err(|e| fail("DeleteItem", DisplayErrorContext(&e)))?;
    Ok(())
}

/// One DeleteItem per event, 16 at a time: the consent function's role may
/// delete events but not write them, which BatchWriteItem would need.
async fn delete_events(
    client: &Client,
    events_table: &str,
    ids: &BTreeSet<String>,
) -> Result<(), TableError> {
    let mut running = tokio::task::JoinSet::new();
    for id in ids {
        if running.len() >= 16 {
            if let Some(done) = running.join_next().await {
                done.map_err(|e| fail("DeleteItem", e))??;
            }
        }
        let (client, table, id) = (client.clone(), events_table.to_owned(), id.clone());
        running.spawn(async move { delete_event(&client, &table, &id).await });
    }
    while let Some(done) = running.join_next().await {
        done.map_err(|e| fail("DeleteItem", e))??;
    }
    Ok(())
}

/// Whether `subject` belongs to a forgotten person: its forgotten subject
/// holds an erasure record.
pub async fn is_forgotten(
    table: &ConsentTable,
    key: &HashKey,
    subject: &str,
) -> Result<bool, TableError> {
    let Some(forgotten) = key.forgotten_subject(subject) else {
        return Ok(false);
    };
    Ok(!table.subject(&forgotten).await?.erasures.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_hmac_sha256_of_the_address_alone() {
        // RFC 4231, test case 2: key "Jefe".
        let key = HashKey::new(b"Jefe").unwrap();
        assert_eq!(
            key.hex("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let key = HashKey::new(DEV_KEY.as_bytes()).unwrap();
        let ann = key.forgotten_subject("email#ann@example.com").unwrap();
        assert_eq!(
            ann,
            format!("forgotten#email#{}", key.hex("ann@example.com"))
        );
        assert_eq!(key.forgotten_subject(&ann).as_deref(), Some(ann.as_str()));
        assert!(key
            .forgotten_subject("contact#flashy#42")
            .unwrap()
            .starts_with("forgotten#contact#"));
        assert_eq!(HashKey::new(b"").map(|_| ()), None);
    }

    #[test]
    fn a_moved_item_names_no_address() {
        let key = HashKey::new(b"k").unwrap();
        let item = Item::from([
            (
                "subject".to_owned(),
                AttributeValue::S("email#ann@example.com".into()),
            ),
            ("sk".to_owned(), AttributeValue::S("fact#e1".into())),
            (
                "email".to_owned(),
                AttributeValue::S("ann@example.com".into()),
            ),
            ("contact_id".to_owned(), AttributeValue::S("42".into())),
            ("digest".to_owned(), AttributeValue::S("0123abcd".into())),
            (
                "unpublished".to_owned(),
                AttributeValue::S(r#"[{"subject":"email#ann@example.com"}]"#.into()),
            ),
        ]);
        let moved = forgotten_item(&key, &item).unwrap();
        assert!(!format!("{moved:?}").contains("ann@"), "{moved:?}");
        assert!(!moved.contains_key("contact_id"));
        assert!(
            !moved.contains_key("digest"),
            "an unkeyed hash of the address"
        );
        let link = Item::from([
            (
                "subject".to_owned(),
                AttributeValue::S("email#ann@example.com".into()),
            ),
            (
                "sk".to_owned(),
                AttributeValue::S("link#contact#flashy#42".into()),
            ),
            (
                "link".to_owned(),
                AttributeValue::S("contact#flashy#42".into()),
            ),
        ]);
        let moved = forgotten_item(&key, &link).unwrap();
        let target = key.forgotten_subject("contact#flashy#42").unwrap();
        assert_eq!(text(&moved, "link"), Some(target.clone()));
        assert_eq!(text(&moved, "sk"), Some(format!("link#{target}")));
    }
}
