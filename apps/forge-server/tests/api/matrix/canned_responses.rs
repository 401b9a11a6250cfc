//! Canned native Responses API answers. Forge passes `/v1/responses` straight to an
//! OpenAI-kind upstream and the fake OpenAI upstream has no such endpoint, so a cell arms the
//! answer a real one would give (a `response` object, or its `response.*` event stream) as a
//! 200 "fault", like the canned chat answers.

use serde_json::{Value, json};

use super::canned::Canned;

const ID: &str = "resp_canned000000000000000001";
const SUFFIX: &str = "canned000000000000000001";
const MODEL: &str = "gpt-4o-mini";

fn created_at() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn usage() -> Value {
    json!({"input_tokens": 12, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 7, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 19})
}

/// A response object with every field OpenAI always sends.
fn response(created_at: u64, status: &str, output: Vec<Value>, usage: Value) -> Value {
    let incomplete = (status == "incomplete").then(|| json!({"reason": "max_output_tokens"}));
    json!({"id": ID, "object": "response", "created_at": created_at, "status": status,
        "error": null, "incomplete_details": incomplete, "instructions": null,
        "max_output_tokens": null, "model": MODEL, "output": output,
        "parallel_tool_calls": true, "previous_response_id": null,
        "reasoning": {"effort": null, "summary": null}, "store": true, "temperature": 1.0,
        "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [], "top_p": 1.0,
        "truncation": "disabled", "usage": usage, "user": null, "metadata": {}})
}

fn halves(s: &str) -> [&str; 2] {
    let (a, b) = s.split_at(s.len() / 2);
    [a, b]
}

/// One output item of the answer, in its finished and in its just-added form.
struct Item {
    done: Value,
    added: Value,
}

impl Canned {
    fn status(&self) -> &'static str {
        if self.finish == "length" {
            "incomplete"
        } else {
            "completed"
        }
    }

    /// Reasoning, then the message, then each function call, as OpenAI orders them.
    fn items(&self) -> Vec<Item> {
        let mut items = Vec::new();
        if let Some(r) = self.reasoning {
            let id = format!("rs_{SUFFIX}_{}", items.len());
            items.push(Item {
                done: json!({"id": id, "type": "reasoning",
                    "summary": [{"type": "summary_text", "text": r}]}),
                added: json!({"id": id, "type": "reasoning", "summary": []}),
            });
        }
        if !self.text.is_empty() {
            let id = format!("msg_{SUFFIX}_{}", items.len());
            items.push(Item {
                done: json!({"id": id, "type": "message", "status": self.status(), "role": "assistant",
                    "content": [{"type": "output_text", "text": self.text, "annotations": []}]}),
                added: json!({"id": id, "type": "message", "status": "in_progress",
                    "role": "assistant", "content": []}),
            });
        }
        for (call_id, name, args) in &self.calls {
            let id = format!("fc_{SUFFIX}_{}", items.len());
            let call = |arguments: String, status: &str| {
                json!({"id": id, "type": "function_call", "status": status, "call_id": call_id,
                    "name": name, "arguments": arguments})
            };
            items.push(Item {
                done: call(args.to_string(), "completed"),
                added: call(String::new(), "in_progress"),
            });
        }
        items
    }

    pub fn responses_whole(&self) -> String {
        let output = self.items().into_iter().map(|i| i.done).collect();
        response(created_at(), self.status(), output, usage()).to_string()
    }

    /// The event stream, deltas in two halves, `event:` named for each payload's type.
    pub fn responses_stream(&self) -> String {
        let created_at = created_at();
        let mut events: Vec<Value> = Vec::new();
        let start = response(created_at, "in_progress", vec![], Value::Null);
        events.push(json!({"type": "response.created", "response": start}));
        events.push(json!({"type": "response.in_progress", "response": start}));
        let items = self.items();
        for (index, item) in items.iter().enumerate() {
            let id = &item.done["id"];
            let at = |kind: &str, more: Value| {
                let mut e = json!({"type": kind, "item_id": id, "output_index": index});
                for (k, v) in more.as_object().unwrap() {
                    e[k] = v.clone();
                }
                e
            };
            events.push(
                json!({"type": "response.output_item.added", "output_index": index,
                "item": item.added}),
            );
            match item.done["type"].as_str().unwrap() {
                "reasoning" => {
                    let text = item.done["summary"][0]["text"].as_str().unwrap();
                    let part = |text: &str| json!({"type": "summary_text", "text": text});
                    events.push(at(
                        "response.reasoning_summary_part.added",
                        json!({"summary_index": 0, "part": part("")}),
                    ));
                    for d in halves(text) {
                        events.push(at(
                            "response.reasoning_summary_text.delta",
                            json!({"summary_index": 0, "delta": d}),
                        ));
                    }
                    events.push(at(
                        "response.reasoning_summary_text.done",
                        json!({"summary_index": 0, "text": text}),
                    ));
                    events.push(at(
                        "response.reasoning_summary_part.done",
                        json!({"summary_index": 0, "part": part(text)}),
                    ));
                }
                "message" => {
                    let text = item.done["content"][0]["text"].as_str().unwrap();
                    let part = |text: &str| json!({"type": "output_text", "text": text, "annotations": []});
                    events.push(at(
                        "response.content_part.added",
                        json!({"content_index": 0, "part": part("")}),
                    ));
                    for d in halves(text) {
                        events.push(at(
                            "response.output_text.delta",
                            json!({"content_index": 0, "delta": d, "logprobs": []}),
                        ));
                    }
                    events.push(at(
                        "response.output_text.done",
                        json!({"content_index": 0, "text": text, "logprobs": []}),
                    ));
                    events.push(at(
                        "response.content_part.done",
                        json!({"content_index": 0, "part": part(text)}),
                    ));
                }
                _ => {
                    let args = item.done["arguments"].as_str().unwrap();
                    for d in halves(args) {
                        events.push(at(
                            "response.function_call_arguments.delta",
                            json!({"delta": d}),
                        ));
                    }
                    events.push(at(
                        "response.function_call_arguments.done",
                        json!({"name": item.done["name"], "arguments": args}),
                    ));
                }
            }
            events.push(
                json!({"type": "response.output_item.done", "output_index": index,
                "item": item.done}),
            );
        }
        let status = self.status();
        let output = items.into_iter().map(|i| i.done).collect();
        events.push(json!({"type": format!("response.{status}"),
            "response": response(created_at, status, output, usage())}));
        events
            .into_iter()
            .enumerate()
            .map(|(seq, mut e)| {
                e["sequence_number"] = json!(seq);
                format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap())
            })
            .collect()
    }
}
