//! Anthropic Messages wire format <-> canonical form.
//!
//! Choices this renderer makes (Anthropic's rules, not the client's):
//! - every system / developer message is hoisted into `system`, as a string when it is one
//!   plain text, else as text blocks keeping `cache_control`;
//! - consecutive turns of the same role are merged and `tool` messages become `tool_result`
//!   blocks at the front of one user turn;
//! - tool-call arguments that are not a JSON object (a truncated call in the history) are
//!   sent as `{"_raw": "<text>"}` so the turn stays valid and nothing is lost; the parser
//!   turns that shape back into the raw text;
//! - `response_format` with a JSON schema becomes a tool named [`JSON_TOOL_NAME`] whose
//!   input schema is that schema, forced with `tool_choice` (`any` when the client has tools
//!   of its own); the answer's call to that tool is turned back into text by
//!   `response_to_canonical` and the stream decoder;
//! - a thinking budget (explicit, or from `reasoning_effort`: low 1024, medium 4096, high
//!   16384) is kept below `max_tokens`; thinking is left out when that leaves under 1024
//!   tokens, when a tool is forced (Anthropic refuses both together) and with JSON output;
//!   with thinking on, `temperature` other than 1, `top_k` and `top_p` below 0.95 are left
//!   out, as Anthropic rejects them;
//! - reasoning without a signature (from another vendor) is not sent back: Anthropic rejects
//!   unsigned thinking blocks. Signed thinking and redacted thinking go back untouched;
//! - audio, OpenAI file ids and non-PDF files have no Anthropic form and are left out;
//!   whitespace-only stop sequences, which Anthropic rejects, too.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::{
    ContentBlock, CustomTool, Extra, ImageSource as WireImage, InputMessage, MessageContent,
    MessageUsage, MessagesRequest, MessagesResponse, Metadata, Role as WireRole, SystemPrompt,
    ThinkingConfig, ToolChoice as WireChoice, ToolDefinition, ToolResultContent, message_type,
};
use crate::canonical::{
    ChatRequest, ChatResponse, ContentPart, Extra as CanonExtra, FinishReason, ImageSource,
    Message, Role, Thinking, Tool, ToolChoice, Usage,
};

/// The dialect name under which Anthropic-only fields travel in canonical values.
pub const DIALECT: &str = "anthropic";

/// The forced tool that carries `response_format` JSON output.
pub const JSON_TOOL_NAME: &str = "json_output";

/// Smallest thinking budget Anthropic accepts.
pub const MIN_THINKING_BUDGET: u64 = 1024;

/// Keys of `dialect_extra["anthropic"]` this module fills itself.
const SERVER_TOOLS_KEY: &str = "server_tools";
const TOOL_CACHE_KEY: &str = "tool_cache_control";
const METADATA_KEY: &str = "metadata";
const PARALLEL_KEY: &str = "parallel_tool_calls";

pub(crate) fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// Request: Anthropic -> canonical
// ---------------------------------------------------------------------------------------

pub fn request_to_canonical(req: &MessagesRequest) -> ChatRequest {
    let mut messages = Vec::new();
    if let Some(system) = &req.system {
        let parts = match system {
            SystemPrompt::Text(text) => vec![ContentPart::Text { text: text.clone() }],
            SystemPrompt::Blocks(blocks) => blocks_to_parts(blocks),
        };
        messages.push(Message::new(Role::System, parts));
    }
    for m in &req.messages {
        messages.extend(message_to_canonical(m));
    }

    let mut native = req.extra.clone();
    let mut tools = Vec::new();
    let mut server_tools = Vec::new();
    let mut tool_cache = CanonExtra::new();
    for tool in req.tools.iter().flatten() {
        match tool {
            ToolDefinition::Custom(t) => {
                if let Some(cc) = &t.cache_control {
                    tool_cache.insert(t.name.clone(), cc.clone());
                }
                tools.push(Tool {
                    name: t.name.clone(),
                    description: t.description.clone(),
                    parameters: Some(t.input_schema.clone()),
                    strict: None,
                });
            }
            ToolDefinition::Server(raw) => server_tools.push(raw.clone()),
        }
    }
    if !server_tools.is_empty() {
        native.insert(SERVER_TOOLS_KEY.to_owned(), Value::Array(server_tools));
    }
    if !tool_cache.is_empty() {
        native.insert(TOOL_CACHE_KEY.to_owned(), Value::Object(tool_cache));
    }
    if let Some(meta) = &req.metadata
        && !meta.extra.is_empty()
    {
        native.insert(METADATA_KEY.to_owned(), Value::Object(meta.extra.clone()));
    }
    if let Some(tier) = &req.service_tier {
        native.insert("service_tier".to_owned(), Value::String(tier.clone()));
    }

    let mut extra = CanonExtra::new();
    let tool_choice = req.tool_choice.as_ref().map(|choice| {
        let (canonical, no_parallel) = match choice {
            WireChoice::Auto {
                disable_parallel_tool_use,
            } => (ToolChoice::Auto, *disable_parallel_tool_use),
            WireChoice::Any {
                disable_parallel_tool_use,
            } => (ToolChoice::Required, *disable_parallel_tool_use),
            WireChoice::Tool {
                name,
                disable_parallel_tool_use,
            } => (ToolChoice::Named(name.clone()), *disable_parallel_tool_use),
            WireChoice::None => (ToolChoice::None, None),
            WireChoice::Unknown => (ToolChoice::Auto, None),
        };
        if no_parallel == Some(true) {
            // OpenAI's name for the same switch; the OpenAI renderer forwards it as is.
            extra.insert(PARALLEL_KEY.to_owned(), Value::Bool(false));
        }
        canonical
    });

    let mut out = ChatRequest::new(req.model.clone(), messages);
    out.tools = tools;
    out.tool_choice = tool_choice;
    out.max_tokens = Some(req.max_tokens);
    out.temperature = req.temperature;
    out.top_p = req.top_p;
    out.top_k = req.top_k;
    out.stop = req.stop_sequences.clone().unwrap_or_default();
    out.stream = req.stream.unwrap_or(false);
    out.thinking = req.thinking.as_ref().and_then(|t| match t {
        ThinkingConfig::Enabled { budget_tokens } => Some(Thinking::Enabled {
            budget_tokens: *budget_tokens,
        }),
        ThinkingConfig::Disabled => Some(Thinking::Disabled),
        ThinkingConfig::Adaptive => Some(Thinking::Adaptive),
        ThinkingConfig::Unknown => None,
    });
    if matches!(req.thinking, Some(ThinkingConfig::Unknown)) {
        out.dropped.push("thinking".to_owned());
    }
    if matches!(req.tool_choice, Some(WireChoice::Unknown)) {
        out.dropped.push("tool_choice".to_owned());
    }
    // `output_config.effort` (how hard a thinker works) is the nearest thing other dialects
    // have to a reasoning effort, when thinking is on; the whole object stays for Anthropic.
    if matches!(
        out.thinking,
        Some(Thinking::Enabled { .. } | Thinking::Adaptive)
    ) {
        out.reasoning_effort = req
            .extra
            .get("output_config")
            .and_then(|c| c.get("effort"))
            .and_then(Value::as_str)
            .map(|effort| match effort {
                "max" | "xhigh" => "high".to_owned(),
                other => other.to_owned(),
            });
    }
    out.user = req.metadata.as_ref().and_then(|m| m.user_id.clone());
    out.extra = extra;
    if !native.is_empty() {
        out.dialect_extra.insert(DIALECT.to_owned(), native);
    }
    out
}

/// Tool results become one `tool` message (they are separate messages in most dialects),
/// followed by the rest of the turn.
fn message_to_canonical(m: &InputMessage) -> Vec<Message> {
    let parts = match &m.content {
        MessageContent::Text(text) => vec![ContentPart::Text { text: text.clone() }],
        MessageContent::Blocks(blocks) => blocks_to_parts(blocks),
    };
    let role = match m.role {
        WireRole::User => Role::User,
        WireRole::Assistant => Role::Assistant,
        // Kept at its place: OpenAI-style upstreams take system messages anywhere, and
        // dialects with one system field gather them.
        WireRole::System => Role::System,
    };
    if role != Role::User {
        return vec![Message::new(role, parts)];
    }
    let mut results = Vec::new();
    let mut rest = Vec::new();
    let mut last_was_result = false;
    for part in parts {
        let is_result = match &part {
            ContentPart::ToolResult { .. } | ContentPart::ToolError { .. } => true,
            // A breakpoint belongs to the part before it.
            ContentPart::CacheBreakpoint { .. } => last_was_result,
            _ => false,
        };
        last_was_result = is_result;
        if is_result {
            results.push(part);
        } else {
            rest.push(part);
        }
    }
    let mut out = Vec::new();
    if !results.is_empty() {
        out.push(Message::new(Role::Tool, results));
    }
    if !rest.is_empty() || out.is_empty() {
        out.push(Message::new(Role::User, rest));
    }
    out
}

fn blocks_to_parts(blocks: &[ContentBlock]) -> Vec<ContentPart> {
    let mut parts = Vec::new();
    for block in blocks {
        let cache = block_to_parts(block, &mut parts);
        if let Some(cache_control) = cache {
            parts.push(ContentPart::CacheBreakpoint { cache_control });
        }
    }
    parts
}

/// Appends the parts of one block; returns its `cache_control`.
fn block_to_parts(block: &ContentBlock, parts: &mut Vec<ContentPart>) -> Option<Value> {
    let native = |block: &ContentBlock| ContentPart::Native {
        dialect: DIALECT.to_owned(),
        block: serde_json::to_value(block).unwrap_or(Value::Null),
    };
    match block {
        ContentBlock::Text {
            text,
            cache_control,
            ..
        } => {
            parts.push(ContentPart::Text { text: text.clone() });
            cache_control.clone()
        }
        ContentBlock::Image {
            source,
            cache_control,
            ..
        } => {
            parts.push(match source {
                WireImage::Base64 { media_type, data } => ContentPart::Image {
                    source: ImageSource::Base64 {
                        media_type: media_type.clone(),
                        data: data.clone(),
                    },
                    detail: None,
                },
                WireImage::Url { url } => ContentPart::Image {
                    source: ImageSource::from_url(url),
                    detail: None,
                },
                WireImage::File { .. } => native(block),
            });
            cache_control.clone()
        }
        ContentBlock::Document {
            source,
            title,
            context,
            citations,
            cache_control,
            extra,
        } => {
            let pdf = (source.get("type").and_then(Value::as_str) == Some("base64")
                && source.get("media_type").and_then(Value::as_str) == Some("application/pdf"))
            .then(|| source.get("data").and_then(Value::as_str))
            .flatten();
            match pdf {
                Some(data) if context.is_none() && citations.is_none() && extra.is_empty() => {
                    parts.push(ContentPart::File {
                        file_id: None,
                        file_data: Some(format!("data:application/pdf;base64,{data}")),
                        filename: title.clone(),
                    });
                }
                _ => {
                    // Kept whole (with its cache_control) for Anthropic.
                    parts.push(native(block));
                    return None;
                }
            }
            cache_control.clone()
        }
        ContentBlock::ToolUse {
            id,
            name,
            input,
            cache_control,
            ..
        } => {
            parts.push(ContentPart::ToolCall {
                id: id.clone(),
                name: name.clone(),
                arguments: arguments_from_input(input),
            });
            cache_control.clone()
        }
        ContentBlock::ToolResult {
            tool_use_id,
            content,
            is_error,
            cache_control,
            ..
        } => {
            let content = match content {
                None => Vec::new(),
                Some(ToolResultContent::Text(text)) => {
                    vec![ContentPart::Text { text: text.clone() }]
                }
                Some(ToolResultContent::Blocks(blocks)) => blocks_to_parts(blocks),
            };
            let call_id = tool_use_id.clone();
            parts.push(if *is_error == Some(true) {
                ContentPart::ToolError { call_id, content }
            } else {
                ContentPart::ToolResult { call_id, content }
            });
            cache_control.clone()
        }
        ContentBlock::Thinking {
            thinking,
            signature,
            ..
        } => {
            parts.push(ContentPart::Reasoning {
                text: thinking.clone(),
                signature: (!signature.is_empty()).then(|| signature.clone()),
            });
            None
        }
        ContentBlock::RedactedThinking { data, .. } => {
            parts.push(ContentPart::RedactedReasoning { data: data.clone() });
            None
        }
        ContentBlock::Other(raw) => {
            parts.push(ContentPart::Native {
                dialect: DIALECT.to_owned(),
                block: raw.clone(),
            });
            None
        }
    }
}

/// `tool_use.input` as the argument text other dialects carry; `{"_raw": text}` (what the
/// renderer sends for arguments that were not a JSON object) is unwrapped again.
pub fn arguments_from_input(input: &Value) -> String {
    if let Value::Object(map) = input
        && map.len() == 1
        && let Some(Value::String(raw)) = map.get("_raw")
    {
        return raw.clone();
    }
    input.to_string()
}

/// Argument text as a `tool_use.input` object; see the module notes for non-objects.
pub fn input_from_arguments(arguments: &str) -> Value {
    if arguments.trim().is_empty() {
        return json!({});
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(value @ Value::Object(_)) => value,
        _ => json!({ "_raw": arguments }),
    }
}

// ---------------------------------------------------------------------------------------
// Request: canonical -> Anthropic
// ---------------------------------------------------------------------------------------

/// Renders a canonical request for Anthropic; `default_max_tokens` applies when the client
/// set no limit (Anthropic requires one).
pub fn request_from_canonical(req: &ChatRequest, default_max_tokens: u64) -> MessagesRequest {
    let native = req.dialect_extra.get(DIALECT).cloned().unwrap_or_default();

    let mut system_blocks = Vec::new();
    let mut turns: Vec<(WireRole, Vec<ContentBlock>)> = Vec::new();
    for m in &req.messages {
        match m.role {
            Role::System | Role::Developer => {
                system_blocks.extend(parts_to_blocks(&m.content, PartContext::System));
            }
            Role::User | Role::Tool => {
                push_turn(
                    &mut turns,
                    WireRole::User,
                    parts_to_blocks(&m.content, PartContext::User),
                );
            }
            Role::Assistant => push_turn(
                &mut turns,
                WireRole::Assistant,
                parts_to_blocks(&m.content, PartContext::Assistant),
            ),
        }
    }
    let messages = turns
        .into_iter()
        .map(|(role, mut blocks)| {
            if role == WireRole::User {
                // Anthropic wants a turn's tool results before anything else in it.
                blocks.sort_by_key(|b| !matches!(b, ContentBlock::ToolResult { .. }));
            }
            InputMessage::blocks(role, blocks)
        })
        .collect();

    let mut out = MessagesRequest::new(
        req.model.clone(),
        req.max_tokens.unwrap_or(default_max_tokens),
        messages,
    );
    out.system = system_from_blocks(system_blocks);
    out.temperature = req.temperature;
    out.top_p = req.top_p;
    out.top_k = req.top_k;
    let stops: Vec<String> = req
        .stop
        .iter()
        .filter(|s| !s.trim().is_empty())
        .cloned()
        .collect();
    if !stops.is_empty() {
        out.stop_sequences = Some(stops);
    }
    if req.stream {
        out.stream = Some(true);
    }
    let meta_extra = match native.get(METADATA_KEY) {
        Some(Value::Object(map)) => map.clone(),
        _ => Extra::new(),
    };
    if req.user.is_some() || !meta_extra.is_empty() {
        out.metadata = Some(Metadata {
            user_id: req.user.clone(),
            extra: meta_extra,
        });
    }

    // Tools: the client's, then Anthropic server tools, then the JSON-output tool.
    let tool_cache = match native.get(TOOL_CACHE_KEY) {
        Some(Value::Object(map)) => map.clone(),
        _ => Extra::new(),
    };
    let mut tools: Vec<ToolDefinition> = req
        .tools
        .iter()
        .map(|t| {
            ToolDefinition::Custom(CustomTool {
                r#type: None,
                name: t.name.clone(),
                description: t.description.clone(),
                input_schema: t
                    .parameters
                    .clone()
                    .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
                cache_control: tool_cache.get(&t.name).cloned(),
                extra: Extra::new(),
            })
        })
        .collect();
    let has_client_tools = !tools.is_empty();
    if let Some(Value::Array(server)) = native.get(SERVER_TOOLS_KEY) {
        tools.extend(server.iter().cloned().map(ToolDefinition::Server));
    }
    let no_parallel = req.extra.get(PARALLEL_KEY) == Some(&Value::Bool(false));
    let mut choice = req.tool_choice.as_ref().map(|c| match c {
        ToolChoice::Auto => WireChoice::Auto {
            disable_parallel_tool_use: None,
        },
        ToolChoice::None => WireChoice::None,
        ToolChoice::Required => WireChoice::Any {
            disable_parallel_tool_use: None,
        },
        ToolChoice::Named(name) => WireChoice::Tool {
            name: name.clone(),
            disable_parallel_tool_use: None,
        },
    });
    let json_schema = json_output_schema(req.response_format.as_ref());
    if let Some(schema) = &json_schema {
        tools.push(ToolDefinition::Custom(CustomTool {
            r#type: None,
            name: JSON_TOOL_NAME.to_owned(),
            description: Some(
                "Give your final answer by calling this tool with JSON that matches its input schema."
                    .to_owned(),
            ),
            input_schema: schema.clone(),
            cache_control: None,
            extra: Extra::new(),
        }));
        choice = Some(match choice {
            Some(named @ WireChoice::Tool { .. }) => named,
            Some(WireChoice::None) | None if !has_client_tools => WireChoice::Tool {
                name: JSON_TOOL_NAME.to_owned(),
                disable_parallel_tool_use: None,
            },
            Some(WireChoice::None) => WireChoice::Tool {
                name: JSON_TOOL_NAME.to_owned(),
                disable_parallel_tool_use: None,
            },
            _ => WireChoice::Any {
                disable_parallel_tool_use: None,
            },
        });
    }
    if no_parallel && !tools.is_empty() {
        choice = Some(match choice {
            None | Some(WireChoice::Auto { .. }) => WireChoice::Auto {
                disable_parallel_tool_use: Some(true),
            },
            Some(WireChoice::Any { .. }) => WireChoice::Any {
                disable_parallel_tool_use: Some(true),
            },
            Some(WireChoice::Tool { name, .. }) => WireChoice::Tool {
                name,
                disable_parallel_tool_use: Some(true),
            },
            Some(WireChoice::None) => WireChoice::None,
            Some(WireChoice::Unknown) => WireChoice::Unknown,
        });
    }
    let forced = matches!(
        choice,
        Some(WireChoice::Any { .. } | WireChoice::Tool { .. })
    );
    if !tools.is_empty() {
        out.tools = Some(tools);
    }
    out.tool_choice = choice;

    // Thinking, within Anthropic's constraints.
    let budget = if forced || json_schema.is_some() || req.thinking == Some(Thinking::Adaptive) {
        None
    } else {
        req.thinking_budget()
    };
    if let Some(budget) = budget {
        let max = out.max_tokens;
        let budget = if req.max_tokens.is_none() && budget >= max {
            out.max_tokens = budget.saturating_add(default_max_tokens);
            budget
        } else {
            budget.min(max.saturating_sub(1))
        };
        if budget >= MIN_THINKING_BUDGET {
            out.thinking = Some(ThinkingConfig::Enabled {
                budget_tokens: budget,
            });
            if out.temperature != Some(1.0) {
                out.temperature = None;
            }
            out.top_k = None;
            if out.top_p.is_some_and(|p| p < 0.95) {
                out.top_p = None;
            }
        }
    } else if req.thinking == Some(Thinking::Disabled) {
        out.thinking = Some(ThinkingConfig::Disabled);
    } else if req.thinking == Some(Thinking::Adaptive) && !forced && json_schema.is_none() {
        out.thinking = Some(ThinkingConfig::Adaptive);
    }

    for (key, value) in native {
        match key.as_str() {
            SERVER_TOOLS_KEY | TOOL_CACHE_KEY | METADATA_KEY => {}
            "service_tier" => out.service_tier = value.as_str().map(str::to_owned),
            _ => {
                out.extra.insert(key, value);
            }
        }
    }
    out
}

/// The JSON schema to force, for `json_schema` and `json_object` response formats.
fn json_output_schema(format: Option<&Value>) -> Option<Value> {
    let format = format?;
    match format.get("type").and_then(Value::as_str)? {
        "json_schema" => Some(
            format
                .get("json_schema")
                .and_then(|s| s.get("schema"))
                .cloned()
                .unwrap_or_else(|| json!({"type": "object"})),
        ),
        "json_object" => Some(json!({"type": "object", "additionalProperties": true})),
        _ => None,
    }
}

fn push_turn(
    turns: &mut Vec<(WireRole, Vec<ContentBlock>)>,
    role: WireRole,
    blocks: Vec<ContentBlock>,
) {
    if blocks.is_empty() {
        return;
    }
    match turns.last_mut() {
        Some((last, existing)) if *last == role => existing.extend(blocks),
        _ => turns.push((role, blocks)),
    }
}

fn system_from_blocks(blocks: Vec<ContentBlock>) -> Option<SystemPrompt> {
    match blocks.as_slice() {
        [] => None,
        [
            ContentBlock::Text {
                text,
                citations: None,
                cache_control: None,
                extra,
            },
        ] if extra.is_empty() => Some(SystemPrompt::Text(text.clone())),
        _ => Some(SystemPrompt::Blocks(blocks)),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PartContext {
    System,
    User,
    Assistant,
}

fn parts_to_blocks(parts: &[ContentPart], ctx: PartContext) -> Vec<ContentBlock> {
    let mut blocks: Vec<ContentBlock> = Vec::new();
    for part in parts {
        if let ContentPart::CacheBreakpoint { cache_control } = part {
            if let Some(last) = blocks.last_mut() {
                set_cache_control(last, cache_control.clone());
            }
            continue;
        }
        blocks.extend(part_to_block(part, ctx));
    }
    blocks
}

fn set_cache_control(block: &mut ContentBlock, value: Value) {
    match block {
        ContentBlock::Text { cache_control, .. }
        | ContentBlock::Image { cache_control, .. }
        | ContentBlock::Document { cache_control, .. }
        | ContentBlock::ToolUse { cache_control, .. }
        | ContentBlock::ToolResult { cache_control, .. } => *cache_control = Some(value),
        ContentBlock::Other(Value::Object(map)) => {
            map.insert("cache_control".to_owned(), value);
        }
        ContentBlock::Thinking { .. }
        | ContentBlock::RedactedThinking { .. }
        | ContentBlock::Other(_) => {}
    }
}

fn part_to_block(part: &ContentPart, ctx: PartContext) -> Option<ContentBlock> {
    Some(match part {
        ContentPart::Text { text } | ContentPart::Refusal { text } => {
            // Anthropic rejects empty text blocks.
            if text.is_empty() {
                return None;
            }
            ContentBlock::text(text.clone())
        }
        ContentPart::Image { source, .. } if ctx != PartContext::System => ContentBlock::Image {
            source: match source {
                ImageSource::Base64 { media_type, data } => WireImage::Base64 {
                    media_type: media_type.clone(),
                    data: data.clone(),
                },
                ImageSource::Url { url } => WireImage::Url { url: url.clone() },
            },
            cache_control: None,
            extra: Extra::new(),
        },
        ContentPart::File {
            file_data: Some(data_url),
            filename,
            ..
        } if ctx != PartContext::System => {
            let data = data_url.strip_prefix("data:application/pdf;base64,")?;
            ContentBlock::Document {
                source: json!({"type": "base64", "media_type": "application/pdf", "data": data}),
                title: filename.clone(),
                context: None,
                citations: None,
                cache_control: None,
                extra: Extra::new(),
            }
        }
        ContentPart::ToolCall {
            id,
            name,
            arguments,
        } if ctx == PartContext::Assistant => ContentBlock::ToolUse {
            id: id.clone(),
            name: name.clone(),
            input: input_from_arguments(arguments),
            cache_control: None,
            extra: Extra::new(),
        },
        ContentPart::ToolResult { call_id, content }
        | ContentPart::ToolError { call_id, content }
            if ctx == PartContext::User =>
        {
            let inner = parts_to_blocks(content, PartContext::User);
            let content = match inner.as_slice() {
                [] => None,
                [
                    ContentBlock::Text {
                        text,
                        cache_control: None,
                        citations: None,
                        extra,
                    },
                ] if extra.is_empty() => Some(ToolResultContent::Text(text.clone())),
                _ => Some(ToolResultContent::Blocks(inner)),
            };
            ContentBlock::ToolResult {
                tool_use_id: call_id.clone(),
                content,
                is_error: matches!(part, ContentPart::ToolError { .. }).then_some(true),
                cache_control: None,
                extra: Extra::new(),
            }
        }
        ContentPart::Reasoning {
            text,
            signature: Some(signature),
        } if ctx == PartContext::Assistant => ContentBlock::Thinking {
            thinking: text.clone(),
            signature: signature.clone(),
            extra: Extra::new(),
        },
        ContentPart::RedactedReasoning { data } if ctx == PartContext::Assistant => {
            ContentBlock::RedactedThinking {
                data: data.clone(),
                extra: Extra::new(),
            }
        }
        ContentPart::Native { dialect, block } if dialect == DIALECT => {
            serde_json::from_value(block.clone())
                .unwrap_or_else(|_| ContentBlock::Other(block.clone()))
        }
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------
// Response
// ---------------------------------------------------------------------------------------

/// Reads a response, stamped with the current time (Anthropic sends none).
pub fn response_to_canonical(resp: &MessagesResponse) -> ChatResponse {
    response_to_canonical_at(resp, now_unix())
}

pub fn response_to_canonical_at(resp: &MessagesResponse, created: u64) -> ChatResponse {
    let mut content = Vec::new();
    let mut json_answer = false;
    for block in &resp.content {
        match block {
            ContentBlock::ToolUse { name, input, .. } if name == JSON_TOOL_NAME => {
                json_answer = true;
                content.push(ContentPart::Text {
                    text: input.to_string(),
                });
            }
            other => {
                let cache = block_to_parts(other, &mut content);
                if let Some(cache_control) = cache {
                    content.push(ContentPart::CacheBreakpoint { cache_control });
                }
            }
        }
    }
    let mut finish_reason =
        finish_reason_to_canonical(resp.stop_reason.as_deref(), resp.stop_sequence.as_deref());
    let calls = content
        .iter()
        .any(|p| matches!(p, ContentPart::ToolCall { .. }));
    if json_answer && !calls && finish_reason == FinishReason::ToolCalls {
        finish_reason = FinishReason::Stop;
    }
    ChatResponse {
        id: resp.id.clone(),
        model: resp.model.clone(),
        created,
        content,
        finish_reason,
        usage: usage_to_canonical(&resp.usage),
        extra: CanonExtra::new(),
    }
}

pub fn finish_reason_to_canonical(reason: Option<&str>, sequence: Option<&str>) -> FinishReason {
    match reason {
        None | Some("end_turn") => FinishReason::Stop,
        Some("stop_sequence") => match sequence {
            Some(seq) => FinishReason::StopSequence(seq.to_owned()),
            None => FinishReason::Stop,
        },
        Some("max_tokens" | "model_context_window_exceeded") => FinishReason::Length,
        Some("tool_use") => FinishReason::ToolCalls,
        Some("refusal") => FinishReason::ContentFilter,
        Some(other) => FinishReason::Other(other.to_owned()),
    }
}

/// `(stop_reason, stop_sequence)` for a canonical finish reason.
pub fn finish_reason_from_canonical(reason: &FinishReason) -> (String, Option<String>) {
    let name = match reason {
        FinishReason::Stop => "end_turn",
        FinishReason::StopSequence(seq) => return ("stop_sequence".to_owned(), Some(seq.clone())),
        FinishReason::Length => "max_tokens",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::ContentFilter => "refusal",
        FinishReason::Other(other) => match other.as_str() {
            "pause_turn" | "model_context_window_exceeded" => other.as_str(),
            _ => "end_turn",
        },
    };
    (name.to_owned(), None)
}

/// Anthropic's `input_tokens` excludes cache reads and writes; the canonical count
/// includes them, as OpenAI's `prompt_tokens` does.
pub fn usage_to_canonical(u: &MessageUsage) -> Usage {
    let read = u.cache_read_input_tokens.unwrap_or(0);
    let write = u.cache_creation_input_tokens.unwrap_or(0);
    Usage {
        input_tokens: u.input_tokens.saturating_add(read).saturating_add(write),
        output_tokens: u.output_tokens,
        cached_input_tokens: read,
        cache_write_tokens: write,
        reasoning_tokens: 0,
    }
}

pub fn usage_from_canonical(u: &Usage) -> MessageUsage {
    MessageUsage {
        input_tokens: u
            .input_tokens
            .saturating_sub(u.cached_input_tokens)
            .saturating_sub(u.cache_write_tokens),
        output_tokens: u.output_tokens,
        cache_creation_input_tokens: Some(u.cache_write_tokens),
        cache_read_input_tokens: Some(u.cached_input_tokens),
        extra: Extra::new(),
    }
}

/// An Anthropic message id for any upstream id.
pub fn message_id(id: &str) -> String {
    if id.starts_with("msg_") {
        id.to_owned()
    } else {
        format!("msg_{id}")
    }
}

/// Renders a canonical response for an Anthropic client, naming the model it asked for.
pub fn response_from_canonical(resp: &ChatResponse, requested_model: &str) -> MessagesResponse {
    let mut content = Vec::new();
    for part in &resp.content {
        if let ContentPart::CacheBreakpoint { .. } = part {
            continue;
        }
        let block = match part {
            // An answer may carry unsigned reasoning from another vendor; show it as thinking.
            ContentPart::Reasoning { text, signature } => Some(ContentBlock::Thinking {
                thinking: text.clone(),
                signature: signature.clone().unwrap_or_default(),
                extra: Extra::new(),
            }),
            other => part_to_block(other, PartContext::Assistant),
        };
        content.extend(block);
    }
    let has_calls = content
        .iter()
        .any(|b| matches!(b, ContentBlock::ToolUse { .. }));
    let reason = match &resp.finish_reason {
        FinishReason::Stop if has_calls => FinishReason::ToolCalls,
        other => other.clone(),
    };
    let (stop_reason, stop_sequence) = finish_reason_from_canonical(&reason);
    MessagesResponse {
        id: message_id(&resp.id),
        r#type: message_type(),
        role: "assistant".to_owned(),
        model: requested_model.to_owned(),
        content,
        stop_reason: Some(stop_reason),
        stop_sequence,
        usage: usage_from_canonical(&resp.usage),
        extra: Extra::new(),
    }
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
