//! Events of a streamed response (`stream: true`), one per SSE event; the SSE `event:`
//! name equals the payload's `type`, and every event carries a `sequence_number`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ContentPart, Item, ResponseObject, SummaryText};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum StreamEvent {
    #[serde(rename = "response.created")]
    Created {
        response: Box<ResponseObject>,
        sequence_number: u64,
    },
    #[serde(rename = "response.in_progress")]
    InProgress {
        response: Box<ResponseObject>,
        sequence_number: u64,
    },
    #[serde(rename = "response.completed")]
    Completed {
        response: Box<ResponseObject>,
        sequence_number: u64,
    },
    #[serde(rename = "response.incomplete")]
    Incomplete {
        response: Box<ResponseObject>,
        sequence_number: u64,
    },
    #[serde(rename = "response.failed")]
    Failed {
        response: Box<ResponseObject>,
        sequence_number: u64,
    },
    #[serde(rename = "response.output_item.added")]
    OutputItemAdded {
        output_index: usize,
        item: Item,
        sequence_number: u64,
    },
    #[serde(rename = "response.output_item.done")]
    OutputItemDone {
        output_index: usize,
        item: Item,
        sequence_number: u64,
    },
    #[serde(rename = "response.content_part.added")]
    ContentPartAdded {
        item_id: String,
        output_index: usize,
        content_index: usize,
        part: ContentPart,
        sequence_number: u64,
    },
    #[serde(rename = "response.content_part.done")]
    ContentPartDone {
        item_id: String,
        output_index: usize,
        content_index: usize,
        part: ContentPart,
        sequence_number: u64,
    },
    #[serde(rename = "response.output_text.delta")]
    OutputTextDelta {
        item_id: String,
        output_index: usize,
        content_index: usize,
        delta: String,
        #[serde(default)]
        logprobs: Vec<Value>,
        sequence_number: u64,
    },
    #[serde(rename = "response.output_text.done")]
    OutputTextDone {
        item_id: String,
        output_index: usize,
        content_index: usize,
        text: String,
        #[serde(default)]
        logprobs: Vec<Value>,
        sequence_number: u64,
    },
    #[serde(rename = "response.function_call_arguments.delta")]
    FunctionCallArgumentsDelta {
        item_id: String,
        output_index: usize,
        delta: String,
        sequence_number: u64,
    },
    #[serde(rename = "response.function_call_arguments.done")]
    FunctionCallArgumentsDone {
        item_id: String,
        output_index: usize,
        name: String,
        arguments: String,
        sequence_number: u64,
    },
    #[serde(rename = "response.reasoning_summary_part.added")]
    ReasoningSummaryPartAdded {
        item_id: String,
        output_index: usize,
        summary_index: usize,
        part: SummaryText,
        sequence_number: u64,
    },
    #[serde(rename = "response.reasoning_summary_text.delta")]
    ReasoningSummaryTextDelta {
        item_id: String,
        output_index: usize,
        summary_index: usize,
        delta: String,
        sequence_number: u64,
    },
    #[serde(rename = "response.reasoning_summary_text.done")]
    ReasoningSummaryTextDone {
        item_id: String,
        output_index: usize,
        summary_index: usize,
        text: String,
        sequence_number: u64,
    },
    #[serde(rename = "response.reasoning_summary_part.done")]
    ReasoningSummaryPartDone {
        item_id: String,
        output_index: usize,
        summary_index: usize,
        part: SummaryText,
        sequence_number: u64,
    },
    /// A failure before the response exists (after it, `response.failed` is sent).
    #[serde(rename = "error")]
    Error {
        code: Option<String>,
        message: String,
        param: Option<String>,
        sequence_number: u64,
    },
}

impl StreamEvent {
    /// The SSE `event:` name, which OpenAI sets to the payload's `type`.
    pub fn name(&self) -> &'static str {
        match self {
            StreamEvent::Created { .. } => "response.created",
            StreamEvent::InProgress { .. } => "response.in_progress",
            StreamEvent::Completed { .. } => "response.completed",
            StreamEvent::Incomplete { .. } => "response.incomplete",
            StreamEvent::Failed { .. } => "response.failed",
            StreamEvent::OutputItemAdded { .. } => "response.output_item.added",
            StreamEvent::OutputItemDone { .. } => "response.output_item.done",
            StreamEvent::ContentPartAdded { .. } => "response.content_part.added",
            StreamEvent::ContentPartDone { .. } => "response.content_part.done",
            StreamEvent::OutputTextDelta { .. } => "response.output_text.delta",
            StreamEvent::OutputTextDone { .. } => "response.output_text.done",
            StreamEvent::FunctionCallArgumentsDelta { .. } => {
                "response.function_call_arguments.delta"
            }
            StreamEvent::FunctionCallArgumentsDone { .. } => {
                "response.function_call_arguments.done"
            }
            StreamEvent::ReasoningSummaryPartAdded { .. } => {
                "response.reasoning_summary_part.added"
            }
            StreamEvent::ReasoningSummaryTextDelta { .. } => {
                "response.reasoning_summary_text.delta"
            }
            StreamEvent::ReasoningSummaryTextDone { .. } => "response.reasoning_summary_text.done",
            StreamEvent::ReasoningSummaryPartDone { .. } => "response.reasoning_summary_part.done",
            StreamEvent::Error { .. } => "error",
        }
    }

    pub fn sequence_number(&self) -> u64 {
        match self {
            StreamEvent::Created {
                sequence_number, ..
            }
            | StreamEvent::InProgress {
                sequence_number, ..
            }
            | StreamEvent::Completed {
                sequence_number, ..
            }
            | StreamEvent::Incomplete {
                sequence_number, ..
            }
            | StreamEvent::Failed {
                sequence_number, ..
            }
            | StreamEvent::OutputItemAdded {
                sequence_number, ..
            }
            | StreamEvent::OutputItemDone {
                sequence_number, ..
            }
            | StreamEvent::ContentPartAdded {
                sequence_number, ..
            }
            | StreamEvent::ContentPartDone {
                sequence_number, ..
            }
            | StreamEvent::OutputTextDelta {
                sequence_number, ..
            }
            | StreamEvent::OutputTextDone {
                sequence_number, ..
            }
            | StreamEvent::FunctionCallArgumentsDelta {
                sequence_number, ..
            }
            | StreamEvent::FunctionCallArgumentsDone {
                sequence_number, ..
            }
            | StreamEvent::ReasoningSummaryPartAdded {
                sequence_number, ..
            }
            | StreamEvent::ReasoningSummaryTextDelta {
                sequence_number, ..
            }
            | StreamEvent::ReasoningSummaryTextDone {
                sequence_number, ..
            }
            | StreamEvent::ReasoningSummaryPartDone {
                sequence_number, ..
            }
            | StreamEvent::Error {
                sequence_number, ..
            } => *sequence_number,
        }
    }
}
