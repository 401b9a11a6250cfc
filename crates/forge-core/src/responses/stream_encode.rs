//! Canonical stream events -> the Responses API event sequence.
//!
//! Output items are streamed one at a time: an item is added, filled with deltas and
//! finished before the next is added, so an item closes whenever the kind of content
//! changes, a new tool call starts or a signature ends a reasoning block. The terminal
//! `response.completed` / `response.incomplete` waits for `finish()`, when the usage is
//! final (upstreams send it after the finish reason, sometimes more than once).

use std::collections::HashMap;

use bytes::Bytes;
use serde_json::Value;

use super::convert::{
    base_response, function_call_item, item_status, message_item, reasoning_item, response_error,
    status_for, usage_from_canonical,
};
use super::ids::item_id;
use super::{
    ContentPart as WirePart, Item, ResponseObject, ResponsesRequest, Status, StreamEvent as Wire,
    SummaryText,
};
use crate::canonical::{ChatResponse, ContentPart, FinishReason, StreamEvent, Usage};
use crate::error::Error;
use crate::sse::encode_event;

#[derive(Debug)]
enum Open {
    Message {
        output_index: usize,
        item_id: String,
        text: String,
    },
    Reasoning {
        output_index: usize,
        item_id: String,
        text: String,
        /// Whether `reasoning_summary_part.added` was sent (only once text arrives).
        part_open: bool,
        signature: Option<String>,
    },
    Tool {
        output_index: usize,
        /// The canonical tool-call index.
        index: u32,
        call: super::FunctionCallItem,
    },
}

/// Per-stream state of one translated Responses stream.
#[derive(Debug)]
pub struct StreamEncoder {
    /// The response frame: request echo, id, `created_at` once started.
    frame: ResponseObject,
    next_sequence: u64,
    started: bool,
    stopped: bool,
    upstream_model: String,
    /// Output items by output index; in-progress items hold their `added` form.
    items: Vec<Item>,
    open: Option<Open>,
    /// Canonical tool index -> output index, for tool calls already given an item.
    tools: HashMap<u32, usize>,
    /// The answer in canonical form, for storing the conversation afterwards.
    content: Vec<ContentPart>,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
    final_response: Option<ResponseObject>,
}

impl StreamEncoder {
    /// `response_id` comes from `new_response_id`; item ids are derived from it.
    pub fn new(req: &ResponsesRequest, response_id: &str) -> Self {
        StreamEncoder {
            frame: base_response(req, response_id, 0, Status::InProgress),
            next_sequence: 0,
            started: false,
            stopped: false,
            upstream_model: req.model.clone(),
            items: Vec::new(),
            open: None,
            tools: HashMap::new(),
            content: Vec::new(),
            finish: None,
            usage: None,
            final_response: None,
        }
    }

    pub fn started(&self) -> bool {
        self.started
    }

    /// Responses events for one canonical event. Events before the first `Start` render
    /// nothing (the stream has no `created_at` yet); repeated `Start`s are ignored.
    pub fn push(&mut self, event: &StreamEvent) -> Vec<Wire> {
        let mut out = Vec::new();
        if self.stopped {
            return out;
        }
        if let StreamEvent::Start { model, created, .. } = event {
            if !self.started {
                self.started = true;
                self.frame.created_at = *created;
                self.upstream_model = model.clone();
                let response = Box::new(self.frame.clone());
                let seq = self.seq();
                out.push(Wire::Created {
                    response: response.clone(),
                    sequence_number: seq,
                });
                let seq = self.seq();
                out.push(Wire::InProgress {
                    response,
                    sequence_number: seq,
                });
            }
            return out;
        }
        if !self.started {
            return out;
        }
        match event {
            StreamEvent::Start { .. } => {}
            StreamEvent::TextDelta { text } => {
                if !text.is_empty() {
                    self.text_delta(text, &mut out);
                }
            }
            StreamEvent::ReasoningDelta { text, signature } => {
                if text.is_empty() && signature.is_none() {
                    return out;
                }
                self.reasoning_delta(text, signature.as_deref(), &mut out);
            }
            StreamEvent::RedactedReasoning { data } => {
                self.close(&mut out);
                let output_index = self.items.len();
                let id = item_id("rs", &self.frame.id, output_index);
                let item = Item::Reasoning(reasoning_item(id, "", Some(data.clone())));
                self.items.push(item.clone());
                self.content
                    .push(ContentPart::RedactedReasoning { data: data.clone() });
                let seq = self.seq();
                out.push(Wire::OutputItemAdded {
                    output_index,
                    item: item.clone(),
                    sequence_number: seq,
                });
                let seq = self.seq();
                out.push(Wire::OutputItemDone {
                    output_index,
                    item,
                    sequence_number: seq,
                });
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                if self.tools.contains_key(index) {
                    return out;
                }
                self.close(&mut out);
                let output_index = self.items.len();
                let call = function_call_item(
                    &self.frame.id,
                    output_index,
                    id,
                    name,
                    String::new(),
                    Status::InProgress,
                    &self.frame.tools,
                );
                self.tools.insert(*index, output_index);
                self.items.push(Item::FunctionCall(call.clone()));
                let seq = self.seq();
                out.push(Wire::OutputItemAdded {
                    output_index,
                    item: Item::FunctionCall(call.clone()),
                    sequence_number: seq,
                });
                self.open = Some(Open::Tool {
                    output_index,
                    index: *index,
                    call,
                });
            }
            StreamEvent::ToolCallArgumentsDelta { index, fragment } => {
                // Fragments of a call whose item is already done cannot be sent (no upstream
                // interleaves tool-call arguments).
                let seq = self.next_sequence;
                if let Some(Open::Tool {
                    output_index,
                    index: open,
                    call,
                }) = &mut self.open
                    && *open == *index
                    && !fragment.is_empty()
                {
                    call.arguments.push_str(fragment);
                    out.push(Wire::FunctionCallArgumentsDelta {
                        item_id: call.id.clone().unwrap_or_default(),
                        output_index: *output_index,
                        delta: fragment.clone(),
                        sequence_number: seq,
                    });
                    self.next_sequence += 1;
                }
            }
            StreamEvent::Finish { reason } => {
                self.finish = Some(reason.clone());
                self.close(&mut out);
            }
            StreamEvent::Usage(usage) => self.usage = Some(*usage),
        }
        out
    }

    /// Ends the stream: the open item, then `response.completed` (or `response.incomplete`
    /// for a truncated or filtered answer) with the whole response and its usage. Nothing
    /// if the stream never started or is already finished.
    pub fn finish(&mut self) -> Vec<Wire> {
        let mut out = Vec::new();
        if !self.started || self.stopped {
            return out;
        }
        self.close(&mut out);
        self.stopped = true;
        let (status, incomplete_details) = status_for(self.finish.as_ref());
        let mut response = self.frame.clone();
        response.status = status;
        response.incomplete_details = incomplete_details;
        response.output = self.items.clone();
        response.usage = Some(usage_from_canonical(&self.usage.unwrap_or_default()));
        self.final_response = Some(response.clone());
        let response = Box::new(response);
        let sequence_number = self.seq();
        out.push(match status {
            Status::Incomplete => Wire::Incomplete {
                response,
                sequence_number,
            },
            _ => Wire::Completed {
                response,
                sequence_number,
            },
        });
        out
    }

    /// The event for a failure: `response.failed` (with the output so far) once the stream
    /// has started, else an `error` event. Either ends the stream.
    pub fn error(&mut self, err: &Error) -> Wire {
        let started = self.started && !self.stopped;
        self.stopped = true;
        let sequence_number = self.seq();
        if !started {
            let body = err.to_openai_body().error;
            return Wire::Error {
                code: body.code.or(Some(body.r#type)),
                message: body.message,
                param: body.param,
                sequence_number,
            };
        }
        let mut response = self.frame.clone();
        response.status = Status::Failed;
        response.error = Some(response_error(err));
        response.output = self.items.clone();
        response.usage = self.usage.as_ref().map(usage_from_canonical);
        Wire::Failed {
            response: Box::new(response),
            sequence_number,
        }
    }

    /// The response sent in the terminal event, once `finish()` has run.
    pub fn final_response(&self) -> Option<&ResponseObject> {
        self.final_response.as_ref()
    }

    /// The streamed answer in canonical form (for `conversation_after`), once `finish()` has
    /// run; its id is the response id and its model the upstream's.
    pub fn canonical_response(&self) -> Option<ChatResponse> {
        let done = self.final_response.as_ref()?;
        Some(ChatResponse {
            id: done.id.clone(),
            model: self.upstream_model.clone(),
            created: done.created_at,
            content: self.content.clone(),
            finish_reason: self.finish.clone().unwrap_or(FinishReason::Stop),
            usage: self.usage.unwrap_or_default(),
            extra: Default::default(),
        })
    }

    fn seq(&mut self) -> u64 {
        let n = self.next_sequence;
        self.next_sequence += 1;
        n
    }

    fn text_delta(&mut self, text: &str, out: &mut Vec<Wire>) {
        if !matches!(self.open, Some(Open::Message { .. })) {
            self.close(out);
            let output_index = self.items.len();
            let id = item_id("msg", &self.frame.id, output_index);
            let item = Item::Message(message_item(
                id.clone(),
                Vec::new(),
                Status::InProgress.as_str().to_owned(),
            ));
            self.items.push(item.clone());
            let seq = self.seq();
            out.push(Wire::OutputItemAdded {
                output_index,
                item,
                sequence_number: seq,
            });
            let seq = self.seq();
            out.push(Wire::ContentPartAdded {
                item_id: id.clone(),
                output_index,
                content_index: 0,
                part: WirePart::output_text(""),
                sequence_number: seq,
            });
            self.open = Some(Open::Message {
                output_index,
                item_id: id,
                text: String::new(),
            });
        }
        let seq = self.next_sequence;
        if let Some(Open::Message {
            output_index,
            item_id,
            text: buffer,
        }) = &mut self.open
        {
            buffer.push_str(text);
            out.push(Wire::OutputTextDelta {
                item_id: item_id.clone(),
                output_index: *output_index,
                content_index: 0,
                delta: text.to_owned(),
                logprobs: Vec::new(),
                sequence_number: seq,
            });
            self.next_sequence += 1;
        }
    }

    fn reasoning_delta(&mut self, text: &str, signature: Option<&str>, out: &mut Vec<Wire>) {
        if !matches!(self.open, Some(Open::Reasoning { .. })) {
            self.close(out);
            let output_index = self.items.len();
            let id = item_id("rs", &self.frame.id, output_index);
            let item = Item::Reasoning(reasoning_item(id.clone(), "", None));
            self.items.push(item.clone());
            let seq = self.seq();
            out.push(Wire::OutputItemAdded {
                output_index,
                item,
                sequence_number: seq,
            });
            self.open = Some(Open::Reasoning {
                output_index,
                item_id: id,
                text: String::new(),
                part_open: false,
                signature: None,
            });
        }
        let mut seq = self.next_sequence;
        if let Some(Open::Reasoning {
            output_index,
            item_id,
            text: buffer,
            part_open,
            signature: sig,
        }) = &mut self.open
        {
            if !text.is_empty() {
                if !*part_open {
                    *part_open = true;
                    out.push(Wire::ReasoningSummaryPartAdded {
                        item_id: item_id.clone(),
                        output_index: *output_index,
                        summary_index: 0,
                        part: SummaryText::new(""),
                        sequence_number: seq,
                    });
                    seq += 1;
                }
                buffer.push_str(text);
                out.push(Wire::ReasoningSummaryTextDelta {
                    item_id: item_id.clone(),
                    output_index: *output_index,
                    summary_index: 0,
                    delta: text.to_owned(),
                    sequence_number: seq,
                });
                seq += 1;
            }
            if let Some(s) = signature {
                sig.get_or_insert_with(String::new).push_str(s);
            }
        }
        self.next_sequence = seq;
        if signature.is_some() {
            self.close(out);
        }
    }

    /// Finishes the open item, if any.
    fn close(&mut self, out: &mut Vec<Wire>) {
        let Some(open) = self.open.take() else {
            return;
        };
        let (status, _) = status_for(self.finish.as_ref());
        match open {
            Open::Message {
                output_index,
                item_id,
                text,
            } => {
                let part = WirePart::output_text(text.clone());
                let seq = self.seq();
                out.push(Wire::OutputTextDone {
                    item_id: item_id.clone(),
                    output_index,
                    content_index: 0,
                    text: text.clone(),
                    logprobs: Vec::new(),
                    sequence_number: seq,
                });
                let seq = self.seq();
                out.push(Wire::ContentPartDone {
                    item_id: item_id.clone(),
                    output_index,
                    content_index: 0,
                    part: part.clone(),
                    sequence_number: seq,
                });
                let item = Item::Message(message_item(item_id, vec![part], item_status(status)));
                self.content.push(ContentPart::Text { text });
                self.done(output_index, item, out);
            }
            Open::Reasoning {
                output_index,
                item_id,
                text,
                part_open,
                signature,
            } => {
                if part_open {
                    let seq = self.seq();
                    out.push(Wire::ReasoningSummaryTextDone {
                        item_id: item_id.clone(),
                        output_index,
                        summary_index: 0,
                        text: text.clone(),
                        sequence_number: seq,
                    });
                    let seq = self.seq();
                    out.push(Wire::ReasoningSummaryPartDone {
                        item_id: item_id.clone(),
                        output_index,
                        summary_index: 0,
                        part: SummaryText::new(text.clone()),
                        sequence_number: seq,
                    });
                }
                let item = Item::Reasoning(reasoning_item(item_id, &text, signature.clone()));
                self.content
                    .push(ContentPart::Reasoning { text, signature });
                self.done(output_index, item, out);
            }
            Open::Tool {
                output_index,
                mut call,
                ..
            } => {
                let seq = self.seq();
                out.push(Wire::FunctionCallArgumentsDone {
                    item_id: call.id.clone().unwrap_or_default(),
                    output_index,
                    name: call.name.clone(),
                    arguments: call.arguments.clone(),
                    sequence_number: seq,
                });
                call.status = Some(Status::Completed.as_str().to_owned());
                // The stored conversation keeps the name the upstream knows (a namespaced
                // tool's flat name), as the non-streamed path does.
                let name = match call.extra.get("namespace").and_then(Value::as_str) {
                    Some(namespace) => super::convert::flat_tool_name(namespace, &call.name),
                    None => call.name.clone(),
                };
                self.content.push(ContentPart::ToolCall {
                    id: call.call_id.clone(),
                    name,
                    arguments: call.arguments.clone(),
                });
                self.done(output_index, Item::FunctionCall(call), out);
            }
        }
    }

    fn done(&mut self, output_index: usize, item: Item, out: &mut Vec<Wire>) {
        if let Some(slot) = self.items.get_mut(output_index) {
            *slot = item.clone();
        }
        let seq = self.seq();
        out.push(Wire::OutputItemDone {
            output_index,
            item,
            sequence_number: seq,
        });
    }
}

/// `(event name, JSON payload)` of a wire event.
pub fn event_json(event: &Wire) -> (&'static str, Value) {
    (
        event.name(),
        serde_json::to_value(event).unwrap_or(Value::Null),
    )
}

/// Wire events as SSE bytes, `event:` set to each event's type as OpenAI does.
pub fn encode_sse(events: &[Wire]) -> Bytes {
    let mut out = Vec::new();
    for event in events {
        let data = serde_json::to_string(event).unwrap_or_default();
        out.extend_from_slice(&encode_event(Some(event.name()), &data));
    }
    Bytes::from(out)
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
