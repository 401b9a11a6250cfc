//! The shared limiter: the forge-limits Lua scripts run on Redis through one multiplexed
//! connection (reconnecting on its own). Each admission is one EVALSHA, so instances never
//! race between checking and reserving. Settles and releases are sent off the request path.

use std::time::Duration;

use forge_limits::redis_scripts::{
    ADMIT_SCRIPT, AdmitPlan, KeySpace, RELEASE_SCRIPT, SETTLE_SCRIPT, ScriptArgs, add_tokens_args,
    admit_args, parse_admit_reply, release_args, settle_args,
};
use forge_limits::{BudgetSpec, LimitSpec, Rejection, Reservation, Scope, Ticket, Usage};
use redis::aio::ConnectionManager;

/// A Redis call that takes longer counts as Redis being unreachable.
const CALL_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Clone)]
pub struct SharedLimiter {
    conn: ConnectionManager,
    keys: KeySpace,
    admit: redis::Script,
    settle: redis::Script,
    release: redis::Script,
}

impl SharedLimiter {
    pub fn new(conn: ConnectionManager, prefix: &str) -> SharedLimiter {
        SharedLimiter {
            conn,
            keys: KeySpace::new(prefix),
            admit: redis::Script::new(ADMIT_SCRIPT),
            settle: redis::Script::new(SETTLE_SCRIPT),
            release: redis::Script::new(RELEASE_SCRIPT),
        }
    }

    /// The outer error means Redis could not answer; the inner one is a refusal.
    pub async fn admit(
        &self,
        limits: &[(Scope, LimitSpec)],
        budgets: &[(Scope, BudgetSpec)],
        reservation: Reservation,
        lease_id: &str,
    ) -> Result<Result<Ticket, Rejection>, String> {
        let plan = AdmitPlan::new(limits, budgets, reservation, lease_id);
        let args = admit_args(&self.keys, &plan, None);
        let reply: Vec<i64> = run(&self.admit, self.conn.clone(), args).await?;
        parse_admit_reply(&plan, &reply).map_err(|e| e.to_string())
    }

    pub fn settle(&self, ticket: &mut Ticket, usage: Usage) {
        let args = settle_args(&self.keys, ticket, None, usage);
        if args.0.is_empty() {
            return;
        }
        let script = self.settle.clone();
        let conn = self.conn.clone();
        actix_rt::spawn(async move {
            if let Err(e) = run::<redis::Value>(&script, conn, args).await {
                tracing::warn!(error = %e, "could not settle a shared limit");
            }
        });
    }

    pub fn add_tokens(&self, ticket: &mut Ticket, n: u64) {
        let args = add_tokens_args(&self.keys, ticket, None, n);
        if args.0.is_empty() {
            return;
        }
        let script = self.settle.clone();
        let conn = self.conn.clone();
        actix_rt::spawn(async move {
            if let Err(e) = run::<redis::Value>(&script, conn, args).await {
                tracing::warn!(error = %e, "could not count streamed tokens");
            }
        });
    }

    pub fn release(&self, ticket: Ticket) {
        let args = release_args(&self.keys, &ticket);
        if args.0.is_empty() {
            return;
        }
        let script = self.release.clone();
        let conn = self.conn.clone();
        actix_rt::spawn(async move {
            if let Err(e) = run::<redis::Value>(&script, conn, args).await {
                tracing::warn!(error = %e, "could not release a shared concurrency slot");
            }
        });
    }
}

async fn run<T: redis::FromRedisValue>(
    script: &redis::Script,
    mut conn: ConnectionManager,
    (keys, argv): ScriptArgs,
) -> Result<T, String> {
    let mut invocation = script.prepare_invoke();
    for key in keys {
        invocation.key(key);
    }
    for arg in argv {
        invocation.arg(arg);
    }
    let outcome = match tokio::time::timeout(CALL_TIMEOUT, invocation.invoke_async(&mut conn)).await
    {
        Ok(Ok(value)) => return Ok(value),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "timed out".into(),
    };
    redis_failed();
    Err(outcome)
}

/// Redis calls that failed or timed out since start, limits and invalidation alike (a metric).
pub static REDIS_ERRORS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn redis_failed() {
    REDIS_ERRORS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// A connection that is made on first use and remade after failures, so an instance starts
/// (and applies its `[limits]` fallback) while Redis is down.
pub fn connect(url: &str) -> Result<ConnectionManager, String> {
    // The parser's message may quote the URL, password included: say only that it is bad.
    let client =
        redis::Client::open(url).map_err(|_| "REDIS_URL is not a valid redis:// URL".to_owned())?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CALL_TIMEOUT))
        .set_response_timeout(Some(CALL_TIMEOUT))
        .set_number_of_retries(1);
    ConnectionManager::new_lazy_with_config(client, config).map_err(|e| e.to_string())
}
