//! Canonical stream events -> the exact Anthropic event sequence.
//!
//! Anthropic streams one content block at a time: a block is opened, filled with deltas
//! and closed before the next one starts. Canonical events carry no block boundaries, so a
//! block is closed whenever the kind of content changes, a new tool call starts or a
//! signature ends a thinking block. `message_delta` waits until both the finish reason and
//! the usage are known (OpenAI sends usage in a chunk after the finish), or `finish()`.

use std::collections::HashMap;

use bytes::Bytes;
use serde_json::{Value, json};

use super::convert::{finish_reason_from_canonical, message_id, usage_from_canonical};
use super::{
    BlockDelta, ContentBlock, DeltaUsage, Extra, MessageDeltaBody, MessagesResponse,
    StreamEvent as Wire, error_body, message_type,
};
use crate::canonical::{FinishReason, StreamEvent, Usage};
use crate::error::Error;
use crate::sse::encode_event;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Text,
    Thinking,
    /// A tool call, by canonical tool index.
    Tool(u32),
}

/// Per-stream state of one translated Anthropic stream.
#[derive(Debug)]
pub struct StreamEncoder {
    requested_model: String,
    input_tokens: Option<u64>,
    id: Option<String>,
    open: Option<(u32, Open)>,
    next_block: u32,
    /// Canonical tool index -> tool id, for tool calls already given a block.
    tools: HashMap<u32, String>,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
    delta_sent: bool,
    stopped: bool,
}

impl StreamEncoder {
    /// `requested_model` is the model name the client asked for, shown in `message_start`.
    pub fn new(requested_model: &str) -> Self {
        StreamEncoder {
            requested_model: requested_model.to_owned(),
            input_tokens: None,
            id: None,
            open: None,
            next_block: 0,
            tools: HashMap::new(),
            finish: None,
            usage: None,
            delta_sent: false,
            stopped: false,
        }
    }

    /// Input tokens counted before the upstream answered, shown in `message_start`.
    pub fn with_input_tokens(mut self, input_tokens: u64) -> Self {
        self.input_tokens = Some(input_tokens);
        self
    }

    pub fn started(&self) -> bool {
        self.id.is_some()
    }

    /// Anthropic events for one canonical event. Events before the first `Start` render
    /// nothing rather than invent an id; repeated `Start`s are ignored.
    pub fn push(&mut self, event: &StreamEvent) -> Vec<Wire> {
        let mut out = Vec::new();
        if self.stopped {
            return out;
        }
        if let StreamEvent::Start { id, .. } = event {
            if self.id.is_none() {
                let id = message_id(id);
                self.id = Some(id.clone());
                out.push(self.message_start(id));
            }
            return out;
        }
        if self.id.is_none() {
            return out;
        }
        match event {
            StreamEvent::Start { .. } => {}
            StreamEvent::TextDelta { text } => {
                if !text.is_empty() {
                    let index = self.ensure_open(Open::Text, &mut out);
                    out.push(Wire::ContentBlockDelta {
                        index,
                        delta: BlockDelta::TextDelta { text: text.clone() },
                    });
                }
            }
            StreamEvent::ReasoningDelta { text, signature } => {
                if text.is_empty() && signature.is_none() {
                    return out;
                }
                let index = self.ensure_open(Open::Thinking, &mut out);
                if !text.is_empty() {
                    out.push(Wire::ContentBlockDelta {
                        index,
                        delta: BlockDelta::ThinkingDelta {
                            thinking: text.clone(),
                        },
                    });
                }
                if let Some(signature) = signature {
                    out.push(Wire::ContentBlockDelta {
                        index,
                        delta: BlockDelta::SignatureDelta {
                            signature: signature.clone(),
                        },
                    });
                    self.close(&mut out);
                }
            }
            StreamEvent::RedactedReasoning { data } => {
                self.close(&mut out);
                let index = self.next_block;
                self.next_block += 1;
                out.push(Wire::ContentBlockStart {
                    index,
                    content_block: ContentBlock::RedactedThinking {
                        data: data.clone(),
                        extra: Extra::new(),
                    },
                });
                out.push(Wire::ContentBlockStop { index });
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                if self.tools.contains_key(index) {
                    return out;
                }
                self.close(&mut out);
                let id = if id.is_empty() {
                    format!("toolu_{}_{index}", self.id.as_deref().unwrap_or_default())
                } else {
                    id.clone()
                };
                self.tools.insert(*index, id.clone());
                let block = self.next_block;
                self.next_block += 1;
                self.open = Some((block, Open::Tool(*index)));
                out.push(Wire::ContentBlockStart {
                    index: block,
                    content_block: ContentBlock::ToolUse {
                        id,
                        name: name.clone(),
                        input: json!({}),
                        cache_control: None,
                        extra: Extra::new(),
                    },
                });
            }
            StreamEvent::ToolCallArgumentsDelta { index, fragment } => {
                // Fragments of a call whose block is already closed cannot be sent: Anthropic
                // blocks do not interleave (no upstream interleaves tool-call arguments).
                if let Some((block, Open::Tool(open))) = self.open
                    && open == *index
                    && !fragment.is_empty()
                {
                    out.push(Wire::ContentBlockDelta {
                        index: block,
                        delta: BlockDelta::InputJsonDelta {
                            partial_json: fragment.clone(),
                        },
                    });
                }
            }
            StreamEvent::Finish { reason } => {
                self.close(&mut out);
                self.finish = Some(reason.clone());
                if self.usage.is_some() {
                    out.push(self.message_delta());
                }
            }
            StreamEvent::Usage(usage) => {
                self.usage = Some(*usage);
                if self.finish.is_some() && !self.delta_sent {
                    out.push(self.message_delta());
                }
            }
        }
        out
    }

    /// Closes the stream: the open block, `message_delta` if not sent yet, `message_stop`.
    /// Nothing if the stream never started or is already finished.
    pub fn finish(&mut self) -> Vec<Wire> {
        let mut out = Vec::new();
        if self.id.is_none() || self.stopped {
            return out;
        }
        self.close(&mut out);
        if !self.delta_sent {
            out.push(self.message_delta());
        }
        out.push(Wire::MessageStop);
        self.stopped = true;
        out
    }

    /// A keep-alive `ping` event.
    pub fn ping() -> Wire {
        Wire::Ping
    }

    /// An `error` event for a failure after the stream started; it ends the stream.
    pub fn error(&mut self, err: &Error) -> Wire {
        self.stopped = true;
        Wire::Error {
            error: error_body(err).error,
        }
    }

    fn message_start(&self, id: String) -> Wire {
        let mut usage = usage_from_canonical(&Usage::default());
        usage.input_tokens = self.input_tokens.unwrap_or(0);
        Wire::MessageStart {
            message: MessagesResponse {
                id,
                r#type: message_type(),
                role: "assistant".to_owned(),
                model: self.requested_model.clone(),
                content: Vec::new(),
                stop_reason: None,
                stop_sequence: None,
                usage,
                extra: Extra::new(),
            },
        }
    }

    fn message_delta(&mut self) -> Wire {
        self.delta_sent = true;
        let reason = match self.finish.clone() {
            Some(FinishReason::Stop) | None if !self.tools.is_empty() => FinishReason::ToolCalls,
            Some(reason) => reason,
            None => FinishReason::Stop,
        };
        let (stop_reason, stop_sequence) = finish_reason_from_canonical(&reason);
        let usage = match self.usage {
            Some(u) => {
                let wire = usage_from_canonical(&u);
                DeltaUsage {
                    input_tokens: Some(wire.input_tokens),
                    output_tokens: wire.output_tokens,
                    cache_creation_input_tokens: wire.cache_creation_input_tokens,
                    cache_read_input_tokens: wire.cache_read_input_tokens,
                    extra: Extra::new(),
                }
            }
            None => DeltaUsage::default(),
        };
        Wire::MessageDelta {
            delta: MessageDeltaBody {
                stop_reason: Some(stop_reason),
                stop_sequence,
                extra: Extra::new(),
            },
            usage,
        }
    }

    /// The index of an open block of `kind`, opening one (and closing another) if needed.
    fn ensure_open(&mut self, kind: Open, out: &mut Vec<Wire>) -> u32 {
        if let Some((index, open)) = self.open
            && open == kind
        {
            return index;
        }
        self.close(out);
        let index = self.next_block;
        self.next_block += 1;
        self.open = Some((index, kind));
        let content_block = match kind {
            Open::Thinking => ContentBlock::Thinking {
                thinking: String::new(),
                signature: String::new(),
                extra: Extra::new(),
            },
            Open::Text | Open::Tool(_) => ContentBlock::text(""),
        };
        out.push(Wire::ContentBlockStart {
            index,
            content_block,
        });
        index
    }

    fn close(&mut self, out: &mut Vec<Wire>) {
        if let Some((index, _)) = self.open.take() {
            out.push(Wire::ContentBlockStop { index });
        }
    }
}

/// `(event name, JSON payload)` of a wire event.
pub fn event_json(event: &Wire) -> (&'static str, Value) {
    (
        event.name(),
        serde_json::to_value(event).unwrap_or(Value::Null),
    )
}

/// Wire events as SSE bytes, `event:` set to each event's type as Anthropic does.
pub fn encode_sse(events: &[Wire]) -> Bytes {
    let mut out = Vec::new();
    for event in events {
        let data = serde_json::to_string(event).unwrap_or_default();
        out.extend_from_slice(&encode_event(Some(event.name()), &data));
    }
    Bytes::from(out)
}
