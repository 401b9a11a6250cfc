//! Canonical requests in Cohere's v2 shape and Cohere's answers in canonical form.
//!
//! Cohere keeps system prompts as `system` messages, tool calls on the assistant message
//! (`tool_calls`, with the model's `tool_plan`), and each tool result as its own `tool`
//! message naming its `tool_call_id`.

use forge_core::canonical::{
    ChatRequest, ChatResponse, ContentPart, Extra, FinishReason, Message, Role, Thinking,
    ToolChoice, Usage,
};
use serde_json::{Map, Value, json};

use crate::wire;

/// The dialect name of `DialectExtra` entries a Cohere renderer may emit.
pub const DIALECT: &str = "cohere";

pub fn request_from_canonical(req: &ChatRequest) -> wire::ChatRequest {
    let mut messages = Vec::new();
    for message in &req.messages {
        push_message(&mut messages, message);
    }
    // Cohere can require a tool but not name one: a named choice declares only that tool.
    let named = match &req.tool_choice {
        Some(ToolChoice::Named(name)) => Some(name.as_str()),
        _ => None,
    };
    let tools = req
        .tools
        .iter()
        .filter(|t| named.is_none_or(|n| n == t.name))
        .map(|t| {
            let mut function = Map::new();
            function.insert("name".into(), json!(t.name));
            if let Some(d) = &t.description {
                function.insert("description".into(), json!(d));
            }
            function.insert(
                "parameters".into(),
                t.parameters
                    .clone()
                    .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
            );
            json!({ "type": "function", "function": function })
        })
        .collect();
    let tool_choice = match &req.tool_choice {
        Some(ToolChoice::Required | ToolChoice::Named(_)) => Some("REQUIRED"),
        Some(ToolChoice::None) => Some("NONE"),
        Some(ToolChoice::Auto) | None => None,
    };
    let thinking = match &req.thinking {
        Some(Thinking::Enabled { budget_tokens }) => {
            Some(json!({ "type": "enabled", "token_budget": budget_tokens }))
        }
        Some(Thinking::Disabled) => Some(json!({ "type": "disabled" })),
        Some(Thinking::Adaptive) => Some(json!({ "type": "enabled" })),
        // An OpenAI client's `reasoning_effort`, as a budget.
        None => req
            .reasoning_effort
            .as_deref()
            .and_then(forge_core::canonical::effort_budget)
            .map(|budget| json!({ "type": "enabled", "token_budget": budget })),
    };
    wire::ChatRequest {
        model: req.model.clone(),
        messages,
        tools,
        tool_choice,
        stream: req.stream,
        max_tokens: req.max_tokens,
        temperature: req.temperature,
        // Cohere's ranges: p in [0.01, 0.99], k in [0, 500].
        p: req.top_p.map(|p| p.clamp(0.01, 0.99)),
        k: req.top_k.map(|k| k.min(500)),
        stop_sequences: req.stop.clone(),
        response_format: req.response_format.as_ref().and_then(response_format),
        thinking,
        rest: rest_of(req),
    }
}

/// Fields passed on under Cohere's own names: `seed` and the penalties from an OpenAI client,
/// and whatever a Cohere-dialect source kept for it.
fn rest_of(req: &ChatRequest) -> Map<String, Value> {
    let mut rest = req.dialect_extra.get(DIALECT).cloned().unwrap_or_default();
    for key in forge_core::canonical::COHERE_SAMPLING {
        if let Some(value) = req.extra.get(key) {
            // OpenAI's penalties run from -2 to 2, Cohere's from 0 to 1.
            let value = match (key, value.as_f64()) {
                ("seed", _) | (_, None) => value.clone(),
                (_, Some(penalty)) => json!(penalty.clamp(0.0, 1.0)),
            };
            rest.entry(key).or_insert(value);
        }
    }
    rest
}

/// OpenAI's `response_format` in Cohere's terms: JSON mode, with the schema when given.
fn response_format(format: &Value) -> Option<Value> {
    match format.get("type").and_then(Value::as_str)? {
        "json_object" => Some(json!({ "type": "json_object" })),
        "json_schema" => {
            let schema = format
                .get("json_schema")
                .and_then(|s| s.get("schema"))
                .cloned();
            Some(match schema {
                Some(schema) => json!({ "type": "json_object", "json_schema": schema }),
                None => json!({ "type": "json_object" }),
            })
        }
        _ => None,
    }
}

fn text_of(parts: &[ContentPart]) -> String {
    parts
        .iter()
        .filter_map(|p| match p {
            ContentPart::Text { text } | ContentPart::Refusal { text } => Some(text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn push_message(out: &mut Vec<Value>, message: &Message) {
    match message.role {
        Role::System | Role::Developer => {
            out.push(json!({ "role": "system", "content": text_of(&message.content) }));
        }
        Role::Assistant => {
            let mut turn = Map::new();
            turn.insert("role".into(), json!("assistant"));
            let text = text_of(&message.content);
            let calls: Vec<Value> = message
                .content
                .iter()
                .filter_map(|p| match p {
                    ContentPart::ToolCall {
                        id,
                        name,
                        arguments,
                    } => Some(json!({ "id": id, "type": "function",
                        "function": { "name": name, "arguments": arguments } })),
                    _ => None,
                })
                .collect();
            let plan: String = message
                .content
                .iter()
                .filter_map(|p| match p {
                    ContentPart::Reasoning { text, .. } => Some(text.as_str()),
                    _ => None,
                })
                .collect();
            if !calls.is_empty() {
                if !plan.is_empty() {
                    turn.insert("tool_plan".into(), json!(plan));
                }
                turn.insert("tool_calls".into(), Value::Array(calls));
            }
            if !text.is_empty() {
                turn.insert("content".into(), json!([{ "type": "text", "text": text }]));
            }
            out.push(Value::Object(turn));
        }
        Role::User | Role::Tool => {
            // Tool results become `tool` messages in order; what else the turn says, a user
            // message after them.
            let mut rest = Vec::new();
            for part in &message.content {
                match part {
                    ContentPart::ToolResult { call_id, content }
                    | ContentPart::ToolError { call_id, content } => out.push(json!({
                        "role": "tool", "tool_call_id": call_id,
                        "content": [{ "type": "document", "document": { "data": text_of(content) } }],
                    })),
                    ContentPart::Text { text } => {
                        rest.push(json!({ "type": "text", "text": text }));
                    }
                    ContentPart::Image { source, .. } => rest.push(
                        json!({ "type": "image_url", "image_url": { "url": source.to_url() } }),
                    ),
                    _ => {}
                }
            }
            if !rest.is_empty() {
                out.push(json!({ "role": "user", "content": rest }));
            }
        }
    }
}

pub fn finish_reason(reason: &str) -> FinishReason {
    match reason {
        "COMPLETE" | "STOP_SEQUENCE" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "TOOL_CALL" => FinishReason::ToolCalls,
        other => FinishReason::Other(other.to_ascii_lowercase()),
    }
}

/// What Cohere bills (`billed_units`), else what the model saw (`tokens`).
pub fn usage(usage: &wire::Usage) -> Usage {
    let counts = usage
        .billed_units
        .as_ref()
        .filter(|c| c.input_tokens.is_some() || c.output_tokens.is_some())
        .or(usage.tokens.as_ref());
    let count = |n: Option<f64>| {
        n.filter(|n| n.is_finite() && *n > 0.0)
            .map_or(0, |n| n as u64)
    };
    Usage {
        input_tokens: counts.map_or(0, |c| count(c.input_tokens)),
        output_tokens: counts.map_or(0, |c| count(c.output_tokens)),
        ..Usage::default()
    }
}

/// Reads an answer, stamped `created` (Cohere sends no time).
pub fn response_to_canonical(resp: wire::ChatResponse, created: u64) -> ChatResponse {
    let message = resp.message.unwrap_or_default();
    let mut content = Vec::new();
    if let Some(plan) = message.tool_plan.filter(|p| !p.is_empty()) {
        content.push(ContentPart::Reasoning {
            text: plan,
            signature: None,
        });
    }
    for block in message.content {
        match (block.kind.as_str(), block.text, block.thinking) {
            ("thinking", _, Some(thinking)) => content.push(ContentPart::Reasoning {
                text: thinking,
                signature: None,
            }),
            (_, Some(text), _) => content.push(ContentPart::Text { text }),
            _ => {}
        }
    }
    for (n, call) in message.tool_calls.into_iter().enumerate() {
        let function = call.function.unwrap_or_default();
        content.push(ContentPart::ToolCall {
            id: call.id.unwrap_or_else(|| format!("call_{n}")),
            name: function.name.unwrap_or_default(),
            arguments: function.arguments.unwrap_or_else(|| "{}".to_owned()),
        });
    }
    let has_calls = content
        .iter()
        .any(|p| matches!(p, ContentPart::ToolCall { .. }));
    let finish = match resp.finish_reason.as_deref() {
        Some(reason) => finish_reason(reason),
        None if has_calls => FinishReason::ToolCalls,
        None => FinishReason::Stop,
    };
    ChatResponse {
        id: resp.id,
        // Cohere's answer does not name the model: the pipeline fills in the requested one.
        model: String::new(),
        created,
        content,
        finish_reason: finish,
        usage: resp.usage.as_ref().map(usage).unwrap_or_default(),
        extra: Extra::new(),
    }
}
