//! Round trips that must hold for any conversation: canonical → a dialect's wire JSON → back
//! to canonical keeps every turn's role and text, and a tool call's name, id and arguments.
#![allow(clippy::unwrap_used)]

use forge_core::anthropic::MessagesRequest;
use forge_core::anthropic::convert as anthropic;
use forge_core::canonical::{ChatRequest, ContentPart, Message, Role};
use forge_core::gemini::GenerateContentRequest;
use forge_core::gemini::convert as gemini;
use forge_core::openai::ChatCompletionRequest;
use forge_core::openai::convert as openai;
use proptest::prelude::*;

/// What a turn means, whatever the dialect's framing: role, text, tool calls and results.
#[derive(Debug, PartialEq)]
enum Turn {
    Text(Role, String),
    Call(String, String, serde_json::Value),
    Result(String),
}

fn turns(req: &ChatRequest) -> Vec<Turn> {
    let mut out = Vec::new();
    for m in &req.messages {
        for part in &m.content {
            match part {
                ContentPart::Text { text } => out.push(Turn::Text(m.role, text.clone())),
                ContentPart::ToolCall {
                    id,
                    name,
                    arguments,
                } => out.push(Turn::Call(
                    id.clone(),
                    name.clone(),
                    serde_json::from_str(arguments).unwrap(),
                )),
                ContentPart::ToolResult { content, .. } => {
                    let text = content
                        .iter()
                        .filter_map(|p| match p {
                            ContentPart::Text { text } => Some(text.as_str()),
                            _ => None,
                        })
                        .collect();
                    out.push(Turn::Result(text));
                }
                _ => {}
            }
        }
    }
    out
}

fn text() -> impl Strategy<Value = String> {
    // Non-blank text: every dialect drops or trims empty text parts.
    "[a-zA-Z0-9 .,!?é中]{0,40}[a-zA-Z0-9]"
}

/// A conversation: a system prompt, then user/assistant exchanges, some of them tool calls
/// answered by a result.
fn conversation() -> impl Strategy<Value = ChatRequest> {
    let exchange = (text(), text(), any::<bool>(), "[a-z_]{1,12}", 0u32..1000);
    (text(), prop::collection::vec(exchange, 1..5)).prop_map(|(system, exchanges)| {
        let mut messages = vec![Message::text_message(Role::System, system)];
        for (i, (asked, answered, tool, name, n)) in exchanges.into_iter().enumerate() {
            messages.push(Message::text_message(Role::User, asked));
            if tool {
                let id = format!("call_{i}");
                messages.push(Message::new(
                    Role::Assistant,
                    vec![ContentPart::ToolCall {
                        id: id.clone(),
                        name,
                        arguments: format!("{{\"n\":{n}}}"),
                    }],
                ));
                messages.push(Message::new(
                    Role::Tool,
                    vec![ContentPart::ToolResult {
                        call_id: id,
                        content: vec![ContentPart::Text {
                            text: answered.clone(),
                        }],
                    }],
                ));
            }
            messages.push(Message::text_message(Role::Assistant, answered));
        }
        ChatRequest::new("m", messages)
    })
}

/// Renders, goes through JSON text as on the wire, and parses back.
fn through<T: serde::Serialize + serde::de::DeserializeOwned>(wire: &T) -> T {
    serde_json::from_str(&serde_json::to_string(wire).unwrap()).unwrap()
}

proptest! {
    #[test]
    fn openai_round_trip(req in conversation()) {
        let wire: ChatCompletionRequest = through(&openai::chat_request_from_canonical(&req));
        let back = openai::chat_request_to_canonical(&wire).unwrap();
        prop_assert_eq!(turns(&back), turns(&req));
    }

    #[test]
    fn anthropic_round_trip(req in conversation()) {
        let wire: MessagesRequest = through(&anthropic::request_from_canonical(&req, 1024));
        let back = anthropic::request_to_canonical(&wire);
        prop_assert_eq!(turns(&back), turns(&req));
    }

    #[test]
    fn gemini_round_trip(req in conversation()) {
        let wire: GenerateContentRequest = through(&gemini::request_from_canonical(&req));
        let back = gemini::request_to_canonical("m", &wire).unwrap();
        // Gemini has no call ids (they are made up on the way back, in order), and a tool
        // result is an object: text travels as `{"output": text}`.
        let strip = |turns: Vec<Turn>| -> Vec<Turn> {
            turns.into_iter().map(|t| match t {
                Turn::Call(_, name, args) => Turn::Call(String::new(), name, args),
                Turn::Result(text) => match serde_json::from_str::<serde_json::Value>(&text) {
                    Ok(serde_json::Value::Object(o)) if o.len() == 1 && o["output"].is_string() => {
                        Turn::Result(o["output"].as_str().unwrap().to_owned())
                    }
                    _ => Turn::Result(text),
                },
                other => other,
            }).collect()
        };
        prop_assert_eq!(strip(turns(&back)), strip(turns(&req)));
    }
}
