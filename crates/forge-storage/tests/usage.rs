//! Usage records and the statistics queries, against SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::both_backends;
use forge_core::usage_record::UsageRecord;
use forge_storage::*;

/// 2025-03-10T00:00:00Z.
const DAY0: i64 = 1_741_564_800_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

both_backends!(
    insert_is_idempotent,
    every_field_round_trips,
    totals_by_time_bucket,
    totals_by_keys,
    unpriced_is_not_zero,
    page_is_newest_first_with_total,
    filters_narrow_every_query,
);

/// A successful, priced record with small distinct numbers; tests change what they need.
fn rec(id: &str, started_at_ms: i64) -> UsageRecord {
    UsageRecord {
        id: id.to_owned(),
        request_id: format!("req-{id}"),
        started_at_ms,
        user_id: None,
        forge_key_id: None,
        gateway_key: None,
        provider_key_id: None,
        deployment: None,
        provider: "openai".to_owned(),
        requested_model: "gpt-4o".to_owned(),
        upstream_model: "gpt-4o".to_owned(),
        endpoint: "chat/completions".to_owned(),
        dialect: "openai".to_owned(),
        input_tokens: 1,
        cached_read_tokens: 0,
        cache_write_tokens: 0,
        output_tokens: 1,
        reasoning_tokens: 0,
        cost_nanos: Some(1),
        currency: "USD".to_owned(),
        price_source: "table:1".to_owned(),
        status: 200,
        error_class: None,
        streamed: false,
        estimated: false,
        ttft_ms: None,
        duration_ms: 10,
        client_disconnected: false,
    }
}

fn id(n: usize) -> String {
    format!("{n:032x}")
}

fn ids(records: &[UsageRecord]) -> Vec<&str> {
    records.iter().map(|r| r.id.as_str()).collect()
}

fn all() -> UsageFilter {
    UsageFilter::default()
}

async fn insert_is_idempotent(store: &Store) {
    assert_eq!(store.insert_usage(Vec::new()).await.unwrap(), 0);
    let records: Vec<UsageRecord> = (0..1000).map(|n| rec(&id(n), DAY0 + n as i64)).collect();
    assert_eq!(store.insert_usage(records.clone()).await.unwrap(), 1000);
    assert_eq!(store.insert_usage(records.clone()).await.unwrap(), 0);
    let totals = store.usage_totals(all(), &[]).await.unwrap();
    assert_eq!(totals[0].requests, 1000);

    // Half old, half new: only the new ids count.
    let mixed: Vec<UsageRecord> = (500..1500).map(|n| rec(&id(n), DAY0 + n as i64)).collect();
    assert_eq!(store.insert_usage(mixed).await.unwrap(), 500);
    // The same id twice in one statement, and again later: the first write wins.
    let twice = vec![rec(&id(1500), DAY0 + 1500), rec(&id(1500), DAY0 - 1)];
    assert_eq!(store.insert_usage(twice).await.unwrap(), 1);
    assert_eq!(
        store
            .insert_usage(vec![rec(&id(1500), DAY0 - 2)])
            .await
            .unwrap(),
        0
    );
    let stored = store.usage_records(all()).await.unwrap();
    assert_eq!(stored.len(), 1501);
    assert_eq!(stored[1500], rec(&id(1500), DAY0 + 1500));

    // Thousands in one call, well within a test's patience on both backends.
    let many: Vec<UsageRecord> = (2000..7000).map(|n| rec(&id(n), DAY0 + n as i64)).collect();
    let started = std::time::Instant::now();
    assert_eq!(store.insert_usage(many).await.unwrap(), 5000);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

async fn every_field_round_trips(store: &Store) {
    let full = UsageRecord {
        id: "0123456789abcdef0123456789abcdef".to_owned(),
        request_id: "req-ü-1".to_owned(),
        started_at_ms: DAY0 + 123,
        // No such user or key exists: records do not depend on them.
        user_id: Some(7),
        forge_key_id: Some(8),
        gateway_key: Some("ci-static".to_owned()),
        provider_key_id: Some(9),
        deployment: Some("eu-west".to_owned()),
        provider: "anthropic".to_owned(),
        requested_model: "claude-latest".to_owned(),
        upstream_model: "claude-3-5-sonnet-20241022 ü".to_owned(),
        endpoint: "messages".to_owned(),
        dialect: "anthropic".to_owned(),
        input_tokens: 1_000_000_000_000,
        cached_read_tokens: 11,
        cache_write_tokens: 12,
        output_tokens: 13,
        reasoning_tokens: 14,
        cost_nanos: Some(9_000_000_000_000_000),
        currency: "EUR".to_owned(),
        price_source: "table:2025-01".to_owned(),
        status: u16::MAX,
        error_class: Some("stream_broken".to_owned()),
        streamed: true,
        estimated: true,
        ttft_ms: Some(321),
        duration_ms: 4567,
        client_disconnected: true,
    };
    let empty = UsageRecord {
        id: "ffffffffffffffffffffffffffffffff".to_owned(),
        started_at_ms: DAY0 - DAY + 999,
        cost_nanos: None,
        input_tokens: 0,
        output_tokens: 0,
        status: 0,
        duration_ms: 0,
        ..rec("x", 0)
    };
    store
        .insert_usage(vec![full.clone(), empty.clone()])
        .await
        .unwrap();
    assert_eq!(
        store.usage_records(all()).await.unwrap(),
        vec![empty.clone(), full.clone()]
    );
    let (total, page) = store.usage_page(all(), 0, 10).await.unwrap();
    assert_eq!((total, page), (2, vec![full, empty]));
}

/// Six records over three UTC days; the sums below are worked out by hand.
fn fixture() -> Vec<UsageRecord> {
    let a = UsageRecord {
        user_id: Some(1),
        forge_key_id: Some(10),
        input_tokens: 100,
        cached_read_tokens: 5,
        output_tokens: 10,
        cost_nanos: Some(1000),
        ..rec("a", DAY0 + 10 * MINUTE)
    };
    let b = UsageRecord {
        user_id: Some(1),
        forge_key_id: Some(10),
        input_tokens: 200,
        output_tokens: 20,
        cost_nanos: Some(2000),
        status: 502,
        error_class: Some("upstream_5xx".to_owned()),
        ..rec("b", DAY0 + HOUR + 1)
    };
    let c = UsageRecord {
        user_id: Some(2),
        forge_key_id: Some(20),
        provider: "anthropic".to_owned(),
        upstream_model: "claude".to_owned(),
        input_tokens: 50,
        cache_write_tokens: 4,
        output_tokens: 5,
        cost_nanos: None,
        estimated: true,
        ..rec("c", DAY0 + HOUR + 30 * MINUTE)
    };
    let d = UsageRecord {
        user_id: Some(1),
        forge_key_id: Some(11),
        provider: "anthropic".to_owned(),
        upstream_model: "claude".to_owned(),
        input_tokens: 0,
        output_tokens: 0,
        cost_nanos: None,
        status: 502,
        error_class: Some("unreachable".to_owned()),
        ..rec("d", DAY0 + DAY + 5 * MINUTE)
    };
    let e = UsageRecord {
        gateway_key: Some("ci".to_owned()),
        input_tokens: 7,
        output_tokens: 3,
        reasoning_tokens: 2,
        cost_nanos: Some(70),
        ..rec("e", DAY0 + DAY + 23 * HOUR + 59 * MINUTE)
    };
    let f = UsageRecord {
        user_id: Some(2),
        forge_key_id: Some(20),
        ..rec("f", DAY0 - 1)
    };
    vec![a, b, c, d, e, f]
}

async fn totals_by_time_bucket(store: &Store) {
    store.insert_usage(fixture()).await.unwrap();

    let days = store.usage_totals(all(), &[UsageGroup::Day]).await.unwrap();
    let expected = vec![
        UsageTotals {
            bucket_start_ms: Some(DAY0 - DAY),
            requests: 1,
            input_tokens: 1,
            output_tokens: 1,
            cost_nanos: Some(1),
            ..UsageTotals::default()
        },
        UsageTotals {
            bucket_start_ms: Some(DAY0),
            requests: 3,
            input_tokens: 350,
            cached_read_tokens: 5,
            cache_write_tokens: 4,
            output_tokens: 35,
            cost_nanos: Some(3000),
            unpriced_requests: 1,
            estimated_requests: 1,
            errors: 1,
            ..UsageTotals::default()
        },
        UsageTotals {
            bucket_start_ms: Some(DAY0 + DAY),
            requests: 2,
            input_tokens: 7,
            output_tokens: 3,
            reasoning_tokens: 2,
            cost_nanos: Some(70),
            errors: 1,
            ..UsageTotals::default()
        },
    ];
    assert_eq!(days, expected);

    let hours = store
        .usage_totals(all(), &[UsageGroup::Hour])
        .await
        .unwrap();
    let buckets: Vec<(Option<i64>, i64)> = hours
        .iter()
        .map(|t| (t.bucket_start_ms, t.requests))
        .collect();
    assert_eq!(
        buckets,
        vec![
            (Some(DAY0 - HOUR), 1),
            (Some(DAY0), 1),
            (Some(DAY0 + HOUR), 2),
            (Some(DAY0 + DAY), 1),
            (Some(DAY0 + DAY + 23 * HOUR), 1),
        ]
    );
    assert_eq!(hours[2].input_tokens, 250);
    assert_eq!(hours[2].cost_nanos, Some(2000));
    assert_eq!(hours[2].unpriced_requests, 1);
    // Hour wins over Day; duplicates do not split further.
    assert_eq!(
        store
            .usage_totals(
                all(),
                &[UsageGroup::Day, UsageGroup::Hour, UsageGroup::Hour]
            )
            .await
            .unwrap(),
        hours
    );

    let day_model = store
        .usage_totals(all(), &[UsageGroup::Day, UsageGroup::Model])
        .await
        .unwrap();
    let keys: Vec<(Option<i64>, Option<&str>, i64)> = day_model
        .iter()
        .map(|t| (t.bucket_start_ms, t.model.as_deref(), t.requests))
        .collect();
    assert_eq!(
        keys,
        vec![
            (Some(DAY0 - DAY), Some("gpt-4o"), 1),
            (Some(DAY0), Some("claude"), 1),
            (Some(DAY0), Some("gpt-4o"), 2),
            (Some(DAY0 + DAY), Some("claude"), 1),
            (Some(DAY0 + DAY), Some("gpt-4o"), 1),
        ]
    );
}

async fn totals_by_keys(store: &Store) {
    store.insert_usage(fixture()).await.unwrap();

    let overall = store.usage_totals(all(), &[]).await.unwrap();
    assert_eq!(
        overall,
        vec![UsageTotals {
            requests: 6,
            input_tokens: 358,
            cached_read_tokens: 5,
            cache_write_tokens: 4,
            output_tokens: 39,
            reasoning_tokens: 2,
            cost_nanos: Some(3071),
            unpriced_requests: 1,
            estimated_requests: 1,
            errors: 2,
            ..UsageTotals::default()
        }]
    );

    let models = store
        .usage_totals(all(), &[UsageGroup::Model])
        .await
        .unwrap();
    assert_eq!(
        models,
        vec![
            UsageTotals {
                model: Some("claude".to_owned()),
                requests: 2,
                input_tokens: 50,
                cache_write_tokens: 4,
                output_tokens: 5,
                cost_nanos: None,
                unpriced_requests: 1,
                estimated_requests: 1,
                errors: 1,
                ..UsageTotals::default()
            },
            UsageTotals {
                model: Some("gpt-4o".to_owned()),
                requests: 4,
                input_tokens: 308,
                cached_read_tokens: 5,
                output_tokens: 34,
                reasoning_tokens: 2,
                cost_nanos: Some(3071),
                errors: 1,
                ..UsageTotals::default()
            },
        ]
    );

    let by_key = |group: UsageGroup| async move {
        store
            .usage_totals(all(), &[group])
            .await
            .unwrap()
            .into_iter()
            .map(|t| {
                let key = match group {
                    UsageGroup::ForgeKey => t.forge_key_id.map(|k| k.to_string()),
                    UsageGroup::User => t.user_id.map(|k| k.to_string()),
                    UsageGroup::Provider => t.provider.clone(),
                    UsageGroup::GatewayKey => t.gateway_key.clone(),
                    _ => panic!("not a key"),
                };
                (key, t.requests, t.input_tokens, t.cost_nanos)
            })
            .collect::<Vec<_>>()
    };
    let s = |v: &str| Some(v.to_owned());
    // Records without the key come last, as one group.
    assert_eq!(
        by_key(UsageGroup::ForgeKey).await,
        vec![
            (s("10"), 2, 300, Some(3000)),
            (s("11"), 1, 0, None),
            (s("20"), 2, 51, Some(1)),
            (None, 1, 7, Some(70)),
        ]
    );
    assert_eq!(
        by_key(UsageGroup::User).await,
        vec![
            (s("1"), 3, 300, Some(3000)),
            (s("2"), 2, 51, Some(1)),
            (None, 1, 7, Some(70)),
        ]
    );
    assert_eq!(
        by_key(UsageGroup::Provider).await,
        vec![
            (s("anthropic"), 2, 50, None),
            (s("openai"), 4, 308, Some(3071)),
        ]
    );
    assert_eq!(
        by_key(UsageGroup::GatewayKey).await,
        vec![(s("ci"), 1, 7, Some(70)), (None, 5, 351, Some(3001))]
    );

    // Two keys: ordered by the first given, then the second.
    let user_provider = store
        .usage_totals(all(), &[UsageGroup::User, UsageGroup::Provider])
        .await
        .unwrap();
    let keys: Vec<_> = user_provider
        .iter()
        .map(|t| {
            (
                t.user_id,
                t.provider.as_deref(),
                t.model.as_deref(),
                t.requests,
            )
        })
        .collect();
    assert_eq!(
        keys,
        vec![
            (Some(1), Some("anthropic"), None, 1),
            (Some(1), Some("openai"), None, 2),
            (Some(2), Some("anthropic"), None, 1),
            (Some(2), Some("openai"), None, 1),
            (None, Some("openai"), None, 1),
        ]
    );
    let provider_user: Vec<_> = store
        .usage_totals(all(), &[UsageGroup::Provider, UsageGroup::User])
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.provider, t.user_id, t.requests))
        .collect();
    assert_eq!(
        provider_user,
        vec![
            (s("anthropic"), Some(1), 1),
            (s("anthropic"), Some(2), 1),
            (s("openai"), Some(1), 2),
            (s("openai"), Some(2), 1),
            (s("openai"), None, 1),
        ]
    );

    // Nothing matches: one zero row without groups, no rows with them.
    let none = UsageFilter {
        user_id: Some(404),
        ..all()
    };
    assert_eq!(
        store.usage_totals(none.clone(), &[]).await.unwrap(),
        vec![UsageTotals::default()]
    );
    assert!(
        store
            .usage_totals(none.clone(), &[UsageGroup::Day])
            .await
            .unwrap()
            .is_empty()
    );
}

async fn unpriced_is_not_zero(store: &Store) {
    let free = UsageRecord {
        cost_nanos: Some(0),
        ..rec("free", DAY0)
    };
    let unknown = UsageRecord {
        cost_nanos: None,
        input_tokens: 10,
        output_tokens: 0,
        upstream_model: "mystery".to_owned(),
        ..rec("unknown", DAY0)
    };
    let failed = UsageRecord {
        cost_nanos: None,
        input_tokens: 0,
        output_tokens: 0,
        upstream_model: "mystery".to_owned(),
        error_class: Some("timeout".to_owned()),
        ..rec("failed", DAY0)
    };
    let priced = UsageRecord {
        cost_nanos: Some(5),
        ..rec("priced", DAY0)
    };
    store
        .insert_usage(vec![free, unknown, failed, priced])
        .await
        .unwrap();

    let models = store
        .usage_totals(all(), &[UsageGroup::Model])
        .await
        .unwrap();
    let view: Vec<_> = models
        .iter()
        .map(|t| {
            (
                t.model.as_deref(),
                t.requests,
                t.cost_nanos,
                t.unpriced_requests,
                t.errors,
            )
        })
        .collect();
    assert_eq!(
        view,
        vec![
            // A free model costs a known zero; a tokenless failure is not "unpriced".
            (Some("gpt-4o"), 2, Some(5), 0, 0),
            (Some("mystery"), 2, None, 1, 1),
        ]
    );
    let overall = &store.usage_totals(all(), &[]).await.unwrap()[0];
    assert_eq!(
        (overall.cost_nanos, overall.unpriced_requests),
        (Some(5), 1)
    );
}

async fn page_is_newest_first_with_total(store: &Store) {
    // 25 records, two per millisecond, so the id decides ties.
    let records: Vec<UsageRecord> = (0..25)
        .map(|n| UsageRecord {
            user_id: Some(if n % 5 == 0 { 2 } else { 1 }),
            ..rec(&id(n), DAY0 + (n / 2) as i64)
        })
        .collect();
    store.insert_usage(records.clone()).await.unwrap();
    let newest: Vec<String> = (0..25).rev().map(id).collect();

    let (total, page) = store.usage_page(all(), 0, 10).await.unwrap();
    assert_eq!(total, 25);
    assert_eq!(ids(&page), newest[..10].to_vec());
    assert_eq!(page[0], records[24]);

    let (total, page) = store.usage_page(all(), 20, 10).await.unwrap();
    assert_eq!(total, 25);
    assert_eq!(ids(&page), newest[20..].to_vec());

    let (total, page) = store.usage_page(all(), 30, 10).await.unwrap();
    assert_eq!((total, page.len()), (25, 0));

    // Nonsense bounds are clamped to zero.
    let (_, page) = store.usage_page(all(), -5, 3).await.unwrap();
    assert_eq!(ids(&page), newest[..3].to_vec());
    let (total, page) = store.usage_page(all(), 0, -1).await.unwrap();
    assert_eq!((total, page.len()), (25, 0));

    let user2 = UsageFilter {
        user_id: Some(2),
        ..all()
    };
    let (total, page) = store.usage_page(user2, 1, 2).await.unwrap();
    assert_eq!(total, 5);
    assert_eq!(ids(&page), vec![id(15), id(10)]);
}

async fn filters_narrow_every_query(store: &Store) {
    let mut records = fixture();
    records.push(UsageRecord {
        provider: "Weird_Provider%".to_owned(),
        upstream_model: "GPT-4O-MINI".to_owned(),
        ..rec("g", DAY0 + 2 * HOUR)
    });
    store.insert_usage(records).await.unwrap();

    let check = |filter: UsageFilter, expected: &'static [&'static str]| async move {
        let found = store.usage_records(filter.clone()).await.unwrap();
        assert_eq!(ids(&found), expected, "usage_records {filter:?}");
        let (total, page) = store.usage_page(filter.clone(), 0, 100).await.unwrap();
        assert_eq!(total, expected.len() as i64, "usage_page {filter:?}");
        let mut newest: Vec<&str> = expected.to_vec();
        newest.reverse();
        assert_eq!(ids(&page), newest, "usage_page {filter:?}");
        let totals = store.usage_totals(filter.clone(), &[]).await.unwrap();
        assert_eq!(
            totals[0].requests,
            expected.len() as i64,
            "totals {filter:?}"
        );
    };

    check(all(), &["f", "a", "b", "c", "g", "d", "e"]).await;
    check(
        UsageFilter {
            user_id: Some(1),
            ..all()
        },
        &["a", "b", "d"],
    )
    .await;
    check(
        UsageFilter {
            forge_key_id: Some(10),
            ..all()
        },
        &["a", "b"],
    )
    .await;
    check(
        UsageFilter {
            provider: Some("anthropic".to_owned()),
            ..all()
        },
        &["c", "d"],
    )
    .await;
    // Exact filters are exact: no case folding, no substrings.
    check(
        UsageFilter {
            provider: Some("Anthropic".to_owned()),
            ..all()
        },
        &[],
    )
    .await;
    check(
        UsageFilter {
            model: Some("gpt-4o".to_owned()),
            ..all()
        },
        &["f", "a", "b", "e"],
    )
    .await;
    // from is inclusive, to exclusive.
    check(
        UsageFilter {
            from_ms: Some(DAY0 + 10 * MINUTE),
            to_ms: Some(DAY0 + HOUR + 30 * MINUTE),
            ..all()
        },
        &["a", "b"],
    )
    .await;
    check(
        UsageFilter {
            from_ms: Some(DAY0),
            to_ms: Some(DAY0 + DAY),
            ..all()
        },
        &["a", "b", "c", "g"],
    )
    .await;
    check(
        UsageFilter {
            from_ms: Some(DAY0 + DAY),
            ..all()
        },
        &["d", "e"],
    )
    .await;
    check(
        UsageFilter {
            to_ms: Some(DAY0),
            ..all()
        },
        &["f"],
    )
    .await;
    // Substrings ignore case and treat LIKE wildcards literally.
    check(
        UsageFilter {
            model_contains: Some("4o".to_owned()),
            ..all()
        },
        &["f", "a", "b", "g", "e"],
    )
    .await;
    check(
        UsageFilter {
            model_contains: Some("O-m".to_owned()),
            ..all()
        },
        &["g"],
    )
    .await;
    check(
        UsageFilter {
            provider_contains: Some("OPEN".to_owned()),
            ..all()
        },
        &["f", "a", "b", "e"],
    )
    .await;
    check(
        UsageFilter {
            provider_contains: Some("d_p".to_owned()),
            ..all()
        },
        &["g"],
    )
    .await;
    check(
        UsageFilter {
            provider_contains: Some("r%".to_owned()),
            ..all()
        },
        &["g"],
    )
    .await;
    check(
        UsageFilter {
            provider_contains: Some("_".to_owned()),
            ..all()
        },
        &["g"],
    )
    .await;
    check(
        UsageFilter {
            model_contains: Some("%".to_owned()),
            ..all()
        },
        &[],
    )
    .await;
    // Everything at once.
    check(
        UsageFilter {
            user_id: Some(1),
            forge_key_id: Some(10),
            provider: Some("openai".to_owned()),
            model: Some("gpt-4o".to_owned()),
            from_ms: Some(DAY0),
            to_ms: Some(DAY0 + DAY),
            provider_contains: Some("AI".to_owned()),
            model_contains: Some("GPT".to_owned()),
        },
        &["a", "b"],
    )
    .await;
}
