//! One attempt's usage, from the moment its upstream answered until it is settled. Shared
//! (single-threaded `Rc`) between the dispatcher, which settles failed and non-streamed
//! attempts, and a streamed body, which settles when it is dropped: after its last event, or
//! when the client went away mid-stream. Whatever happens, a record is settled at most once.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use forge_core::Error;
use forge_core::canonical::Usage;
use forge_core::usage_record::UsageRecord;
use forge_core::usage_sniff::{SniffDialect, StreamSniffer};
use forge_usage::Units;

use crate::limits::charge::Charge;
use crate::logs::{Capture, Plan};
use crate::metrics::worker::{AttemptTiming, RequestObs};
use crate::traces::AttemptSpan;
use crate::usage::UsageSink;
use crate::usage::pricing::Pricing;

/// Counts a request's prompt when the upstream reported nothing (rarely needed).
pub type PromptEstimate = Rc<dyn Fn(&str) -> u64>;

#[derive(Clone)]
pub struct Meter(Rc<RefCell<State>>);

struct State {
    draft: UsageRecord,
    sink: Arc<UsageSink>,
    pricing: Arc<Pricing>,
    estimate: PromptEstimate,
    started: Instant,
    /// The upstream answered (any status): only then is a record owed.
    reached: bool,
    ttft: Option<Duration>,
    usage: Option<Usage>,
    sniffer: Option<StreamSniffer>,
    /// Output text seen by a translated stream (fallback counting only).
    output: String,
    settled: bool,
    /// Admissions this attempt's real usage is charged to.
    charges: Vec<Rc<Charge>>,
    /// Output bytes streamed so far, and how many were already counted against TPM.
    output_bytes: usize,
    counted_bytes: usize,
    /// Set when the request's bodies are logged.
    log: Option<Capture>,
    /// The request's metrics, and when this attempt's upstream exchange happened.
    obs: RequestObs,
    timing: AttemptTiming,
    span: Option<AttemptSpan>,
    /// Finish reasons of a body or translated stream (a sniffed stream keeps its own);
    /// kept only when the attempt is traced.
    finish_reasons: Vec<String>,
    /// A pass-through: without a usage report the tokens are unknown, not estimated.
    tokens_unknown: bool,
    /// What the attempt produced that is priced per unit (images, audio, characters).
    units: Option<Units>,
}

impl Meter {
    pub fn new(
        draft: UsageRecord,
        sink: Arc<UsageSink>,
        pricing: Arc<Pricing>,
        estimate: PromptEstimate,
        obs: RequestObs,
    ) -> Meter {
        Meter(Rc::new(RefCell::new(State {
            draft,
            sink,
            pricing,
            estimate,
            started: Instant::now(),
            reached: false,
            ttft: None,
            usage: None,
            sniffer: None,
            output: String::new(),
            settled: false,
            charges: Vec::new(),
            output_bytes: 0,
            counted_bytes: 0,
            log: None,
            obs,
            timing: AttemptTiming::default(),
            span: None,
            finish_reasons: Vec::new(),
            tokens_unknown: false,
            units: None,
        })))
    }

    /// Logs this attempt's bodies under `plan` when it settles; `secret` is the provider
    /// credential the attempt uses, masked in them wherever it appears.
    pub fn log_to(&self, plan: &Arc<Plan>, secret: &str) {
        self.0.borrow_mut().log = Some(Capture::new(plan.clone(), secret));
    }

    /// A whole answer or an upstream's error body, for the log.
    pub fn capture_response(&self, body: &Bytes) {
        if let Some(log) = &mut self.0.borrow_mut().log {
            log.response(body);
        }
    }

    /// Charges this attempt's usage to an admission (the request's or its deployment's).
    pub fn charge(&self, charge: Rc<Charge>) {
        self.0.borrow_mut().charges.push(charge);
    }

    /// The request goes out to the upstream now; returns the trace headers to send with it
    /// (none unless traces are exported).
    pub fn sent(&self) -> Vec<(&'static str, String)> {
        let mut state = self.0.borrow_mut();
        state.timing.sent = Some(Instant::now());
        match state.obs.start_attempt(&state.draft) {
            Some((span, headers)) => {
                state.span = Some(span);
                headers
            }
            None => Vec::new(),
        }
    }

    /// The upstream sent its response head.
    pub fn reached(&self) {
        let mut state = self.0.borrow_mut();
        state.reached = true;
        state.timing.head = Some(Instant::now());
    }

    /// The upstream's body ended (read whole, or the stream's last event).
    pub fn upstream_done(&self) {
        let mut state = self.0.borrow_mut();
        if state.timing.ended.is_none() {
            state.timing.ended = Some(Instant::now());
        }
    }

    /// The first content went to the client.
    pub fn first_content(&self) {
        let mut state = self.0.borrow_mut();
        if state.ttft.is_none() {
            let now = Instant::now();
            state.ttft = Some(now.saturating_duration_since(state.started));
            state.timing.first_content = Some(now);
        }
    }

    pub fn set_usage(&self, usage: Usage) {
        self.0.borrow_mut().usage = Some(usage);
    }

    /// Merges a partial report (providers send input first, output last).
    pub fn merge_usage(&self, usage: &Usage) {
        let mut state = self.0.borrow_mut();
        let into = state.usage.get_or_insert_with(Usage::default);
        into.merge_max(usage);
    }

    /// Records unknown tokens rather than an estimate when the upstream reports no usage
    /// (a pass-through request: its body may not be a prompt at all).
    /// What a successful attempt produces that is priced per unit (DALL-E images, Whisper
    /// audio, speech characters): priced by these when the upstream reports no tokens.
    pub fn units(&self, units: Units) {
        self.0.borrow_mut().units = Some(units);
    }

    pub fn tokens_unknown_unless_reported(&self) {
        self.0.borrow_mut().tokens_unknown = true;
    }

    /// Notes why the answer ended, for the attempt's span (nothing when untraced).
    pub fn finish_reason(&self, reason: &str) {
        let mut state = self.0.borrow_mut();
        if state.span.is_some() && !state.finish_reasons.iter().any(|r| r == reason) {
            state.finish_reasons.push(reason.to_owned());
        }
    }

    pub fn add_output_text(&self, text: &str) {
        let mut state = self.0.borrow_mut();
        if state.output.len() < 1024 * 1024 {
            state.output.push_str(text);
        }
        state.output_bytes += text.len();
        stream_tokens(&mut state);
    }

    /// Starts sniffing a passed-through stream in `dialect`.
    pub fn sniff(&self, dialect: SniffDialect) {
        self.0.borrow_mut().sniffer = Some(StreamSniffer::new(dialect));
    }

    /// Looks at one event's `data:` payload; true when it is the usage-only chunk the
    /// client did not ask for.
    pub fn observe(&self, data: &str) -> bool {
        let mut state = self.0.borrow_mut();
        let usage_only = match &mut state.sniffer {
            Some(sniffer) => sniffer.observe(data).usage_only,
            None => return false,
        };
        state.output_bytes = state
            .sniffer
            .as_ref()
            .map_or(0, |s| s.output_text().len() + s.output_overflow_bytes());
        stream_tokens(&mut state);
        usage_only
    }

    /// Settles a finished attempt: `status` as the client saw it, `error` if it failed.
    pub fn settle(&self, status: u16, error: Option<&Error>, disconnected: bool) {
        let (record, charges) = {
            let mut state = self.0.borrow_mut();
            if state.settled {
                return;
            }
            state.settled = true;
            if !state.reached {
                // Nothing reached a provider: the admissions are released with no charge,
                // and the attempt only counts in the metrics.
                state.charges.clear();
                state.log = None;
                let mut failed = state.draft.clone();
                failed.status = status;
                failed.error_class = error.map(error_class);
                let span = state.span.take();
                state.obs.attempt(&failed, state.timing, span);
                return;
            }
            let record = build(&mut state, status, error, disconnected);
            let span = state.span.take();
            if let Some(span) = &span {
                let sniffed = state.sniffer.as_ref().map(StreamSniffer::finish_reasons);
                match sniffed {
                    Some(reasons) if !reasons.is_empty() => span.finish_reasons(reasons),
                    _ => span.finish_reasons(&state.finish_reasons),
                }
            }
            state.obs.attempt(&record, state.timing, span);
            if let Some(log) = state.log.take() {
                log.finish(&record, delivered(&state));
            }
            (record, std::mem::take(&mut state.charges))
        };
        let tokens = u64::try_from(record.total_tokens()).unwrap_or(0);
        let cost = record.cost_nanos.unwrap_or(0);
        for charge in &charges {
            charge.add(tokens, cost);
        }
        drop(charges);
        let state = self.0.borrow();
        state.sink.record(record);
    }

    pub fn settled(&self) -> bool {
        self.0.borrow().settled
    }
}

/// A stream's output text as delivered (what a log keeps of a streamed answer).
fn delivered(state: &State) -> &str {
    match &state.sniffer {
        Some(sniffer) => sniffer.output_text(),
        None => &state.output,
    }
}

/// Streamed output counts against tokens-per-minute as it arrives, in steps of about 256
/// tokens (1 KiB of text), so a long answer cannot run far past a TPM limit unseen; the
/// settle at the end trues the count up to the upstream's figure.
fn stream_tokens(state: &mut State) {
    const STEP: usize = 1024;
    let fresh = state.output_bytes.saturating_sub(state.counted_bytes);
    if fresh < STEP || state.charges.is_empty() {
        return;
    }
    state.counted_bytes = state.output_bytes;
    let tokens = (fresh / 4) as u64;
    for charge in &state.charges {
        charge.stream_tokens(tokens);
    }
}

fn build(state: &mut State, status: u16, error: Option<&Error>, disconnected: bool) -> UsageRecord {
    let mut record = state.draft.clone();
    let sniffed = state.sniffer.as_ref().and_then(StreamSniffer::usage);
    let reported = state.usage.or(sniffed);
    let produced_output = state.ttft.is_some()
        || state
            .sniffer
            .as_ref()
            .is_some_and(StreamSniffer::saw_content)
        || !state.output.is_empty();
    // Units count once the provider answered 2xx: it bills what it produced, even when the
    // client left or the body broke off on the way.
    let units = state
        .units
        .as_ref()
        .filter(|_| (200..300).contains(&status));
    if reported.is_none() && state.tokens_unknown {
        if let Some(units) = units {
            let priced = state
                .pricing
                .price_units(&record.provider, &record.upstream_model, units);
            if let Some(priced) = priced {
                record.cost_nanos = priced.cost_nanos;
                record.currency = priced.currency;
                record.price_source = priced.source;
                finish_record(state, &mut record, status, error, disconnected);
                return record;
            }
        }
        return unknown_tokens(state, record, status, error, disconnected);
    }
    let usage = match reported {
        Some(usage) if usage.total_tokens() > 0 || !produced_output => usage,
        // No report (the stream broke, or the client left): count what was sent and received.
        _ if produced_output || error.is_none() => {
            record.estimated = true;
            let model = record.upstream_model.clone();
            let text = match &state.sniffer {
                Some(sniffer) => sniffer.output_text().to_owned(),
                None => state.output.clone(),
            };
            Usage {
                input_tokens: (state.estimate)(&model),
                output_tokens: crate::usage::pricing::count_output(&model, &text),
                ..Usage::default()
            }
        }
        _ => Usage::default(),
    };
    record.input_tokens = to_i64(usage.input_tokens);
    record.cached_read_tokens = to_i64(usage.cached_input_tokens);
    record.cache_write_tokens = to_i64(usage.cache_write_tokens);
    record.output_tokens = to_i64(usage.output_tokens);
    record.reasoning_tokens = to_i64(usage.reasoning_tokens);
    let priced = state
        .pricing
        .price(&record.provider, &record.upstream_model, &usage, units);
    record.cost_nanos = priced.cost_nanos;
    record.currency = priced.currency;
    record.price_source = priced.source;
    finish_record(state, &mut record, status, error, disconnected);
    record
}

/// A record whose token counts nobody reported: zero counts, no cost, and
/// `price_source = "tokens_unknown"` so readers do not take them for a free request.
fn unknown_tokens(
    state: &State,
    mut record: UsageRecord,
    status: u16,
    error: Option<&Error>,
    disconnected: bool,
) -> UsageRecord {
    record.cost_nanos = None;
    record.price_source = TOKENS_UNKNOWN.to_owned();
    finish_record(state, &mut record, status, error, disconnected);
    record
}

/// The `price_source` of a record whose tokens are unknown.
pub const TOKENS_UNKNOWN: &str = "tokens_unknown";

fn finish_record(
    state: &State,
    record: &mut UsageRecord,
    status: u16,
    error: Option<&Error>,
    disconnected: bool,
) {
    record.status = status;
    record.error_class = error
        .map(error_class)
        .or_else(|| disconnected.then(|| "client_disconnected".to_owned()));
    record.ttft_ms = state.ttft.map(|d| to_i64(d.as_millis() as u64));
    record.duration_ms = to_i64(state.started.elapsed().as_millis() as u64);
    record.client_disconnected = disconnected;
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The short class stored with a failed attempt.
pub fn error_class(error: &Error) -> String {
    match error {
        Error::Upstream { status: 429, .. } => "rate_limited",
        Error::Upstream { status, .. } if *status >= 500 => "upstream_5xx",
        Error::Upstream { .. } => "upstream_4xx",
        Error::UpstreamTimeout { .. } => "timeout",
        Error::UpstreamUnreachable { .. } => "stream_broken",
        _ => "client_error",
    }
    .to_owned()
}
