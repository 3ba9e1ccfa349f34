//! The fold is order-independent and idempotent: any shuffle of a set of
//! facts, with any of them repeated, gives the same consent.

use consent::{fold, Fact, Settings, CLEARED};
use proptest::prelude::*;

/// Every type the fold reads, and an operator's clear.
fn types() -> Vec<&'static str> {
    consent::CONSENT_TYPES
        .iter()
        .copied()
        .chain([CLEARED])
        .collect()
}

/// Times close together (ties, 30 s, 60 s) and days apart (the 14 days).
fn time() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(0i64),
        Just(30),
        Just(60),
        Just(86_400),
        Just(7 * 86_400),
        Just(15 * 86_400),
        0i64..30 * 86_400
    ]
    .prop_map(|secs| {
        normalize::Timestamp::from_unix_seconds(1_767_225_600 + secs)
            .expect("a valid time")
            .text()
    })
}

/// A few ids, so some facts share one (a racing redelivery).
fn fact() -> impl Strategy<Value = Fact> {
    (
        0..12usize,
        prop::sample::select(types()),
        time(),
        prop::sample::select(&["flashy", "egoi", "sendpulse"][..]),
        prop::option::of(prop::sample::select(
            &["email", "sms", "web_push", "whatsapp"][..],
        )),
        prop::option::of(prop::sample::select(&["hard", "soft"][..])),
        prop::sample::select(&["STOP", "start", "hello"][..]),
        prop::collection::vec(0..12usize, 0..3),
        time(),
    )
        .prop_map(
            |(id, event_type, occurred_at, provider, channel, bounce, text, clears, through)| {
                Fact {
                    event_id: format!("e{id}"),
                    occurred_at,
                    provider: provider.to_owned(),
                    event_type: event_type.to_owned(),
                    channel: channel.map(str::to_owned),
                    email: Some("ann@example.com".into()),
                    bounce_type: bounce.map(str::to_owned),
                    text: Some(text.to_owned()),
                    clears: if event_type == CLEARED {
                        clears.iter().map(|i| format!("e{i}")).collect()
                    } else {
                        Vec::new()
                    },
                    through: (event_type == CLEARED).then_some(through),
                    ..Fact::default()
                }
            },
        )
}

fn facts_and_arrival() -> impl Strategy<Value = (Vec<Fact>, Vec<Fact>)> {
    prop::collection::vec(fact(), 0..24).prop_flat_map(|facts| {
        let n = facts.len().max(1);
        let repeats = prop::collection::vec(0..n, 0..8);
        (Just(facts), repeats).prop_flat_map(|(facts, repeats)| {
            let mut arrival = facts.clone();
            arrival.extend(repeats.iter().filter_map(|&i| facts.get(i).cloned()));
            (Just(facts), Just(arrival).prop_shuffle())
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn shuffled_and_repeated_arrivals_give_the_same_consent((facts, arrival) in facts_and_arrival()) {
        let settings = Settings::default();
        prop_assert_eq!(fold(arrival, &settings), fold(facts, &settings));
    }

    #[test]
    fn folding_the_view_again_with_any_part_of_it_changes_nothing((facts, arrival) in facts_and_arrival()) {
        let settings = Settings::default();
        let once = fold(facts.clone(), &settings);
        let mut again = facts;
        again.extend(arrival);
        prop_assert_eq!(fold(again, &settings), once);
    }

    /// The consent table keeps only each address's latest delivery: the
    /// verdicts must not need the earlier ones.
    #[test]
    fn the_latest_delivery_alone_gives_the_same_verdicts((facts, _) in facts_and_arrival()) {
        let settings = Settings::default();
        let delivered = |f: &Fact| f.event_type == "email.delivered";
        let latest = facts.iter().filter(|f| delivered(f)).map(Fact::at).max();
        let shared = |f: &Fact| facts.iter().filter(|g| g.event_id == f.event_id).count() > 1;
        let kept: Vec<Fact> = facts
            .iter()
            .filter(|f| !delivered(f) || shared(f) || Some(f.at()) == latest)
            .cloned()
            .collect();
        let (all, table) = (fold(facts, &settings), fold(kept, &settings));
        prop_assert_eq!(all.channels, table.channels);
        prop_assert_eq!(all.transactional_blocked, table.transactional_blocked);
    }
}
