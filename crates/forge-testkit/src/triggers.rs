//! Words in a prompt that make the Anthropic and Gemini fakes answer with tool calls, and the
//! arguments they invent, public so tests can compute the exact expected answer.
//!
//! The prompt is the text of the last user turn (text blocks / text parts only; tool results
//! do not count, so the turn after a tool call gets a plain text answer). Matching ignores case.
//!
//! * it contains [`TOOL_TRIGGER`] (`weather`) and the request declares tools: one tool call,
//!   to the first declared function;
//! * it contains [`PARALLEL_TRIGGER`] (`parallel`) and the request declares tools: two tool
//!   calls, to the first two declared functions (the first one twice when only one exists).

use serde_json::{Map, Value, json};

/// Prompt word that makes the fake call a tool (when tools are declared).
pub const TOOL_TRIGGER: &str = "weather";
/// Prompt word that makes the fake call two tools at once (when tools are declared).
pub const PARALLEL_TRIGGER: &str = "parallel";
/// Text of the fake's reasoning (Anthropic `thinking` blocks, Gemini `thought` parts).
pub const FAKE_THINKING: &str = "The user wants an answer. Thinking it through step by step.";
/// The signature sent with that reasoning (`signature` / `thoughtSignature`).
pub const FAKE_SIGNATURE: &str = "ZmFrZS10aGlua2luZy1zaWduYXR1cmU=";

/// How many tool calls a prompt asks for: 0, 1 or 2.
pub fn tool_calls_for(prompt: &str) -> usize {
    let prompt = prompt.to_lowercase();
    if prompt.contains(PARALLEL_TRIGGER) {
        2
    } else if prompt.contains(TOOL_TRIGGER) {
        1
    } else {
        0
    }
}

/// Invented arguments for call number `call` (0 or 1) of a tool whose parameters are the
/// JSON schema `schema`: every declared property gets a value of its type (a string is
/// `"Paris"` for call 0 and `"Tokyo"` for call 1, or the first `enum` value; integer and
/// number `1`; boolean `true`; array `[]`; object `{}`). No properties: `{}`.
pub fn fake_arguments(schema: &Value, call: usize) -> Value {
    let mut args = Map::new();
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            args.insert(name.clone(), fake_value(prop, call));
        }
    }
    Value::Object(args)
}

/// The calls to make: `(tool name, arguments)` for each of the `count` calls, taken from the
/// declared `tools` (name and parameter schema) in order, reusing the first when too few.
pub(crate) fn plan_calls(tools: &[(&str, &Value)], count: usize) -> Vec<(String, Value)> {
    (0..count)
        .filter_map(|call| {
            let (name, schema) = tools.get(call).or_else(|| tools.first())?;
            Some(((*name).to_owned(), fake_arguments(schema, call)))
        })
        .collect()
}

fn fake_value(prop: &Value, call: usize) -> Value {
    if let Some(first) = prop
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    let kind = prop
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("string")
        .to_ascii_lowercase();
    match kind.as_str() {
        "integer" | "number" => json!(1),
        "boolean" => json!(true),
        "array" => json!([]),
        "object" => json!({}),
        _ if call == 0 => json!("Paris"),
        _ => json!("Tokyo"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn counts_calls_from_words() {
        assert_eq!(tool_calls_for("What is the Weather in Paris?"), 1);
        assert_eq!(tool_calls_for("call them in PARALLEL"), 2);
        assert_eq!(tool_calls_for("hello"), 0);
    }

    #[test]
    fn invents_arguments_by_type() {
        let schema = json!({"type": "object", "properties": {
            "location": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "INTEGER"},
        }});
        assert_eq!(
            fake_arguments(&schema, 0),
            json!({"location": "Paris", "unit": "celsius", "days": 1})
        );
        assert_eq!(fake_arguments(&schema, 1)["location"], "Tokyo");
        assert_eq!(fake_arguments(&json!({}), 0), json!({}));
    }
}
