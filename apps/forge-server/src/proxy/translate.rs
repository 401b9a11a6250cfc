//! Stream translation between dialects: upstream bytes are decoded into canonical stream events
//! by the upstream adapter's decoder and rendered by the client's encoder. Each side is a small
//! state machine owned by the stream, so ids, models and tool-call indexes stay real and
//! consistent. [`Translated`] is the relay's shape for it (the relay itself is `relay.rs`).

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use forge_core::adapter::StreamDecoder;
use forge_core::canonical::{ChatResponse, StreamEvent, Usage};
use forge_core::openai::convert::{ChunkRenderer, chat_response_from_canonical};
use forge_core::responses::ResponsesRequest;
use forge_core::sse::{SseEvent, SseParser};
use forge_core::{Error, anthropic, gemini, responses};
use futures_util::future::LocalBoxFuture;
use serde::Serialize;

use crate::proxy::dialect::Dialect;
use crate::proxy::relay::Shape;
use crate::proxy::upstream::Upstream;
use crate::usage::meter::Meter;

/// Turns an upstream's SSE bytes into canonical events: SSE framing here, the upstream's own
/// event format in its adapter's [`StreamDecoder`].
pub struct Decoder {
    parser: SseParser,
    pending: Vec<SseEvent>,
    inner: Box<dyn StreamDecoder>,
    provider: String,
    failed: Option<Error>,
}

/// Largest single upstream event the decoder will assemble.
const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

impl Decoder {
    pub fn new(upstream: &Upstream, provider: &str, model: &str) -> Self {
        Decoder {
            parser: SseParser::new(),
            pending: Vec::new(),
            inner: upstream
                .adapter()
                .stream_decoder(provider, model, now_unix()),
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
        out.extend(self.inner.finish());
        Ok(out)
    }

    /// Whether the upstream ended its stream properly (`[DONE]`, `message_stop`, a finish reason).
    pub fn complete(&self) -> bool {
        self.inner.complete()
    }

    /// Decodes the parsed events. An error after some events were decoded is held back
    /// (`take_error`) so the content before it still reaches the client.
    fn drain(&mut self) -> Result<Vec<StreamEvent>, Error> {
        let mut out = Vec::new();
        for ev in std::mem::take(&mut self.pending) {
            match self.inner.decode(&ev) {
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
                    usage.get_or_insert_with(Usage::default).merge_max(u);
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

pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Work to do once a stream finished cleanly, before its last bytes go out (the Responses API
/// stores the conversation so `previous_response_id` can continue it).
pub type OnFinish = Box<dyn FnOnce(&Encoder) -> LocalBoxFuture<'static, ()>>;

/// The translating [`Shape`]: the upstream's events decoded, held as canonical events until
/// taken, then rendered by the client's encoder.
pub struct Translated {
    decoder: Decoder,
    encoder: Encoder,
    held: Vec<StreamEvent>,
    /// The stream ended cleanly: the encoder's finish goes out with what is held.
    finished: bool,
    on_finish: Option<OnFinish>,
}

impl Translated {
    pub fn new(decoder: Decoder, encoder: Encoder, on_finish: Option<OnFinish>) -> Self {
        Translated {
            decoder,
            encoder,
            held: Vec::new(),
            finished: false,
            on_finish,
        }
    }
}

impl Shape for Translated {
    fn push(&mut self, chunk: &[u8]) -> Result<(), Error> {
        let events = self.decoder.push(chunk)?;
        self.held.extend(events);
        match self.decoder.take_error() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    fn end(&mut self) -> Result<bool, Error> {
        let events = self.decoder.finish()?;
        self.held.extend(events);
        if let Some(err) = self.decoder.take_error() {
            return Err(err);
        }
        self.finished = self.decoder.complete();
        Ok(self.finished)
    }

    /// Anything beyond the stream's opening and usage.
    fn has_content(&self) -> bool {
        self.held
            .iter()
            .any(|e| !matches!(e, StreamEvent::Start { .. } | StreamEvent::Usage(_)))
    }

    fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    fn take(&mut self, meter: Option<&Meter>) -> Bytes {
        let events = std::mem::take(&mut self.held);
        if let Some(meter) = meter {
            meter_events(meter, &events);
        }
        let mut out = BytesMut::new();
        for event in &events {
            self.encoder.push(event, &mut out);
        }
        if std::mem::take(&mut self.finished) {
            self.encoder.finish(&mut out);
        }
        out.freeze()
    }

    fn error_event(&mut self, err: &Error) -> Bytes {
        let mut out = BytesMut::new();
        self.encoder.error(err, &mut out);
        out.freeze()
    }

    fn on_finish(&mut self) -> Option<LocalBoxFuture<'static, ()>> {
        let hook = self.on_finish.take()?;
        Some(hook(&self.encoder))
    }

    fn content_type(&self) -> &str {
        "text/event-stream"
    }
}

/// Tells the meter what a batch of canonical events carried.
fn meter_events(meter: &Meter, events: &[StreamEvent]) {
    for event in events {
        match event {
            StreamEvent::Usage(usage) => meter.merge_usage(usage),
            StreamEvent::TextDelta { text } | StreamEvent::ReasoningDelta { text, .. } => {
                meter.add_output_text(text)
            }
            StreamEvent::ToolCallArgumentsDelta { fragment, .. } => meter.add_output_text(fragment),
            StreamEvent::Finish { reason } => meter.finish_reason(reason.as_openai()),
            _ => {}
        }
    }
}
