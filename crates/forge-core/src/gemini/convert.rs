//! Gemini `generateContent` wire format <-> canonical form.
//!
//! Conventions that keep a Gemini -> canonical -> Gemini trip lossless:
//! - A `thoughtSignature` on a `functionCall` part travels inside the canonical tool-call id
//!   (`{id}__thought__{signature}`), because every dialect echoes tool-call ids back and
//!   Gemini 3 rejects a function-call turn whose signature is missing.
//! - A signature on any other non-thought part becomes a text-less `Reasoning` part just
//!   before it; the renderer attaches it to the next part.
//! - Parts with no canonical meaning become `Native { dialect: "gemini" }`; Gemini-only
//!   request fields live in `dialect_extra["gemini"]`.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value};

use super::schema::{clean_schema, is_empty_object, openapi_to_json_schema};
use super::{
    Blob, Candidate, Content, DIALECT, Extra, FileData, FunctionCall, FunctionCallingConfig,
    FunctionDeclaration, FunctionResponse, GenerateContentRequest, GenerateContentResponse,
    GenerationConfig, Part, ThinkingConfig, Tool as WireTool, ToolConfig, UsageMetadata,
};
use crate::canonical::{
    ChatRequest, ChatResponse, ContentPart, FinishReason, ImageSource, Message, Role, Thinking,
    Tool, ToolChoice, Usage,
};
use crate::error::Error;

/// Separates a tool-call id from the thought signature carried inside it.
const SIGNATURE_SEPARATOR: &str = "__thought__";

/// `dialect_extra["gemini"]` keys.
const X_GENERATION: &str = "generationConfig";
const X_TOOL_CONFIG: &str = "toolConfig";
const X_OTHER_TOOLS: &str = "otherTools";
const X_JSON_SCHEMA_PARAMS: &str = "parametersJsonSchema";
const X_JSON_SCHEMA_RESPONSE: &str = "responseJsonSchema";
const X_SAFETY: &str = "safetySettings";
const X_CACHED: &str = "cachedContent";

/// Finish reasons that mean a safety or policy filter stopped the answer.
const FILTER_REASONS: [&str; 8] = [
    "SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "IMAGE_RECITATION",
];

fn invalid_param(message: impl Into<String>, param: String) -> Error {
    Error::InvalidRequest {
        message: message.into(),
        param: Some(param),
    }
}

// ---------------------------------------------------------------------------------------
// ids, signatures, finish reasons, usage (shared with the stream state machines)

/// A tool-call id carrying a thought signature; base64 is made URL-safe so the id stays
/// within `[A-Za-z0-9_-]` (Anthropic's tool-use id pattern) when the base id does.
pub fn encode_call_id(id: &str, signature: Option<&str>) -> String {
    match signature {
        Some(sig) if !sig.is_empty() => {
            let safe: String = sig
                .chars()
                .filter(|c| *c != '=')
                .map(|c| match c {
                    '+' => '-',
                    '/' => '_',
                    other => other,
                })
                .collect();
            format!("{id}{SIGNATURE_SEPARATOR}{safe}")
        }
        _ => id.to_owned(),
    }
}

/// The base id and the thought signature (standard padded base64) of a canonical id.
pub fn decode_call_id(id: &str) -> (&str, Option<String>) {
    let Some((base, safe)) = id.split_once(SIGNATURE_SEPARATOR) else {
        return (id, None);
    };
    if safe.is_empty() {
        return (base, None);
    }
    let mut sig: String = safe
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            other => other,
        })
        .collect();
    while !sig.len().is_multiple_of(4) {
        sig.push('=');
    }
    (base, Some(sig))
}

/// The id of the `index`th function call of a response that gave it none.
pub fn call_id_for(response_id: &str, index: usize) -> String {
    format!("call_{response_id}_{index}")
}

/// A response id for answers without `responseId`: unique within the process.
pub fn fallback_response_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("gen-{:x}-{n:x}", now_unix())
}

pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Gemini ends a function-call turn with `STOP`; `had_tool_calls` makes that `ToolCalls`.
pub fn finish_to_canonical(reason: Option<&str>, had_tool_calls: bool) -> FinishReason {
    match reason {
        None | Some("STOP" | "FINISH_REASON_UNSPECIFIED") if had_tool_calls => {
            FinishReason::ToolCalls
        }
        None | Some("STOP" | "FINISH_REASON_UNSPECIFIED") => FinishReason::Stop,
        Some("MAX_TOKENS") => FinishReason::Length,
        Some(r) if FILTER_REASONS.contains(&r) => FinishReason::ContentFilter,
        Some(other) => FinishReason::Other(other.to_owned()),
    }
}

pub fn finish_from_canonical(reason: &FinishReason) -> String {
    match reason {
        FinishReason::Length => "MAX_TOKENS".to_owned(),
        FinishReason::ContentFilter => "SAFETY".to_owned(),
        FinishReason::Other(other)
            if !other.is_empty() && other.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') =>
        {
            other.clone()
        }
        FinishReason::Other(_) => "OTHER".to_owned(),
        _ => "STOP".to_owned(),
    }
}

/// Canonical output counts thoughts, as OpenAI's `completion_tokens` does.
pub fn usage_to_canonical(u: &UsageMetadata) -> Usage {
    let thoughts = u.thoughts_token_count.unwrap_or(0);
    Usage {
        input_tokens: u
            .prompt_token_count
            .unwrap_or(0)
            .saturating_add(u.tool_use_prompt_token_count.unwrap_or(0)),
        output_tokens: u
            .candidates_token_count
            .unwrap_or(0)
            .saturating_add(thoughts),
        cached_input_tokens: u.cached_content_token_count.unwrap_or(0),
        reasoning_tokens: thoughts,
        ..Usage::default()
    }
}

pub fn usage_from_canonical(u: &Usage) -> UsageMetadata {
    let nonzero = |n: u64| (n > 0).then_some(n);
    UsageMetadata {
        prompt_token_count: Some(u.input_tokens),
        candidates_token_count: Some(u.output_tokens.saturating_sub(u.reasoning_tokens)),
        total_token_count: Some(u.total_tokens()),
        cached_content_token_count: nonzero(u.cached_input_tokens),
        thoughts_token_count: nonzero(u.reasoning_tokens),
        tool_use_prompt_token_count: None,
        extra: Extra::new(),
    }
}

// ---------------------------------------------------------------------------------------
// parts

/// `args` as the JSON text canonical tool calls carry.
fn args_text(args: Option<&Value>) -> String {
    match args {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(v) => v.to_string(),
    }
}

/// Gemini wants an object; anything else is wrapped rather than lost.
fn args_value(arguments: &str) -> Value {
    if arguments.trim().is_empty() {
        return Value::Object(Map::new());
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => v,
        Ok(other) => Value::Object(Map::from_iter([("value".to_owned(), other)])),
        Err(_) => Value::Object(Map::from_iter([(
            "arguments".to_owned(),
            Value::String(arguments.to_owned()),
        )])),
    }
}

fn media_to_canonical(part: &Part) -> Option<ContentPart> {
    if let Some(blob) = &part.inline_data {
        let mime = blob.mime_type.as_str();
        return Some(if mime.starts_with("image/") {
            ContentPart::Image {
                source: ImageSource::Base64 {
                    media_type: blob.mime_type.clone(),
                    data: blob.data.clone(),
                },
                detail: None,
            }
        } else if let Some(format) = mime.strip_prefix("audio/") {
            ContentPart::Audio {
                data: blob.data.clone(),
                format: format.to_owned(),
            }
        } else {
            ContentPart::File {
                file_id: None,
                file_data: Some(format!("data:{mime};base64,{}", blob.data)),
                filename: None,
            }
        });
    }
    if let Some(file) = &part.file_data {
        let is_image = match &file.mime_type {
            Some(m) => m.starts_with("image/"),
            None => image_mime_for(&file.file_uri).is_some(),
        };
        return Some(if is_image {
            ContentPart::Image {
                source: ImageSource::Url {
                    url: file.file_uri.clone(),
                },
                detail: None,
            }
        } else {
            ContentPart::File {
                file_id: Some(file.file_uri.clone()),
                file_data: None,
                filename: None,
            }
        });
    }
    None
}

fn image_mime_for(url: &str) -> Option<&'static str> {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_owned())?;
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "heif" => "image/heif",
        _ => return None,
    })
}

/// Text, thought, media and function-call parts of one turn, in order. `call_id` names a
/// function call that came without an id (its position among the turn's calls).
fn parts_to_canonical(
    parts: &[Part],
    mut call_id: impl FnMut(usize) -> String,
) -> Vec<ContentPart> {
    let mut out = Vec::new();
    let mut calls = 0;
    for part in parts {
        if let Some(call) = &part.function_call {
            let id = call
                .id
                .clone()
                .filter(|i| !i.is_empty())
                .unwrap_or_else(|| call_id(calls));
            calls += 1;
            out.push(ContentPart::ToolCall {
                id: encode_call_id(&id, part.thought_signature.as_deref()),
                name: call.name.clone(),
                arguments: args_text(call.args.as_ref()),
            });
            continue;
        }
        if part.is_thought() {
            out.push(ContentPart::Reasoning {
                text: part.text.clone().unwrap_or_default(),
                signature: part.thought_signature.clone(),
            });
            continue;
        }
        if let Some(sig) = &part.thought_signature {
            out.push(ContentPart::Reasoning {
                text: String::new(),
                signature: Some(sig.clone()),
            });
        }
        if let Some(text) = &part.text {
            if !text.is_empty() || part.thought_signature.is_none() {
                out.push(ContentPart::Text { text: text.clone() });
            }
        } else if let Some(media) = media_to_canonical(part) {
            out.push(media);
        } else if part.thought_signature.is_none() || part_has_payload(part) {
            out.push(native(part));
        }
    }
    out
}

/// Whether a part carries anything beyond a thought signature.
fn part_has_payload(part: &Part) -> bool {
    part.function_response.is_some() || !part.extra.is_empty()
}

fn native(part: &Part) -> ContentPart {
    let mut part = part.clone();
    part.thought_signature = None;
    ContentPart::Native {
        dialect: DIALECT.to_owned(),
        block: serde_json::to_value(&part).unwrap_or(Value::Null),
    }
}

/// Renders canonical parts as Gemini parts; tool results need the call names, which
/// `name_of` finds from the tool calls earlier in the conversation.
fn parts_from_canonical(parts: &[ContentPart], name_of: &dyn Fn(&str) -> String) -> Vec<Part> {
    let mut out = Vec::new();
    let mut pending_sig: Option<String> = None;
    for part in parts {
        let mut wire = match part {
            ContentPart::Text { text } | ContentPart::Refusal { text } => {
                if text.is_empty() && pending_sig.is_none() {
                    continue;
                }
                Part::text(text.clone())
            }
            ContentPart::Reasoning { text, signature } => {
                if text.is_empty() {
                    if let Some(sig) = signature {
                        pending_sig = Some(sig.clone());
                    }
                    continue;
                }
                Part {
                    text: Some(text.clone()),
                    thought: Some(true),
                    thought_signature: signature.clone(),
                    ..Part::default()
                }
            }
            ContentPart::Image { source, .. } => match source {
                ImageSource::Base64 { media_type, data } => inline(media_type, data),
                ImageSource::Url { url } => Part {
                    file_data: Some(FileData {
                        mime_type: image_mime_for(url).map(str::to_owned),
                        file_uri: url.clone(),
                        extra: Extra::new(),
                    }),
                    ..Part::default()
                },
            },
            ContentPart::Audio { data, format } => inline(&format!("audio/{format}"), data),
            ContentPart::File {
                file_id, file_data, ..
            } => {
                if let Some(data_url) = file_data
                    && let ImageSource::Base64 { media_type, data } =
                        ImageSource::from_url(data_url)
                {
                    inline(&media_type, &data)
                } else if let Some(uri) = file_id.as_ref().or(file_data.as_ref()) {
                    Part {
                        file_data: Some(FileData {
                            mime_type: None,
                            file_uri: uri.clone(),
                            extra: Extra::new(),
                        }),
                        ..Part::default()
                    }
                } else {
                    continue;
                }
            }
            ContentPart::ToolCall {
                id,
                name,
                arguments,
            } => {
                let (base, sig) = decode_call_id(id);
                Part {
                    function_call: Some(FunctionCall {
                        id: Some(base.to_owned()),
                        name: name.clone(),
                        args: Some(args_value(arguments)),
                        extra: Extra::new(),
                    }),
                    thought_signature: sig,
                    ..Part::default()
                }
            }
            ContentPart::ToolResult { call_id, content } => {
                function_response(call_id, content, false, name_of)
            }
            ContentPart::ToolError { call_id, content } => {
                function_response(call_id, content, true, name_of)
            }
            ContentPart::Native { dialect, block } if dialect == DIALECT => {
                match serde_json::from_value::<Part>(block.clone()) {
                    Ok(p) => p,
                    Err(_) => continue,
                }
            }
            _ => continue,
        };
        if wire.thought_signature.is_none() {
            wire.thought_signature = pending_sig.take();
        }
        out.push(wire);
    }
    if let Some(sig) = pending_sig {
        out.push(Part {
            text: Some(String::new()),
            thought_signature: Some(sig),
            ..Part::default()
        });
    }
    out
}

fn inline(mime_type: &str, data: &str) -> Part {
    Part {
        inline_data: Some(Blob {
            mime_type: mime_type.to_owned(),
            data: data.to_owned(),
            extra: Extra::new(),
        }),
        ..Part::default()
    }
}

/// A JSON-object result is sent as is; other text goes under `output` (or `error`), the
/// keys Google's function-calling guide names.
fn function_response(
    call_id: &str,
    content: &[ContentPart],
    is_error: bool,
    name_of: &dyn Fn(&str) -> String,
) -> Part {
    let text: String = content
        .iter()
        .filter_map(|p| match p {
            ContentPart::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let response = match serde_json::from_str::<Value>(&text) {
        Ok(v @ Value::Object(_)) => v,
        _ => Value::Object(Map::from_iter([(
            if is_error { "error" } else { "output" }.to_owned(),
            Value::String(text),
        )])),
    };
    let (base, _) = decode_call_id(call_id);
    Part {
        function_response: Some(FunctionResponse {
            id: Some(base.to_owned()),
            name: name_of(call_id),
            response,
            extra: Extra::new(),
        }),
        ..Part::default()
    }
}

// ---------------------------------------------------------------------------------------
// requests

/// A function call seen earlier in the conversation, for pairing responses with it.
struct SeenCall {
    raw_id: Option<String>,
    name: String,
    id: String,
    answered: bool,
}

impl SeenCall {
    /// The canonical id of the call a response answers: by id, else the oldest unanswered
    /// call of that name (Gemini pairs by name and order when ids are absent).
    fn answer(calls: &mut [SeenCall], raw_id: Option<&str>, name: &str) -> Option<String> {
        let found = match raw_id {
            Some(raw) => calls
                .iter_mut()
                .find(|c| c.raw_id.as_deref() == Some(raw) || decode_call_id(&c.id).0 == raw),
            None => calls.iter_mut().find(|c| !c.answered && c.name == name),
        }?;
        found.answered = true;
        Some(found.id.clone())
    }
}

pub fn request_to_canonical(
    model: &str,
    req: &GenerateContentRequest,
) -> Result<ChatRequest, Error> {
    let mut messages = Vec::new();
    if let Some(system) = &req.system_instruction {
        let content = parts_to_canonical(&system.parts, |i| format!("call_system_{i}"));
        if !content.is_empty() {
            messages.push(Message::new(Role::System, content));
        }
    }
    let mut calls: Vec<SeenCall> = Vec::new();
    for (ci, content) in req.contents.iter().enumerate() {
        match content.role.as_deref() {
            None | Some("" | "user" | "function") => {
                user_turn(ci, content, &mut calls, &mut messages);
            }
            Some("model") => {
                let parts = parts_to_canonical(&content.parts, |i| format!("call_{ci}_{i}"));
                let raw_ids = content
                    .parts
                    .iter()
                    .filter_map(|p| p.function_call.as_ref())
                    .map(|c| c.id.clone());
                let canonical = parts.iter().filter_map(|p| match p {
                    ContentPart::ToolCall { id, name, .. } => Some((id, name)),
                    _ => None,
                });
                for ((id, name), raw_id) in canonical.zip(raw_ids) {
                    calls.push(SeenCall {
                        raw_id,
                        name: name.clone(),
                        id: id.clone(),
                        answered: false,
                    });
                }
                let mut msg = Message::new(Role::Assistant, parts);
                msg.extra = content.extra.clone();
                messages.push(msg);
            }
            Some(other) => {
                return Err(invalid_param(
                    format!("Please use a valid role: user, model. Got `{other}`."),
                    format!("contents[{ci}].role"),
                ));
            }
        }
    }

    let mut out = ChatRequest::new(model, messages);
    let mut x = Extra::new();
    tools_to_canonical(req, &mut out, &mut x);
    if let Some(config) = &req.generation_config {
        generation_to_canonical(config, &mut out, &mut x);
    }
    if let Some(safety) = &req.safety_settings {
        x.insert(X_SAFETY.to_owned(), Value::Array(safety.clone()));
    }
    if let Some(cached) = &req.cached_content {
        x.insert(X_CACHED.to_owned(), Value::String(cached.clone()));
    }
    for (key, value) in &req.extra {
        x.entry(key.clone()).or_insert_with(|| value.clone());
    }
    if !x.is_empty() {
        out.dialect_extra.insert(DIALECT.to_owned(), x);
    }
    Ok(out)
}

/// A user turn: `functionResponse` parts become tool-role messages, the rest user messages,
/// keeping their order.
fn user_turn(ci: usize, content: &Content, calls: &mut [SeenCall], messages: &mut Vec<Message>) {
    let mut run: Vec<ContentPart> = Vec::new();
    let mut run_is_tool = false;
    let flush = |run: &mut Vec<ContentPart>, is_tool: bool, messages: &mut Vec<Message>| {
        if run.is_empty() {
            return;
        }
        let role = if is_tool { Role::Tool } else { Role::User };
        let mut msg = Message::new(role, std::mem::take(run));
        if !is_tool {
            msg.extra = content.extra.clone();
        }
        messages.push(msg);
    };
    for (pi, part) in content.parts.iter().enumerate() {
        if let Some(resp) = &part.function_response {
            if !run_is_tool {
                flush(&mut run, false, messages);
                run_is_tool = true;
            }
            let call_id = SeenCall::answer(calls, resp.id.as_deref(), &resp.name)
                .or_else(|| resp.id.clone())
                .unwrap_or_else(|| format!("call_{ci}_{pi}"));
            let content = vec![ContentPart::Text {
                text: resp.response.to_string(),
            }];
            let is_error = resp
                .response
                .as_object()
                .is_some_and(|o| o.len() == 1 && o.contains_key("error"));
            run.push(if is_error {
                ContentPart::ToolError { call_id, content }
            } else {
                ContentPart::ToolResult { call_id, content }
            });
        } else {
            if run_is_tool {
                flush(&mut run, true, messages);
                run_is_tool = false;
            }
            run.extend(parts_to_canonical(std::slice::from_ref(part), |i| {
                format!("call_{ci}_{pi}_{i}")
            }));
        }
    }
    flush(&mut run, run_is_tool, messages);
}

fn tools_to_canonical(req: &GenerateContentRequest, out: &mut ChatRequest, x: &mut Extra) {
    let mut other_tools = Vec::new();
    let mut json_schema = false;
    for tool in req.tools.iter().flatten() {
        for decl in tool.function_declarations.iter().flatten() {
            json_schema |= decl.parameters_json_schema.is_some();
            out.tools.push(Tool {
                name: decl.name.clone(),
                description: decl.description.clone(),
                parameters: decl
                    .parameters_json_schema
                    .clone()
                    .or_else(|| decl.parameters.as_ref().map(openapi_to_json_schema)),
                strict: None,
            });
        }
        if !tool.extra.is_empty() {
            other_tools.push(Value::Object(tool.extra.clone()));
        }
    }
    if json_schema {
        x.insert(X_JSON_SCHEMA_PARAMS.to_owned(), Value::Bool(true));
    }
    if !other_tools.is_empty() {
        x.insert(X_OTHER_TOOLS.to_owned(), Value::Array(other_tools));
    }
    let Some(config) = &req.tool_config else {
        return;
    };
    let fcc = config.function_calling_config.as_ref();
    let names = fcc
        .and_then(|c| c.allowed_function_names.as_deref())
        .unwrap_or_default();
    let (choice, exact) = match fcc.and_then(|c| c.mode.as_deref()) {
        None | Some("AUTO") => (ToolChoice::Auto, names.is_empty()),
        Some("NONE") => (ToolChoice::None, names.is_empty()),
        Some("ANY") => match names {
            [one] => (ToolChoice::Named(one.clone()), true),
            [] => (ToolChoice::Required, true),
            _ => (ToolChoice::Required, false),
        },
        Some(_) => (ToolChoice::Auto, false),
    };
    out.tool_choice = Some(choice);
    let plain = config.extra.is_empty() && fcc.is_none_or(|c| c.extra.is_empty());
    if !(exact && plain)
        && let Ok(v) = serde_json::to_value(config)
    {
        x.insert(X_TOOL_CONFIG.to_owned(), v);
    }
}

fn generation_to_canonical(g: &GenerationConfig, out: &mut ChatRequest, x: &mut Extra) {
    out.temperature = g.temperature;
    out.top_p = g.top_p;
    out.top_k = g.top_k;
    out.max_tokens = g.max_output_tokens;
    out.stop = g.stop_sequences.clone().unwrap_or_default();
    let mut put = |key: &str, v: Option<Value>| {
        if let Some(v) = v {
            out.extra.insert(key.to_owned(), v);
        }
    };
    put("n", g.candidate_count.map(Value::from));
    put("seed", g.seed.map(Value::from));
    put("presence_penalty", g.presence_penalty.map(Value::from));
    put("frequency_penalty", g.frequency_penalty.map(Value::from));

    let mut leftover = g.extra.clone();
    match g.response_mime_type.as_deref() {
        Some("application/json") => {
            let schema = g
                .response_json_schema
                .clone()
                .or_else(|| g.response_schema.as_ref().map(openapi_to_json_schema));
            out.response_format = Some(match schema {
                Some(schema) => serde_json::json!({
                    "type": "json_schema",
                    "json_schema": {"name": "response", "schema": schema}
                }),
                None => serde_json::json!({"type": "json_object"}),
            });
            if g.response_json_schema.is_some() {
                x.insert(X_JSON_SCHEMA_RESPONSE.to_owned(), Value::Bool(true));
            }
        }
        Some(other) => {
            leftover.insert(
                "responseMimeType".to_owned(),
                Value::String(other.to_owned()),
            );
            for (key, schema) in [
                ("responseSchema", &g.response_schema),
                ("responseJsonSchema", &g.response_json_schema),
            ] {
                if let Some(s) = schema {
                    leftover.insert(key.to_owned(), s.clone());
                }
            }
        }
        None => {}
    }
    if let Some(t) = &g.thinking_config {
        match t.thinking_budget {
            Some(0) => out.thinking = Some(Thinking::Disabled),
            Some(b) if b > 0 => {
                let budget = b.unsigned_abs();
                // Renderers that take levels derive one (for models that accept it).
                out.thinking = Some(Thinking::Enabled {
                    budget_tokens: budget,
                });
            }
            _ => {}
        }
        if let Some(level) = &t.thinking_level {
            out.reasoning_effort = Some(level.to_ascii_lowercase());
        }
        if let Ok(v) = serde_json::to_value(t) {
            leftover.insert("thinkingConfig".to_owned(), v);
        }
    }
    if !leftover.is_empty() {
        x.insert(X_GENERATION.to_owned(), Value::Object(leftover));
    }
}

pub fn request_from_canonical(req: &ChatRequest) -> GenerateContentRequest {
    let none = Extra::new();
    let x = req.dialect_extra.get(DIALECT).unwrap_or(&none);
    let names: Vec<(&str, &str)> = req
        .messages
        .iter()
        .flat_map(|m| &m.content)
        .filter_map(|p| match p {
            ContentPart::ToolCall { id, name, .. } => Some((id.as_str(), name.as_str())),
            _ => None,
        })
        .collect();
    let name_of = |call_id: &str| -> String {
        let base = decode_call_id(call_id).0;
        names
            .iter()
            .find(|(id, _)| *id == call_id || decode_call_id(id).0 == base)
            .map(|(_, n)| (*n).to_owned())
            .unwrap_or_else(|| base.to_owned())
    };

    let mut system = Vec::new();
    let mut contents: Vec<Content> = Vec::new();
    for m in &req.messages {
        let parts = parts_from_canonical(&m.content, &name_of);
        let role = match m.role {
            Role::System | Role::Developer => {
                system.extend(parts);
                continue;
            }
            Role::Assistant => "model",
            Role::User | Role::Tool => "user",
        };
        if parts.is_empty() {
            continue;
        }
        match contents.last_mut() {
            // Gemini wants user and model turns to alternate.
            Some(last) if last.role.as_deref() == Some(role) => last.parts.extend(parts),
            _ => contents.push(Content {
                role: Some(role.to_owned()),
                parts,
                extra: if m.role == Role::Tool {
                    Extra::new()
                } else {
                    m.extra.clone()
                },
            }),
        }
    }

    let mut out = GenerateContentRequest {
        contents,
        system_instruction: (!system.is_empty()).then(|| Content {
            role: None,
            parts: system,
            extra: Extra::new(),
        }),
        ..GenerateContentRequest::default()
    };
    tools_from_canonical(req, x, &mut out);
    out.generation_config = generation_from_canonical(req, x);
    for (key, value) in x {
        match key.as_str() {
            X_SAFETY => out.safety_settings = value.as_array().cloned(),
            X_CACHED => out.cached_content = value.as_str().map(str::to_owned),
            X_GENERATION
            | X_TOOL_CONFIG
            | X_OTHER_TOOLS
            | X_JSON_SCHEMA_PARAMS
            | X_JSON_SCHEMA_RESPONSE => {}
            _ => {
                out.extra.insert(key.clone(), value.clone());
            }
        }
    }
    out
}

fn flag(x: &Extra, key: &str) -> bool {
    x.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn tools_from_canonical(req: &ChatRequest, x: &Extra, out: &mut GenerateContentRequest) {
    let json_schema = flag(x, X_JSON_SCHEMA_PARAMS);
    let declarations: Vec<FunctionDeclaration> = req
        .tools
        .iter()
        .map(|t| {
            let (parameters, parameters_json_schema) = match &t.parameters {
                Some(p) if json_schema => (None, Some(p.clone())),
                Some(p) => {
                    let cleaned = clean_schema(p);
                    (Some(cleaned).filter(|c| !is_empty_object(c)), None)
                }
                None => (None, None),
            };
            FunctionDeclaration {
                name: t.name.clone(),
                description: t.description.clone(),
                parameters,
                parameters_json_schema,
                extra: Extra::new(),
            }
        })
        .collect();
    let mut tools = Vec::new();
    if !declarations.is_empty() {
        tools.push(WireTool {
            function_declarations: Some(declarations),
            extra: Extra::new(),
        });
    }
    for other in x
        .get(X_OTHER_TOOLS)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Value::Object(extra) = other {
            tools.push(WireTool {
                function_declarations: None,
                extra: extra.clone(),
            });
        }
    }
    out.tools = (!tools.is_empty()).then_some(tools);

    if let Some(stored) = x.get(X_TOOL_CONFIG)
        && let Ok(config) = serde_json::from_value::<ToolConfig>(stored.clone())
    {
        out.tool_config = Some(config);
        return;
    }
    out.tool_config = req.tool_choice.as_ref().map(|choice| {
        let (mode, names) = match choice {
            ToolChoice::Auto => ("AUTO", None),
            ToolChoice::None => ("NONE", None),
            ToolChoice::Required => ("ANY", None),
            ToolChoice::Named(name) => ("ANY", Some(vec![name.clone()])),
        };
        ToolConfig {
            function_calling_config: Some(FunctionCallingConfig {
                mode: Some(mode.to_owned()),
                allowed_function_names: names,
                extra: Extra::new(),
            }),
            extra: Extra::new(),
        }
    });
}

fn generation_from_canonical(req: &ChatRequest, x: &Extra) -> Option<GenerationConfig> {
    let number = |key: &str| req.extra.get(key).and_then(Value::as_f64);
    let mut g = GenerationConfig {
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: req.top_k,
        max_output_tokens: req.max_tokens,
        stop_sequences: (!req.stop.is_empty()).then(|| req.stop.clone()),
        candidate_count: req.extra.get("n").and_then(Value::as_u64),
        seed: req.extra.get("seed").and_then(Value::as_i64),
        presence_penalty: number("presence_penalty"),
        frequency_penalty: number("frequency_penalty"),
        ..GenerationConfig::default()
    };
    if let Some(format) = &req.response_format {
        match format.get("type").and_then(Value::as_str) {
            Some("json_object") => g.response_mime_type = Some("application/json".to_owned()),
            Some("json_schema") => {
                g.response_mime_type = Some("application/json".to_owned());
                let schema = format.get("json_schema").and_then(|s| s.get("schema"));
                if let Some(schema) = schema {
                    if flag(x, X_JSON_SCHEMA_RESPONSE) {
                        g.response_json_schema = Some(schema.clone());
                    } else {
                        g.response_schema = Some(clean_schema(schema));
                    }
                }
            }
            _ => {}
        }
    }
    let disabled = matches!(req.thinking, Some(Thinking::Disabled))
        || (req.thinking.is_none() && req.reasoning_effort.as_deref() == Some("none"));
    if disabled {
        g.thinking_config = Some(ThinkingConfig {
            thinking_budget: Some(0),
            ..ThinkingConfig::default()
        });
    } else if let Some(budget) = req.thinking_budget() {
        g.thinking_config = Some(ThinkingConfig {
            thinking_budget: Some(i64::try_from(budget).unwrap_or(i64::MAX)),
            include_thoughts: Some(true),
            ..ThinkingConfig::default()
        });
    }
    if let Some(Value::Object(stored)) = x.get(X_GENERATION) {
        // The source request's own Gemini settings win over the derived ones.
        let mut merged = match serde_json::to_value(&g) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        for (key, value) in stored {
            merged.insert(key.clone(), value.clone());
        }
        if let Ok(typed) = serde_json::from_value(Value::Object(merged)) {
            g = typed;
        }
    }
    (g != GenerationConfig::default()).then_some(g)
}

// ---------------------------------------------------------------------------------------
// responses

/// Reads the first candidate; the canonical form has one answer per request.
pub fn response_to_canonical(resp: &GenerateContentResponse) -> ChatResponse {
    let id = resp
        .response_id
        .clone()
        .filter(|i| !i.is_empty())
        .unwrap_or_else(fallback_response_id);
    let candidate = resp.candidates.iter().find(|c| c.index.unwrap_or(0) == 0);
    let parts = candidate
        .and_then(|c| c.content.as_ref())
        .map(|c| c.parts.as_slice())
        .unwrap_or_default();
    let content = parts_to_canonical(parts, |i| call_id_for(&id, i));
    let had_calls = content
        .iter()
        .any(|p| matches!(p, ContentPart::ToolCall { .. }));
    let finish_reason = match candidate {
        Some(c) => finish_to_canonical(c.finish_reason.as_deref(), had_calls),
        // No candidate at all: the prompt was blocked.
        None if resp
            .prompt_feedback
            .as_ref()
            .is_some_and(|f| f.block_reason.is_some()) =>
        {
            FinishReason::ContentFilter
        }
        None => FinishReason::Stop,
    };
    ChatResponse {
        id,
        model: resp.model_version.clone().unwrap_or_default(),
        created: now_unix(),
        content,
        finish_reason,
        usage: resp
            .usage_metadata
            .as_ref()
            .map(usage_to_canonical)
            .unwrap_or_default(),
        extra: Extra::new(),
    }
}

pub fn response_from_canonical(resp: &ChatResponse) -> GenerateContentResponse {
    let no_names = |id: &str| decode_call_id(id).0.to_owned();
    GenerateContentResponse {
        candidates: vec![Candidate {
            content: Some(Content {
                role: Some("model".to_owned()),
                parts: parts_from_canonical(&resp.content, &no_names),
                extra: Extra::new(),
            }),
            finish_reason: Some(finish_from_canonical(&resp.finish_reason)),
            index: Some(0),
            safety_ratings: None,
            extra: Extra::new(),
        }],
        prompt_feedback: None,
        usage_metadata: Some(usage_from_canonical(&resp.usage)),
        model_version: (!resp.model.is_empty()).then(|| resp.model.clone()),
        response_id: Some(resp.id.clone()),
        extra: Extra::new(),
    }
}

/// Parts of one streamed chunk, for the stream decoder (same rules as whole responses).
pub(crate) fn chunk_parts_to_canonical(
    parts: &[Part],
    call_id: impl FnMut(usize) -> String,
) -> Vec<ContentPart> {
    parts_to_canonical(parts, call_id)
}

/// Parts of one streamed chunk, for the stream encoder.
pub(crate) fn chunk_parts_from_canonical(parts: &[ContentPart]) -> Vec<Part> {
    let no_names = |id: &str| decode_call_id(id).0.to_owned();
    parts_from_canonical(parts, &no_names)
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
