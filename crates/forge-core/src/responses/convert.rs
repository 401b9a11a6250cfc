//! Responses API <-> canonical form.
//!
//! Requests: `instructions` become the first system message, the stored conversation of
//! `previous_response_id` follows, then the input items. Consecutive assistant-side items
//! (reasoning, assistant messages, function calls) form one assistant turn, and consecutive
//! function call outputs one tool turn, so upstreams that need paired turns get them.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ids::item_id;
use super::{
    ContentPart as WirePart, Extra, FunctionCallItem, FunctionOutput, IncompleteDetails,
    InputTokensDetails, Item, MessageContent, MessageItem, OutputTokensDetails, ReasoningItem,
    ResponseError, ResponseObject, ResponseUsage, ResponsesRequest, Role as WireRole, Status,
    SummaryText, TextFormat, Tool as WireTool, ToolChoice as WireChoice,
};
use crate::canonical::{
    ChatRequest, ChatResponse, ContentPart, FinishReason, ImageSource, Message, Role, Tool,
    ToolChoice, Usage,
};
use crate::error::Error;

/// What the caller stores per response id so a `previous_response_id` follow-up can be
/// rebuilt (and the response retrieved again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredResponse {
    pub response: ResponseObject,
    /// The conversation up to and including this response, without its instructions; the
    /// `history` argument of the follow-up's `request_to_canonical`.
    pub conversation: Vec<Message>,
}

fn invalid_param(message: impl Into<String>, param: impl Into<String>) -> Error {
    Error::InvalidRequest {
        message: message.into(),
        param: Some(param.into()),
    }
}

/// The instructions as they enter the conversation; empty ones add no message.
fn instructions(req: &ResponsesRequest) -> Option<&str> {
    req.instructions.as_deref().filter(|s| !s.is_empty())
}

/// `history` is the stored conversation of `req.previous_response_id`, if any; the caller
/// looks it up (and answers 404 when it is unknown) before calling this.
pub fn request_to_canonical(
    req: &ResponsesRequest,
    history: Option<&[Message]>,
) -> Result<ChatRequest, Error> {
    let mut messages = Vec::new();
    if let Some(text) = instructions(req) {
        messages.push(Message::text_message(Role::System, text));
    }
    messages.extend(history.unwrap_or_default().iter().cloned());
    let mut dropped = Vec::new();
    match &req.input {
        None => {}
        Some(super::Input::Text(text)) => {
            messages.push(Message::text_message(Role::User, text.clone()));
        }
        Some(super::Input::Items(items)) => {
            messages.extend(items_to_messages(items, &mut dropped)?);
        }
    }
    if messages.is_empty() {
        return Err(invalid_param(
            "The request has no input: send `input` or a `previous_response_id`.",
            "input",
        ));
    }

    let mut out = ChatRequest::new(req.model.clone(), messages);
    for (i, tool) in req.tools.iter().flatten().enumerate() {
        tools_to_canonical(i, tool, &mut out.tools, &mut dropped)?;
    }
    out.tool_choice = req
        .tool_choice
        .as_ref()
        .map(|choice| tool_choice_to_canonical(choice, &mut dropped))
        .transpose()?;
    out.max_tokens = req.max_output_tokens;
    out.temperature = req.temperature;
    out.top_p = req.top_p;
    out.stream = req.stream.unwrap_or(false);
    out.response_format = req
        .text
        .as_ref()
        .and_then(|t| t.format.as_ref())
        .map(format_to_canonical)
        .transpose()?
        .flatten();
    out.reasoning_effort = req.reasoning.as_ref().and_then(|r| r.effort.clone());
    out.user = req.user.clone();
    // Only keys every renderer understands go into `extra`; Responses-only settings
    // (`store`, `include`, `truncation`, …) have no meaning upstream.
    if let Some(parallel) = req.parallel_tool_calls {
        out.extra
            .insert("parallel_tool_calls".to_owned(), Value::Bool(parallel));
    }
    out.dropped = dropped;
    Ok(out)
}

/// A run of items being gathered into one canonical turn.
struct Turns {
    out: Vec<Message>,
    run: Option<Message>,
}

impl Turns {
    /// The open turn if it has `role`, else a new one (closing the other).
    fn turn(&mut self, role: Role) -> &mut Message {
        if self.run.as_ref().is_some_and(|m| m.role != role) {
            self.flush();
        }
        self.run
            .get_or_insert_with(|| Message::new(role, Vec::new()))
    }

    fn flush(&mut self) {
        if let Some(m) = self.run.take() {
            self.out.push(m);
        }
    }
}

fn items_to_messages(items: &[Item], dropped: &mut Vec<String>) -> Result<Vec<Message>, Error> {
    let mut turns = Turns {
        out: Vec::new(),
        run: None,
    };
    for (i, item) in items.iter().enumerate() {
        let param = format!("input[{i}]");
        match item {
            Item::Message(m) => {
                let parts = content_to_canonical(&m.content, &param, dropped)?;
                match m.role {
                    WireRole::Assistant => turns.turn(Role::Assistant).content.extend(parts),
                    role => {
                        turns.flush();
                        turns.out.push(Message::new(role_to_canonical(role), parts));
                    }
                }
            }
            Item::FunctionCall(call) => {
                turns
                    .turn(Role::Assistant)
                    .content
                    .push(ContentPart::ToolCall {
                        id: call.call_id.clone(),
                        name: match call.extra.get("namespace").and_then(Value::as_str) {
                            Some(namespace) => flat_tool_name(namespace, &call.name),
                            None => call.name.clone(),
                        },
                        arguments: call.arguments.clone(),
                    });
            }
            Item::Reasoning(r) => {
                let parts = reasoning_to_canonical(r);
                turns.turn(Role::Assistant).content.extend(parts);
            }
            Item::FunctionCallOutput(o) => {
                let content = match &o.output {
                    FunctionOutput::Text(text) => vec![ContentPart::Text { text: text.clone() }],
                    FunctionOutput::Parts(parts) => parts
                        .iter()
                        .enumerate()
                        .filter_map(|(j, p)| {
                            part_to_canonical(p, &format!("{param}.output[{j}]"), dropped)
                                .transpose()
                        })
                        .collect::<Result<_, _>>()?,
                };
                turns
                    .turn(Role::Tool)
                    .content
                    .push(ContentPart::ToolResult {
                        call_id: o.call_id.clone(),
                        content,
                    });
            }
            Item::Other(raw) => {
                let kind = raw.get("type").and_then(Value::as_str).unwrap_or("unknown");
                if kind == "item_reference" {
                    // Dropping it would silently cut the conversation.
                    return Err(invalid_param(
                        "Input items of type `item_reference` are not supported for this model. Send the item itself, or continue with `previous_response_id`.",
                        format!("{param}.type"),
                    ));
                }
                // Hosted tool calls and newer item types have no translation; the rest of
                // the conversation still goes.
                dropped.push(format!("input:{kind}"));
            }
        }
    }
    turns.flush();
    Ok(turns.out)
}

fn role_to_canonical(role: WireRole) -> Role {
    match role {
        WireRole::User => Role::User,
        WireRole::Assistant => Role::Assistant,
        WireRole::System => Role::System,
        WireRole::Developer => Role::Developer,
    }
}

/// A summary with `encrypted_content` is thinking with its signature; encrypted content
/// alone is a redacted block (see `ReasoningItem::encrypted_content`).
fn reasoning_to_canonical(r: &ReasoningItem) -> Vec<ContentPart> {
    let text: Vec<&str> = r.summary.iter().map(|s| s.text.as_str()).collect();
    if text.is_empty() {
        return r
            .encrypted_content
            .iter()
            .map(|data| ContentPart::RedactedReasoning { data: data.clone() })
            .collect();
    }
    vec![ContentPart::Reasoning {
        text: text.join("\n\n"),
        signature: r.encrypted_content.clone(),
    }]
}

fn content_to_canonical(
    content: &MessageContent,
    param: &str,
    dropped: &mut Vec<String>,
) -> Result<Vec<ContentPart>, Error> {
    match content {
        MessageContent::Text(text) => Ok(vec![ContentPart::Text { text: text.clone() }]),
        MessageContent::Parts(parts) => parts
            .iter()
            .enumerate()
            .filter_map(|(j, p)| {
                part_to_canonical(p, &format!("{param}.content[{j}]"), dropped).transpose()
            })
            .collect(),
    }
}

/// `None` for a part type this crate does not know, which is recorded in `dropped`.
fn part_to_canonical(
    part: &WirePart,
    param: &str,
    dropped: &mut Vec<String>,
) -> Result<Option<ContentPart>, Error> {
    Ok(Some(match part {
        WirePart::InputText { text } | WirePart::OutputText { text, .. } => {
            ContentPart::Text { text: text.clone() }
        }
        WirePart::Refusal { refusal } => ContentPart::Refusal {
            text: refusal.clone(),
        },
        WirePart::InputImage {
            image_url: Some(url),
            detail,
            ..
        } => ContentPart::Image {
            source: ImageSource::from_url(url),
            detail: detail.clone(),
        },
        WirePart::InputImage { .. } => {
            return Err(invalid_param(
                "Images by `file_id` are not supported for this model; send `image_url` (a URL or a data URL).",
                param,
            ));
        }
        WirePart::InputFile {
            file_id,
            file_data,
            file_url,
            filename,
        } => {
            if file_id.is_none() && file_data.is_none() {
                let what = if file_url.is_some() {
                    "`file_url`"
                } else {
                    "an empty file"
                };
                return Err(invalid_param(
                    format!(
                        "Files given by {what} are not supported for this model; send `file_data`."
                    ),
                    param,
                ));
            }
            ContentPart::File {
                file_id: file_id.clone(),
                file_data: file_data.clone(),
                filename: filename.clone(),
            }
        }
        WirePart::Other(raw) => {
            let kind = raw.get("type").and_then(Value::as_str).unwrap_or("unknown");
            dropped.push(format!("content:{kind}"));
            return Ok(None);
        }
    }))
}

/// Separates a namespace from its tool in the flat names upstreams get; OpenAI, Anthropic
/// and Gemini all allow `_` in tool names.
pub const NAMESPACE_SEPARATOR: &str = "__";

/// The flat name a namespaced function tool (`{"type": "namespace", "name": ns, "tools":
/// [...]}`) is declared under upstream.
pub fn flat_tool_name(namespace: &str, name: &str) -> String {
    format!("{namespace}{NAMESPACE_SEPARATOR}{name}")
}

/// The `(namespace, name)` a flat tool name stands for, when the request declared that
/// namespace with that tool; `None` for every other name.
pub fn namespaced_tool<'a>(tools: &'a [WireTool], flat: &str) -> Option<(&'a str, &'a str)> {
    tools
        .iter()
        .filter(|t| t.r#type == "namespace")
        .find_map(|ns| {
            let namespace = ns.name.as_deref()?;
            let inner = flat
                .strip_prefix(namespace)?
                .strip_prefix(NAMESPACE_SEPARATOR)?;
            namespace_members(ns).find_map(|(name, _)| (name == inner).then_some((namespace, name)))
        })
}

/// The function tools of a namespace: `(name, definition)`.
fn namespace_members(ns: &WireTool) -> impl Iterator<Item = (&str, &Value)> {
    ns.extra
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|t| t.get("type").and_then(Value::as_str).unwrap_or("function") == "function")
        .filter_map(|t| Some((t.get("name")?.as_str()?, t)))
}

/// Adds the canonical tools a Responses tool stands for: a function tool is one, a namespace
/// is its functions under flat names, and a hosted tool (`web_search`, `file_search`, …) or
/// any newer type is none, recorded in `dropped`.
fn tools_to_canonical(
    index: usize,
    tool: &WireTool,
    out: &mut Vec<Tool>,
    dropped: &mut Vec<String>,
) -> Result<(), Error> {
    match tool.r#type.as_str() {
        "function" => {
            let Some(name) = tool.name.clone() else {
                return Err(invalid_param(
                    "A function tool must have a `name`.",
                    format!("tools[{index}].name"),
                ));
            };
            out.push(Tool {
                name,
                description: tool.description.clone(),
                parameters: tool.parameters.clone(),
                strict: tool.strict,
            });
        }
        "namespace" => {
            let Some(namespace) = tool.name.as_deref() else {
                return Err(invalid_param(
                    "A namespace tool must have a `name`.",
                    format!("tools[{index}].name"),
                ));
            };
            for (name, def) in namespace_members(tool) {
                let flat = flat_tool_name(namespace, name);
                if out.iter().any(|t| t.name == flat) {
                    // Two declarations under one upstream name: the first one wins.
                    dropped.push(format!("tools:{flat}"));
                    continue;
                }
                let description = def.get("description").and_then(Value::as_str);
                let description = match (tool.description.as_deref(), description) {
                    (Some(group), Some(own)) => Some(format!("{own} ({group})")),
                    (_, own) => own.map(str::to_owned),
                };
                out.push(Tool {
                    name: flat,
                    description,
                    parameters: def.get("parameters").cloned(),
                    strict: def.get("strict").and_then(Value::as_bool),
                });
            }
        }
        other => dropped.push(format!("tools:{other}")),
    }
    Ok(())
}

fn tool_choice_to_canonical(
    choice: &WireChoice,
    dropped: &mut Vec<String>,
) -> Result<ToolChoice, Error> {
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
        WireChoice::Named(named) => match (&*named.r#type, &named.name) {
            ("function", Some(name)) => Ok(ToolChoice::Named(name.clone())),
            ("function", None) => Err(invalid_param(
                "A function tool_choice must have a `name`.",
                "tool_choice.name",
            )),
            (other, _) => {
                // A hosted tool cannot be forced where it does not exist.
                dropped.push(format!("tool_choice:{other}"));
                Ok(ToolChoice::Auto)
            }
        },
    }
}

/// The chat-style `response_format` the canonical form carries; `text` is the default and
/// needs none.
fn format_to_canonical(format: &TextFormat) -> Result<Option<Value>, Error> {
    match format.r#type.as_str() {
        "text" => Ok(None),
        "json_object" => Ok(Some(json!({"type": "json_object"}))),
        "json_schema" => {
            let mut schema = Extra::new();
            let name = format.name.clone().unwrap_or_else(|| "response".to_owned());
            schema.insert("name".to_owned(), Value::String(name));
            if let Some(d) = &format.description {
                schema.insert("description".to_owned(), Value::String(d.clone()));
            }
            if let Some(s) = &format.schema {
                schema.insert("schema".to_owned(), s.clone());
            }
            if let Some(strict) = format.strict {
                schema.insert("strict".to_owned(), Value::Bool(strict));
            }
            Ok(Some(
                json!({"type": "json_schema", "json_schema": Value::Object(schema)}),
            ))
        }
        other => Err(invalid_param(
            format!(
                "Invalid text.format type `{other}`; expected `text`, `json_object` or `json_schema`."
            ),
            "text.format.type",
        )),
    }
}

// ---------------------------------------------------------------------------------------
// Response: canonical -> Responses
// ---------------------------------------------------------------------------------------

/// The response object for `response_id` (see `new_response_id`); `model` is the name the
/// client asked for and request settings are echoed as OpenAI does.
pub fn response_from_canonical(
    resp: &ChatResponse,
    req: &ResponsesRequest,
    response_id: &str,
) -> ResponseObject {
    let (status, incomplete_details) = status_for(Some(&resp.finish_reason));
    let mut out = base_response(req, response_id, resp.created, status);
    out.incomplete_details = incomplete_details;
    out.output = output_items(&resp.content, response_id, status, &out.tools);
    out.usage = Some(usage_from_canonical(&resp.usage));
    out
}

/// The response object before any output: `response.created` and the frame of the final one.
pub(crate) fn base_response(
    req: &ResponsesRequest,
    response_id: &str,
    created_at: u64,
    status: Status,
) -> ResponseObject {
    let truncation = req
        .extra
        .get("truncation")
        .and_then(Value::as_str)
        .unwrap_or("disabled");
    ResponseObject {
        id: response_id.to_owned(),
        object: "response".to_owned(),
        created_at,
        status,
        error: None,
        incomplete_details: None,
        instructions: req.instructions.clone(),
        max_output_tokens: req.max_output_tokens,
        model: req.model.clone(),
        output: Vec::new(),
        parallel_tool_calls: req.parallel_tool_calls.unwrap_or(true),
        previous_response_id: req.previous_response_id.clone(),
        reasoning: req.reasoning.clone().unwrap_or_default(),
        store: req.wants_store(),
        temperature: req.temperature,
        text: ResponseObject::echo_text_config(req.text.as_ref()),
        tool_choice: req
            .tool_choice
            .clone()
            .unwrap_or_else(|| WireChoice::Mode("auto".to_owned())),
        tools: req.tools.clone().unwrap_or_default(),
        top_p: req.top_p,
        truncation: truncation.to_owned(),
        usage: None,
        user: req.user.clone(),
        metadata: req.metadata.clone().unwrap_or_default(),
        extra: Extra::new(),
    }
}

/// Truncated and filtered answers are `incomplete`, with the reason OpenAI gives.
pub(crate) fn status_for(reason: Option<&FinishReason>) -> (Status, Option<IncompleteDetails>) {
    let incomplete = |reason: &str| {
        (
            Status::Incomplete,
            Some(IncompleteDetails {
                reason: reason.to_owned(),
            }),
        )
    };
    match reason {
        Some(FinishReason::Length) => incomplete("max_output_tokens"),
        Some(FinishReason::ContentFilter) => incomplete("content_filter"),
        _ => (Status::Completed, None),
    }
}

/// A finished item's status, following the response's.
pub(crate) fn item_status(status: Status) -> String {
    match status {
        Status::Incomplete => Status::Incomplete,
        _ => Status::Completed,
    }
    .as_str()
    .to_owned()
}

/// Output items in content order: a run of text and refusals is one message; each
/// reasoning block and each tool call is its own item.
fn output_items(
    content: &[ContentPart],
    response_id: &str,
    status: Status,
    tools: &[WireTool],
) -> Vec<Item> {
    let mut items: Vec<Item> = Vec::new();
    let mut message_open = false;
    for part in content {
        let index = items.len();
        let wire = match part {
            ContentPart::Text { text } => Some(WirePart::output_text(text.clone())),
            ContentPart::Refusal { text } => Some(WirePart::Refusal {
                refusal: text.clone(),
            }),
            _ => None,
        };
        if let Some(wire) = wire {
            if message_open
                && let Some(Item::Message(m)) = items.last_mut()
                && let MessageContent::Parts(parts) = &mut m.content
            {
                // Adjacent text is one part, as OpenAI sends it (clients read `content[0]`).
                match (parts.last_mut(), wire) {
                    (
                        Some(WirePart::OutputText { text, .. }),
                        WirePart::OutputText { text: more, .. },
                    ) => text.push_str(&more),
                    (_, wire) => parts.push(wire),
                }
            } else {
                items.push(Item::Message(message_item(
                    item_id("msg", response_id, index),
                    vec![wire],
                    item_status(status),
                )));
                message_open = true;
            }
            continue;
        }
        message_open = false;
        match part {
            ContentPart::Reasoning { text, signature } => items.push(Item::Reasoning(
                reasoning_item(item_id("rs", response_id, index), text, signature.clone()),
            )),
            ContentPart::RedactedReasoning { data } => items.push(Item::Reasoning(reasoning_item(
                item_id("rs", response_id, index),
                "",
                Some(data.clone()),
            ))),
            ContentPart::ToolCall {
                id,
                name,
                arguments,
            } => items.push(Item::FunctionCall(function_call_item(
                response_id,
                index,
                id,
                name,
                arguments.clone(),
                Status::Completed,
                tools,
            ))),
            // No output slot in the Responses API for these.
            _ => {}
        }
    }
    items
}

pub(crate) fn message_item(id: String, content: Vec<WirePart>, status: String) -> MessageItem {
    MessageItem {
        id: Some(id),
        role: WireRole::Assistant,
        content: MessageContent::Parts(content),
        status: Some(status),
        extra: Extra::new(),
    }
}

pub(crate) fn reasoning_item(id: String, text: &str, encrypted: Option<String>) -> ReasoningItem {
    ReasoningItem {
        id: Some(id),
        summary: if text.is_empty() {
            Vec::new()
        } else {
            vec![SummaryText::new(text)]
        },
        encrypted_content: encrypted,
        status: None,
        extra: Extra::new(),
    }
}

/// `call_id` is the upstream's tool call id (so tool outputs match it on the next turn);
/// a missing one gets an id derived from the response.
///
/// A flat name that stands for a tool of a declared namespace is split back into `name` and
/// `namespace`, as the client declared it.
pub(crate) fn function_call_item(
    response_id: &str,
    output_index: usize,
    call_id: &str,
    name: &str,
    arguments: String,
    status: Status,
    tools: &[WireTool],
) -> FunctionCallItem {
    let call_id = if call_id.is_empty() {
        item_id("call", response_id, output_index)
    } else {
        call_id.to_owned()
    };
    let mut extra = Extra::new();
    let name = match namespaced_tool(tools, name) {
        Some((namespace, inner)) => {
            extra.insert("namespace".to_owned(), Value::String(namespace.to_owned()));
            inner
        }
        None => name,
    };
    FunctionCallItem {
        id: Some(item_id("fc", response_id, output_index)),
        call_id,
        name: name.to_owned(),
        arguments,
        status: Some(status.as_str().to_owned()),
        extra,
    }
}

pub fn usage_from_canonical(u: &Usage) -> ResponseUsage {
    ResponseUsage {
        input_tokens: u.input_tokens,
        input_tokens_details: InputTokensDetails {
            cached_tokens: u.cached_input_tokens,
        },
        output_tokens: u.output_tokens,
        output_tokens_details: OutputTokensDetails {
            reasoning_tokens: u.reasoning_tokens,
        },
        total_tokens: u.total_tokens(),
    }
}

/// The `error` of a failed response: the upstream's own code when it gave one.
pub fn response_error(err: &Error) -> ResponseError {
    let body = err.to_openai_body().error;
    ResponseError {
        code: body.code.unwrap_or(body.r#type),
        message: body.message,
    }
}

/// The conversation to store for a follow-up turn: the request's messages without this
/// request's `instructions` (OpenAI does not carry them over), then the assistant turn.
pub fn conversation_after(
    req: &ResponsesRequest,
    chat: &ChatRequest,
    resp: &ChatResponse,
) -> Vec<Message> {
    let skip = usize::from(instructions(req).is_some());
    let mut out: Vec<Message> = chat.messages.iter().skip(skip).cloned().collect();
    if !resp.content.is_empty() {
        out.push(Message::new(Role::Assistant, resp.content.clone()));
    }
    out
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
