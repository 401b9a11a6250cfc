//! Request logs against SQLite and PostgreSQL: idempotent batches, export pages in a stable
//! order under every filter, and retention.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::both_backends;
use forge_storage::*;

/// 2025-03-10T00:00:00Z.
const DAY0: i64 = 1_741_564_800_000;
const DAY: i64 = 86_400_000;

both_backends!(
    insert_is_idempotent,
    every_field_round_trips,
    export_pages_in_order,
    filters_narrow_the_export,
    retention_deletes_only_old_logs,
);

fn log(n: usize, started_at_ms: i64) -> RequestLog {
    RequestLog {
        id: format!("{n:032x}"),
        request_id: format!("req-{n}"),
        started_at_ms,
        provider: "openai".to_owned(),
        model: "m".to_owned(),
        upstream_model: "gpt-4o".to_owned(),
        endpoint: "chat/completions".to_owned(),
        status: 200,
        request_body: format!("{{\"n\":{n}}}"),
        response_body: Some("{}".to_owned()),
        ..RequestLog::default()
    }
}

async fn everything(store: &Store, filter: &LogFilter) -> Vec<RequestLog> {
    store.request_logs(filter, None, 100_000).await.unwrap()
}

async fn insert_is_idempotent(store: &Store) {
    assert_eq!(store.insert_request_logs(Vec::new()).await.unwrap(), 0);
    let logs: Vec<RequestLog> = (0..250).map(|n| log(n, DAY0 + n as i64)).collect();
    assert_eq!(store.insert_request_logs(logs.clone()).await.unwrap(), 250);
    assert_eq!(store.insert_request_logs(logs).await.unwrap(), 0);
    // The same id twice in one batch: the first write wins.
    let twice = vec![log(250, DAY0 + 250), log(250, DAY0 - 1)];
    assert_eq!(store.insert_request_logs(twice).await.unwrap(), 1);
    let stored = everything(store, &LogFilter::default()).await;
    assert_eq!(stored.len(), 251);
    assert_eq!(stored[250], log(250, DAY0 + 250));
}

async fn every_field_round_trips(store: &Store) {
    let big = "é".repeat(40_000);
    let full = RequestLog {
        id: "0123456789abcdef0123456789abcdef".to_owned(),
        request_id: "req-ü".to_owned(),
        started_at_ms: DAY0 + 123,
        user_id: Some(7),
        forge_key_id: Some(12),
        gateway_key: Some("team-a".to_owned()),
        provider: "anthropic".to_owned(),
        model: "claude".to_owned(),
        upstream_model: "claude-sonnet-4-5".to_owned(),
        endpoint: "messages".to_owned(),
        status: 529,
        streamed: true,
        request_body: format!("{{\"text\":\"{big}\",\"quote\":\"'\\\"\"}}"),
        response_body: None,
        truncated: true,
    };
    store.insert_request_logs(vec![full.clone()]).await.unwrap();
    assert_eq!(everything(store, &LogFilter::default()).await, vec![full]);
}

async fn export_pages_in_order(store: &Store) {
    // Ten logs per millisecond, inserted out of order: pages follow (time, id) exactly.
    let mut logs: Vec<RequestLog> = (0..95).map(|n| log(n, DAY0 + (n / 10) as i64)).collect();
    logs.reverse();
    store.insert_request_logs(logs).await.unwrap();
    let mut seen = Vec::new();
    let mut after: Option<LogCursor> = None;
    loop {
        let page = store
            .request_logs(&LogFilter::default(), after.as_ref(), 7)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 7);
        after = page.last().map(RequestLog::cursor);
        seen.extend(page.into_iter().map(|l| l.id));
    }
    let want: Vec<String> = (0..95).map(|n| format!("{n:032x}")).collect();
    assert_eq!(seen, want);
}

async fn filters_narrow_the_export(store: &Store) {
    let mut logs = Vec::new();
    for n in 0..12 {
        let mut l = log(n, DAY0 + n as i64 * DAY);
        match n % 3 {
            0 => {
                l.user_id = Some(1);
                l.forge_key_id = Some(10);
            }
            1 => {
                l.user_id = Some(2);
                l.forge_key_id = Some(20);
            }
            _ => l.gateway_key = Some("static".to_owned()),
        }
        logs.push(l);
    }
    store.insert_request_logs(logs).await.unwrap();
    let ids = |logs: Vec<RequestLog>| -> Vec<i64> {
        logs.iter()
            .map(|l| (l.started_at_ms - DAY0) / DAY)
            .collect()
    };
    let by_user = LogFilter {
        user_id: Some(1),
        ..LogFilter::default()
    };
    assert_eq!(ids(everything(store, &by_user).await), vec![0, 3, 6, 9]);
    let by_key = LogFilter {
        forge_key_id: Some(20),
        ..LogFilter::default()
    };
    assert_eq!(ids(everything(store, &by_key).await), vec![1, 4, 7, 10]);
    let other_users_key = LogFilter {
        user_id: Some(1),
        forge_key_id: Some(20),
        ..LogFilter::default()
    };
    assert!(everything(store, &other_users_key).await.is_empty());
    let by_static = LogFilter {
        gateway_key: Some("static".to_owned()),
        from_ms: Some(DAY0 + 5 * DAY),
        to_ms: Some(DAY0 + 11 * DAY),
        ..LogFilter::default()
    };
    assert_eq!(ids(everything(store, &by_static).await), vec![5, 8]);
}

async fn retention_deletes_only_old_logs(store: &Store) {
    let logs: Vec<RequestLog> = (0..10).map(|n| log(n, DAY0 + n as i64 * DAY)).collect();
    store.insert_request_logs(logs).await.unwrap();
    let cutoff = DAY0 + 4 * DAY;
    assert_eq!(store.delete_request_logs_before(cutoff).await.unwrap(), 4);
    assert_eq!(store.delete_request_logs_before(cutoff).await.unwrap(), 0);
    let left = everything(store, &LogFilter::default()).await;
    assert_eq!(left.len(), 6);
    assert!(left.iter().all(|l| l.started_at_ms >= cutoff));
}
