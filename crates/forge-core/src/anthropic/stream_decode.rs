//! Anthropic SSE events -> canonical stream events.

use std::collections::HashMap;

use serde_json::Value;

use super::convert::{JSON_TOOL_NAME, finish_reason_to_canonical, now_unix};
use super::{BlockDelta, ContentBlock, ErrorObject, MessageUsage, StreamEvent as Wire};
use crate::canonical::{StreamEvent, Usage};
use crate::error::Error;
use crate::sse::SseEvent;

/// What an open content block turns into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Text,
    Thinking,
    /// A client tool call, with its canonical (0-based, dense) tool index.
    Tool(u32),
    /// The forced JSON-output tool: its input is the answer text.
    JsonAnswer,
    /// Server tool calls and results: no canonical form.
    Skipped,
}

/// Per-stream state: open blocks by Anthropic index, tool numbering and usage so far.
#[derive(Debug)]
pub struct StreamDecoder {
    provider: String,
    created: u64,
    blocks: HashMap<u32, Block>,
    next_tool: u32,
    usage: Usage,
    json_answer: bool,
    real_tool_calls: bool,
}

impl Default for StreamDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamDecoder {
    /// A decoder stamping `Start` with the current time (Anthropic streams carry none).
    pub fn new() -> Self {
        Self::with_created(now_unix())
    }

    pub fn with_created(created: u64) -> Self {
        StreamDecoder {
            provider: "anthropic".to_owned(),
            created,
            blocks: HashMap::new(),
            next_tool: 0,
            usage: Usage::default(),
            json_answer: false,
            real_tool_calls: false,
        }
    }

    /// The provider name used in upstream errors (`anthropic` by default).
    pub fn provider(mut self, name: &str) -> Self {
        self.provider = name.to_owned();
        self
    }

    /// Canonical events for one SSE event. Unknown event types are ignored, as Anthropic
    /// asks of clients; an `error` event is an upstream error.
    pub fn push(&mut self, ev: &SseEvent) -> Result<Vec<StreamEvent>, Error> {
        if ev.data.trim().is_empty() {
            return Ok(Vec::new());
        }
        let value: Value = serde_json::from_str(&ev.data)
            .map_err(|e| self.bad_stream(format!("a stream event is not JSON ({e})")))?;
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .or(ev.event.as_deref())
            .unwrap_or_default()
            .to_owned();
        const KNOWN: [&str; 8] = [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
            "ping",
            "error",
        ];
        if !KNOWN.contains(&kind.as_str()) {
            return Ok(Vec::new());
        }
        let wire: Wire = serde_json::from_value(value)
            .map_err(|e| self.bad_stream(format!("a `{kind}` event could not be read ({e})")))?;
        self.push_event(wire)
    }

    /// Canonical events for one parsed Anthropic event.
    pub fn push_event(&mut self, ev: Wire) -> Result<Vec<StreamEvent>, Error> {
        let mut out = Vec::new();
        match ev {
            Wire::MessageStart { message } => {
                self.add_usage(&message.usage);
                out.push(StreamEvent::Start {
                    id: message.id,
                    model: message.model,
                    created: self.created,
                });
            }
            Wire::ContentBlockStart {
                index,
                content_block,
            } => {
                let block = match content_block {
                    ContentBlock::Text { text, .. } => {
                        if !text.is_empty() {
                            out.push(StreamEvent::TextDelta { text });
                        }
                        Block::Text
                    }
                    ContentBlock::Thinking {
                        thinking,
                        signature,
                        ..
                    } => {
                        if !thinking.is_empty() || !signature.is_empty() {
                            out.push(StreamEvent::ReasoningDelta {
                                text: thinking,
                                signature: (!signature.is_empty()).then_some(signature),
                            });
                        }
                        Block::Thinking
                    }
                    ContentBlock::RedactedThinking { data, .. } => {
                        out.push(StreamEvent::RedactedReasoning { data });
                        Block::Skipped
                    }
                    ContentBlock::ToolUse { name, .. } if name == JSON_TOOL_NAME => {
                        self.json_answer = true;
                        Block::JsonAnswer
                    }
                    ContentBlock::ToolUse {
                        id, name, input, ..
                    } => {
                        let tool = self.next_tool;
                        self.next_tool += 1;
                        self.real_tool_calls = true;
                        out.push(StreamEvent::ToolCallStart {
                            index: tool,
                            id,
                            name,
                        });
                        // The start carries `{}`; a non-empty input is sent whole here.
                        if input.as_object().is_some_and(|m| !m.is_empty()) {
                            out.push(StreamEvent::ToolCallArgumentsDelta {
                                index: tool,
                                fragment: input.to_string(),
                            });
                        }
                        Block::Tool(tool)
                    }
                    _ => Block::Skipped,
                };
                self.blocks.insert(index, block);
            }
            Wire::ContentBlockDelta { index, delta } => {
                let block = self.blocks.get(&index).copied();
                match (block, delta) {
                    (_, BlockDelta::TextDelta { text }) if !text.is_empty() => {
                        out.push(StreamEvent::TextDelta { text });
                    }
                    (_, BlockDelta::ThinkingDelta { thinking }) if !thinking.is_empty() => {
                        out.push(StreamEvent::ReasoningDelta {
                            text: thinking,
                            signature: None,
                        });
                    }
                    (_, BlockDelta::SignatureDelta { signature }) => {
                        out.push(StreamEvent::ReasoningDelta {
                            text: String::new(),
                            signature: Some(signature),
                        });
                    }
                    (Some(Block::Tool(tool)), BlockDelta::InputJsonDelta { partial_json })
                        if !partial_json.is_empty() =>
                    {
                        out.push(StreamEvent::ToolCallArgumentsDelta {
                            index: tool,
                            fragment: partial_json,
                        });
                    }
                    (Some(Block::JsonAnswer), BlockDelta::InputJsonDelta { partial_json })
                        if !partial_json.is_empty() =>
                    {
                        out.push(StreamEvent::TextDelta { text: partial_json });
                    }
                    _ => {}
                }
            }
            Wire::ContentBlockStop { index } => {
                self.blocks.remove(&index);
            }
            Wire::MessageDelta { delta, usage } => {
                if let Some(reason) = delta.stop_reason.as_deref() {
                    let mut reason =
                        finish_reason_to_canonical(Some(reason), delta.stop_sequence.as_deref());
                    if self.json_answer
                        && !self.real_tool_calls
                        && reason == crate::canonical::FinishReason::ToolCalls
                    {
                        reason = crate::canonical::FinishReason::Stop;
                    }
                    out.push(StreamEvent::Finish { reason });
                }
                // message_delta counts are cumulative; input counts may be restated.
                if let Some(input) = usage.input_tokens {
                    self.add_usage(&MessageUsage {
                        input_tokens: input,
                        output_tokens: usage.output_tokens,
                        cache_creation_input_tokens: usage
                            .cache_creation_input_tokens
                            .or(Some(self.usage.cache_write_tokens)),
                        cache_read_input_tokens: usage
                            .cache_read_input_tokens
                            .or(Some(self.usage.cached_input_tokens)),
                        extra: Default::default(),
                    });
                }
                self.usage.output_tokens = usage.output_tokens;
                out.push(StreamEvent::Usage(self.usage));
            }
            Wire::MessageStop | Wire::Ping => {}
            Wire::Error { error } => return Err(self.stream_error(&error)),
        }
        Ok(out)
    }

    fn add_usage(&mut self, u: &MessageUsage) {
        let usage = super::convert::usage_to_canonical(u);
        self.usage.input_tokens = usage.input_tokens;
        self.usage.cached_input_tokens = usage.cached_input_tokens;
        self.usage.cache_write_tokens = usage.cache_write_tokens;
        self.usage.output_tokens = usage.output_tokens;
    }

    fn stream_error(&self, error: &ErrorObject) -> Error {
        Error::Upstream {
            provider: self.provider.clone(),
            status: super::status_for_error_type(&error.r#type),
            message: error.message.clone(),
            retry_after: None,
            error_type: Some(error.r#type.clone()),
            code: None,
        }
    }

    fn bad_stream(&self, what: String) -> Error {
        Error::Upstream {
            provider: self.provider.clone(),
            status: 502,
            message: format!("unexpected response: {what}"),
            retry_after: None,
            error_type: None,
            code: None,
        }
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
