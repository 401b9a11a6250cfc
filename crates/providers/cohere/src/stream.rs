//! One `/v2/chat` stream decoded into canonical events. Events are told apart by their JSON
//! `type`; `message-end` carries the finish reason and usage and marks a complete stream.

use forge_core::Error;
use forge_core::adapter::StreamDecoder;
use forge_core::canonical::StreamEvent;
use forge_core::sse::SseEvent;
use serde_json::Value;

use crate::adapter::CohereAdapter;
use crate::convert::{finish_reason, usage};
use crate::wire;

pub struct ChatStream {
    adapter: CohereAdapter,
    model: String,
    created: u64,
    started: bool,
    complete: bool,
}

impl ChatStream {
    pub fn new(adapter: CohereAdapter, model: &str, created: u64) -> Self {
        ChatStream {
            adapter,
            model: model.to_owned(),
            created,
            started: false,
            complete: false,
        }
    }

    fn start(&mut self, id: Option<String>, out: &mut Vec<StreamEvent>) {
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start {
                id: id.unwrap_or_default(),
                model: self.model.clone(),
                created: self.created,
            });
        }
    }
}

impl StreamDecoder for ChatStream {
    fn decode(&mut self, ev: &SseEvent) -> Result<Vec<StreamEvent>, Error> {
        let data = ev.data.trim();
        if data.is_empty() || data == "[DONE]" {
            return Ok(Vec::new());
        }
        let event: wire::StreamEvent = match serde_json::from_str(data) {
            Ok(event) => event,
            // Not an event: an error Cohere sent mid-stream (`{"message": ...}`).
            Err(_) => return Err(self.adapter.stream_error(data.as_bytes())),
        };
        let mut out = Vec::new();
        let delta = &event.delta;
        let text = |pointer: &str| {
            delta
                .pointer(pointer)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        match event.kind.as_str() {
            "message-start" => self.start(event.id, &mut out),
            "content-start" | "content-delta" => {
                self.start(None, &mut out);
                if let Some(thinking) = text("/message/content/thinking") {
                    out.push(StreamEvent::ReasoningDelta {
                        text: thinking,
                        signature: None,
                    });
                } else if let Some(text) = text("/message/content/text") {
                    out.push(StreamEvent::TextDelta { text });
                }
            }
            "tool-plan-delta" => {
                self.start(None, &mut out);
                if let Some(plan) = text("/message/tool_plan") {
                    out.push(StreamEvent::ReasoningDelta {
                        text: plan,
                        signature: None,
                    });
                }
            }
            "tool-call-start" => {
                self.start(None, &mut out);
                let index = event.index.unwrap_or(0);
                out.push(StreamEvent::ToolCallStart {
                    index,
                    id: text("/message/tool_calls/id").unwrap_or_else(|| format!("call_{index}")),
                    name: text("/message/tool_calls/function/name").unwrap_or_default(),
                });
                if let Some(arguments) = text("/message/tool_calls/function/arguments") {
                    out.push(StreamEvent::ToolCallArgumentsDelta {
                        index,
                        fragment: arguments,
                    });
                }
            }
            "tool-call-delta" => {
                if let Some(fragment) = text("/message/tool_calls/function/arguments") {
                    out.push(StreamEvent::ToolCallArgumentsDelta {
                        index: event.index.unwrap_or(0),
                        fragment,
                    });
                }
            }
            "message-end" => {
                self.start(None, &mut out);
                if let Some(reported) = delta
                    .get("usage")
                    .and_then(|u| serde_json::from_value::<wire::Usage>(u.clone()).ok())
                {
                    out.push(StreamEvent::Usage(usage(&reported)));
                }
                let reason = text("/finish_reason").unwrap_or_else(|| "COMPLETE".to_owned());
                if reason == "ERROR" {
                    return Err(self.adapter.stream_error(data.as_bytes()));
                }
                out.push(StreamEvent::Finish {
                    reason: finish_reason(&reason),
                });
                self.complete = true;
            }
            // content-end, tool-call-end, citation-start/-end: nothing to pass on.
            _ => {}
        }
        Ok(out)
    }

    fn complete(&self) -> bool {
        self.complete
    }
}
