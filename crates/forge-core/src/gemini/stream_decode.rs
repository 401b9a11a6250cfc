//! `streamGenerateContent?alt=sse` -> canonical stream events.
//!
//! Each SSE `data:` is a whole `GenerateContentResponse`. Text and thoughts arrive as
//! deltas, function calls arrive whole (so each becomes a start plus one arguments
//! fragment), and every chunk repeats the cumulative `usageMetadata`, so usage is reported
//! once: with the finish reason, or at `finish` from the last chunk that had it.

use super::GenerateContentResponse;
use super::convert::{
    call_id_for, chunk_parts_to_canonical, fallback_response_id, finish_to_canonical,
    usage_to_canonical,
};
use crate::canonical::{ContentPart, FinishReason, StreamEvent, Usage};
use crate::error::Error;

#[derive(Debug, Clone)]
pub struct StreamDecoder {
    model: String,
    created: u64,
    /// Set by the first chunk, which also emits `Start`.
    id: Option<String>,
    next_tool_index: u32,
    finished: bool,
    usage: Option<Usage>,
    usage_sent: bool,
}

impl StreamDecoder {
    /// `model` is used when chunks carry no `modelVersion`; `created` is the Unix time
    /// reported in `Start`.
    pub fn new(model: &str, created: u64) -> Self {
        StreamDecoder {
            model: model.to_owned(),
            created,
            id: None,
            next_tool_index: 0,
            finished: false,
            usage: None,
            usage_sent: false,
        }
    }

    /// Decodes one SSE `data:` payload; blank payloads give no events.
    pub fn push_data(&mut self, data: &str) -> Result<Vec<StreamEvent>, Error> {
        if data.trim().is_empty() {
            return Ok(Vec::new());
        }
        let chunk: GenerateContentResponse =
            serde_json::from_str(data).map_err(|e| Error::Upstream {
                provider: "gemini".to_owned(),
                status: 502,
                message: format!("unexpected response: a stream chunk could not be read ({e})"),
                retry_after: None,
                error_type: None,
                code: None,
            })?;
        Ok(self.push(&chunk))
    }

    pub fn push(&mut self, chunk: &GenerateContentResponse) -> Vec<StreamEvent> {
        let mut events = Vec::new();
        let id = match &self.id {
            Some(id) => id.clone(),
            None => {
                let id = chunk
                    .response_id
                    .clone()
                    .filter(|i| !i.is_empty())
                    .unwrap_or_else(fallback_response_id);
                if let Some(v) = chunk.model_version.as_ref().filter(|v| !v.is_empty()) {
                    self.model = v.clone();
                }
                events.push(StreamEvent::Start {
                    id: id.clone(),
                    model: self.model.clone(),
                    created: self.created,
                });
                self.id = Some(id.clone());
                id
            }
        };
        if let Some(u) = &chunk.usage_metadata {
            self.usage = Some(usage_to_canonical(u));
        }
        let candidate = chunk.candidates.iter().find(|c| c.index.unwrap_or(0) == 0);
        if let Some(content) = candidate.and_then(|c| c.content.as_ref()) {
            let first = self.next_tool_index as usize;
            let parts = chunk_parts_to_canonical(&content.parts, |i| call_id_for(&id, first + i));
            for part in parts {
                self.part_events(part, &mut events);
            }
        }
        let reason = match candidate {
            Some(c) => c.finish_reason.as_deref(),
            None => None,
        };
        let blocked = chunk.candidates.is_empty()
            && chunk
                .prompt_feedback
                .as_ref()
                .is_some_and(|f| f.block_reason.is_some());
        if !self.finished && (reason.is_some() || blocked) {
            self.finished = true;
            let reason = if blocked {
                FinishReason::ContentFilter
            } else {
                finish_to_canonical(reason, self.next_tool_index > 0)
            };
            events.push(StreamEvent::Finish { reason });
            if chunk.usage_metadata.is_some() {
                events.extend(self.take_usage());
            }
        }
        events
    }

    /// Ends the stream: the usage, if it was not reported with the finish reason.
    pub fn finish(&mut self) -> Vec<StreamEvent> {
        self.take_usage().into_iter().collect()
    }

    fn take_usage(&mut self) -> Option<StreamEvent> {
        if self.usage_sent {
            return None;
        }
        let usage = self.usage?;
        self.usage_sent = true;
        Some(StreamEvent::Usage(usage))
    }

    fn part_events(&mut self, part: ContentPart, events: &mut Vec<StreamEvent>) {
        match part {
            ContentPart::Text { text } | ContentPart::Refusal { text } if !text.is_empty() => {
                events.push(StreamEvent::TextDelta { text });
            }
            ContentPart::Reasoning { text, signature }
                if !text.is_empty() || signature.is_some() =>
            {
                events.push(StreamEvent::ReasoningDelta { text, signature });
            }
            ContentPart::ToolCall {
                id,
                name,
                arguments,
            } => {
                let index = self.next_tool_index;
                self.next_tool_index += 1;
                events.push(StreamEvent::ToolCallStart { index, id, name });
                events.push(StreamEvent::ToolCallArgumentsDelta {
                    index,
                    fragment: arguments,
                });
            }
            // Media and native parts have no stream event.
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
