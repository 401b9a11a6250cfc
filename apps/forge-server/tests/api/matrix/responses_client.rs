//! The OpenAI Responses API (`POST /v1/responses`) as a client dialect: the request for a spec,
//! and a strict reading of the answer, whole or as the `response.*` event stream.

use forge_core::sse::SseEvent;
use serde_json::{Value, json};

use super::client::{Call, Got, Outgoing, data, parse_args};
use super::spec::{PNG_B64, Spec, TOOL_RESULT, Turn, answer_schema, tools, weather_args};
use crate::harness::Reply;

/// How [`Got::finish`] spells a response cut short by `max_output_tokens`: the status, then
/// `incomplete_details.reason`.
pub const INCOMPLETE_MAX_TOKENS: &str = "incomplete/max_output_tokens";

pub fn request(spec: &Spec, model: &str) -> Outgoing {
    // The Responses API has no stop-sequence parameter; the matrix has no such cell for it.
    assert!(spec.stop.is_empty(), "no `stop` in the Responses API");
    let mut items = Vec::new();
    for turn in &spec.turns {
        items.push(match turn {
            Turn::User(t) => json!({"type": "message", "role": "user", "content": t}),
            // An earlier answer sent back as the API returned it.
            Turn::Assistant(t) => json!({"type": "message", "role": "assistant",
                "content": [{"type": "output_text", "text": t, "annotations": []}]}),
            Turn::ToolCall { id } => json!({"type": "function_call", "call_id": id,
                "name": "get_weather", "arguments": weather_args().to_string()}),
            Turn::ToolResult { id } => {
                json!({"type": "function_call_output", "call_id": id, "output": TOOL_RESULT})
            }
        });
    }
    if let Some(q) = spec.question {
        // The "easy input message" (no `type`), as the SDKs' examples send it.
        items.push(if spec.image {
            json!({"role": "user", "content": [
                {"type": "input_text", "text": q},
                {"type": "input_image", "image_url": format!("data:image/png;base64,{PNG_B64}"), "detail": "auto"}
            ]})
        } else {
            json!({"role": "user", "content": q})
        });
    }
    // A lone text question uses the string shorthand for `input`.
    let input = match spec.question {
        Some(q) if spec.turns.is_empty() && !spec.image => json!(q),
        _ => json!(items),
    };
    let mut body = json!({"model": model, "input": input});
    if let Some(system) = spec.system {
        body["instructions"] = json!(system);
    }
    if let Some(n) = spec.max_tokens {
        body["max_output_tokens"] = json!(n);
    }
    if spec.tools {
        body["tools"] = json!(
            tools()
                .into_iter()
                .map(|(name, description, parameters)| json!({"type": "function",
                    "name": name, "description": description, "parameters": parameters}))
                .collect::<Vec<_>>()
        );
    }
    if spec.json {
        body["text"] = json!({"format": {"type": "json_schema", "name": "answer",
            "schema": answer_schema(), "strict": true}});
    }
    if spec.reasoning {
        body["reasoning"] = json!({"effort": "low", "summary": "auto"});
    }
    if spec.stream {
        body["stream"] = json!(true);
    }
    Outgoing {
        path: "/v1/responses".into(),
        key_header: "authorization",
        headers: vec![],
        body,
    }
}

/// OpenAI's error object: `message`, `type`, `param` and `code`, the last two possibly null.
pub fn error_message(reply: &Reply) -> String {
    let e = &reply.body["error"];
    assert!(e["type"].is_string(), "{}", reply.text);
    for key in ["param", "code"] {
        assert!(e.get(key).is_some(), "error.{key} present: {}", reply.text);
    }
    e["message"].as_str().unwrap().to_owned()
}

fn assert_item_id(item: &Value, prefix: &str) -> String {
    let id = item["id"].as_str().unwrap_or_default();
    assert!(
        id.starts_with(prefix) && id.len() > prefix.len(),
        "item id {id:?} starts with {prefix}: {item}"
    );
    id.to_owned()
}

/// One finished output item into `got`; `status` is the response's.
fn read_item(got: &mut Got, item: &Value, status: &str) {
    match item["type"].as_str().unwrap() {
        "message" => {
            assert_item_id(item, "msg_");
            assert_eq!(item["role"], "assistant", "{item}");
            assert_eq!(
                item["status"], status,
                "a message ends with the response: {item}"
            );
            for part in item["content"].as_array().unwrap() {
                assert_eq!(part["type"], "output_text", "{item}");
                assert!(part["annotations"].is_array(), "{part}");
                got.text += part["text"].as_str().unwrap();
            }
        }
        "function_call" => {
            assert_item_id(item, "fc_");
            assert_eq!(item["status"], "completed", "{item}");
            let call_id = item["call_id"].as_str().unwrap();
            assert!(!call_id.is_empty(), "{item}");
            got.calls.push(Call {
                id: Some(call_id.to_owned()),
                name: item["name"].as_str().unwrap().to_owned(),
                args: parse_args(item["arguments"].as_str().unwrap()),
            });
        }
        "reasoning" => {
            assert_item_id(item, "rs_");
            for s in item["summary"].as_array().unwrap() {
                assert_eq!(s["type"], "summary_text", "{item}");
                got.reasoning += s["text"].as_str().unwrap();
            }
        }
        other => panic!("unexpected output item {other}: {item}"),
    }
}

/// A finished response object: the answer of a whole request and the payload of the
/// terminal stream event.
pub fn whole(v: &Value, models: &[&str]) -> Got {
    assert_eq!(v["object"], "response", "{v}");
    let id = v["id"].as_str().unwrap_or_default();
    assert!(id.starts_with("resp_") && id.len() > 8, "a real id: {v}");
    assert!(
        v["created_at"].as_u64().unwrap_or(0) > 1_600_000_000,
        "a real created_at: {v}"
    );
    let model = v["model"].as_str().unwrap_or_default();
    assert!(models.contains(&model), "model {model} not in {models:?}");
    assert!(v["error"].is_null(), "{v}");
    let status = v["status"].as_str().unwrap();
    let finish = match status {
        "completed" => {
            assert!(v["incomplete_details"].is_null(), "{v}");
            status.to_owned()
        }
        "incomplete" => {
            let reason = v["incomplete_details"]["reason"].as_str().unwrap();
            format!("{status}/{reason}")
        }
        other => panic!("status {other}: {v}"),
    };
    let u = &v["usage"];
    let mut got = Got {
        finish,
        input_tokens: u["input_tokens"].as_u64().unwrap(),
        output_tokens: u["output_tokens"].as_u64().unwrap(),
        ..Got::default()
    };
    assert_eq!(
        u["total_tokens"].as_u64().unwrap(),
        got.input_tokens + got.output_tokens,
        "{v}"
    );
    assert!(u["input_tokens_details"]["cached_tokens"].is_u64(), "{v}");
    assert!(
        u["output_tokens_details"]["reasoning_tokens"].is_u64(),
        "{v}"
    );
    for item in v["output"].as_array().unwrap() {
        read_item(&mut got, item, status);
    }
    got
}

/// The streamed events, each `event:` name equal to its data's `type`.
struct Events {
    evs: Vec<(String, Value)>,
    at: usize,
}

impl Events {
    fn names(&self) -> Vec<&str> {
        self.evs.iter().map(|(n, _)| n.as_str()).collect()
    }

    fn peek(&self) -> &str {
        self.evs.get(self.at).map_or("", |(n, _)| n.as_str())
    }

    /// The next event, which must be `name` about output item `index` (`item_id`, if the event
    /// names one).
    fn next(&mut self, name: &str, index: usize, item_id: &str) -> Value {
        let names = format!("{:?}", self.names());
        let (got, v) = self
            .evs
            .get(self.at)
            .unwrap_or_else(|| panic!("{name} expected after the end: {names}"));
        assert_eq!(got, name, "event {}: {names}", self.at);
        assert_eq!(v["output_index"], json!(index), "{v}");
        if let Some(id) = v.get("item_id") {
            assert_eq!(id, item_id, "{v}");
        }
        self.at += 1;
        v.clone()
    }
}

/// `response.created` and `response.in_progress`, then per output item `output_item.added`,
/// its parts and deltas and `output_item.done` (one item at a time, output indexes 0, 1, ...),
/// then `response.completed` or `response.incomplete` with the whole response, whose output
/// is exactly the items streamed. `sequence_number`s count from 0 by 1; no `[DONE]`.
pub fn stream(events: &[SseEvent], models: &[&str]) -> Got {
    let evs: Vec<(String, Value)> = events
        .iter()
        .map(|e| {
            let v = data(e);
            let name = e.event.clone().expect("named events");
            assert_eq!(v["type"], name.as_str(), "event name matches type: {v}");
            (name, v)
        })
        .collect();
    let mut stream = Events { evs, at: 0 };
    let names = format!("{:?}", stream.names());
    for (i, (_, v)) in stream.evs.iter().enumerate() {
        assert_eq!(v["sequence_number"], json!(i), "sequence numbers: {names}");
    }
    assert!(stream.evs.len() >= 3, "{names}");
    let (last_name, last) = stream.evs.pop().unwrap();
    let final_response = &last["response"];
    let whole_got = whole(final_response, models);
    let expected_last = if final_response["status"] == "incomplete" {
        "response.incomplete"
    } else {
        "response.completed"
    };
    assert_eq!(last_name, expected_last, "{names}");
    for (i, name) in ["response.created", "response.in_progress"]
        .into_iter()
        .enumerate()
    {
        assert_eq!(stream.evs[i].0, name, "{names}");
        let r = &stream.evs[i].1["response"];
        assert_eq!(r["status"], "in_progress", "{r}");
        assert_eq!(r["output"], json!([]), "{r}");
        assert!(r["usage"].is_null(), "{r}");
        for field in ["id", "created_at", "model"] {
            assert_eq!(r[field], final_response[field], "same {field}: {r}");
        }
    }
    stream.at = 2;
    let mut got = Got::default();
    let mut items: Vec<Value> = Vec::new();
    while stream.at < stream.evs.len() {
        let index = items.len();
        let added = stream.next("response.output_item.added", index, "")["item"].clone();
        let kind = added["type"].as_str().unwrap().to_owned();
        let id = added["id"].as_str().unwrap_or_default().to_owned();
        match kind.as_str() {
            "message" => {
                assert_eq!(added["status"], "in_progress", "{added}");
                assert_eq!(added["role"], "assistant", "{added}");
                assert_eq!(added["content"], json!([]), "{added}");
                let part = stream.next("response.content_part.added", index, &id);
                assert_eq!(part["content_index"], 0, "{part}");
                assert_eq!(
                    part["part"],
                    json!({"type": "output_text", "text": "", "annotations": []})
                );
                let mut text = String::new();
                while stream.peek() == "response.output_text.delta" {
                    let d = stream.next("response.output_text.delta", index, &id);
                    assert_eq!(d["content_index"], 0, "{d}");
                    text += d["delta"].as_str().unwrap();
                }
                let done = stream.next("response.output_text.done", index, &id);
                assert_eq!(done["text"], text.as_str(), "{done}");
                let done = stream.next("response.content_part.done", index, &id);
                assert_eq!(done["part"]["type"], "output_text", "{done}");
                assert_eq!(done["part"]["text"], text.as_str(), "{done}");
                got.text += &text;
            }
            "function_call" => {
                assert_eq!(added["status"], "in_progress", "{added}");
                assert_eq!(added["arguments"], "", "{added}");
                let call_id = added["call_id"].as_str().unwrap().to_owned();
                assert!(!call_id.is_empty(), "{added}");
                let mut args = String::new();
                while stream.peek() == "response.function_call_arguments.delta" {
                    let d = stream.next("response.function_call_arguments.delta", index, &id);
                    args += d["delta"].as_str().unwrap();
                }
                let done = stream.next("response.function_call_arguments.done", index, &id);
                assert_eq!(done["arguments"], args.as_str(), "{done}");
                got.calls.push(Call {
                    id: Some(call_id),
                    name: added["name"].as_str().unwrap().to_owned(),
                    args: parse_args(&args),
                });
            }
            "reasoning" => {
                assert_eq!(added["summary"], json!([]), "{added}");
                let mut text = String::new();
                if stream.peek() == "response.reasoning_summary_part.added" {
                    let part = stream.next("response.reasoning_summary_part.added", index, &id);
                    assert_eq!(part["summary_index"], 0, "{part}");
                    assert_eq!(part["part"], json!({"type": "summary_text", "text": ""}));
                    while stream.peek() == "response.reasoning_summary_text.delta" {
                        let d = stream.next("response.reasoning_summary_text.delta", index, &id);
                        text += d["delta"].as_str().unwrap();
                    }
                    let done = stream.next("response.reasoning_summary_text.done", index, &id);
                    assert_eq!(done["text"], text.as_str(), "{done}");
                    let done = stream.next("response.reasoning_summary_part.done", index, &id);
                    assert_eq!(done["part"]["text"], text.as_str(), "{done}");
                }
                got.reasoning += &text;
            }
            other => panic!("unexpected output item {other}: {names}"),
        }
        let done = stream.next("response.output_item.done", index, "")["item"].clone();
        assert_eq!(done["id"], added["id"], "{done}");
        assert_eq!(done["type"], added["type"], "{done}");
        items.push(done);
    }
    assert_eq!(
        final_response["output"],
        json!(items),
        "the final response holds the streamed items: {names}"
    );
    assert_eq!(
        (&got.text, &got.reasoning, &got.calls),
        (&whole_got.text, &whole_got.reasoning, &whole_got.calls),
        "deltas add up to the final response"
    );
    Got {
        finish: whole_got.finish,
        input_tokens: whole_got.input_tokens,
        output_tokens: whole_got.output_tokens,
        ..got
    }
}
