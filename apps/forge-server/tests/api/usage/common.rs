//! Reading settled usage records back from the server's database.

use std::time::{Duration, Instant};

use forge_core::usage_record::UsageRecord;
use forge_storage::Store;
use forge_storage::UsageFilter;

use crate::harness::TestServer;

pub async fn records(server: &TestServer) -> Vec<UsageRecord> {
    let store = Store::connect(&server.database_url).await.unwrap();
    store.usage_records(UsageFilter::default()).await.unwrap()
}

/// Waits until `n` records are settled (the flusher writes every 500 ms), then returns them.
pub async fn wait_for(server: &TestServer, n: usize) -> Vec<UsageRecord> {
    let store = Store::connect(&server.database_url).await.unwrap();
    let started = Instant::now();
    loop {
        let found = store.usage_records(UsageFilter::default()).await.unwrap();
        if found.len() >= n || started.elapsed() > Duration::from_secs(15) {
            return found;
        }
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}
