//! Stream translation between dialects: upstream bytes are decoded into canonical stream events
//! by the upstream's decoder and rendered by the client's encoder. Each side is a small state
//! machine owned by the stream, so ids, models and tool-call indexes stay real and consistent.

use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::http::header;
use bytes::{Bytes, BytesMut};
use forge_core::TimeoutPhase;
use forge_core::canonical::{ChatResponse, StreamEvent, Usage};
use forge_core::openai::convert::{ChunkRenderer, chat_response_from_canonical};
use forge_core::responses::ResponsesRequest;
use forge_core::sse::{SseEvent, SseParser};
use forge_core::{Error, anthropic, gemini, responses};
use forge_provider_gemini::GeminiAdapter;
use forge_provider_openai::OpenAiAdapter;
use futures_util::StreamExt;
use serde::Serialize;

use crate::config::Timeouts;
use crate::proxy::dialect::Dialect;
use crate::proxy::relay;
use crate::proxy::transport::UpstreamResponse;
use crate::proxy::upstream::Upstream;
use crate::routing::outcome::StreamOutcome;
use crate::usage::meter::Meter;

/// Turns an upstream's SSE bytes into canonical events.
pub struct Decoder {
    parser: SseParser,
    pending: Vec<SseEvent>,
    kind: DecoderKind,
    complete: bool,
    provider: String,
    failed: Option<Error>,
}

/// Largest single upstream event the decoder will assemble.
const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

enum DecoderKind {
    OpenAi(Box<OpenAiAdapter>),
    Anthropic(Box<anthropic::stream_decode::StreamDecoder>),
    Gemini(
        Box<GeminiAdapter>,
        Box<gemini::stream_decode::StreamDecoder>,
    ),
}

impl Decoder {
    pub fn new(upstream: Upstream, provider: &str, model: &str) -> Self {
        let kind = match upstream {
            Upstream::OpenAi(a) => DecoderKind::OpenAi(Box::new(a)),
            Upstream::Anthropic(_) => DecoderKind::Anthropic(Box::new(
                anthropic::stream_decode::StreamDecoder::new().provider(provider),
            )),
            Upstream::Gemini(a) => {
                let dec = a.stream_decoder(model, now_unix());
                DecoderKind::Gemini(Box::new(a), Box::new(dec))
            }
        };
        Decoder {
            parser: SseParser::new(),
            pending: Vec::new(),
            kind,
            complete: false,
            provider: provider.to_owned(),
            failed: None,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<StreamEvent>, Error> {
        self.parser.push(bytes, &mut self.pending);
        if self.parser.buffered_len() > MAX_EVENT_BYTES {
            return Err(Error::UpstreamUnreachable {
                provider: self.provider.clone(),
                message: format!("an event exceeded {MAX_EVENT_BYTES} bytes"),
            });
        }
        self.drain()
    }

    /// An error met after some events of the same chunk were decoded; those went out first.
    pub fn take_error(&mut self) -> Option<Error> {
        self.failed.take()
    }

    /// At the upstream's end of stream: flushes a last event and any buffered state.
    pub fn finish(&mut self) -> Result<Vec<StreamEvent>, Error> {
        self.parser.finish(&mut self.pending);
        let mut out = self.drain()?;
        if let DecoderKind::Gemini(_, dec) = &mut self.kind {
            out.extend(dec.finish());
        }
        Ok(out)
    }

    /// Whether the upstream ended its stream properly (`[DONE]`, `message_stop`, a finish reason).
    pub fn complete(&self) -> bool {
        self.complete
    }

    /// Decodes the parsed events. An error after some events were decoded is held back
    /// (`take_error`) so the content before it still reaches the client.
    fn drain(&mut self) -> Result<Vec<StreamEvent>, Error> {
        let mut out = Vec::new();
        for ev in std::mem::take(&mut self.pending) {
            match self.decode(&ev) {
                Ok(events) => out.extend(events),
                Err(err) if out.is_empty() => return Err(err),
                Err(err) => {
                    self.failed = Some(err);
                    break;
                }
            }
        }
        Ok(out)
    }

    fn decode(&mut self, ev: &SseEvent) -> Result<Vec<StreamEvent>, Error> {
        match &mut self.kind {
            DecoderKind::OpenAi(a) => {
                if ev.is_done() {
                    self.complete = true;
                }
                a.parse_stream_event(ev)
            }
            DecoderKind::Anthropic(dec) => {
                if ev.event.as_deref() == Some("message_stop") {
                    self.complete = true;
                }
                dec.push(ev)
            }
            DecoderKind::Gemini(a, dec) => {
                let events = a.parse_stream_event(dec, ev)?;
                if events
                    .iter()
                    .any(|e| matches!(e, StreamEvent::Finish { .. }))
                {
                    self.complete = true;
                }
                Ok(events)
            }
        }
    }
}

/// How the client wants its answer rendered.
#[derive(Debug, Clone)]
pub enum Render {
    /// OpenAI chat completions; `include_usage` mirrors `stream_options.include_usage`.
    OpenAi {
        include_usage: bool,
    },
    /// Anthropic messages, echoing the model name the client asked for.
    Anthropic {
        requested_model: String,
    },
    Gemini,
    /// OpenAI Responses API, for upstreams that do not speak it natively.
    Responses {
        request: Arc<ResponsesRequest>,
        id: String,
    },
}

impl Render {
    pub fn response(&self, resp: &ChatResponse) -> Result<Bytes, Error> {
        match self {
            Render::OpenAi { .. } => to_json(&chat_response_from_canonical(resp)),
            Render::Anthropic { requested_model } => to_json(
                &anthropic::convert::response_from_canonical(resp, requested_model),
            ),
            Render::Gemini => to_json(&gemini::convert::response_from_canonical(resp)),
            Render::Responses { request, id } => {
                to_json(&responses::response_from_canonical(resp, request, id))
            }
        }
    }

    pub fn encoder(&self) -> Encoder {
        match self {
            Render::OpenAi { include_usage } => Encoder::OpenAi {
                renderer: ChunkRenderer::new(),
                include_usage: *include_usage,
                usage: None,
            },
            Render::Anthropic { requested_model } => Encoder::Anthropic(Box::new(
                anthropic::stream_encode::StreamEncoder::new(requested_model),
            )),
            Render::Gemini => {
                Encoder::Gemini(Box::new(gemini::stream_encode::StreamEncoder::new()))
            }
            Render::Responses { request, id } => {
                Encoder::Responses(Box::new(responses::StreamEncoder::new(request, id)))
            }
        }
    }
}

/// Renders canonical events as the client's SSE bytes.
pub enum Encoder {
    OpenAi {
        renderer: ChunkRenderer,
        include_usage: bool,
        usage: Option<Usage>,
    },
    Anthropic(Box<anthropic::stream_encode::StreamEncoder>),
    Gemini(Box<gemini::stream_encode::StreamEncoder>),
    Responses(Box<responses::StreamEncoder>),
}

impl Encoder {
    pub fn push(&mut self, event: &StreamEvent, out: &mut BytesMut) {
        match self {
            Encoder::OpenAi {
                renderer, usage, ..
            } => {
                if let StreamEvent::Usage(u) = event {
                    // Providers report usage in pieces (input first, output last); OpenAI sends
                    // one usage chunk after the finish, so merge and hold it.
                    merge_usage(usage.get_or_insert_with(Usage::default), u);
                    return;
                }
                if let Some(chunk) = renderer.render(event) {
                    openai_data(out, &chunk);
                }
            }
            Encoder::Anthropic(enc) => {
                let wire = enc.push(event);
                if !wire.is_empty() {
                    out.extend_from_slice(&anthropic::stream_encode::encode_sse(&wire));
                }
            }
            Encoder::Gemini(enc) => {
                for chunk in enc.push(event) {
                    out.extend_from_slice(&gemini::stream_encode::encode_sse(&chunk));
                }
            }
            Encoder::Responses(enc) => {
                let events = enc.push(event);
                if !events.is_empty() {
                    out.extend_from_slice(&responses::stream_encode::encode_sse(&events));
                }
            }
        }
    }

    /// The clean end of the client's stream.
    pub fn finish(&mut self, out: &mut BytesMut) {
        match self {
            Encoder::OpenAi {
                renderer,
                include_usage,
                usage,
            } => {
                if let (true, Some(u)) = (*include_usage, usage.take())
                    && let Some(chunk) = renderer.render(&StreamEvent::Usage(u))
                {
                    openai_data(out, &chunk);
                }
                out.extend_from_slice(b"data: [DONE]\n\n");
            }
            Encoder::Anthropic(enc) => {
                out.extend_from_slice(&anthropic::stream_encode::encode_sse(&enc.finish()));
            }
            Encoder::Gemini(enc) => {
                for chunk in enc.finish() {
                    out.extend_from_slice(&gemini::stream_encode::encode_sse(&chunk));
                }
            }
            Encoder::Responses(enc) => {
                out.extend_from_slice(&responses::stream_encode::encode_sse(&enc.finish()));
            }
        }
    }

    /// An error event that ends the client's stream (never a clean finish).
    pub fn error(&mut self, err: &Error, out: &mut BytesMut) {
        match self {
            Encoder::OpenAi { .. } => out.extend_from_slice(&Dialect::OpenAi.stream_error(err)),
            Encoder::Anthropic(enc) => {
                out.extend_from_slice(&anthropic::stream_encode::encode_sse(&[enc.error(err)]));
            }
            Encoder::Gemini(_) => out.extend_from_slice(&Dialect::Gemini.stream_error(err)),
            Encoder::Responses(enc) => {
                out.extend_from_slice(&responses::stream_encode::encode_sse(&[enc.error(err)]));
            }
        }
    }
}

pub fn merge_usage(into: &mut Usage, from: &Usage) {
    into.input_tokens = into.input_tokens.max(from.input_tokens);
    into.output_tokens = into.output_tokens.max(from.output_tokens);
    into.cached_input_tokens = into.cached_input_tokens.max(from.cached_input_tokens);
    into.cache_write_tokens = into.cache_write_tokens.max(from.cache_write_tokens);
    into.reasoning_tokens = into.reasoning_tokens.max(from.reasoning_tokens);
}

fn openai_data<T: Serialize>(out: &mut BytesMut, value: &T) {
    if let Ok(json) = serde_json::to_vec(value) {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(&json);
        out.extend_from_slice(b"\n\n");
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<Bytes, Error> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| Error::Internal(format!("could not render the response: {e}")))
}

/// Whether the events carry anything beyond the stream's opening and usage.
fn has_content(events: &[StreamEvent]) -> bool {
    events
        .iter()
        .any(|e| !matches!(e, StreamEvent::Start { .. } | StreamEvent::Usage(_)))
}

pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Work to do once a stream finished cleanly, before its last bytes go out (the Responses API
/// stores the conversation so `previous_response_id` can continue it).
pub type OnFinish = Box<dyn FnOnce(&Encoder) -> futures_util::future::LocalBoxFuture<'static, ()>>;

struct TranslateState {
    on_finish: Option<OnFinish>,
    /// `None` once dropped: a leaving client closes the upstream before anything else.
    upstream: Option<UpstreamResponse>,
    decoder: Decoder,
    encoder: Encoder,
    first: Option<Bytes>,
    provider: String,
    idle: Duration,
    deadline: Option<tokio::time::Instant>,
    outcome: Option<StreamOutcome>,
    meter: Option<Meter>,
    failure: Option<Error>,
    /// The upstream body already ended (while waiting for the first content).
    ended: bool,
    done: bool,
}

impl Drop for TranslateState {
    fn drop(&mut self) {
        // The upstream connection closes first: settling may count tokens, which takes time.
        drop(self.upstream.take());
        if let Some(meter) = &self.meter {
            meter.settle(200, self.failure.as_ref(), !self.done);
        }
    }
}

impl TranslateState {
    /// Ends the stream with an error event; the attempt is charged to its deployment.
    fn fail(&mut self, err: &Error, out: &mut BytesMut) {
        if let Some(outcome) = &mut self.outcome {
            outcome.fail(err);
        }
        self.failure = Some(err.clone());
        self.encoder.error(err, out);
    }
}

/// Who hears how a stream went: the router (health) and the usage meter.
#[derive(Default)]
pub struct Watch {
    pub outcome: Option<StreamOutcome>,
    pub meter: Option<Meter>,
}

/// Tells the meter what a batch of canonical events carried.
fn meter_events(meter: Option<&Meter>, events: &[StreamEvent]) {
    let Some(meter) = meter else { return };
    for event in events {
        match event {
            StreamEvent::Usage(usage) => meter.merge_usage(usage),
            StreamEvent::TextDelta { text } | StreamEvent::ReasoningDelta { text, .. } => {
                meter.add_output_text(text)
            }
            StreamEvent::ToolCallArgumentsDelta { fragment, .. } => meter.add_output_text(fragment),
            _ => {}
        }
    }
}

/// Waits for the first canonical event (so an upstream failure before content is a real HTTP
/// error), then answers 200 and translates the rest as it arrives.
#[allow(clippy::too_many_arguments)] // folded into one relay by the request-path redesign
pub async fn stream(
    mut upstream: UpstreamResponse,
    prefix: Option<Bytes>,
    mut decoder: Decoder,
    mut encoder: Encoder,
    provider: &str,
    timeouts: Timeouts,
    on_finish: Option<OnFinish>,
    watch: Watch,
) -> Result<HttpResponse, Error> {
    let Watch { mut outcome, meter } = watch;
    let unreachable = |message: String| Error::UpstreamUnreachable {
        provider: provider.to_owned(),
        message,
    };
    // Commit (send 200) only once real content arrived: a provider that fails right after
    // its opening event (Anthropic's `overloaded_error` after `message_start`) is then still a
    // real HTTP error, which the client (or a failover) can act on.
    let total = timeouts.total.map(|t| tokio::time::Instant::now() + t);
    let deadline = relay::first_deadline(timeouts.first_byte, total);
    let mut first_events = Vec::new();
    // A payload that returned its end must not be polled again (actix-http panics).
    let mut ended = false;
    // The bytes already read from the body (to tell a stream from a whole answer) come first.
    let mut prefix = prefix;
    loop {
        let next = match prefix.take() {
            Some(bytes) => Ok(Some(Ok(bytes))),
            None => tokio::time::timeout_at(deadline, upstream.next()).await,
        };
        let events = match next {
            Err(_) => {
                return Err(Error::UpstreamTimeout {
                    provider: provider.to_owned(),
                    phase: TimeoutPhase::FirstByte,
                });
            }
            Ok(None) => {
                ended = true;
                first_events.extend(decoder.finish()?);
                if let Some(err) = decoder.take_error() {
                    return Err(err);
                }
                if first_events.is_empty() {
                    return Err(unreachable("the stream ended before any data".into()));
                }
                break;
            }
            Ok(Some(Err(e))) => {
                return Err(unreachable(format!(
                    "the stream broke before any data: {e}"
                )));
            }
            Ok(Some(Ok(chunk))) => decoder.push(&chunk)?,
        };
        first_events.extend(events);
        if let Some(err) = decoder.take_error() {
            if !has_content(&first_events) {
                return Err(err);
            }
            decoder.failed = Some(err);
            break;
        }
        if has_content(&first_events) {
            break;
        }
    }
    let mut first = BytesMut::new();
    for event in &first_events {
        encoder.push(event, &mut first);
    }
    if let Some(meter) = &meter {
        meter.first_content();
    }
    meter_events(meter.as_ref(), &first_events);
    if let Some(outcome) = &mut outcome {
        outcome.commit();
    }
    let state = TranslateState {
        on_finish,
        upstream: Some(upstream),
        decoder,
        encoder,
        first: Some(first.freeze()),
        provider: provider.to_owned(),
        idle: timeouts.idle,
        deadline: total,
        outcome,
        meter,
        failure: None,
        ended,
        done: false,
    };
    let body = futures_util::stream::unfold(state, |mut st| async move {
        if let Some(first) = st.first.take().filter(|b| !b.is_empty()) {
            return Some((Ok::<Bytes, actix_web::Error>(first), st));
        }
        loop {
            if st.done {
                return None;
            }
            let mut out = BytesMut::new();
            if let Some(err) = st.decoder.take_error() {
                st.done = true;
                st.fail(&err, &mut out);
                return Some((Ok(out.freeze()), st));
            }
            let (wait, phase) = relay::next_wait(st.idle, st.deadline);
            let next = if st.ended {
                Ok(None)
            } else {
                match st.upstream.as_mut() {
                    Some(upstream) => tokio::time::timeout(wait, upstream.next()).await,
                    None => Ok(None),
                }
            };
            match next {
                Ok(Some(Ok(chunk))) => match st.decoder.push(&chunk) {
                    Ok(events) => {
                        meter_events(st.meter.as_ref(), &events);
                        events.iter().for_each(|e| st.encoder.push(e, &mut out));
                        if let Some(err) = st.decoder.take_error() {
                            st.done = true;
                            st.fail(&err, &mut out);
                        }
                    }
                    Err(err) => {
                        st.done = true;
                        st.fail(&err, &mut out);
                    }
                },
                Ok(None) => {
                    st.done = true;
                    match st.decoder.finish() {
                        Ok(events) => {
                            meter_events(st.meter.as_ref(), &events);
                            events.iter().for_each(|e| st.encoder.push(e, &mut out));
                            if let Some(err) = st.decoder.take_error() {
                                st.fail(&err, &mut out);
                            } else if st.decoder.complete() {
                                st.encoder.finish(&mut out);
                                if let Some(hook) = st.on_finish.take() {
                                    hook(&st.encoder).await;
                                }
                            } else {
                                tracing::warn!(provider = %st.provider, "upstream stream ended before it was complete");
                                let err = Error::UpstreamUnreachable {
                                    provider: st.provider.clone(),
                                    message: "the stream ended before it was complete".into(),
                                };
                                st.fail(&err, &mut out);
                            }
                        }
                        Err(err) => st.fail(&err, &mut out),
                    }
                }
                Ok(Some(Err(e))) => {
                    st.done = true;
                    tracing::warn!(provider = %st.provider, error = %e, "upstream stream broke mid-way");
                    let err = Error::UpstreamUnreachable {
                        provider: st.provider.clone(),
                        message: "the stream broke off mid-way".into(),
                    };
                    st.fail(&err, &mut out);
                }
                Err(_) => {
                    st.done = true;
                    tracing::warn!(provider = %st.provider, %phase, "upstream stream timed out");
                    let err = Error::UpstreamTimeout {
                        provider: st.provider.clone(),
                        phase,
                    };
                    st.fail(&err, &mut out);
                }
            }
            if !out.is_empty() {
                return Some((Ok(out.freeze()), st));
            }
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}
