//! What is read at scrape time rather than recorded on the request path: the counters other
//! parts keep anyway (usage and log sinks, the key cache, Redis failures), the database pool,
//! each deployment's health, and the process (from `/proc/self`, on Linux).

use std::fmt::{self, Debug};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use forge_router::health::Availability;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

use crate::auth::key_cache::KeyCache;
use crate::logs::LogSink;
use crate::routing::Routing;
use crate::usage::UsageSink;
use crate::usage::pricing::Pricing;

/// The parts whose counters are read at scrape time (all optional, for tests).
#[derive(Default)]
pub struct Scraped {
    pub usage: Option<Arc<UsageSink>>,
    pub logs: Option<Arc<LogSink>>,
    pub pricing: Option<Arc<Pricing>>,
    pub store: Option<forge_storage::Store>,
    pub routing: Option<Arc<Routing>>,
    pub keys: Option<Arc<KeyCache>>,
    pub started: Option<SystemTime>,
}

impl Debug for Scraped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Scraped")
    }
}

fn counter(e: &mut DescriptorEncoder, name: &str, help: &str, v: u64) -> fmt::Result {
    e.encode_descriptor(name, help, None, MetricType::Counter)?
        .encode_counter::<NoLabelSet, _, u64>(&v, None)
}

fn counter_f64(e: &mut DescriptorEncoder, name: &str, help: &str, v: f64) -> fmt::Result {
    e.encode_descriptor(name, help, None, MetricType::Counter)?
        .encode_counter::<NoLabelSet, _, f64>(&v, None)
}

fn gauge(e: &mut DescriptorEncoder, name: &str, help: &str, v: i64) -> fmt::Result {
    e.encode_descriptor(name, help, None, MetricType::Gauge)?
        .encode_gauge(&v)
}

fn to_i64<T: TryInto<i64>>(v: T) -> i64 {
    v.try_into().unwrap_or(i64::MAX)
}

impl Collector for Scraped {
    fn encode(&self, mut e: DescriptorEncoder) -> fmt::Result {
        if let Some(usage) = &self.usage {
            let s = &usage.stats;
            gauge(
                &mut e,
                "forge_usage_queued",
                "Usage records waiting for the next batch write",
                to_i64(usage.queued()),
            )?;
            counter(
                &mut e,
                "forge_usage_written",
                "Usage records written to the database",
                s.written.load(Relaxed),
            )?;
            counter(
                &mut e,
                "forge_usage_journaled",
                "Usage records sent to the local journal (database down or queue full)",
                s.journaled.load(Relaxed),
            )?;
            counter(
                &mut e,
                "forge_usage_replayed",
                "Journaled usage records replayed into the database",
                s.replayed.load(Relaxed),
            )?;
            counter(
                &mut e,
                "forge_usage_dropped",
                "Usage records lost because the journal was full",
                s.dropped.load(Relaxed),
            )?;
        }
        if let Some(pricing) = &self.pricing {
            counter(
                &mut e,
                "forge_usage_unpriced",
                "Usage records settled with tokens but no price",
                pricing.unpriced.load(Relaxed),
            )?;
        }
        if let Some(logs) = &self.logs {
            gauge(
                &mut e,
                "forge_request_logs_queued_bytes",
                "Request-log bytes waiting to be written",
                to_i64(logs.queued_bytes()),
            )?;
            counter(
                &mut e,
                "forge_request_logs_written",
                "Request logs written to the database",
                logs.stats.written.load(Relaxed),
            )?;
            counter(
                &mut e,
                "forge_request_logs_dropped",
                "Request logs dropped (queue full or write failed)",
                logs.stats.dropped.load(Relaxed),
            )?;
        }
        if let Some(keys) = &self.keys {
            let mut family = e.encode_descriptor(
                "forge_key_cache_lookups",
                "Forge key lookups, answered from memory (hit) or the database (miss)",
                None,
                MetricType::Counter,
            )?;
            for (result, n) in [("hit", &keys.hits), ("miss", &keys.misses)] {
                family
                    .encode_family(&[("result", result)])?
                    .encode_counter::<NoLabelSet, _, u64>(&n.load(Relaxed), None)?;
            }
        }
        counter(
            &mut e,
            "forge_redis_errors",
            "Redis calls that failed or timed out (limits and cache invalidation)",
            crate::limits::shared::REDIS_ERRORS.load(Relaxed),
        )?;
        if let Some(store) = &self.store {
            pool(&mut e, store)?;
        }
        if let Some(routing) = &self.routing {
            deployments(&mut e, routing)?;
        }
        process(&mut e, self.started)
    }
}

fn pool(e: &mut DescriptorEncoder, store: &forge_storage::Store) -> fmt::Result {
    let p = store.pool_stats();
    let mut family = e.encode_descriptor(
        "forge_db_pool_connections",
        "Database pool connections by state",
        None,
        MetricType::Gauge,
    )?;
    for (state, n) in [
        ("in_use", p.connections.saturating_sub(p.idle)),
        ("idle", p.idle),
    ] {
        family
            .encode_family(&[("state", state)])?
            .encode_gauge(&i64::from(n))?;
    }
    counter(
        e,
        "forge_db_pool_checkouts",
        "Connections taken from the pool",
        p.gets,
    )?;
    counter(
        e,
        "forge_db_pool_waits",
        "Checkouts that had to wait for a free connection",
        p.waited,
    )?;
    counter(
        e,
        "forge_db_pool_timeouts",
        "Checkouts that gave up waiting",
        p.timed_out,
    )?;
    counter_f64(
        e,
        "forge_db_pool_wait_seconds",
        "Time spent waiting for a connection",
        p.wait_seconds,
    )
}

fn deployments(e: &mut DescriptorEncoder, routing: &Routing) -> fmt::Result {
    let now = Instant::now();
    let snapshot = routing.snapshot();
    let rows: Vec<(String, String, Availability, u64, u32)> = routing.with_router(|router, _| {
        snapshot
            .table
            .deployments()
            .iter()
            .map(|d| {
                let h = router.health().snapshot(&d.id, now);
                (
                    d.id.clone(),
                    d.provider.clone(),
                    h.availability,
                    h.trips_total,
                    h.in_flight,
                )
            })
            .collect()
    });
    let mut state = e.encode_descriptor("forge_deployment_state", "1 for the state each forge.toml deployment is in: ready, probe (cooldown over, next request probes), probing, or cooling", None, MetricType::Gauge)?;
    for (id, provider, availability, _, _) in &rows {
        let current = match availability {
            Availability::Ready => "ready",
            Availability::Probe => "probe",
            Availability::ProbeInFlight => "probing",
            Availability::Cooling { .. } => "cooling",
        };
        for name in ["ready", "probe", "probing", "cooling"] {
            state
                .encode_family(&[
                    ("deployment", id.as_str()),
                    ("provider", provider.as_str()),
                    ("state", name),
                ])?
                .encode_gauge(&i64::from(name == current))?;
        }
    }
    let mut trips = e.encode_descriptor(
        "forge_deployment_cooldowns",
        "Circuit-breaker trips (cooldowns started) per deployment",
        None,
        MetricType::Counter,
    )?;
    for (id, provider, _, n, _) in &rows {
        trips
            .encode_family(&[("deployment", id.as_str()), ("provider", provider.as_str())])?
            .encode_counter::<NoLabelSet, _, u64>(n, None)?;
    }
    let mut in_flight = e.encode_descriptor(
        "forge_deployment_in_flight",
        "Requests in flight per deployment",
        None,
        MetricType::Gauge,
    )?;
    for (id, provider, _, _, n) in &rows {
        in_flight
            .encode_family(&[("deployment", id.as_str()), ("provider", provider.as_str())])?
            .encode_gauge(&i64::from(*n))?;
    }
    Ok(())
}

/// The standard `process_*` metrics, from `/proc/self` (absent where it is not readable).
fn process(e: &mut DescriptorEncoder, started: Option<SystemTime>) -> fmt::Result {
    if let Some(started) = started.and_then(|t| t.duration_since(UNIX_EPOCH).ok()) {
        gauge(
            e,
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch, in seconds",
            to_i64(started.as_secs()),
        )?;
    }
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces), from field 3 on.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    // utime and stime are in clock ticks: USER_HZ is 100 on every Linux ABI.
    if let (Some(utime), Some(stime)) = (field(14), field(15)) {
        counter_f64(
            e,
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            (utime + stime) as f64 / 100.0,
        )?;
    }
    if let Some(vsize) = field(23) {
        gauge(
            e,
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes",
            to_i64(vsize),
        )?;
    }
    if let Some(rss) = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| status_kb(&s, "VmRSS:"))
    {
        gauge(
            e,
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            to_i64(rss * 1024),
        )?;
    }
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        gauge(
            e,
            "process_open_fds",
            "Number of open file descriptors",
            to_i64(dir.count()),
        )?;
    }
    if let Some(max) = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|s| max_open_files(&s))
    {
        gauge(
            e,
            "process_max_fds",
            "Maximum number of open file descriptors",
            to_i64(max),
        )?;
    }
    Ok(())
}

fn status_kb(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

fn max_open_files(limits: &str) -> Option<u64> {
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
}
