//! Active health checks for forge.toml providers that ask for them: each key's model listing
//! is fetched on its interval, and the result is recorded against every deployment of that
//! key. Passive checks (real traffic) already eject failing deployments; active ones also
//! find a dead key before a client does, and bring a recovered one back before its cooldown
//! ends.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use forge_core::Error;
use forge_router::table::Deployment;

use crate::config::Timeouts;
use crate::proxy::transport::Transport;
use crate::proxy::upstream::Upstream;
use crate::routing::Routing;

/// How often due checks are looked for; intervals shorter than this are not honoured.
const TICK: Duration = Duration::from_millis(100);
const MAX_LISTING_BODY: usize = 4 * 1024 * 1024;

/// Runs until the task is dropped. `transport` is this task's own (awc is per thread).
pub async fn run(routing: Arc<Routing>, transport: Transport) {
    let mut last: HashMap<(String, usize), Instant> = HashMap::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let snapshot = routing.snapshot();
        for provider in &snapshot.config.providers {
            let Some(check) = &provider.health_check else {
                continue;
            };
            let interval = Duration::from_millis(check.interval_ms);
            for key_index in 0..provider.keys.len() {
                let slot = (provider.name.clone(), key_index);
                if last.get(&slot).is_some_and(|at| at.elapsed() < interval) {
                    continue;
                }
                last.insert(slot, Instant::now());
                // Every deployment of this key shares its fate.
                let deployments: Vec<&Deployment> = snapshot
                    .table
                    .deployments()
                    .iter()
                    .filter(|d| d.provider == provider.name && d.key_index == key_index)
                    .collect();
                let Some(first) = deployments.first() else {
                    continue;
                };
                let timeout = Duration::from_millis(check.timeout_ms.max(1));
                let result = probe(&transport, first, timeout).await;
                let now = Instant::now();
                routing.with_router(|router, _| {
                    for d in &deployments {
                        match &result {
                            Ok(()) => router.check_passed(&d.id),
                            Err(e) => router.check_failed(&d.id, now, e),
                        }
                    }
                });
                if let Err(e) = result {
                    tracing::warn!(provider = %provider.name, key = key_index, error = %e, "health check failed");
                }
            }
        }
        last.retain(|(name, _), _| snapshot.config.provider(name).is_some());
    }
}

async fn probe(transport: &Transport, d: &Deployment, timeout: Duration) -> Result<(), Error> {
    let upstream = Upstream::for_deployment(d)?;
    let timeouts = Timeouts {
        connect: timeout,
        first_byte: timeout,
        idle: timeout,
        total: Some(timeout),
    };
    let check = async {
        let mut resp = transport
            .send_within(&d.provider, upstream.adapter().list_models(), &timeouts)
            .await?;
        let status = resp.status().as_u16();
        let body = transport
            .read_body_within(&d.provider, &mut resp, MAX_LISTING_BODY, timeout)
            .await?;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(upstream.adapter().parse_error(status, None, &body))
        }
    };
    tokio::time::timeout(timeout, check)
        .await
        .unwrap_or_else(|_| {
            Err(Error::UpstreamTimeout {
                provider: d.provider.clone(),
                phase: forge_core::TimeoutPhase::Total,
            })
        })
}
