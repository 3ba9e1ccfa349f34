//! The deliverability guard's metrics: per provider, the e-mails delivered,
//! complained about and hard-bounced that the consent function saw, as
//! CloudWatch Embedded Metric Format lines (namespace `MarketingWebhooks`,
//! dimension `provider`, as the webhook functions' metrics). The template's
//! complaint-rate alarms divide Complained by Delivered.
//!
//! E-goi, enKod and SuperSend report no deliveries: their sends count as
//! Delivered. A record Lambda delivers again after a failure is counted
//! again: the figures are for rates, not for an exact count.

use consent::Fact;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

pub const NAMESPACE: &str = "MarketingWebhooks";
pub const METRICS: [(&str, &str); 3] = [
    ("Delivered", "Count"),
    ("Complained", "Count"),
    ("HardBounced", "Count"),
];
/// The providers whose `email.sent` stands for a delivery.
pub const SENT_COUNTS_AS_DELIVERED: [&str; 3] = ["egoi", "enkod", "supersend"];

/// A batch's counts, per provider.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally(BTreeMap<String, [u64; 3]>);

impl Tally {
    /// Counts one newly stored event.
    pub fn count(&mut self, fact: &Fact) {
        let index = match fact.event_type.as_str() {
            "email.delivered" => 0,
            "email.sent" if SENT_COUNTS_AS_DELIVERED.contains(&fact.provider.as_str()) => 0,
            "email.complained" => 1,
            "email.bounced" if fact.bounce_type.as_deref() == Some("hard") => 2,
            _ => return,
        };
        self.0.entry(fact.provider.clone()).or_default()[index] += 1;
    }

    /// One EMF line per provider seen.
    pub fn lines(&self, timestamp_ms: u64) -> Vec<String> {
        let definitions: Vec<Value> = METRICS
            .iter()
            .map(|(name, unit)| json!({"Name": name, "Unit": unit}))
            .collect();
        self.0
            .iter()
            .map(|(provider, counts)| {
                let mut line = Map::new();
                line.insert(
                    "_aws".into(),
                    json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": [{
                        "Namespace": NAMESPACE, "Dimensions": [["provider"]], "Metrics": definitions}]}),
                );
                line.insert("provider".into(), json!(provider));
                for ((name, _), count) in METRICS.iter().zip(counts) {
                    line.insert((*name).into(), json!(count));
                }
                Value::Object(line).to_string()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(provider: &str, event_type: &str, bounce: Option<&str>) -> Fact {
        Fact {
            provider: provider.into(),
            event_type: event_type.into(),
            bounce_type: bounce.map(str::to_owned),
            ..Fact::default()
        }
    }

    #[test]
    fn deliveries_or_sends_complaints_and_hard_bounces_per_provider() {
        let mut tally = Tally::default();
        for f in [
            fact("flashy", "email.delivered", None),
            fact("flashy", "email.sent", None),
            fact("egoi", "email.sent", None),
            fact("egoi", "email.bounced", Some("hard")),
            fact("egoi", "email.bounced", Some("soft")),
            fact("enkod", "email.complained", None),
        ] {
            tally.count(&f);
        }
        let lines: Vec<Value> = tally
            .lines(7)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        let egoi = &lines[0];
        assert_eq!(egoi["provider"], "egoi");
        assert_eq!(
            (egoi["Delivered"].as_u64(), egoi["HardBounced"].as_u64()),
            (Some(1), Some(1))
        );
        assert_eq!(egoi["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
        assert_eq!(lines[1]["Complained"], 1);
        assert_eq!(lines[2]["provider"], "flashy");
        assert_eq!(
            lines[2]["Delivered"], 1,
            "Flashy reports deliveries: its sends do not count"
        );
    }
}
