//! Chat completions, whole or streamed as `chat.completion.chunk` events one word at a time.
//!
//! The reply names the model and quotes the start of the last user message, so a client sees
//! which route answered. `tool_choice: "required"` (or a named function) makes the answer a
//! call of that tool with `{}` arguments; otherwise the mock only talks, so an agent loop
//! through it ends.

use bytes::Bytes;
use serde_json::{Value, json};

use crate::{Answer, id_of, tokens_of};

const CREATED: u64 = 1_700_000_000;

struct Reply {
    words: Vec<String>,
    tool_call: Option<(String, String)>,
    finish: &'static str,
    prompt_tokens: u64,
}

pub fn answer(request: &Value) -> Answer {
    let model = request["model"].as_str().unwrap_or("mock");
    let reply = reply(request, model);
    let id = id_of("chatcmpl", request);
    if request["stream"].as_bool() == Some(true) {
        let include_usage = request["stream_options"]["include_usage"].as_bool() == Some(true);
        return stream(&id, model, &reply, include_usage);
    }
    let (content, tool_calls) = match &reply.tool_call {
        Some((name, call_id)) => (
            Value::Null,
            json!([{ "id": call_id, "type": "function",
                     "function": { "name": name, "arguments": "{}" } }]),
        ),
        None => (Value::String(reply.words.concat()), Value::Null),
    };
    let mut message = json!({ "role": "assistant", "content": content, "refusal": null });
    if !tool_calls.is_null() {
        message["tool_calls"] = tool_calls;
    }
    Answer::json(
        200,
        &json!({
            "id": id, "object": "chat.completion", "created": CREATED, "model": model,
            "choices": [{ "index": 0, "message": message, "logprobs": null,
                          "finish_reason": reply.finish }],
            "usage": usage(&reply),
        }),
    )
}

fn reply(request: &Value, model: &str) -> Reply {
    let messages = request["messages"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let prompt: String = messages.iter().map(|m| text_of(&m["content"])).collect();
    let tools = request["tools"].as_array().map_or(0, Vec::len);
    let prompt_tokens =
        tokens_of(&prompt).max(1) + tokens_of(&request["tools"].to_string()) * u64::from(tools > 0);
    if let Some(name) = forced_tool(request) {
        let call_id = format!(
            "call_mock{:08x}",
            crate::vectors::fnv1a(name.as_bytes()) as u32
        );
        return Reply {
            words: Vec::new(),
            tool_call: Some((name, call_id)),
            finish: "tool_calls",
            prompt_tokens,
        };
    }
    let last_user = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .map(|m| text_of(&m["content"]))
        .unwrap_or_default();
    let quoted: String = last_user.chars().take(120).collect();
    let text = format!("Mock reply from {model}: you said \"{}\".", quoted.trim());
    let mut words = split_words(&text);
    let cap = request["max_completion_tokens"]
        .as_u64()
        .or_else(|| request["max_tokens"].as_u64())
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let mut finish = "stop";
    if let Some(cap) = cap.filter(|cap| *cap < words.len()) {
        words.truncate(cap.max(1));
        finish = "length";
    }
    Reply {
        words,
        tool_call: None,
        finish,
        prompt_tokens,
    }
}

/// The tool a request insists on: a named function, or the first tool when `required`.
fn forced_tool(request: &Value) -> Option<String> {
    let choice = &request["tool_choice"];
    if let Some(name) = choice["function"]["name"].as_str() {
        return Some(name.to_owned());
    }
    if choice.as_str() == Some("required") {
        return request["tools"][0]["function"]["name"]
            .as_str()
            .map(str::to_owned);
    }
    None
}

/// A message's text: a string, or the `text` of its parts.
fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// Words with their leading space, so they concatenate back into the text.
fn split_words(text: &str) -> Vec<String> {
    text.split(' ')
        .enumerate()
        .map(|(i, w)| {
            if i == 0 {
                w.to_owned()
            } else {
                format!(" {w}")
            }
        })
        .collect()
}

fn usage(reply: &Reply) -> Value {
    let completion = if reply.tool_call.is_some() {
        1
    } else {
        reply.words.len() as u64
    };
    json!({
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": reply.prompt_tokens + completion,
        "prompt_tokens_details": { "cached_tokens": 0 },
        "completion_tokens_details": { "reasoning_tokens": 0 },
    })
}

fn stream(id: &str, model: &str, reply: &Reply, include_usage: bool) -> Answer {
    let chunk = |delta: Value, finish: Value, usage: Option<Value>| {
        let mut c = json!({
            "id": id, "object": "chat.completion.chunk", "created": CREATED, "model": model,
            "choices": [{ "index": 0, "delta": delta, "logprobs": null, "finish_reason": finish }],
        });
        if include_usage {
            c["usage"] = usage.unwrap_or(Value::Null);
        }
        Bytes::from(format!("data: {c}\n\n"))
    };
    let mut chunks = vec![chunk(
        json!({ "role": "assistant", "content": "" }),
        Value::Null,
        None,
    )];
    match &reply.tool_call {
        Some((name, call_id)) => chunks.push(chunk(
            json!({ "tool_calls": [{ "index": 0, "id": call_id, "type": "function",
                                     "function": { "name": name, "arguments": "{}" } }] }),
            Value::Null,
            None,
        )),
        None => chunks.extend(
            reply
                .words
                .iter()
                .map(|w| chunk(json!({ "content": w }), Value::Null, None)),
        ),
    }
    chunks.push(chunk(json!({}), Value::from(reply.finish), None));
    if include_usage {
        let mut last = json!({
            "id": id, "object": "chat.completion.chunk", "created": CREATED, "model": model,
            "choices": [],
        });
        last["usage"] = usage(reply);
        chunks.push(Bytes::from(format!("data: {last}\n\n")));
    }
    chunks.push(Bytes::from_static(b"data: [DONE]\n\n"));
    Answer {
        status: 200,
        content_type: "text/event-stream",
        chunks,
    }
}
