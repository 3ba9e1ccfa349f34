//! The consent table: one item per (subject, fact), so two updates of one
//! person at once can never lose a fact, and writing a fact twice leaves
//! one item.
//!
//! | `subject` (hash) | `sk` (range) | holds |
//! |---|---|---|
//! | `email#…`, `phone#…`, `contact#<provider>#<id>` | `fact#<event_id>` | a consent fact (an opt-out, opt-in, bounce, recorded subscribe, an operator's clear) |
//! | same | `delivered` | the subject's latest delivery (the `undeliverable` rule's separator; one item, not one per delivery) |
//! | same | `link#<subject>` | the address and the contact id an event carried together |
//! | `forgotten#<kind>#<hex>` | the same three, and `erasure#<time>` | a forgotten person's records under a keyed hash of each address, and what was erased ([`crate::erasure`]) |
//!
//! A fact is written only if absent, older (`occurred_at`), or of the same
//! time with other content (`digest`, a hash of the fact: a reprocessed
//! event turning a soft bounce into a hard one, or a bounce into a
//! complaint), so the item ends as the later copy whatever the order of
//! arrival, and writing the same fact twice changes nothing.

use crate::erasure::{ErasureRecord, HashKey, ERASURE_SK};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use aws_sdk_dynamodb::Client;
use consent::{Fact, Meaning, Subject};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub type Item = HashMap<String, AttributeValue>;

#[derive(Debug, thiserror::Error)]
#[error("consent table: {0}")]
pub struct TableError(pub String);

fn fail<E>(action: &str, err: SdkError<E>) -> TableError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    TableError(format!("{action}: {}", DisplayErrorContext(&err)))
}

fn is_condition_failure<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    matches!(err, SdkError::ServiceError(e) if e.err().code() == Some("ConditionalCheckFailedException"))
}

/// The key (`sk`) a fact is kept under: deliveries share one item.
pub fn sort_key(fact: &Fact) -> String {
    if fact.meaning() == Meaning::Delivered {
        "delivered".to_owned()
    } else {
        format!("fact#{}", fact.event_id)
    }
}

/// The attribute holding [`digest`] on a fact's item.
pub const DIGEST: &str = "digest";

/// A fact's content as a short hash: two copies of one event at one time
/// differ exactly when their digests do.
pub fn digest(fact: &Fact) -> String {
    use sha2::{Digest, Sha256};
    let text = serde_json::to_string(fact).unwrap_or_default();
    Sha256::digest(text.as_bytes())[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The items one stored event makes: its fact under each of its subjects
/// (when it is about consent), and the links between the address and the
/// contact id it carried together.
pub fn items_of(fact: &Fact) -> Result<Vec<Item>, TableError> {
    let mut out = Vec::new();
    if fact.is_relevant() {
        let body: Item = serde_dynamo::aws_sdk_dynamodb_1::to_item(fact)
            .map_err(|e| TableError(format!("fact {} as an item: {e}", fact.event_id)))?;
        for subject in consent::subjects(fact) {
            let mut item = body.clone();
            item.insert("subject".into(), AttributeValue::S(subject));
            item.insert("sk".into(), AttributeValue::S(sort_key(fact)));
            item.insert(DIGEST.into(), AttributeValue::S(digest(fact)));
            out.push(item);
        }
    }
    for (address, contact) in consent::links(fact) {
        out.push(link_item(&address, &contact));
        out.push(link_item(&contact, &address));
    }
    Ok(out)
}

fn link_item(from: &str, to: &str) -> Item {
    HashMap::from([
        ("subject".to_owned(), AttributeValue::S(from.to_owned())),
        ("sk".to_owned(), AttributeValue::S(format!("link#{to}"))),
        ("link".to_owned(), AttributeValue::S(to.to_owned())),
    ])
}

/// The attribute that marks a fact's item whose verdict changes were not
/// yet published (fan-out): the `consent.changed` details, as JSON. A
/// record retried after a failed publish publishes them from here, and so
/// does `webhooks consent publish` once Lambda gave up ([`crate::pending`]).
pub const UNPUBLISHED: &str = "unpublished";

/// A fact's item as the fact and its [`UNPUBLISHED`] mark, if any.
pub fn fact_of(item: &Item) -> Result<(Fact, Option<String>), TableError> {
    let mut body = item.clone();
    body.remove("subject");
    body.remove("sk");
    body.remove(DIGEST);
    let unpublished = match body.remove(UNPUBLISHED) {
        Some(AttributeValue::S(details)) => Some(details),
        _ => None,
    };
    let fact: Fact = serde_dynamo::aws_sdk_dynamodb_1::from_item(body)
        .map_err(|e| TableError(format!("unreadable consent item: {e}")))?;
    Ok((fact, unpublished))
}

/// What the table holds of one subject.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SubjectItems {
    pub facts: Vec<Fact>,
    /// Event id → verdict changes not yet published ([`UNPUBLISHED`]).
    pub unpublished: BTreeMap<String, String>,
    pub links: BTreeSet<Subject>,
    /// Erasures of the person (forgotten subjects only).
    pub erasures: Vec<ErasureRecord>,
}

impl SubjectItems {
    fn add(&mut self, item: &Item) -> Result<(), TableError> {
        if let Some(AttributeValue::S(link)) = item.get("link") {
            self.links.insert(link.clone());
            return Ok(());
        }
        if matches!(item.get("sk"), Some(AttributeValue::S(sk)) if sk.starts_with(ERASURE_SK)) {
            let record = ErasureRecord::from_item(item)
                .ok_or_else(|| TableError("unreadable erasure record".into()))?;
            self.erasures.push(record);
            return Ok(());
        }
        let (fact, unpublished) = fact_of(item)?;
        if let Some(details) = unpublished {
            self.unpublished.insert(fact.event_id.clone(), details);
        }
        self.facts.push(fact);
        Ok(())
    }
}

pub struct ConsentTable {
    pub client: Client,
    pub name: String,
    /// The key of forgotten subjects: with it, a lookup also finds the
    /// records of a forgotten person ([`crate::erasure`]).
    pub hash_key: Option<HashKey>,
    /// The events table, when the deployer lets the consent function
    /// delete a forgotten person's later events (`ERASE_LATER_EVENTS`).
    pub erase_later_in: Option<String>,
}

impl ConsentTable {
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        ConsentTable {
            client,
            name: name.into(),
            hash_key: None,
            erase_later_in: None,
        }
    }

    pub fn with_hash_key(mut self, key: Option<HashKey>) -> Self {
        self.hash_key = key;
        self
    }

    /// Records one stored event: idempotent, and order-independent (a fact
    /// already there from a later copy of the event is kept).
    pub async fn apply(&self, fact: &Fact) -> Result<(), TableError> {
        self.apply_marked(fact, None).await
    }

    /// [`ConsentTable::apply`], the fact's items marked with the verdict
    /// changes still to publish ([`UNPUBLISHED`]), when there are some.
    pub async fn apply_marked(
        &self,
        fact: &Fact,
        unpublished: Option<&str>,
    ) -> Result<(), TableError> {
        for mut item in items_of(fact)? {
            if let Some(details) = unpublished.filter(|_| item.contains_key(DIGEST)) {
                item.insert(UNPUBLISHED.into(), AttributeValue::S(details.to_owned()));
            }
            self.put_if_newer(item).await?;
        }
        Ok(())
    }

    /// Takes the [`UNPUBLISHED`] mark off the fact's items once its changes
    /// are published: each item is put again as it was, only if it is still
    /// that copy and still marked.
    pub async fn mark_published(&self, fact: &Fact) -> Result<(), TableError> {
        for item in items_of(fact)? {
            let Some(AttributeValue::S(digest)) = item.get(DIGEST).cloned() else {
                continue;
            };
            let put = self
                .client
                .put_item()
                .table_name(&self.name)
                .condition_expression("digest = :digest AND attribute_exists(unpublished)")
                .expression_attribute_values(":digest", AttributeValue::S(digest))
                .set_item(Some(item));
            match put.send().await {
                Ok(_) => {}
                Err(e) if is_condition_failure(&e) => {}
                Err(e) => return Err(fail("PutItem", e)),
            }
        }
        Ok(())
    }

    /// Puts a fact's item unless the table holds a later copy, or the same
    /// one; other items (links) unconditionally.
    pub async fn put_if_newer(&self, item: Item) -> Result<(), TableError> {
        let mut put = self.client.put_item().table_name(&self.name);
        if let Some(AttributeValue::S(at)) = item.get("occurred_at") {
            let digest = match item.get(DIGEST) {
                Some(AttributeValue::S(d)) => d.clone(),
                _ => String::new(),
            };
            put = put
                .condition_expression(
                    "attribute_not_exists(sk) OR occurred_at < :at \
                     OR (occurred_at = :at AND (attribute_not_exists(digest) OR digest <> :digest))",
                )
                .expression_attribute_values(":at", AttributeValue::S(at.clone()))
                .expression_attribute_values(":digest", AttributeValue::S(digest));
        }
        match put.set_item(Some(item)).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(fail("PutItem", e)),
        }
    }

    /// Everything kept under one subject.
    pub async fn subject(&self, subject: &str) -> Result<SubjectItems, TableError> {
        let mut out = SubjectItems::default();
        for item in self.raw_items(subject).await? {
            out.add(&item)?;
        }
        Ok(out)
    }

    /// The items kept under one subject, as stored.
    pub async fn raw_items(&self, subject: &str) -> Result<Vec<Item>, TableError> {
        self.client
            .query()
            .table_name(&self.name)
            .key_condition_expression("subject = :s")
            .expression_attribute_values(":s", AttributeValue::S(subject.to_owned()))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| fail("Query", e))
    }

    /// The facts of a person: the subject's own, and those of every subject
    /// linked to it (the contact id an address was seen with, and back);
    /// with the hash key, also those kept under the subject's keyed hash if
    /// the person was forgotten.
    pub async fn person(&self, subject: &str) -> Result<Vec<Fact>, TableError> {
        Ok(self.person_items(subject).await?.facts)
    }

    /// [`ConsentTable::person`], with the unpublished marks of the facts.
    pub async fn person_items(&self, subject: &str) -> Result<SubjectItems, TableError> {
        let mut subjects = vec![subject.to_owned()];
        if let Some(forgotten) = self
            .hash_key
            .as_ref()
            .and_then(|key| key.forgotten_subject(subject))
            .filter(|f| f != subject)
        {
            subjects.push(forgotten);
        }
        let mut out = SubjectItems::default();
        for subject in subjects {
            let own = self.subject(&subject).await?;
            out.facts.extend(own.facts);
            out.unpublished.extend(own.unpublished);
            for linked in &own.links {
                let linked = self.subject(linked).await?;
                out.facts.extend(linked.facts);
                out.unpublished.extend(linked.unpublished);
            }
        }
        Ok(out)
    }

    /// The whole table, by subject.
    pub async fn scan(&self) -> Result<BTreeMap<Subject, SubjectItems>, TableError> {
        let mut out: BTreeMap<Subject, SubjectItems> = BTreeMap::new();
        for item in self.scan_items(None).await? {
            let Some(AttributeValue::S(subject)) = item.get("subject") else {
                continue;
            };
            out.entry(subject.clone()).or_default().add(&item)?;
        }
        Ok(out)
    }

    /// The items still marked [`UNPUBLISHED`]: a Scan of the whole table
    /// (it reads every item, returns only these).
    pub async fn marked_items(&self) -> Result<Vec<Item>, TableError> {
        self.scan_items(Some(UNPUBLISHED)).await
    }

    /// Every item, or only those holding the attribute `having`.
    async fn scan_items(&self, having: Option<&str>) -> Result<Vec<Item>, TableError> {
        let scan = self
            .client
            .scan()
            .table_name(&self.name)
            .consistent_read(true);
        let scan = match having {
            Some(name) => scan
                .filter_expression("attribute_exists(#having)")
                .expression_attribute_names("#having", name),
            None => scan,
        };
        scan.into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| fail("Scan", e))
    }

    /// Puts and deletes in batches of 25 (the rebuild), retrying what
    /// DynamoDB leaves unprocessed.
    pub async fn write_batch(&self, requests: Vec<WriteRequest>) -> Result<(), TableError> {
        for chunk in requests.chunks(25) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0u32;
            while !pending.is_empty() {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.name, pending)
                    .send()
                    .await
                    .map_err(|e| fail("BatchWriteItem", e))?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.name))
                    .unwrap_or_default();
                attempt += 1;
                if !pending.is_empty() {
                    if attempt > 10 {
                        return Err(TableError("BatchWriteItem kept items unprocessed".into()));
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt.min(5)))
                        .await;
                }
            }
        }
        Ok(())
    }
}

pub fn put_request(item: Item) -> Result<WriteRequest, TableError> {
    let put = PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map_err(|e| TableError(e.to_string()))?;
    Ok(WriteRequest::builder().put_request(put).build())
}

pub fn delete_request(subject: &str, sk: &str) -> Result<WriteRequest, TableError> {
    let delete = DeleteRequest::builder()
        .key("subject", AttributeValue::S(subject.to_owned()))
        .key("sk", AttributeValue::S(sk.to_owned()))
        .build()
        .map_err(|e| TableError(e.to_string()))?;
    Ok(WriteRequest::builder().delete_request(delete).build())
}

/// Creates the consent table as infra/template.yaml defines it (tests and
/// tools; `make dev` creates it from the template itself).
pub async fn create_table(client: &Client, name: &str) -> Result<(), TableError> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| TableError(e.to_string()))
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(|e| TableError(e.to_string()))
    };
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("subject")?)
        .attribute_definitions(attribute("sk")?)
        .key_schema(key("subject", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .send()
        .await
        .map_err(|e| fail("CreateTable", e))?;
    Ok(())
}
