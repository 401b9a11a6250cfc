//! Usage records: the per-request facts every attempt's record shares, record ids, and the
//! settling of attempts that end with the handler (a stream settles itself).

use std::sync::Arc;

use actix_web::HttpResponse;
use actix_web::body::MessageBody;
use forge_core::Error;
use forge_core::usage_record::UsageRecord;

use crate::proxy::handle::Proxy;
use crate::usage::meter::Meter;

use super::Call;

/// Per-request facts every attempt's usage record shares.
pub(super) struct Billing<'a> {
    pub(super) proxy: &'a Proxy,
    pub(super) call: &'a Call<'a>,
    pub(super) request_id: String,
    pub(super) requested: String,
    /// Set when the request's bodies are logged (`[logging]`).
    pub(super) log: Option<Arc<crate::logs::Plan>>,
}

impl Billing<'_> {
    pub(super) fn meter(
        &self,
        provider: &str,
        upstream_model: &str,
        provider_key: Option<i64>,
        deployment: Option<&str>,
        secret: &str,
    ) -> Meter {
        let ctx = self.call.ctx;
        let draft = UsageRecord {
            id: new_id(),
            request_id: self.request_id.clone(),
            started_at_ms: chrono::Utc::now().timestamp_millis(),
            user_id: ctx.gateway.is_none().then_some(ctx.user_id),
            forge_key_id: ctx.gateway.is_none().then_some(ctx.key_id),
            gateway_key: ctx.gateway.as_ref().map(|k| k.name.clone()),
            provider_key_id: provider_key,
            deployment: deployment.map(str::to_owned),
            provider: provider.to_owned(),
            requested_model: self.requested.clone(),
            upstream_model: upstream_model.to_owned(),
            endpoint: self.call.endpoint.to_owned(),
            dialect: self.call.dialect.name().to_owned(),
            input_tokens: 0,
            cached_read_tokens: 0,
            cache_write_tokens: 0,
            output_tokens: 0,
            reasoning_tokens: 0,
            cost_nanos: None,
            currency: String::new(),
            price_source: String::new(),
            status: 0,
            error_class: None,
            streamed: self.call.stream,
            estimated: false,
            ttft_ms: None,
            duration_ms: 0,
            client_disconnected: false,
        };
        let meter = Meter::new(
            draft,
            self.proxy.usage.clone(),
            self.proxy.pricing.clone(),
            self.call.estimate.clone(),
            self.call.obs.clone(),
        );
        if let Some(plan) = &self.log {
            meter.log_to(plan, secret);
        }
        meter
    }
}

/// 32 hex characters, unique across processes and ordered by time: the Unix time in
/// milliseconds (12 hex digits), 8 random bytes drawn once per process, and a per-process
/// counter (4 hex digits, wrapping; with the millisecond it separates 65,536 ids per ms).
/// Ids need uniqueness, not secrecy, so the request path makes no syscall. Time order keeps
/// each usage record's primary-key insert at the end of the index: random ids scattered
/// every batch over the whole index, one WAL page write per record.
pub fn new_id() -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEED: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| {
        let mut bytes = [0u8; 8];
        if getrandom::fill(&mut bytes).is_err() {
            // No entropy is a broken machine; the clock still separates processes.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            bytes = (nanos as u64).to_le_bytes();
        }
        u64::from_le_bytes(bytes)
    });
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut id = String::with_capacity(32);
    push_hex(&mut id, ms, 12);
    push_hex(&mut id, seed, 16);
    push_hex(&mut id, n, 4);
    id
}

/// The low `digits` hex digits of `value` (`format!` costs ten times as much).
pub(super) fn push_hex(out: &mut String, value: u64, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..digits).rev() {
        out.push(char::from(HEX[((value >> (i * 4)) & 0xf) as usize]));
    }
}

/// Settles a non-streamed attempt, or one that failed before its stream began.
pub(super) fn settle(meter: &Meter, result: &Result<HttpResponse, Error>) {
    match result {
        Ok(resp) if !meter.settled() => {
            // A stream settles itself when its body ends; a whole answer settles here.
            if !matches!(resp.body().size(), actix_web::body::BodySize::Stream) {
                meter.settle(resp.status().as_u16(), None, false);
            }
        }
        Ok(_) => {}
        Err(error) => meter.settle(error.status(), Some(error), false),
    }
}
