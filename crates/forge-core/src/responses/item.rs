//! Conversation items, shared by the request's `input` and the response's `output`: the
//! Responses API accepts earlier output items back as input unchanged.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::Extra;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Item {
    Message(MessageItem),
    FunctionCall(FunctionCallItem),
    FunctionCallOutput(FunctionCallOutputItem),
    Reasoning(ReasoningItem),
    /// Item types this crate does not model (hosted tool calls, `item_reference`, …).
    #[serde(untagged)]
    Other(Value),
}

/// `Item` as tagged on the wire, for deserialising after the `type` default is applied.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum TaggedItem {
    Message(MessageItem),
    FunctionCall(FunctionCallItem),
    FunctionCallOutput(FunctionCallOutputItem),
    Reasoning(ReasoningItem),
}

impl<'de> Deserialize<'de> for Item {
    /// A message may omit `type` (OpenAI's "easy input message"); an item of a type not
    /// modelled here is kept raw, but a modelled type with a malformed body is an error.
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let mut value = Value::deserialize(de)?;
        let Some(obj) = value.as_object_mut() else {
            return Err(serde::de::Error::custom(
                "an input item must be a JSON object",
            ));
        };
        if !obj.contains_key("type") && obj.contains_key("role") {
            obj.insert("type".to_owned(), Value::String("message".to_owned()));
        }
        let known = matches!(
            obj.get("type").and_then(Value::as_str),
            Some("message" | "function_call" | "function_call_output" | "reasoning")
        );
        if !known {
            return Ok(Item::Other(value));
        }
        let tagged = TaggedItem::deserialize(value).map_err(serde::de::Error::custom)?;
        Ok(match tagged {
            TaggedItem::Message(m) => Item::Message(m),
            TaggedItem::FunctionCall(c) => Item::FunctionCall(c),
            TaggedItem::FunctionCallOutput(o) => Item::FunctionCallOutput(o),
            TaggedItem::Reasoning(r) => Item::Reasoning(r),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    System,
    Developer,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub role: Role,
    pub content: MessageContent,
    /// `in_progress`, `completed` or `incomplete`; set on output messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MessageContent {
    Text(String),
    Parts(Vec<ContentPart>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    InputText {
        text: String,
    },
    InputImage {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image_url: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    InputFile {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_id: Option<String>,
        /// A `data:` URL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_data: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_url: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filename: Option<String>,
    },
    OutputText {
        text: String,
        #[serde(default)]
        annotations: Vec<Value>,
    },
    Refusal {
        refusal: String,
    },
    #[serde(untagged)]
    Other(Value),
}

impl ContentPart {
    /// An assistant `output_text` part without annotations.
    pub fn output_text(text: impl Into<String>) -> Self {
        ContentPart::OutputText {
            text: text.into(),
            annotations: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCallItem {
    /// The item id (`fc_…`); `call_id` is what the tool output refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub call_id: String,
    pub name: String,
    /// JSON text exactly as the model produced it.
    pub arguments: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCallOutputItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub call_id: String,
    pub output: FunctionOutput,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A tool's output: usually a string, or content parts (text, images, files).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FunctionOutput {
    Text(String),
    Parts(Vec<ContentPart>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReasoningItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub summary: Vec<SummaryText>,
    /// Opaque reasoning state. For translated upstreams this carries Anthropic's thinking
    /// signature (or, with an empty summary, a redacted thinking block) so a client that
    /// sends the item back continues the same reasoning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A `summary_text` part of a reasoning item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryText {
    #[serde(rename = "type", default = "summary_text_type")]
    pub r#type: String,
    pub text: String,
}

impl SummaryText {
    pub fn new(text: impl Into<String>) -> Self {
        SummaryText {
            r#type: summary_text_type(),
            text: text.into(),
        }
    }
}

fn summary_text_type() -> String {
    "summary_text".to_owned()
}
