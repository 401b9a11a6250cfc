//! Canonical stream events -> `streamGenerateContent?alt=sse` chunks.
//!
//! Gemini sends each `functionCall` part whole, so argument fragments are buffered until
//! the calls are complete (the next non-tool event or the finish). The last chunk carries
//! `finishReason` and `usageMetadata`, as Google's does.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::convert::{chunk_parts_from_canonical, finish_from_canonical, usage_from_canonical};
use super::{Candidate, Content, Extra, GenerateContentResponse, Part};
use crate::canonical::{ContentPart, FinishReason, StreamEvent, Usage};

/// A tool call whose arguments are still arriving.
#[derive(Debug, Clone)]
struct OpenCall {
    id: String,
    name: String,
    arguments: String,
}

#[derive(Debug, Clone, Default)]
pub struct StreamEncoder {
    /// Response id and model of the first `Start`; nothing renders before it.
    head: Option<(String, String)>,
    calls: BTreeMap<u32, OpenCall>,
    /// A text-less thought signature waiting for the next part.
    pending_signature: Option<String>,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
}

impl StreamEncoder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, event: &StreamEvent) -> Vec<GenerateContentResponse> {
        if let StreamEvent::Start { id, model, .. } = event {
            if self.head.is_none() {
                self.head = Some((id.clone(), model.clone()));
            }
            return Vec::new();
        }
        if self.head.is_none() {
            return Vec::new();
        }
        let mut out = Vec::new();
        match event {
            StreamEvent::Start { .. } | StreamEvent::RedactedReasoning { .. } => {}
            StreamEvent::TextDelta { text } => {
                out.extend(self.flush_calls());
                if !text.is_empty() {
                    out.push(self.content_chunk(vec![ContentPart::Text { text: text.clone() }]));
                }
            }
            StreamEvent::ReasoningDelta { text, signature } => {
                out.extend(self.flush_calls());
                if text.is_empty() {
                    if signature.is_some() {
                        self.pending_signature = signature.clone();
                    }
                } else {
                    out.push(self.content_chunk(vec![ContentPart::Reasoning {
                        text: text.clone(),
                        signature: signature.clone(),
                    }]));
                }
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                self.calls.insert(
                    *index,
                    OpenCall {
                        id: id.clone(),
                        name: name.clone(),
                        arguments: String::new(),
                    },
                );
            }
            StreamEvent::ToolCallArgumentsDelta { index, fragment } => {
                if let Some(call) = self.calls.get_mut(index) {
                    call.arguments.push_str(fragment);
                }
            }
            StreamEvent::Finish { reason } => {
                out.extend(self.flush_calls());
                self.finish = Some(reason.clone());
            }
            StreamEvent::Usage(usage) => self.usage = Some(*usage),
        }
        out
    }

    /// Ends the stream: buffered calls, then the chunk with `finishReason` and usage.
    pub fn finish(&mut self) -> Vec<GenerateContentResponse> {
        if self.head.is_none() {
            return Vec::new();
        }
        let mut out: Vec<GenerateContentResponse> = self.flush_calls().into_iter().collect();
        if self.finish.is_none() && self.usage.is_none() && self.pending_signature.is_none() {
            return out;
        }
        let mut parts = chunk_parts_from_canonical(&self.with_signature(Vec::new()));
        if parts.is_empty() {
            parts.push(Part::text(""));
        }
        let mut chunk = self.chunk(parts);
        if let Some(c) = chunk.candidates.first_mut() {
            c.finish_reason = self.finish.take().map(|r| finish_from_canonical(&r));
        }
        chunk.usage_metadata = self.usage.take().map(|u| usage_from_canonical(&u));
        out.push(chunk);
        out
    }

    fn flush_calls(&mut self) -> Option<GenerateContentResponse> {
        if self.calls.is_empty() {
            return None;
        }
        let parts = std::mem::take(&mut self.calls)
            .into_values()
            .map(|c| ContentPart::ToolCall {
                id: c.id,
                name: c.name,
                arguments: c.arguments,
            })
            .collect();
        Some(self.content_chunk(parts))
    }

    fn with_signature(&mut self, mut parts: Vec<ContentPart>) -> Vec<ContentPart> {
        if let Some(sig) = self.pending_signature.take() {
            parts.insert(
                0,
                ContentPart::Reasoning {
                    text: String::new(),
                    signature: Some(sig),
                },
            );
        }
        parts
    }

    fn content_chunk(&mut self, parts: Vec<ContentPart>) -> GenerateContentResponse {
        let parts = self.with_signature(parts);
        self.chunk(chunk_parts_from_canonical(&parts))
    }

    fn chunk(&self, parts: Vec<Part>) -> GenerateContentResponse {
        let (id, model) = self.head.clone().unwrap_or_default();
        GenerateContentResponse {
            candidates: vec![Candidate {
                content: Some(Content {
                    role: Some("model".to_owned()),
                    parts,
                    extra: Extra::new(),
                }),
                finish_reason: None,
                index: Some(0),
                safety_ratings: None,
                extra: Extra::new(),
            }],
            prompt_feedback: None,
            usage_metadata: None,
            model_version: (!model.is_empty()).then_some(model),
            response_id: Some(id),
            extra: Extra::new(),
        }
    }
}

/// One chunk as Google frames it: `data: {json}` and a blank line, CRLF endings.
pub fn encode_sse(chunk: &GenerateContentResponse) -> Bytes {
    let json = serde_json::to_string(chunk).unwrap_or_else(|_| "{}".to_owned());
    Bytes::from(format!("data: {json}\r\n\r\n"))
}
