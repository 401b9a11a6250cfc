//! Cache invalidation across instances. A change to a user's keys, scopes or provider keys on
//! one instance drops that user's cached entries there at once, and is published on Redis so
//! every other instance drops them within the round trip of one message. Without Redis, or
//! while it is unreachable, the key cache's entry TTL (`key_cache::ENTRY_TTL`, 30 s) bounds
//! how long another instance may keep serving a stale entry.

use std::time::Duration;

use actix_web::web;
use futures_util::StreamExt;
use redis::aio::ConnectionManager;

/// What an instance drops when told: implemented by the app's wiring, so this listener needs
/// no view of the whole state.
pub trait LocalCaches: Send + Sync + 'static {
    /// Drops every cached key (changes may have been missed while the channel was down).
    fn forget_all_keys(&self);
    /// Drops what is cached for one user.
    fn forget_user(&self, user_id: i64);
}

/// Pause before resubscribing after the channel was lost (a reconnect backoff, not a wait for
/// readiness: the subscription itself is the readiness check).
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

pub struct Invalidation {
    conn: Option<ConnectionManager>,
    channel: String,
}

impl Invalidation {
    pub fn new(conn: Option<ConnectionManager>, prefix: &str) -> Invalidation {
        Invalidation {
            conn,
            channel: format!("{prefix}:invalidate"),
        }
    }

    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// Tells the other instances; best effort (the TTL is the fallback).
    pub fn publish(&self, user_id: i64) {
        let Some(conn) = self.conn.clone() else {
            return;
        };
        let channel = self.channel.clone();
        actix_rt::spawn(async move {
            let mut conn = conn;
            let sent: Result<i64, _> = redis::cmd("PUBLISH")
                .arg(&channel)
                .arg(user_id)
                .query_async(&mut conn)
                .await;
            if let Err(e) = sent {
                crate::limits::shared::redis_failed();
                tracing::warn!(error = %e, "could not publish a cache invalidation");
            }
        });
    }
}

/// Listens for other instances' invalidations until the task is dropped; reconnects after
/// failures.
pub async fn listen<C: LocalCaches + ?Sized>(caches: web::Data<C>, channel: String, url: String) {
    let mut resumed = false;
    loop {
        if let Err(e) = subscribe(&**caches, &url, &channel, resumed).await {
            crate::limits::shared::redis_failed();
            tracing::warn!(error = %e, "cache invalidation channel lost; reconnecting");
        }
        resumed = true;
        actix_rt::time::sleep(RECONNECT_AFTER).await;
    }
}

async fn subscribe<C: LocalCaches + ?Sized>(
    caches: &C,
    url: &str,
    channel: &str,
    resumed: bool,
) -> Result<(), redis::RedisError> {
    let client = redis::Client::open(url)?;
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    if resumed {
        // Changes may have been missed while the channel was down: start from a clean cache.
        caches.forget_all_keys();
    }
    let mut messages = pubsub.on_message();
    while let Some(message) = messages.next().await {
        match message.get_payload::<i64>() {
            Ok(user_id) => caches.forget_user(user_id),
            Err(e) => tracing::warn!(error = %e, "ignoring a malformed invalidation"),
        }
    }
    Ok(())
}
