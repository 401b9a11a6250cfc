//! What a matrix cell asks, independent of dialect: each client dialect renders a [`Spec`] into
//! its own request, each upstream check reads it back out of the native request received.

use serde_json::{Value, json};

pub const SYSTEM: &str = "You are a terse assistant.";
pub const FIRST_QUESTION: &str = "Name a colour.";
pub const FIRST_ANSWER: &str = "Blue.";
pub const QUESTION: &str = "hello there";
/// Ends the default fake reply early: "Hello from fake upstream (model ...)".
pub const STOP_WORD: &str = "fake";
pub const TOOL_PROMPT: &str = "What is the weather in Paris?";
pub const PARALLEL_PROMPT: &str = "Get the weather and the time in parallel.";
pub const TOOL_RESULT: &str = "sunny, 24 degrees";
/// A 1x1 PNG.
pub const PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
pub const JSON_TOOL: &str = "record_answer";
pub const THINKING_BUDGET: u64 = 1024;

/// One turn of the conversation before the question.
#[derive(Debug, Clone)]
pub enum Turn {
    User(&'static str),
    Assistant(&'static str),
    /// The assistant called `get_weather` with `{"location": "Paris"}` as call `id`.
    ToolCall {
        id: &'static str,
    },
    /// The answer to that call.
    ToolResult {
        id: &'static str,
    },
}

#[derive(Debug, Clone, Default)]
pub struct Spec {
    pub system: Option<&'static str>,
    pub turns: Vec<Turn>,
    /// The last user message (absent when the conversation ends with a tool result).
    pub question: Option<&'static str>,
    pub image: bool,
    pub stop: Vec<&'static str>,
    pub max_tokens: Option<u64>,
    /// Declares `get_weather` and `get_time`.
    pub tools: bool,
    pub json: bool,
    pub reasoning: bool,
    pub stream: bool,
}

impl Spec {
    pub fn ask(question: &'static str) -> Spec {
        Spec {
            question: Some(question),
            ..Spec::default()
        }
    }
}

pub fn weather_schema() -> Value {
    json!({"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]})
}

pub fn time_schema() -> Value {
    json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
}

pub fn answer_schema() -> Value {
    json!({"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]})
}

pub fn weather_args() -> Value {
    json!({"location": "Paris"})
}

/// The tools a spec declares, as (name, description, schema).
pub fn tools() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "get_weather",
            "Current weather for a place",
            weather_schema(),
        ),
        ("get_time", "Local time in a city", time_schema()),
    ]
}

/// The fake upstreams' default reply up to the model name.
pub const FAKE_REPLY_PREFIX: &str = "Hello from fake upstream (model ";

/// The reply a fake upstream gives for `model`.
pub fn reply(model: &str) -> String {
    format!("{FAKE_REPLY_PREFIX}{model})")
}
