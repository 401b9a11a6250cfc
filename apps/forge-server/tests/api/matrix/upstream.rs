//! What an upstream must have received, read out of its native request format: the checks a
//! cell makes on the fake's recorded request.

use forge_testkit::RecordedRequest;
use serde_json::{Value, json};

use super::fixture::Up;
use super::spec::{JSON_TOOL, PNG_B64, Spec, THINKING_BUDGET, TOOL_RESULT, weather_args};

/// Transport-level checks: endpoint, key header, model rewritten, stream flag.
pub fn check_envelope(up: Up, r: &RecordedRequest, key: &str, stream: bool) {
    let b = &r.body;
    assert_eq!(r.method, "POST");
    match up {
        Up::OpenAi => {
            assert_eq!(r.path, "/v1/chat/completions");
            assert_eq!(
                r.header("authorization"),
                Some(format!("Bearer {key}").as_str())
            );
            assert_eq!(b["model"], up.upstream_model(), "model rewritten: {b}");
            assert_eq!(b["stream"].as_bool().unwrap_or(false), stream, "{b}");
            if stream {
                assert_eq!(b["stream_options"]["include_usage"], true, "{b}");
            }
        }
        Up::Anthropic => {
            assert_eq!(r.path, "/v1/messages");
            assert_eq!(r.header("x-api-key"), Some(key));
            assert!(r.header("authorization").is_none());
            assert!(r.header("anthropic-version").is_some());
            assert_eq!(b["model"], up.upstream_model(), "model rewritten: {b}");
            assert!(
                b["max_tokens"].as_u64().is_some(),
                "max_tokens always set: {b}"
            );
            assert_eq!(b["stream"].as_bool().unwrap_or(false), stream, "{b}");
        }
        Up::Gemini => {
            let method = if stream {
                "streamGenerateContent"
            } else {
                "generateContent"
            };
            assert_eq!(
                r.path,
                format!("/v1beta/models/{}:{method}", up.upstream_model())
            );
            assert_eq!(r.header("x-goog-api-key"), Some(key));
            assert!(
                !r.query.contains("key="),
                "key never in the URL: {}",
                r.query
            );
            assert_eq!(r.query.contains("alt=sse"), stream, "{}", r.query);
            assert!(
                b.get("model").is_none_or(|m| m == up.upstream_model()),
                "{b}"
            );
        }
        Up::Cohere => {
            assert_eq!(r.path, "/v2/chat");
            assert_eq!(
                r.header("authorization"),
                Some(format!("Bearer {key}").as_str())
            );
            assert_eq!(b["model"], up.upstream_model(), "model rewritten: {b}");
            assert_eq!(b["stream"].as_bool().unwrap_or(false), stream, "{b}");
        }
    }
}

/// Messages / contents of the native request.
fn turns(up: Up, b: &Value) -> &Vec<Value> {
    match up {
        Up::OpenAi | Up::Anthropic | Up::Cohere => b["messages"].as_array().unwrap(),
        Up::Gemini => b["contents"].as_array().unwrap(),
    }
}

/// Roles in order, Gemini's `model` spelled `assistant`, system messages left out.
pub fn roles(up: Up, b: &Value) -> Vec<String> {
    turns(up, b)
        .iter()
        .map(|t| t["role"].as_str().unwrap_or("user"))
        .filter(|r| *r != "system" && *r != "developer")
        .map(|r| if r == "model" { "assistant" } else { r }.to_owned())
        .collect()
}

/// Text parts of one turn, joined.
fn turn_text(up: Up, t: &Value) -> String {
    let items = match up {
        Up::Gemini => &t["parts"],
        _ => &t["content"],
    };
    if let Some(s) = items.as_str() {
        return s.to_owned();
    }
    items
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["type"] == "text" || (up == Up::Gemini && p["text"].is_string()))
        .filter_map(|p| p["text"].as_str())
        .collect()
}

/// Texts of the non-system turns, in order.
pub fn texts(up: Up, b: &Value) -> Vec<String> {
    turns(up, b)
        .iter()
        .filter(|t| t["role"] != "system" && t["role"] != "developer")
        .map(|t| turn_text(up, t))
        .collect()
}

pub fn check_system(up: Up, b: &Value, system: &str) {
    match up {
        Up::OpenAi | Up::Cohere => {
            let first = &b["messages"][0];
            assert!(
                first["role"] == "system" || first["role"] == "developer",
                "{b}"
            );
            assert_eq!(turn_text(up, first), system, "{b}");
        }
        Up::Anthropic => {
            let got = match &b["system"] {
                Value::String(s) => s.clone(),
                Value::Array(blocks) => {
                    blocks.iter().map(|x| x["text"].as_str().unwrap()).collect()
                }
                other => panic!("system hoisted: {other} in {b}"),
            };
            assert_eq!(got, system);
        }
        Up::Gemini => {
            assert_eq!(b["systemInstruction"]["parts"][0]["text"], system, "{b}");
            assert!(
                b["systemInstruction"]
                    .get("role")
                    .is_none_or(|r| r == "user")
            );
        }
    }
    for role in roles(up, b) {
        assert!(
            role == "user" || role == "assistant" || role == "tool",
            "{b}"
        );
    }
}

pub fn check_no_system(up: Up, b: &Value) {
    match up {
        Up::OpenAi | Up::Cohere => assert!(
            b["messages"]
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m["role"] != "system"),
            "{b}"
        ),
        Up::Anthropic => assert!(b.get("system").is_none_or(Value::is_null), "{b}"),
        Up::Gemini => assert!(b.get("systemInstruction").is_none(), "{b}"),
    }
}

pub fn check_stop(up: Up, b: &Value, stop: &[&str]) {
    let got = match up {
        Up::OpenAi => match &b["stop"] {
            Value::String(s) => json!([s]),
            v => v.clone(),
        },
        Up::Anthropic | Up::Cohere => b["stop_sequences"].clone(),
        Up::Gemini => b["generationConfig"]["stopSequences"].clone(),
    };
    assert_eq!(got, json!(stop), "{b}");
}

pub fn check_max_tokens(up: Up, b: &Value, n: u64) {
    let got = match up {
        Up::OpenAi => b
            .get("max_completion_tokens")
            .or_else(|| b.get("max_tokens"))
            .cloned()
            .unwrap_or_default(),
        Up::Anthropic | Up::Cohere => b["max_tokens"].clone(),
        Up::Gemini => b["generationConfig"]["maxOutputTokens"].clone(),
    };
    assert_eq!(got, json!(n), "{b}");
}

/// Declared tools as (name, schema).
pub fn declared_tools(up: Up, b: &Value) -> Vec<(String, Value)> {
    let list = match up {
        Up::OpenAi | Up::Cohere => b["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                assert_eq!(t["type"], "function", "{t}");
                (
                    t["function"]["name"].clone(),
                    t["function"]["parameters"].clone(),
                )
            })
            .collect::<Vec<_>>(),
        Up::Anthropic => b["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["name"].clone(), t["input_schema"].clone()))
            .collect(),
        Up::Gemini => b["tools"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|t| t["functionDeclarations"].as_array().unwrap().clone())
            .map(|f| {
                let schema = f
                    .get("parametersJsonSchema")
                    .or_else(|| f.get("parameters"))
                    .cloned()
                    .unwrap_or_default();
                (f["name"].clone(), schema)
            })
            .collect(),
    };
    list.into_iter()
        .map(|(n, s)| (n.as_str().unwrap().to_owned(), s))
        .collect()
}

pub fn check_tools(up: Up, b: &Value) {
    let tools = declared_tools(up, b);
    let names: Vec<&str> = tools.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["get_weather", "get_time"], "{b}");
    let props = &tools[0].1["properties"]["location"]["type"];
    assert!(
        props
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("string")),
        "schema kept: {b}"
    );
}

/// The history's tool call and its result, paired by id where the format has ids.
pub fn check_tool_history(up: Up, b: &Value) {
    let t = turns(up, b);
    match up {
        Up::OpenAi => {
            let call_turn = t
                .iter()
                .find(|m| m["tool_calls"].is_array())
                .unwrap_or_else(|| panic!("an assistant tool call: {b}"));
            assert_eq!(call_turn["role"], "assistant");
            let call = &call_turn["tool_calls"][0];
            assert_eq!(call["function"]["name"], "get_weather");
            let args: Value =
                serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
            assert_eq!(args, weather_args());
            let result = t.last().unwrap();
            assert_eq!(result["role"], "tool", "{b}");
            assert_eq!(result["tool_call_id"], call["id"], "paired: {b}");
            assert!(turn_text(up, result).contains(TOOL_RESULT), "{b}");
        }
        Up::Cohere => {
            let call_turn = t
                .iter()
                .find(|m| m["tool_calls"].is_array())
                .unwrap_or_else(|| panic!("an assistant tool call: {b}"));
            assert_eq!(call_turn["role"], "assistant");
            let call = &call_turn["tool_calls"][0];
            assert_eq!(
                (call["type"].as_str(), call["function"]["name"].as_str()),
                (Some("function"), Some("get_weather"))
            );
            let args: Value =
                serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
            assert_eq!(args, weather_args());
            let result = t.last().unwrap();
            assert_eq!(result["role"], "tool", "{b}");
            assert_eq!(result["tool_call_id"], call["id"], "paired: {b}");
            assert_eq!(result["content"][0]["type"], "document", "{b}");
            assert!(
                result["content"][0]["document"]["data"]
                    .as_str()
                    .is_some_and(|d| d.contains(TOOL_RESULT)),
                "{b}"
            );
        }
        Up::Anthropic => {
            let assistant = &t[t.len() - 2];
            assert_eq!(assistant["role"], "assistant", "{b}");
            let call = assistant["content"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["type"] == "tool_use")
                .unwrap_or_else(|| panic!("a tool_use block: {b}"));
            assert_eq!(call["name"], "get_weather");
            assert_eq!(call["input"], weather_args());
            let user = t.last().unwrap();
            assert_eq!(user["role"], "user");
            let result = &user["content"][0];
            assert_eq!(result["type"], "tool_result", "results come first: {b}");
            assert_eq!(result["tool_use_id"], call["id"], "paired: {b}");
            let content = match &result["content"] {
                Value::String(s) => s.clone(),
                Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect(),
                other => panic!("{other}"),
            };
            // Gemini clients send a result object (`{"result": ...}`), kept as its JSON text.
            assert!(content.contains(TOOL_RESULT), "{b}");
        }
        Up::Gemini => {
            let model = &t[t.len() - 2];
            assert_eq!(model["role"], "model", "{b}");
            let call = &model["parts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p.get("functionCall").is_some())
                .unwrap_or_else(|| panic!("a functionCall part: {b}"))["functionCall"];
            assert_eq!(call["name"], "get_weather");
            assert_eq!(call["args"], weather_args());
            let user = t.last().unwrap();
            assert_eq!(user["role"], "user", "{b}");
            let response = &user["parts"][0]["functionResponse"];
            assert_eq!(response["name"], "get_weather", "paired by name: {b}");
            if call.get("id").is_some() || response.get("id").is_some() {
                assert_eq!(response["id"], call["id"], "paired by id: {b}");
            }
            assert!(
                response["response"].to_string().contains(TOOL_RESULT),
                "{b}"
            );
        }
    }
}

pub fn check_image(up: Up, b: &Value) {
    let last = turns(up, b).last().unwrap();
    match up {
        Up::OpenAi | Up::Cohere => {
            let part = last["content"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["type"] == "image_url")
                .unwrap_or_else(|| panic!("an image part: {b}"));
            assert_eq!(
                part["image_url"]["url"],
                format!("data:image/png;base64,{PNG_B64}")
            );
        }
        Up::Anthropic => {
            let block = last["content"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["type"] == "image")
                .unwrap_or_else(|| panic!("an image block: {b}"));
            assert_eq!(
                block["source"],
                json!({"type": "base64", "media_type": "image/png", "data": PNG_B64})
            );
        }
        Up::Gemini => {
            let part = last["parts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p.get("inlineData").is_some())
                .unwrap_or_else(|| panic!("an inlineData part: {b}"));
            assert_eq!(
                part["inlineData"],
                json!({"mimeType": "image/png", "data": PNG_B64})
            );
        }
    }
}

/// JSON output as the upstream supports it. `forced_tool`: the client asked with Anthropic's
/// forced tool (so the upstream sees a forced function call, not a response format).
pub fn check_json(up: Up, b: &Value, forced_tool: bool) {
    if forced_tool {
        match up {
            Up::OpenAi => {
                assert_eq!(
                    b["tool_choice"],
                    json!({"type": "function", "function": {"name": JSON_TOOL}}),
                    "{b}"
                );
            }
            Up::Anthropic => {
                assert_eq!(b["tool_choice"], json!({"type": "tool", "name": JSON_TOOL}));
            }
            // Cohere can only require a tool: the forced one is the only one declared.
            Up::Cohere => assert_eq!(b["tool_choice"], "REQUIRED", "{b}"),
            Up::Gemini => {
                let cfg = &b["toolConfig"]["functionCallingConfig"];
                assert_eq!(cfg["mode"], "ANY", "{b}");
                assert_eq!(cfg["allowedFunctionNames"], json!([JSON_TOOL]), "{b}");
            }
        }
        let names: Vec<String> = declared_tools(up, b).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, [JSON_TOOL], "{b}");
        return;
    }
    match up {
        Up::OpenAi => {
            assert_eq!(b["response_format"]["type"], "json_schema", "{b}");
            let schema = &b["response_format"]["json_schema"]["schema"];
            assert!(
                schema["properties"]["answer"]["type"]
                    .as_str()
                    .is_some_and(|t| t.eq_ignore_ascii_case("string")),
                "{b}"
            );
        }
        Up::Anthropic => {
            let tools = declared_tools(up, b);
            assert_eq!(tools.len(), 1, "{b}");
            assert_eq!(tools[0].1["properties"]["answer"]["type"], "string", "{b}");
            assert_eq!(b["tool_choice"]["type"], "tool", "{b}");
            assert_eq!(b["tool_choice"]["name"], tools[0].0, "{b}");
        }
        Up::Cohere => {
            assert_eq!(b["response_format"]["type"], "json_object", "{b}");
            let schema = &b["response_format"]["json_schema"];
            assert!(
                schema["properties"]["answer"]["type"]
                    .as_str()
                    .is_some_and(|t| t.eq_ignore_ascii_case("string")),
                "{b}"
            );
        }
        Up::Gemini => {
            let g = &b["generationConfig"];
            assert_eq!(g["responseMimeType"], "application/json", "{b}");
            let schema = g
                .get("responseJsonSchema")
                .or_else(|| g.get("responseSchema"))
                .unwrap_or_else(|| panic!("a response schema: {b}"));
            assert!(
                schema["properties"]["answer"]["type"]
                    .as_str()
                    .is_some_and(|t| t.eq_ignore_ascii_case("string")),
                "{b}"
            );
        }
    }
}

pub fn check_reasoning(up: Up, b: &Value) {
    match up {
        // An OpenAI client's own `reasoning_effort` passes as sent; a thinking budget from
        // another dialect is not turned into one for gpt-4o-mini, which refuses it.
        Up::OpenAi => match b.get("reasoning_effort") {
            Some(effort) => assert_eq!(effort, "low", "{b}"),
            None => assert!(b.get("thinking").is_none(), "{b}"),
        },
        Up::Anthropic => {
            assert_eq!(
                b["thinking"],
                json!({"type": "enabled", "budget_tokens": THINKING_BUDGET}),
                "{b}"
            );
            assert!(b["max_tokens"].as_u64().unwrap() > THINKING_BUDGET, "{b}");
        }
        // A budget from Anthropic or Gemini clients as sent; OpenAI's `reasoning_effort`
        // as the budget its effort stands for.
        Up::Cohere => {
            assert_eq!(b["thinking"]["type"], "enabled", "{b}");
            assert!(b["thinking"]["token_budget"].as_u64().is_some(), "{b}");
        }
        Up::Gemini => {
            let t = &b["generationConfig"]["thinkingConfig"];
            assert_eq!(t["includeThoughts"], true, "{b}");
            assert_eq!(t["thinkingBudget"], json!(THINKING_BUDGET), "{b}");
        }
    }
}

/// Everything the spec asks for that is visible in any request.
pub fn check_spec(up: Up, b: &Value, spec: &Spec) {
    match spec.system {
        Some(system) => check_system(up, b, system),
        None => check_no_system(up, b),
    }
    if !spec.stop.is_empty() {
        check_stop(up, b, &spec.stop);
    }
    if let Some(n) = spec.max_tokens {
        check_max_tokens(up, b, n);
    }
    if spec.tools {
        check_tools(up, b);
    }
    if spec.image {
        check_image(up, b);
    }
    if spec.reasoning {
        check_reasoning(up, b);
    }
    if let Some(q) = spec.question {
        assert_eq!(texts(up, b).last().map(String::as_str), Some(q), "{b}");
    }
}
