//! OpenAI chat wire format <-> canonical form.

use serde_json::Value;

use super::{
    ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse, ChatMessage, Choice,
    ChunkChoice, ChunkDelta, CompletionTokensDetails, CompletionUsage, ContentPart as WirePart,
    Extra, FileRef, FunctionCall, FunctionCallDelta, FunctionDefinition, ImageUrl, InputAudio,
    MessageContent, NamedFunction, NamedToolChoice, PromptTokensDetails, ResponseMessage,
    Role as WireRole, Stop, StreamOptions, Tool as WireTool, ToolCall, ToolCallDelta,
    ToolChoice as WireChoice, chunk_object,
};
use crate::canonical::{
    ChatRequest, ChatResponse, ContentPart, FinishReason, ImageSource, Message, Role, StreamEvent,
    Thinking, Tool, ToolChoice, Usage, budget_effort, takes_reasoning_effort,
};
use crate::error::Error;

/// Request keys the canonical form models itself; every other key travels in `extra`.
const MODELLED_REQUEST_KEYS: [&str; 13] = [
    "model",
    "messages",
    "tools",
    "tool_choice",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "stop",
    "stream",
    "response_format",
    "reasoning_effort",
    "user",
];

fn invalid_param(message: impl Into<String>, param: &str) -> Error {
    Error::InvalidRequest {
        message: message.into(),
        param: Some(param.to_owned()),
    }
}

pub fn chat_request_to_canonical(req: &ChatCompletionRequest) -> Result<ChatRequest, Error> {
    let messages = req
        .messages
        .iter()
        .enumerate()
        .map(|(i, m)| message_to_canonical(i, m))
        .collect::<Result<Vec<_>, _>>()?;
    let tools = req
        .tools
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, t)| tool_to_canonical(i, t))
        .collect::<Result<Vec<_>, _>>()?;
    let tool_choice = req
        .tool_choice
        .as_ref()
        .map(tool_choice_to_canonical)
        .transpose()?;

    let mut extra = match serde_json::to_value(req) {
        Ok(Value::Object(map)) => map,
        _ => Extra::new(),
    };
    for key in MODELLED_REQUEST_KEYS {
        extra.remove(key);
    }

    Ok(ChatRequest {
        model: req.model.clone(),
        messages,
        tools,
        tool_choice,
        max_tokens: req.max_completion_tokens.or(req.max_tokens),
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: None,
        stop: req.stop.as_ref().map(Stop::to_vec).unwrap_or_default(),
        stream: req.stream.unwrap_or(false),
        response_format: req.response_format.clone(),
        reasoning_effort: req.reasoning_effort.clone(),
        thinking: None,
        user: req.user.clone(),
        extra,
        dialect_extra: Default::default(),
        dropped: Vec::new(),
    })
}

fn message_to_canonical(index: usize, m: &ChatMessage) -> Result<Message, Error> {
    let param = format!("messages[{index}]");
    let role = match m.role {
        WireRole::System => Role::System,
        WireRole::Developer => Role::Developer,
        WireRole::User => Role::User,
        WireRole::Assistant => Role::Assistant,
        WireRole::Tool => Role::Tool,
        WireRole::Function => {
            return Err(invalid_param(
                "Messages with role `function` are deprecated and not supported; use `tool` messages.",
                &param,
            ));
        }
    };
    let mut parts = match &m.content {
        None => Vec::new(),
        Some(MessageContent::Text(text)) => vec![ContentPart::Text { text: text.clone() }],
        Some(MessageContent::Parts(parts)) => parts.iter().map(part_to_canonical).collect(),
    };
    let mut extra = m.extra.clone();
    if role == Role::Tool {
        let Some(call_id) = m.tool_call_id.clone() else {
            return Err(invalid_param(
                "A message with role `tool` must have a `tool_call_id`.",
                &format!("{param}.tool_call_id"),
            ));
        };
        parts = vec![ContentPart::ToolResult {
            call_id,
            content: parts,
        }];
    } else if let Some(id) = &m.tool_call_id {
        extra.insert("tool_call_id".to_owned(), Value::String(id.clone()));
    }
    for call in m.tool_calls.iter().flatten() {
        parts.push(ContentPart::ToolCall {
            id: call.id.clone(),
            name: call.function.name.clone(),
            arguments: call.function.arguments.clone(),
        });
    }
    Ok(Message {
        role,
        content: parts,
        name: m.name.clone(),
        extra,
    })
}

fn part_to_canonical(part: &WirePart) -> ContentPart {
    match part {
        WirePart::Text { text, .. } => ContentPart::Text { text: text.clone() },
        WirePart::ImageUrl { image_url, .. } => ContentPart::Image {
            source: ImageSource::from_url(&image_url.url),
            detail: image_url.detail.clone(),
        },
        WirePart::InputAudio { input_audio, .. } => ContentPart::Audio {
            data: input_audio.data.clone(),
            format: input_audio.format.clone(),
        },
        WirePart::File { file, .. } => ContentPart::File {
            file_id: file.file_id.clone(),
            file_data: file.file_data.clone(),
            filename: file.filename.clone(),
        },
        WirePart::Refusal { refusal, .. } => ContentPart::Refusal {
            text: refusal.clone(),
        },
    }
}

fn tool_to_canonical(index: usize, tool: &WireTool) -> Result<Tool, Error> {
    if tool.r#type != "function" {
        return Err(invalid_param(
            format!(
                "Tool type `{}` is not supported here; only `function` tools are.",
                tool.r#type
            ),
            &format!("tools[{index}].type"),
        ));
    }
    Ok(Tool {
        name: tool.function.name.clone(),
        description: tool.function.description.clone(),
        parameters: tool.function.parameters.clone(),
        strict: tool.function.strict,
    })
}

fn tool_choice_to_canonical(choice: &WireChoice) -> Result<ToolChoice, Error> {
    match choice {
        WireChoice::Mode(mode) => match mode.as_str() {
            "auto" => Ok(ToolChoice::Auto),
            "none" => Ok(ToolChoice::None),
            "required" => Ok(ToolChoice::Required),
            other => Err(invalid_param(
                format!("Invalid tool_choice `{other}`; expected `auto`, `none` or `required`."),
                "tool_choice",
            )),
        },
        WireChoice::Named(named) => Ok(ToolChoice::Named(named.function.name.clone())),
    }
}

pub fn chat_request_from_canonical(req: &ChatRequest) -> ChatCompletionRequest {
    let messages = req
        .messages
        .iter()
        .flat_map(message_from_canonical)
        .collect();
    let mut out = ChatCompletionRequest::new(req.model.clone(), messages);
    if !req.tools.is_empty() {
        out.tools = Some(req.tools.iter().map(tool_from_canonical).collect());
    }
    out.tool_choice = req.tool_choice.as_ref().map(tool_choice_from_canonical);
    out.max_tokens = req.max_tokens;
    out.temperature = req.temperature;
    out.top_p = req.top_p;
    if !req.stop.is_empty() {
        out.stop = Some(Stop::Many(req.stop.clone()));
    }
    if req.stream {
        out.stream = Some(true);
        // Without it an OpenAI stream carries no usage, and the client's dialect (Anthropic's
        // message_delta, Gemini's usageMetadata) has nothing to report.
        out.stream_options = Some(StreamOptions {
            include_usage: Some(true),
            extra: Extra::new(),
        });
    }
    out.response_format = req.response_format.clone();
    // A thinking budget (Anthropic, Gemini clients) becomes the nearest effort level, for
    // models that take one: OpenAI and most hosts refuse the parameter on other models.
    // An effort that came with one (Anthropic `output_config.effort`) goes the same way; an
    // OpenAI client's own `reasoning_effort` (no thinking setting) is sent as asked.
    out.reasoning_effort = match req.thinking {
        None => req.reasoning_effort.clone(),
        Some(Thinking::Disabled) => None,
        Some(_) if !takes_reasoning_effort(&req.model) => None,
        Some(Thinking::Enabled { budget_tokens }) => req
            .reasoning_effort
            .clone()
            .or_else(|| Some(budget_effort(budget_tokens).to_owned())),
        Some(Thinking::Adaptive) => req.reasoning_effort.clone(),
    };
    out.user = req.user.clone();
    if req.extra.is_empty() {
        return out;
    }
    // Re-parse with the extras merged so known fields (seed, n, …) land in their typed slots.
    let mut merged = match serde_json::to_value(&out) {
        Ok(Value::Object(map)) => map,
        _ => Extra::new(),
    };
    for (key, value) in &req.extra {
        if !merged.contains_key(key) {
            merged.insert(key.clone(), value.clone());
        }
    }
    match serde_json::from_value(Value::Object(merged)) {
        Ok(typed) => typed,
        Err(_) => {
            // An extra of the wrong shape for a typed field: keep it untyped rather than drop it.
            out.extra = req.extra.clone();
            out
        }
    }
}

/// One canonical message can become several OpenAI messages: tool results are separate
/// `tool` messages there (Anthropic puts them inside a user message).
fn message_from_canonical(m: &Message) -> Vec<ChatMessage> {
    let mut out = Vec::new();
    let mut parts = Vec::new();
    let mut tool_calls = Vec::new();
    for part in &m.content {
        match part {
            ContentPart::ToolResult { call_id, content }
            | ContentPart::ToolError { call_id, content } => {
                let wire: Vec<WirePart> = content.iter().filter_map(part_from_canonical).collect();
                out.push(ChatMessage {
                    role: WireRole::Tool,
                    content: Some(content_from_parts(wire)),
                    name: None,
                    tool_calls: None,
                    tool_call_id: Some(call_id.clone()),
                    extra: Extra::new(),
                });
            }
            ContentPart::ToolCall {
                id,
                name,
                arguments,
            } => tool_calls.push(wire_tool_call(id, name, arguments)),
            other => parts.extend(part_from_canonical(other)),
        }
    }
    let only_tool_results = m.role == Role::Tool || (!out.is_empty() && parts.is_empty());
    if only_tool_results && tool_calls.is_empty() {
        return out;
    }
    let role = match m.role {
        Role::System => WireRole::System,
        Role::Developer => WireRole::Developer,
        Role::User => WireRole::User,
        Role::Assistant | Role::Tool => WireRole::Assistant,
    };
    let content = if parts.is_empty() && !tool_calls.is_empty() {
        None
    } else {
        Some(content_from_parts(parts))
    };
    let mut extra = m.extra.clone();
    let tool_call_id = match extra.remove("tool_call_id") {
        Some(Value::String(id)) => Some(id),
        _ => None,
    };
    out.push(ChatMessage {
        role,
        content,
        name: m.name.clone(),
        tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
        tool_call_id,
        extra,
    });
    out
}

/// A single text part becomes a plain string, the form every OpenAI-compatible host accepts.
fn content_from_parts(mut parts: Vec<WirePart>) -> MessageContent {
    if parts.is_empty() {
        return MessageContent::Text(String::new());
    }
    if parts.len() == 1
        && let Some(WirePart::Text { text, extra }) = parts.first_mut()
        && extra.is_empty()
    {
        return MessageContent::Text(std::mem::take(text));
    }
    MessageContent::Parts(parts)
}

fn part_from_canonical(part: &ContentPart) -> Option<WirePart> {
    let extra = Extra::new();
    Some(match part {
        ContentPart::Text { text } => WirePart::Text {
            text: text.clone(),
            extra,
        },
        ContentPart::Image { source, detail } => WirePart::ImageUrl {
            image_url: ImageUrl {
                url: source.to_url(),
                detail: detail.clone(),
                extra: Extra::new(),
            },
            extra,
        },
        ContentPart::Audio { data, format } => WirePart::InputAudio {
            input_audio: InputAudio {
                data: data.clone(),
                format: format.clone(),
                extra: Extra::new(),
            },
            extra,
        },
        ContentPart::File {
            file_id,
            file_data,
            filename,
        } => WirePart::File {
            file: FileRef {
                file_data: file_data.clone(),
                file_id: file_id.clone(),
                filename: filename.clone(),
                extra: Extra::new(),
            },
            extra,
        },
        ContentPart::Refusal { text } => WirePart::Refusal {
            refusal: text.clone(),
            extra,
        },
        // OpenAI has no request slot for prior reasoning; tool parts are handled by the caller.
        ContentPart::Reasoning { .. }
        | ContentPart::RedactedReasoning { .. }
        | ContentPart::CacheBreakpoint { .. }
        | ContentPart::Native { .. }
        | ContentPart::ToolCall { .. }
        | ContentPart::ToolResult { .. }
        | ContentPart::ToolError { .. } => {
            return None;
        }
    })
}

fn wire_tool_call(id: &str, name: &str, arguments: &str) -> ToolCall {
    ToolCall {
        id: id.to_owned(),
        r#type: "function".to_owned(),
        function: FunctionCall {
            name: name.to_owned(),
            arguments: arguments.to_owned(),
            extra: Extra::new(),
        },
        extra: Extra::new(),
    }
}

fn tool_from_canonical(tool: &Tool) -> WireTool {
    WireTool {
        r#type: "function".to_owned(),
        function: FunctionDefinition {
            name: tool.name.clone(),
            description: tool.description.clone(),
            parameters: tool.parameters.clone(),
            strict: tool.strict,
            extra: Extra::new(),
        },
        extra: Extra::new(),
    }
}

fn tool_choice_from_canonical(choice: &ToolChoice) -> WireChoice {
    match choice {
        ToolChoice::Auto => WireChoice::Mode("auto".to_owned()),
        ToolChoice::None => WireChoice::Mode("none".to_owned()),
        ToolChoice::Required => WireChoice::Mode("required".to_owned()),
        ToolChoice::Named(name) => WireChoice::Named(NamedToolChoice {
            r#type: "function".to_owned(),
            function: NamedFunction {
                name: name.clone(),
                extra: Extra::new(),
            },
            extra: Extra::new(),
        }),
    }
}

/// Reads the first choice; the canonical form has one answer per request.
pub fn chat_response_to_canonical(resp: &ChatCompletionResponse) -> ChatResponse {
    let mut content = Vec::new();
    let mut finish_reason = FinishReason::Stop;
    if let Some(choice) = resp.choices.first() {
        let msg = &choice.message;
        let reasoning = msg
            .reasoning_content
            .clone()
            .or_else(|| string_field(&msg.extra, "reasoning"));
        if let Some(text) = reasoning.filter(|t| !t.is_empty()) {
            content.push(ContentPart::Reasoning {
                text,
                signature: None,
            });
        }
        if let Some(text) = &msg.content
            && !(text.is_empty() && msg.tool_calls.is_some())
        {
            content.push(ContentPart::Text { text: text.clone() });
        }
        if let Some(text) = &msg.refusal {
            content.push(ContentPart::Refusal { text: text.clone() });
        }
        for call in msg.tool_calls.iter().flatten() {
            content.push(ContentPart::ToolCall {
                id: call.id.clone(),
                name: call.function.name.clone(),
                arguments: call.function.arguments.clone(),
            });
        }
        if let Some(reason) = &choice.finish_reason {
            finish_reason = FinishReason::from_openai(reason);
        }
    }
    let mut extra = resp.extra.clone();
    if let Some(fp) = &resp.system_fingerprint {
        extra.insert("system_fingerprint".to_owned(), Value::String(fp.clone()));
    }
    if let Some(tier) = &resp.service_tier {
        extra.insert("service_tier".to_owned(), Value::String(tier.clone()));
    }
    ChatResponse {
        id: resp.id.clone(),
        model: resp.model.clone(),
        created: resp.created,
        content,
        finish_reason,
        usage: resp
            .usage
            .as_ref()
            .map(usage_to_canonical)
            .unwrap_or_default(),
        extra,
    }
}

fn string_field(map: &Extra, key: &str) -> Option<String> {
    match map.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

fn u64_field(map: &Extra, key: &str) -> Option<u64> {
    map.get(key).and_then(Value::as_u64)
}

pub fn usage_to_canonical(u: &CompletionUsage) -> Usage {
    let prompt = u.prompt_tokens_details.as_ref();
    let completion = u.completion_tokens_details.as_ref();
    let cache_write = prompt
        .and_then(|p| u64_field(&p.extra, "cache_write_tokens"))
        .or_else(|| u64_field(&u.extra, "cache_creation_input_tokens"))
        .unwrap_or(0);
    Usage {
        input_tokens: u.prompt_tokens,
        // Some hosts leave reasoning out of completion_tokens but count it in the total.
        output_tokens: u
            .completion_tokens
            .max(u.total_tokens.saturating_sub(u.prompt_tokens)),
        cached_input_tokens: prompt.and_then(|p| p.cached_tokens).unwrap_or(0),
        cache_write_tokens: cache_write,
        reasoning_tokens: completion.and_then(|c| c.reasoning_tokens).unwrap_or(0),
    }
}

pub fn usage_from_canonical(u: &Usage) -> CompletionUsage {
    CompletionUsage {
        prompt_tokens: u.input_tokens,
        completion_tokens: u.output_tokens,
        total_tokens: u.total_tokens(),
        prompt_tokens_details: (u.cached_input_tokens > 0).then(|| PromptTokensDetails {
            cached_tokens: Some(u.cached_input_tokens),
            ..PromptTokensDetails::default()
        }),
        completion_tokens_details: (u.reasoning_tokens > 0).then(|| CompletionTokensDetails {
            reasoning_tokens: Some(u.reasoning_tokens),
            ..CompletionTokensDetails::default()
        }),
        extra: Extra::new(),
    }
}

pub fn chat_response_from_canonical(resp: &ChatResponse) -> ChatCompletionResponse {
    let mut text: Option<String> = None;
    let mut reasoning: Option<String> = None;
    let mut refusal: Option<String> = None;
    let mut tool_calls = Vec::new();
    for part in &resp.content {
        match part {
            ContentPart::Text { text: t } => text.get_or_insert_with(String::new).push_str(t),
            ContentPart::Reasoning { text: t, .. } => {
                reasoning.get_or_insert_with(String::new).push_str(t);
            }
            ContentPart::Refusal { text: t } => refusal.get_or_insert_with(String::new).push_str(t),
            ContentPart::ToolCall {
                id,
                name,
                arguments,
            } => tool_calls.push(wire_tool_call(id, name, arguments)),
            ContentPart::Image { .. }
            | ContentPart::Audio { .. }
            | ContentPart::File { .. }
            | ContentPart::ToolResult { .. }
            | ContentPart::ToolError { .. }
            | ContentPart::RedactedReasoning { .. }
            | ContentPart::CacheBreakpoint { .. }
            | ContentPart::Native { .. } => {}
        }
    }
    if text.is_none() && tool_calls.is_empty() && refusal.is_none() {
        text = Some(String::new());
    }
    let mut extra = resp.extra.clone();
    let system_fingerprint = match extra.remove("system_fingerprint") {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    let service_tier = match extra.remove("service_tier") {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    ChatCompletionResponse {
        id: resp.id.clone(),
        object: "chat.completion".to_owned(),
        created: resp.created,
        model: resp.model.clone(),
        choices: vec![Choice {
            index: 0,
            message: ResponseMessage {
                role: "assistant".to_owned(),
                content: text,
                refusal,
                reasoning_content: reasoning,
                tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
                extra: Extra::new(),
            },
            finish_reason: Some(resp.finish_reason.as_openai().to_owned()),
            logprobs: None,
            extra: Extra::new(),
        }],
        usage: Some(usage_from_canonical(&resp.usage)),
        system_fingerprint,
        service_tier,
        extra,
    }
}

/// Events of one chunk. Every chunk starts with `Start` (this function keeps no state);
/// only the first choice is read.
pub fn chunk_to_events(chunk: &ChatCompletionChunk) -> Vec<StreamEvent> {
    let mut events = vec![StreamEvent::Start {
        id: chunk.id.clone(),
        model: chunk.model.clone(),
        created: chunk.created,
    }];
    if let Some(choice) = chunk.choices.iter().find(|c| c.index == 0) {
        let delta = &choice.delta;
        let reasoning = delta
            .reasoning_content
            .clone()
            .or_else(|| string_field(&delta.extra, "reasoning"));
        if let Some(text) = reasoning.filter(|t| !t.is_empty()) {
            events.push(StreamEvent::ReasoningDelta {
                text,
                signature: None,
            });
        }
        for text in [&delta.content, &delta.refusal].into_iter().flatten() {
            if !text.is_empty() {
                events.push(StreamEvent::TextDelta { text: text.clone() });
            }
        }
        for call in delta.tool_calls.iter().flatten() {
            let function = call.function.as_ref();
            let name = function.and_then(|f| f.name.clone());
            if call.id.is_some() || name.is_some() {
                events.push(StreamEvent::ToolCallStart {
                    index: call.index,
                    id: call.id.clone().unwrap_or_default(),
                    name: name.unwrap_or_default(),
                });
            }
            if let Some(args) = function.and_then(|f| f.arguments.as_ref())
                && !args.is_empty()
            {
                events.push(StreamEvent::ToolCallArgumentsDelta {
                    index: call.index,
                    fragment: args.clone(),
                });
            }
        }
        if let Some(reason) = &choice.finish_reason {
            events.push(StreamEvent::Finish {
                reason: FinishReason::from_openai(reason),
            });
        }
    }
    if let Some(usage) = &chunk.usage {
        events.push(StreamEvent::Usage(usage_to_canonical(usage)));
    }
    events
}

/// Renders canonical stream events as OpenAI chunks, carrying the id, model and creation
/// time of the first `Start`; events before any `Start` render nothing rather than invent ids.
#[derive(Debug, Clone, Default)]
pub struct ChunkRenderer {
    head: Option<(String, String, u64)>,
}

impl ChunkRenderer {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn started(&self) -> bool {
        self.head.is_some()
    }

    pub fn render(&mut self, event: &StreamEvent) -> Option<ChatCompletionChunk> {
        if let StreamEvent::Start { id, model, created } = event {
            if self.head.is_some() {
                return None;
            }
            self.head = Some((id.clone(), model.clone(), *created));
            return Some(self.chunk(
                ChunkDelta {
                    role: Some("assistant".to_owned()),
                    content: Some(String::new()),
                    ..ChunkDelta::default()
                },
                None,
            ));
        }
        self.head.as_ref()?;
        Some(match event {
            StreamEvent::Start { .. } | StreamEvent::RedactedReasoning { .. } => return None,
            StreamEvent::TextDelta { text } => self.chunk(
                ChunkDelta {
                    content: Some(text.clone()),
                    ..ChunkDelta::default()
                },
                None,
            ),
            // A signature alone has nothing to show in OpenAI's reasoning text.
            StreamEvent::ReasoningDelta { text, .. } if text.is_empty() => return None,
            StreamEvent::ReasoningDelta { text, .. } => self.chunk(
                ChunkDelta {
                    reasoning_content: Some(text.clone()),
                    ..ChunkDelta::default()
                },
                None,
            ),
            StreamEvent::ToolCallStart { index, id, name } => self.chunk(
                tool_delta(ToolCallDelta {
                    index: *index,
                    id: Some(id.clone()),
                    r#type: Some("function".to_owned()),
                    function: Some(FunctionCallDelta {
                        name: Some(name.clone()),
                        arguments: Some(String::new()),
                        extra: Extra::new(),
                    }),
                    extra: Extra::new(),
                }),
                None,
            ),
            StreamEvent::ToolCallArgumentsDelta { index, fragment } => self.chunk(
                tool_delta(ToolCallDelta {
                    index: *index,
                    id: None,
                    r#type: None,
                    function: Some(FunctionCallDelta {
                        name: None,
                        arguments: Some(fragment.clone()),
                        extra: Extra::new(),
                    }),
                    extra: Extra::new(),
                }),
                None,
            ),
            StreamEvent::Finish { reason } => {
                self.chunk(ChunkDelta::default(), Some(reason.as_openai().to_owned()))
            }
            StreamEvent::Usage(usage) => {
                let mut chunk = self.chunk(ChunkDelta::default(), None);
                chunk.choices.clear();
                chunk.usage = Some(usage_from_canonical(usage));
                chunk
            }
        })
    }

    fn chunk(&self, delta: ChunkDelta, finish_reason: Option<String>) -> ChatCompletionChunk {
        let (id, model, created) = self.head.clone().unwrap_or_default();
        ChatCompletionChunk {
            id,
            object: chunk_object(),
            created,
            model,
            choices: vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason,
                logprobs: None,
                extra: Extra::new(),
            }],
            usage: None,
            system_fingerprint: None,
            service_tier: None,
            extra: Extra::new(),
        }
    }
}

fn tool_delta(call: ToolCallDelta) -> ChunkDelta {
    ChunkDelta {
        tool_calls: Some(vec![call]),
        ..ChunkDelta::default()
    }
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
