//! The client dialects: each renders a [`Spec`] as its own request and reads the answer
//! back, checking the exact wire shape of that dialect (whole and streamed) on the way.

use forge_core::sse::{SseEvent, SseParser};
use serde_json::{Value, json};

use super::responses_client;
use super::spec::{
    JSON_TOOL, PNG_B64, Spec, THINKING_BUDGET, TOOL_RESULT, Turn, answer_schema, tools,
    weather_args,
};
use crate::harness::Reply;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In {
    OpenAi,
    Anthropic,
    Gemini,
    /// The OpenAI Responses API (`POST /v1/responses`).
    Responses,
}

/// A request ready to send.
pub struct Outgoing {
    pub path: String,
    pub key_header: &'static str,
    pub headers: Vec<(&'static str, &'static str)>,
    pub body: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub id: Option<String>,
    pub name: String,
    pub args: Value,
}

/// An answer read back from any dialect.
#[derive(Debug, Clone, Default)]
pub struct Got {
    pub text: String,
    pub reasoning: String,
    pub calls: Vec<Call>,
    /// The finish / stop reason exactly as the dialect spells it.
    pub finish: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// How the answer ended, before a dialect spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    End,
    StopSequence,
    Length,
    Tools,
}

impl In {
    pub fn request(self, spec: &Spec, model: &str) -> Outgoing {
        match self {
            In::OpenAi => openai_request(spec, model),
            In::Anthropic => anthropic_request(spec, model),
            In::Gemini => gemini_request(spec, model),
            In::Responses => responses_client::request(spec, model),
        }
    }

    /// `upstream_is_anthropic`: only Anthropic says which stop sequence ended the answer.
    pub fn finish(self, outcome: Outcome, upstream_is_anthropic: bool) -> &'static str {
        match (self, outcome) {
            (In::OpenAi, Outcome::End | Outcome::StopSequence) => "stop",
            (In::OpenAi, Outcome::Length) => "length",
            (In::OpenAi, Outcome::Tools) => "tool_calls",
            (In::Anthropic, Outcome::End) => "end_turn",
            (In::Anthropic, Outcome::StopSequence) if upstream_is_anthropic => "stop_sequence",
            (In::Anthropic, Outcome::StopSequence) => "end_turn",
            (In::Anthropic, Outcome::Length) => "max_tokens",
            (In::Anthropic, Outcome::Tools) => "tool_use",
            (In::Gemini, Outcome::Length) => "MAX_TOKENS",
            (In::Gemini, _) => "STOP",
            (In::Responses, Outcome::Length) => responses_client::INCOMPLETE_MAX_TOKENS,
            (In::Responses, _) => "completed",
        }
    }

    /// Reads a 200 answer, checking the dialect's exact shape. `models` are the names the
    /// answer may carry (the one asked for, or the upstream's).
    pub fn parse(self, reply: &Reply, stream: bool, models: &[&str]) -> Got {
        assert_eq!(reply.status, 200, "{self:?}: {}", reply.text);
        if stream {
            let ct = reply.header("content-type").unwrap_or_default();
            // A canned OpenAI stream is served as application/json and passed through as is.
            let canned =
                reply.text.contains("chatcmpl-canned") || reply.text.contains("resp_canned");
            assert!(
                ct.starts_with("text/event-stream") || canned,
                "{ct}: {}",
                reply.text
            );
            let events = sse(&reply.text);
            match self {
                In::OpenAi => openai_stream(&events, models),
                In::Anthropic => anthropic_stream(&events, models),
                In::Gemini => gemini_stream(&events),
                In::Responses => responses_client::stream(&events, models),
            }
        } else {
            match self {
                In::OpenAi => openai_whole(&reply.body, models),
                In::Anthropic => anthropic_whole(&reply.body, models),
                In::Gemini => gemini_whole(&reply.body),
                In::Responses => responses_client::whole(&reply.body, models),
            }
        }
    }

    /// Checks an error in this dialect's shape and returns its message.
    pub fn error_message(self, reply: &Reply, status: u16) -> String {
        let b = &reply.body;
        match self {
            In::Responses => responses_client::error_message(reply),
            In::OpenAi => {
                assert!(b["error"]["type"].is_string(), "{}", reply.text);
                b["error"]["message"].as_str().unwrap().to_owned()
            }
            In::Anthropic => {
                assert_eq!(b["type"], "error", "{}", reply.text);
                let kind = match status {
                    400 => "invalid_request_error",
                    401 => "authentication_error",
                    429 => "rate_limit_error",
                    _ => "api_error",
                };
                assert_eq!(b["error"]["type"], kind, "{}", reply.text);
                b["error"]["message"].as_str().unwrap().to_owned()
            }
            In::Gemini => {
                assert_eq!(b["error"]["code"], json!(status), "{}", reply.text);
                let kind = match status {
                    400 => "INVALID_ARGUMENT",
                    401 => "UNAUTHENTICATED",
                    429 => "RESOURCE_EXHAUSTED",
                    _ => "INTERNAL",
                };
                assert_eq!(b["error"]["status"], kind, "{}", reply.text);
                b["error"]["message"].as_str().unwrap().to_owned()
            }
        }
    }
}

pub fn sse(text: &str) -> Vec<SseEvent> {
    let mut parser = SseParser::new();
    let mut events = Vec::new();
    parser.push(text.as_bytes(), &mut events);
    parser.finish(&mut events);
    events
}

pub fn data(ev: &SseEvent) -> Value {
    serde_json::from_str(&ev.data).unwrap_or_else(|e| panic!("bad event data {e}: {}", ev.data))
}

pub fn parse_args(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("arguments are not JSON ({e}): {text}"))
}

// ---- OpenAI chat ----

fn openai_request(spec: &Spec, model: &str) -> Outgoing {
    let mut messages = Vec::new();
    if let Some(system) = spec.system {
        messages.push(json!({"role": "system", "content": system}));
    }
    for turn in &spec.turns {
        messages.push(match turn {
            Turn::User(t) => json!({"role": "user", "content": t}),
            Turn::Assistant(t) => json!({"role": "assistant", "content": t}),
            Turn::ToolCall { id } => json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": id, "type": "function", "function": {"name": "get_weather", "arguments": weather_args().to_string()}}
            ]}),
            Turn::ToolResult { id } => {
                json!({"role": "tool", "tool_call_id": id, "content": TOOL_RESULT})
            }
        });
    }
    if let Some(q) = spec.question {
        let content = if spec.image {
            json!([{"type": "text", "text": q},
                   {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{PNG_B64}")}}])
        } else {
            json!(q)
        };
        messages.push(json!({"role": "user", "content": content}));
    }
    let mut body = json!({"model": model, "messages": messages});
    if !spec.stop.is_empty() {
        body["stop"] = json!(spec.stop);
    }
    if let Some(n) = spec.max_tokens {
        body["max_completion_tokens"] = json!(n);
    }
    if spec.tools {
        body["tools"] = json!(tools().into_iter().map(|(name, description, parameters)| json!(
            {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}
        )).collect::<Vec<_>>());
    }
    if spec.json {
        body["response_format"] = json!({"type": "json_schema", "json_schema": {"name": "answer", "schema": answer_schema(), "strict": true}});
    }
    if spec.reasoning {
        body["reasoning_effort"] = json!("low");
    }
    if spec.stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    Outgoing {
        path: "/v1/chat/completions".into(),
        key_header: "authorization",
        headers: vec![],
        body,
    }
}

fn check_openai_head(v: &Value, object: &str, models: &[&str]) {
    assert_eq!(v["object"], object, "{v}");
    let id = v["id"].as_str().unwrap_or_default();
    assert!(id.len() > 8, "a real id: {v}");
    assert!(
        v["created"].as_u64().unwrap_or(0) > 1_600_000_000,
        "a real created: {v}"
    );
    let model = v["model"].as_str().unwrap_or_default();
    assert!(models.contains(&model), "model {model} not in {models:?}");
}

fn openai_whole(v: &Value, models: &[&str]) -> Got {
    check_openai_head(v, "chat.completion", models);
    let choices = v["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 1, "{v}");
    let m = &choices[0]["message"];
    assert_eq!(m["role"], "assistant", "{v}");
    let calls = m["tool_calls"]
        .as_array()
        .map(|calls| {
            calls
                .iter()
                .map(|c| {
                    assert_eq!(c["type"], "function", "{c}");
                    let id = c["id"].as_str().unwrap();
                    assert!(!id.is_empty());
                    Call {
                        id: Some(id.to_owned()),
                        name: c["function"]["name"].as_str().unwrap().to_owned(),
                        args: parse_args(c["function"]["arguments"].as_str().unwrap()),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let u = &v["usage"];
    let (input, output) = (
        u["prompt_tokens"].as_u64().unwrap(),
        u["completion_tokens"].as_u64().unwrap(),
    );
    assert_eq!(u["total_tokens"].as_u64().unwrap(), input + output, "{v}");
    Got {
        text: m["content"].as_str().unwrap_or_default().to_owned(),
        reasoning: m["reasoning_content"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        calls,
        finish: choices[0]["finish_reason"].as_str().unwrap().to_owned(),
        input_tokens: input,
        output_tokens: output,
    }
}

/// Chunks share one id, model and `created`; exactly one carries a finish reason; the last
/// chunk before `[DONE]` is the usage chunk with empty `choices` (include_usage is always on).
fn openai_stream(events: &[SseEvent], models: &[&str]) -> Got {
    let (last, chunks) = events.split_last().expect("events");
    assert!(last.is_done(), "ends with [DONE]: {events:?}");
    let chunks: Vec<Value> = chunks.iter().map(data).collect();
    assert!(chunks.len() >= 2, "{chunks:?}");
    let first = &chunks[0];
    let mut got = Got::default();
    let mut args: Vec<String> = Vec::new();
    let mut finishes = 0;
    for (i, c) in chunks.iter().enumerate() {
        check_openai_head(c, "chat.completion.chunk", models);
        for field in ["id", "model", "created"] {
            assert_eq!(c[field], first[field], "same {field} in every chunk: {c}");
        }
        let choices = c["choices"].as_array().unwrap();
        if i == chunks.len() - 1 {
            assert!(choices.is_empty(), "the usage chunk has no choices: {c}");
            let u = &c["usage"];
            got.input_tokens = u["prompt_tokens"].as_u64().unwrap();
            got.output_tokens = u["completion_tokens"].as_u64().unwrap();
            assert_eq!(
                u["total_tokens"].as_u64().unwrap(),
                got.input_tokens + got.output_tokens
            );
            continue;
        }
        assert!(c["usage"].is_null(), "usage only in the last chunk: {c}");
        assert_eq!(choices.len(), 1, "{c}");
        let choice = &choices[0];
        let delta = &choice["delta"];
        got.text += delta["content"].as_str().unwrap_or_default();
        got.reasoning += delta["reasoning_content"].as_str().unwrap_or_default();
        for tc in delta["tool_calls"].as_array().into_iter().flatten() {
            let index = tc["index"].as_u64().unwrap() as usize;
            if index == got.calls.len() {
                assert_eq!(tc["type"], "function", "{tc}");
                got.calls.push(Call {
                    id: Some(
                        tc["id"]
                            .as_str()
                            .expect("first delta has the id")
                            .to_owned(),
                    ),
                    name: tc["function"]["name"].as_str().unwrap().to_owned(),
                    args: Value::Null,
                });
                args.push(String::new());
            } else {
                assert!(index < got.calls.len(), "indexes in order: {tc}");
                assert!(
                    tc.get("id").is_none_or(Value::is_null),
                    "id only once: {tc}"
                );
            }
            args[index] += tc["function"]["arguments"].as_str().unwrap_or_default();
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            finishes += 1;
            got.finish = reason.to_owned();
        }
    }
    assert_eq!(finishes, 1, "one finish reason: {chunks:?}");
    for (call, text) in got.calls.iter_mut().zip(&args) {
        call.args = parse_args(text);
    }
    got
}

// ---- Anthropic messages ----

/// Anthropic accepts tool ids matching `^[a-zA-Z0-9_-]+$` when they are sent back.
fn assert_tool_id(id: &Value) {
    let id = id.as_str().unwrap_or_default();
    assert!(
        !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
        "tool id {id:?}"
    );
}

fn anthropic_request(spec: &Spec, model: &str) -> Outgoing {
    let mut messages = Vec::new();
    for turn in &spec.turns {
        messages.push(match turn {
            Turn::User(t) => json!({"role": "user", "content": t}),
            Turn::Assistant(t) => json!({"role": "assistant", "content": t}),
            Turn::ToolCall { id } => json!({"role": "assistant", "content": [
                {"type": "tool_use", "id": id, "name": "get_weather", "input": weather_args()}
            ]}),
            Turn::ToolResult { id } => json!({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": id, "content": TOOL_RESULT}
            ]}),
        });
    }
    if let Some(q) = spec.question {
        let content = if spec.image {
            json!([{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
                   {"type": "text", "text": q}])
        } else {
            json!(q)
        };
        messages.push(json!({"role": "user", "content": content}));
    }
    let max_tokens = spec
        .max_tokens
        .unwrap_or(if spec.reasoning { 4096 } else { 1024 });
    let mut body = json!({"model": model, "max_tokens": max_tokens, "messages": messages});
    if let Some(system) = spec.system {
        body["system"] = json!(system);
    }
    if !spec.stop.is_empty() {
        body["stop_sequences"] = json!(spec.stop);
    }
    let mut declared: Vec<Value> = Vec::new();
    if spec.tools {
        declared.extend(tools().into_iter().map(|(name, description, schema)| {
            json!({"name": name, "description": description, "input_schema": schema})
        }));
    }
    if spec.json {
        declared.push(json!({"name": JSON_TOOL, "description": "Record the answer", "input_schema": answer_schema()}));
        body["tool_choice"] = json!({"type": "tool", "name": JSON_TOOL});
    }
    if !declared.is_empty() {
        body["tools"] = json!(declared);
    }
    if spec.reasoning {
        body["thinking"] = json!({"type": "enabled", "budget_tokens": THINKING_BUDGET});
    }
    if spec.stream {
        body["stream"] = json!(true);
    }
    Outgoing {
        path: "/v1/messages".into(),
        key_header: "x-api-key",
        headers: vec![("anthropic-version", "2023-06-01")],
        body,
    }
}

fn anthropic_whole(v: &Value, models: &[&str]) -> Got {
    assert_eq!(v["type"], "message", "{v}");
    assert_eq!(v["role"], "assistant", "{v}");
    assert!(v["id"].as_str().unwrap().starts_with("msg_"), "{v}");
    assert!(models.contains(&v["model"].as_str().unwrap()), "{v}");
    let mut got = Got {
        finish: v["stop_reason"].as_str().unwrap().to_owned(),
        input_tokens: v["usage"]["input_tokens"].as_u64().unwrap(),
        output_tokens: v["usage"]["output_tokens"].as_u64().unwrap(),
        ..Got::default()
    };
    for block in v["content"].as_array().unwrap() {
        match block["type"].as_str().unwrap() {
            "text" => got.text += block["text"].as_str().unwrap(),
            "thinking" => {
                got.reasoning += block["thinking"].as_str().unwrap();
                assert!(block["signature"].is_string(), "{block}");
            }
            "tool_use" => {
                assert_tool_id(&block["id"]);
                assert!(block["input"].is_object(), "{block}");
                got.calls.push(Call {
                    id: block["id"].as_str().map(str::to_owned),
                    name: block["name"].as_str().unwrap().to_owned(),
                    args: block["input"].clone(),
                });
            }
            other => panic!("unexpected block {other}: {v}"),
        }
    }
    got
}

/// The exact event sequence: `message_start`, then per block `content_block_start`, its
/// deltas, `content_block_stop` (indexes 0, 1, ... in order), then `message_delta` and
/// `message_stop`; `ping` may come anywhere; every `event:` name matches its data's type.
fn anthropic_stream(events: &[SseEvent], models: &[&str]) -> Got {
    let evs: Vec<(String, Value)> = events
        .iter()
        .map(|e| {
            let v = data(e);
            let name = e.event.clone().expect("named events");
            assert_eq!(v["type"], name.as_str(), "event name matches type: {v}");
            (name, v)
        })
        .filter(|(name, _)| name != "ping")
        .collect();
    let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"message_start"), "{names:?}");
    assert_eq!(
        &names[names.len() - 2..],
        &["message_delta", "message_stop"],
        "{names:?}"
    );
    let start = &evs[0].1["message"];
    assert!(start["id"].as_str().unwrap().starts_with("msg_"), "{start}");
    assert!(
        models.contains(&start["model"].as_str().unwrap()),
        "{start}"
    );
    assert_eq!(start["role"], "assistant");
    assert_eq!(start["content"], json!([]));
    let mut got = Got {
        input_tokens: start["usage"]["input_tokens"].as_u64().unwrap(),
        ..Got::default()
    };
    let body = &evs[1..evs.len() - 2];
    let mut i = 0;
    let mut index = 0;
    while i < body.len() {
        let (name, v) = &body[i];
        assert_eq!(name, "content_block_start", "{names:?}");
        assert_eq!(v["index"], json!(index), "{v}");
        let block = &v["content_block"];
        let kind = block["type"].as_str().unwrap().to_owned();
        let mut json_text = String::new();
        let mut signed = false;
        i += 1;
        while body[i].0 == "content_block_delta" {
            let d = &body[i].1;
            assert_eq!(d["index"], json!(index), "{d}");
            let delta = &d["delta"];
            match (kind.as_str(), delta["type"].as_str().unwrap()) {
                ("text", "text_delta") => got.text += delta["text"].as_str().unwrap(),
                ("thinking", "thinking_delta") => {
                    got.reasoning += delta["thinking"].as_str().unwrap()
                }
                ("thinking", "signature_delta") => signed = true,
                ("tool_use", "input_json_delta") => {
                    json_text += delta["partial_json"].as_str().unwrap()
                }
                other => panic!("delta {other:?} in a {kind} block: {d}"),
            }
            i += 1;
        }
        assert_eq!(body[i].0, "content_block_stop", "{names:?}");
        assert_eq!(body[i].1["index"], json!(index));
        i += 1;
        match kind.as_str() {
            "tool_use" => {
                assert_tool_id(&block["id"]);
                assert_eq!(block["input"], json!({}), "{block}");
                let args = if json_text.is_empty() {
                    json!({})
                } else {
                    parse_args(&json_text)
                };
                got.calls.push(Call {
                    id: block["id"].as_str().map(str::to_owned),
                    name: block["name"].as_str().unwrap().to_owned(),
                    args,
                });
            }
            "thinking" => {
                let _ = signed;
            }
            "text" => {}
            other => panic!("unexpected block type {other}"),
        }
        index += 1;
    }
    let delta = &evs[evs.len() - 2].1;
    got.finish = delta["delta"]["stop_reason"].as_str().unwrap().to_owned();
    got.output_tokens = delta["usage"]["output_tokens"].as_u64().unwrap();
    // Usage known only at the end (Gemini, OpenAI) comes in `message_delta`, as Anthropic's
    // own streams also report it there.
    if let Some(input) = delta["usage"]["input_tokens"].as_u64() {
        got.input_tokens = got.input_tokens.max(input);
    }
    got
}

// ---- Gemini generateContent ----

fn gemini_request(spec: &Spec, model: &str) -> Outgoing {
    let mut contents = Vec::new();
    for turn in &spec.turns {
        contents.push(match turn {
            Turn::User(t) => json!({"role": "user", "parts": [{"text": t}]}),
            Turn::Assistant(t) => json!({"role": "model", "parts": [{"text": t}]}),
            Turn::ToolCall { .. } => json!({"role": "model", "parts": [
                {"functionCall": {"name": "get_weather", "args": weather_args()}}
            ]}),
            Turn::ToolResult { .. } => json!({"role": "user", "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"result": TOOL_RESULT}}}
            ]}),
        });
    }
    if let Some(q) = spec.question {
        let mut parts = vec![json!({"text": q})];
        if spec.image {
            parts.push(json!({"inlineData": {"mimeType": "image/png", "data": PNG_B64}}));
        }
        contents.push(json!({"role": "user", "parts": parts}));
    }
    let mut body = json!({"contents": contents});
    if let Some(system) = spec.system {
        body["systemInstruction"] = json!({"parts": [{"text": system}]});
    }
    let mut config = serde_json::Map::new();
    if !spec.stop.is_empty() {
        config.insert("stopSequences".into(), json!(spec.stop));
    }
    if let Some(n) = spec.max_tokens {
        config.insert("maxOutputTokens".into(), json!(n));
    }
    if spec.json {
        config.insert("responseMimeType".into(), json!("application/json"));
        config.insert(
            "responseSchema".into(),
            json!({"type": "OBJECT", "properties": {"answer": {"type": "STRING"}}, "required": ["answer"]}),
        );
    }
    if spec.reasoning {
        config.insert(
            "thinkingConfig".into(),
            json!({"thinkingBudget": THINKING_BUDGET, "includeThoughts": true}),
        );
    }
    if !config.is_empty() {
        body["generationConfig"] = Value::Object(config);
    }
    if spec.tools {
        body["tools"] = json!([{"functionDeclarations": tools().into_iter().map(|(name, description, parameters)| json!(
            {"name": name, "description": description, "parameters": parameters}
        )).collect::<Vec<_>>()}]);
    }
    let path = if spec.stream {
        format!("/v1beta/models/{model}:streamGenerateContent?alt=sse")
    } else {
        format!("/v1beta/models/{model}:generateContent")
    };
    Outgoing {
        path,
        key_header: "x-goog-api-key",
        headers: vec![],
        body,
    }
}

fn gemini_parts(got: &mut Got, candidate: &Value) {
    for part in candidate["content"]["parts"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(call) = part.get("functionCall") {
            assert!(call["args"].is_object(), "{part}");
            got.calls.push(Call {
                id: call["id"].as_str().map(str::to_owned),
                name: call["name"].as_str().unwrap().to_owned(),
                args: call["args"].clone(),
            });
        } else if part["thought"] == json!(true) {
            got.reasoning += part["text"].as_str().unwrap_or_default();
        } else if let Some(text) = part["text"].as_str() {
            got.text += text;
        } else {
            panic!("unexpected part {part}");
        }
    }
}

fn gemini_usage(got: &mut Got, v: &Value) {
    let u = &v["usageMetadata"];
    got.input_tokens = u["promptTokenCount"].as_u64().unwrap();
    got.output_tokens = u["candidatesTokenCount"].as_u64().unwrap_or(0);
    assert!(
        u["totalTokenCount"].as_u64().unwrap() >= got.input_tokens + got.output_tokens,
        "{v}"
    );
}

fn gemini_whole(v: &Value) -> Got {
    let candidates = v["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 1, "{v}");
    let c = &candidates[0];
    assert_eq!(c["content"]["role"], "model", "{v}");
    let mut got = Got {
        finish: c["finishReason"].as_str().unwrap().to_owned(),
        ..Got::default()
    };
    gemini_parts(&mut got, c);
    gemini_usage(&mut got, v);
    got
}

/// Every chunk is a `GenerateContentResponse`; the last one carries `finishReason` and
/// `usageMetadata`.
fn gemini_stream(events: &[SseEvent]) -> Got {
    assert!(!events.is_empty());
    let chunks: Vec<Value> = events.iter().map(data).collect();
    let mut got = Got::default();
    for (i, chunk) in chunks.iter().enumerate() {
        assert!(chunk.get("error").is_none(), "{chunk}");
        let candidates = chunk["candidates"].as_array().unwrap();
        assert_eq!(candidates.len(), 1, "{chunk}");
        let c = &candidates[0];
        if c["content"].is_object() {
            assert_eq!(c["content"]["role"], "model", "{chunk}");
        }
        gemini_parts(&mut got, c);
        let last = i == chunks.len() - 1;
        match c["finishReason"].as_str() {
            Some(reason) => {
                assert!(last, "finishReason only in the last chunk: {chunks:?}");
                got.finish = reason.to_owned();
            }
            None => assert!(!last, "the last chunk has a finishReason: {chunk}"),
        }
        if last {
            gemini_usage(&mut got, chunk);
        }
    }
    got
}
