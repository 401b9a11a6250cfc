//! Messages API request checks, worded like Anthropic's (field paths such as
//! `messages.1.content.0`), so a gateway's translation is held to the real API's rules.

use serde_json::{Map, Value};

use super::error::AnthropicError;
use super::request::{MessagesRequest, Tool, ToolChoice};
use crate::tokens::{chat_prompt_tokens, text_tokens};

/// Which endpoint is being validated: `count_tokens` takes no `max_tokens`, `stream`, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Create,
    CountTokens,
}

/// Top-level fields `POST /v1/messages` knows; anything else is "Extra inputs are not
/// permitted", as Anthropic answers.
const CREATE_FIELDS: [&str; 19] = [
    "model",
    "messages",
    "max_tokens",
    "system",
    "metadata",
    "stop_sequences",
    "stream",
    "temperature",
    "top_p",
    "top_k",
    "tools",
    "tool_choice",
    "thinking",
    "service_tier",
    "container",
    "mcp_servers",
    "context_management",
    "output_format",
    "output_config",
];

const COUNT_FIELDS: [&str; 9] = [
    "model",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
    "mcp_servers",
    "context_management",
    "output_format",
];

/// Content block types a message may hold.
const BLOCK_TYPES: [&str; 12] = [
    "text",
    "image",
    "document",
    "search_result",
    "thinking",
    "redacted_thinking",
    "tool_use",
    "tool_result",
    "server_tool_use",
    "web_search_tool_result",
    "web_fetch_tool_result",
    "container_upload",
];

fn invalid(message: impl Into<String>) -> AnthropicError {
    AnthropicError::invalid(message)
}

fn required(path: &str) -> AnthropicError {
    invalid(format!("{path}: Field required"))
}

pub(crate) fn messages_request(
    body: &Map<String, Value>,
    models: &[String],
    endpoint: Endpoint,
) -> Result<MessagesRequest, AnthropicError> {
    let known: &[&str] = match endpoint {
        Endpoint::Create => &CREATE_FIELDS,
        Endpoint::CountTokens => &COUNT_FIELDS,
    };
    if let Some(extra) = body.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(invalid(format!("{extra}: Extra inputs are not permitted")));
    }
    let model = match body.get("model") {
        None => return Err(required("model")),
        Some(Value::String(m)) => m.clone(),
        Some(_) => return Err(invalid("model: Input should be a valid string")),
    };
    let max_tokens = match endpoint {
        Endpoint::Create => Some(max_tokens(body)?),
        Endpoint::CountTokens => None,
    };
    let messages = match body.get("messages") {
        None => return Err(required("messages")),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid("messages: Input should be a valid list")),
    };
    check_messages(messages)?;
    let (system_text, system_cached) = system(body.get("system"))?;
    let temperature = unit_interval(body, "temperature")?;
    unit_interval(body, "top_p")?;
    if let Some(v) = body.get("top_k")
        && !v.is_u64()
    {
        return Err(invalid(
            "top_k: Input should be a valid integer greater than or equal to 0",
        ));
    }
    let thinking = thinking(body.get("thinking"), max_tokens)?;
    if thinking && temperature.is_some_and(|t| (t - 1.0).abs() > f64::EPSILON) {
        return Err(invalid(
            "`temperature` may only be set to 1 when thinking is enabled or in adaptive mode. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility",
        ));
    }
    let stop_sequences = stop_sequences(body.get("stop_sequences"))?;
    let stream = match body.get("stream") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("stream: Input should be a valid boolean")),
    };
    let tools = tools(body.get("tools"))?;
    let tool_choice = tool_choice(body.get("tool_choice"))?;
    if let Some(meta) = body.get("metadata") {
        let ok = meta
            .as_object()
            .is_some_and(|m| m.keys().all(|k| k == "user_id"));
        if !ok {
            return Err(invalid(
                "metadata: only `user_id` is allowed and it must be a string",
            ));
        }
    }
    if !models.contains(&model) {
        return Err(AnthropicError {
            status: 404,
            kind: "not_found_error",
            message: format!("model: {model}"),
        });
    }
    let system_tokens = if system_text.is_empty() {
        0
    } else {
        text_tokens(&system_text)
    };
    let prompt_tokens = chat_prompt_tokens(&Value::Array(messages.clone())) + system_tokens;
    Ok(MessagesRequest {
        model,
        max_tokens,
        stream,
        thinking,
        tools,
        tool_choice,
        stop_sequences,
        prompt: last_user_text(messages),
        prompt_tokens,
        cached_tokens: if system_cached { system_tokens } else { 0 },
    })
}

fn max_tokens(body: &Map<String, Value>) -> Result<u64, AnthropicError> {
    match body.get("max_tokens") {
        None => Err(required("max_tokens")),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => match n.as_u64() {
            Some(v) if v >= 1 => Ok(v),
            _ => Err(invalid(
                "max_tokens: Input should be greater than or equal to 1",
            )),
        },
        Some(_) => Err(invalid("max_tokens: Input should be a valid integer")),
    }
}

fn check_messages(messages: &[Value]) -> Result<(), AnthropicError> {
    if messages.is_empty() {
        return Err(invalid("messages: at least one message is required"));
    }
    let last = messages.len() - 1;
    for (i, message) in messages.iter().enumerate() {
        let Some(message) = message.as_object() else {
            return Err(invalid(format!(
                "messages.{i}: Input should be a valid dictionary"
            )));
        };
        if let Some(extra) = message.keys().find(|k| *k != "role" && *k != "content") {
            return Err(invalid(format!(
                "messages.{i}.{extra}: Extra inputs are not permitted"
            )));
        }
        let role = match message.get("role") {
            None => return Err(required(&format!("messages.{i}.role"))),
            Some(Value::String(r)) if r == "user" || r == "assistant" => r.as_str(),
            Some(_) => {
                return Err(invalid(format!(
                    "messages.{i}.role: Input should be 'user' or 'assistant'"
                )));
            }
        };
        if i == 0 && role != "user" {
            return Err(invalid(
                "messages: first message must use the \"user\" role",
            ));
        }
        let empty = match message.get("content") {
            None => return Err(required(&format!("messages.{i}.content"))),
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Array(blocks)) => {
                for (j, block) in blocks.iter().enumerate() {
                    check_block(i, j, role, block)?;
                }
                blocks.is_empty()
            }
            Some(_) => {
                return Err(invalid(format!(
                    "messages.{i}.content: Input should be a valid string or a valid list"
                )));
            }
        };
        if empty && !(i == last && role == "assistant") {
            return Err(invalid(format!(
                "messages.{i}: all messages must have non-empty content except for the optional final assistant message"
            )));
        }
    }
    check_tool_pairing(messages)
}

fn check_block(i: usize, j: usize, role: &str, block: &Value) -> Result<(), AnthropicError> {
    let at = format!("messages.{i}.content.{j}");
    let Some(block) = block.as_object() else {
        return Err(invalid(format!("{at}: Input should be a valid dictionary")));
    };
    let kind = match block.get("type").and_then(Value::as_str) {
        Some(k) if BLOCK_TYPES.contains(&k) => k,
        Some(k) => {
            return Err(invalid(format!(
                "{at}: Input tag '{k}' found using 'type' does not match any of the expected tags: {}",
                BLOCK_TYPES.map(|t| format!("'{t}'")).join(", ")
            )));
        }
        None => {
            return Err(invalid(format!(
                "{at}: Unable to extract tag using discriminator 'type'"
            )));
        }
    };
    let string = |field: &str| -> Result<&str, AnthropicError> {
        match block.get(field) {
            None => Err(required(&format!("{at}.{kind}.{field}"))),
            Some(Value::String(s)) => Ok(s.as_str()),
            Some(_) => Err(invalid(format!(
                "{at}.{kind}.{field}: Input should be a valid string"
            ))),
        }
    };
    match kind {
        "text" if string("text")?.is_empty() => {
            return Err(invalid("messages: text content blocks must be non-empty"));
        }
        "image" | "document" if !block.get("source").is_some_and(Value::is_object) => {
            return Err(required(&format!("{at}.{kind}.source")));
        }
        "thinking" => {
            string("thinking")?;
            string("signature")?;
        }
        "redacted_thinking" => {
            string("data")?;
        }
        "tool_use" => {
            if role != "assistant" {
                return Err(invalid(format!(
                    "{at}: `tool_use` blocks can only be in `assistant` messages"
                )));
            }
            string("id")?;
            string("name")?;
            match block.get("input") {
                None => return Err(required(&format!("{at}.tool_use.input"))),
                Some(Value::Object(_)) => {}
                Some(_) => {
                    return Err(invalid(format!(
                        "{at}.tool_use.input: Input should be a valid dictionary"
                    )));
                }
            }
        }
        "tool_result" => {
            if role != "user" {
                return Err(invalid(format!(
                    "{at}: `tool_result` blocks can only be in `user` messages"
                )));
            }
            string("tool_use_id")?;
        }
        _ => {}
    }
    Ok(())
}

fn blocks(message: &Value) -> &[Value] {
    message
        .get("content")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn block_ids<'a>(message: &'a Value, kind: &str, field: &str) -> Vec<&'a str> {
    blocks(message)
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some(kind))
        .filter_map(|b| b.get(field).and_then(Value::as_str))
        .collect()
}

/// Every `tool_result` answers a `tool_use` of the assistant turn just before it and comes
/// before any other block of its turn; every `tool_use` is answered in the next turn.
fn check_tool_pairing(messages: &[Value]) -> Result<(), AnthropicError> {
    for (i, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str);
        if role == Some("user") {
            let asked: Vec<&str> = match i.checked_sub(1).map(|p| &messages[p]) {
                Some(prev) => block_ids(prev, "tool_use", "id"),
                None => Vec::new(),
            };
            let mut others_seen = false;
            for (j, block) in blocks(message).iter().enumerate() {
                if block.get("type").and_then(Value::as_str) != Some("tool_result") {
                    others_seen = true;
                    continue;
                }
                if others_seen {
                    return Err(invalid(format!(
                        "messages.{i}.content.{j}: `tool_result` blocks must come first in the user message, before any other content"
                    )));
                }
                let id = block
                    .get("tool_use_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if !asked.contains(&id) {
                    return Err(invalid(format!(
                        "messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                    )));
                }
            }
        }
        if role == Some("assistant")
            && let Some(next) = messages.get(i + 1)
        {
            let answered = block_ids(next, "tool_result", "tool_use_id");
            let missing: Vec<&str> = block_ids(message, "tool_use", "id")
                .into_iter()
                .filter(|id| !answered.contains(id))
                .collect();
            if !missing.is_empty() {
                return Err(invalid(format!(
                    "messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
                    missing.join(", ")
                )));
            }
        }
    }
    Ok(())
}

/// The system text and whether any of its blocks asks for caching.
fn system(system: Option<&Value>) -> Result<(String, bool), AnthropicError> {
    match system {
        None => Ok((String::new(), false)),
        Some(Value::String(s)) => Ok((s.clone(), false)),
        Some(Value::Array(blocks)) => {
            let mut text = String::new();
            let mut cached = false;
            for (j, block) in blocks.iter().enumerate() {
                if block.get("type").and_then(Value::as_str) != Some("text") {
                    return Err(invalid(format!("system.{j}.type: Input should be 'text'")));
                }
                match block.get("text") {
                    Some(Value::String(t)) if !t.is_empty() => text.push_str(t),
                    Some(Value::String(_)) => {
                        return Err(invalid("system: text content blocks must be non-empty"));
                    }
                    _ => return Err(required(&format!("system.{j}.text"))),
                }
                cached |= block.get("cache_control").is_some_and(Value::is_object);
            }
            Ok((text, cached))
        }
        Some(_) => Err(invalid(
            "system: Input should be a valid string or a valid list",
        )),
    }
}

/// A number in [0, 1] when present.
fn unit_interval(body: &Map<String, Value>, field: &str) -> Result<Option<f64>, AnthropicError> {
    match body.get(field) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(v) if v < 0.0 => Err(invalid(format!(
                "{field}: Input should be greater than or equal to 0"
            ))),
            Some(v) if v > 1.0 => Err(invalid(format!(
                "{field}: Input should be less than or equal to 1"
            ))),
            v => Ok(v),
        },
        Some(_) => Err(invalid(format!("{field}: Input should be a valid number"))),
    }
}

/// Whether extended thinking is on; `budget_tokens` is checked as Anthropic does.
fn thinking(thinking: Option<&Value>, max_tokens: Option<u64>) -> Result<bool, AnthropicError> {
    let Some(thinking) = thinking else {
        return Ok(false);
    };
    match thinking.get("type").and_then(Value::as_str) {
        Some("disabled") => Ok(false),
        Some("adaptive") => Ok(true),
        Some("enabled") => {
            let budget = match thinking.get("budget_tokens") {
                None => return Err(required("thinking.enabled.budget_tokens")),
                Some(v) => v.as_u64().ok_or_else(|| {
                    invalid("thinking.enabled.budget_tokens: Input should be a valid integer")
                })?,
            };
            if budget < 1024 {
                return Err(invalid(
                    "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
                ));
            }
            if max_tokens.is_some_and(|max| budget >= max) {
                return Err(invalid(
                    "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size",
                ));
            }
            Ok(true)
        }
        other => Err(invalid(format!(
            "thinking: Input tag '{}' found using 'type' does not match any of the expected tags: 'enabled', 'disabled', 'adaptive'",
            other.unwrap_or_default()
        ))),
    }
}

fn stop_sequences(value: Option<&Value>) -> Result<Vec<String>, AnthropicError> {
    match value {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.as_str().map(str::to_owned).ok_or_else(|| {
                    invalid(format!(
                        "stop_sequences.{i}: Input should be a valid string"
                    ))
                })
            })
            .collect(),
        Some(_) => Err(invalid("stop_sequences: Input should be a valid list")),
    }
}

fn tools(value: Option<&Value>) -> Result<Vec<Tool>, AnthropicError> {
    let items = match value {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid("tools: Input should be a valid list")),
    };
    let mut tools = Vec::new();
    for (i, tool) in items.iter().enumerate() {
        let Some(tool) = tool.as_object() else {
            return Err(invalid(format!(
                "tools.{i}: Input should be a valid dictionary"
            )));
        };
        let name = match tool.get("name") {
            Some(Value::String(n)) if !n.is_empty() => n.clone(),
            _ => return Err(required(&format!("tools.{i}.name"))),
        };
        let custom = matches!(
            tool.get("type").and_then(Value::as_str),
            None | Some("custom")
        );
        if !custom {
            continue;
        }
        match tool.get("input_schema") {
            Some(schema @ Value::Object(_)) => tools.push(Tool {
                name,
                input_schema: schema.clone(),
            }),
            Some(_) => {
                return Err(invalid(format!(
                    "tools.{i}.custom.input_schema: Input should be a valid dictionary"
                )));
            }
            None => return Err(required(&format!("tools.{i}.custom.input_schema"))),
        }
    }
    Ok(tools)
}

fn tool_choice(value: Option<&Value>) -> Result<ToolChoice, AnthropicError> {
    let Some(value) = value else {
        return Ok(ToolChoice::Auto);
    };
    match value.get("type").and_then(Value::as_str) {
        Some("auto") => Ok(ToolChoice::Auto),
        Some("any") => Ok(ToolChoice::Any),
        Some("none") => Ok(ToolChoice::None),
        Some("tool") => match value.get("name").and_then(Value::as_str) {
            Some(name) => Ok(ToolChoice::Tool(name.to_owned())),
            None => Err(required("tool_choice.tool.name")),
        },
        other => Err(invalid(format!(
            "tool_choice: Input tag '{}' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'",
            other.unwrap_or_default()
        ))),
    }
}

/// The text blocks of the last user turn, joined by newlines.
fn last_user_text(messages: &[Value]) -> String {
    let Some(last) = messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
    else {
        return String::new();
    };
    match last.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}
