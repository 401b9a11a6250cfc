//! The parsers a client or an upstream can feed arbitrary bytes to, as fuzz targets: each
//! takes any input and must neither panic nor loop. `fuzz/` runs them under libFuzzer
//! (`cargo fuzz`, nightly); `tests/corpus.rs` replays the committed corpus on stable, so a
//! regression on an input the fuzzer once found fails the ordinary test run.

use forge_core::anthropic::convert as anthropic;
use forge_core::canonical::ChatRequest;
use forge_core::gemini::convert as gemini;
use forge_core::openai::convert as openai;
use forge_core::sse::{SseEvent, SseParser};
use forge_core::stream_end::StreamEnd;
use forge_core::usage_sniff::{SniffDialect, StreamSniffer, usage_from_body};

/// A fuzz target: any bytes in, no panic out.
pub type Target = fn(&[u8]);

/// Every target, by the name of its corpus directory.
pub const TARGETS: &[(&str, Target)] = &[
    ("sse", sse),
    ("anthropic_request", anthropic_request),
    ("openai_request", openai_request),
    ("responses_request", responses_request),
    ("gemini_request", gemini_request),
    ("stream_decoders", stream_decoders),
    ("usage_sniff", usage_sniff),
    ("forge_toml", forge_toml),
    ("admin_bodies", admin_bodies),
    ("multipart", multipart),
];

/// The SSE framer, fed the input in two pieces split at its first byte's value.
pub fn sse(data: &[u8]) {
    events(data);
    for end in [
        StreamEnd::OpenAiDone,
        StreamEnd::AnthropicStop,
        StreamEnd::GeminiFinish,
        StreamEnd::ResponsesDone,
    ] {
        let _ = end.seen_in(data);
    }
}

fn events(data: &[u8]) -> Vec<SseEvent> {
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let mut parser = SseParser::new();
    let mut out = Vec::new();
    parser.push(&data[..split], &mut out);
    parser.push(&data[split..], &mut out);
    parser.finish(&mut out);
    out
}

/// A canonical request rendered for every upstream dialect.
fn render_everywhere(req: &ChatRequest) {
    let _ = openai::chat_request_from_canonical(req);
    let _ = anthropic::request_from_canonical(req, 4096);
    let _ = gemini::request_from_canonical(req);
    let _ = req.dropped_for("openai");
}

pub fn anthropic_request(data: &[u8]) {
    if let Ok(req) = serde_json::from_slice(data) {
        render_everywhere(&anthropic::request_to_canonical(&req));
    }
}

pub fn openai_request(data: &[u8]) {
    if let Ok(req) = serde_json::from_slice(data)
        && let Ok(canonical) = openai::chat_request_to_canonical(&req)
    {
        render_everywhere(&canonical);
    }
}

pub fn responses_request(data: &[u8]) {
    if let Ok(req) = serde_json::from_slice(data)
        && let Ok(canonical) = forge_core::responses::request_to_canonical(&req, None)
    {
        render_everywhere(&canonical);
    }
}

pub fn gemini_request(data: &[u8]) {
    if let Ok(req) = serde_json::from_slice(data)
        && let Ok(canonical) = gemini::request_to_canonical("m", &req)
    {
        render_everywhere(&canonical);
    }
}

/// The input as an SSE stream, through each dialect's stream decoder.
pub fn stream_decoders(data: &[u8]) {
    let events = events(data);
    let mut claude = forge_core::anthropic::StreamDecoder::new();
    let mut google = forge_core::gemini::stream_decode::StreamDecoder::new("m", 0);
    for ev in &events {
        let _ = claude.push(ev);
        let _ = google.push_data(&ev.data);
        if let Ok(chunk) = serde_json::from_str(&ev.data) {
            let _ = openai::chunk_to_events(&chunk);
        }
    }
    let _ = google.finish();
}

/// The usage sniffer, on the input as a whole body and as a stream, in every dialect.
pub fn usage_sniff(data: &[u8]) {
    let events = events(data);
    for dialect in SniffDialect::ALL {
        let _ = usage_from_body(dialect, data);
        let mut sniffer = StreamSniffer::new(dialect);
        for ev in &events {
            let _ = sniffer.observe(&ev.data);
        }
    }
}

/// The multipart form reader, under a fixed boundary and the boundary the input's first line
/// names; every text field read back and the `model` field rewritten.
pub fn multipart(data: &[u8]) {
    let named = data
        .split(|&b| b == b'\r')
        .next()
        .and_then(|line| std::str::from_utf8(line.strip_prefix(b"--")?).ok())
        .map(|b| format!("multipart/form-data; boundary={b}"));
    for content_type in ["multipart/form-data; boundary=XyZ".to_owned()]
        .into_iter()
        .chain(named)
    {
        if let Ok(form) = forge_core::multipart::Form::parse(data, &content_type) {
            for part in form.parts() {
                let _ = form.text(&part.name);
            }
            let _ = form.with_text("model", "rewritten");
        }
    }
}

/// The forge.toml loader (every `env:` reference resolves).
pub fn forge_toml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = forge_router::Config::parse(text, &|_| Some("value-of-the-variable".to_owned()));
    }
}

/// Every JSON body the admin API takes, with the checks that run before any storage: the
/// limits body's validation, account fields, and provider base URLs (the SSRF rules).
pub fn admin_bodies(data: &[u8]) {
    use forge_server::admin::{api_keys, auth, limits, provider_keys, users};
    use forge_server::validate;
    use serde_json::from_slice;

    if let Ok(body) = from_slice::<limits::body::LimitsBody>(data) {
        let _ = body.validate();
    }
    if let Ok(body) = from_slice::<auth::RegisterBody>(data) {
        let _ = auth::check_username(&body.username);
        let _ = auth::check_email(&body.email);
        let _ = auth::check_password(&body.password);
    }
    if let Ok(body) = from_slice::<users::UpdateMe>(data) {
        let _ = body.email.as_deref().map(auth::check_email);
        let _ = body.username.as_deref().map(auth::check_username);
    }
    let mut urls = Vec::new();
    if let Ok(body) = from_slice::<provider_keys::CreateBody>(data) {
        urls.extend(body.base_url);
    }
    if let Ok(body) = from_slice::<provider_keys::UpdateBody>(data) {
        urls.extend(body.base_url.flatten());
    }
    if let Ok(items) = from_slice::<Vec<provider_keys::UpsertItem>>(data) {
        urls.extend(items.into_iter().filter_map(|i| i.base_url.flatten()));
    }
    for url in urls {
        let _ = validate::base_url(&url, false);
        let _ = validate::literal_ip(&url);
    }
    let _ = from_slice::<api_keys::CreateBody>(data);
    let _ = from_slice::<api_keys::UpdateBody>(data);
}
