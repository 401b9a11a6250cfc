//! Canned OpenAI-compatible answers. The fake OpenAI upstream always answers plain text, so for
//! the cells that need a model to stop early, call tools or reason, the test arms a 200 "fault"
//! whose body is the answer a real OpenAI-compatible upstream would give, whole or streamed.

use serde_json::{Value, json};

use super::spec::{FAKE_REPLY_PREFIX, weather_args};

pub struct Canned {
    pub text: String,
    pub reasoning: Option<&'static str>,
    /// (id, name, arguments)
    pub calls: Vec<(&'static str, &'static str, Value)>,
    pub finish: &'static str,
}

const ID: &str = "chatcmpl-canned0000000001";
const MODEL: &str = "gpt-4o-mini";

fn created() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn usage() -> Value {
    json!({"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19})
}

impl Canned {
    pub fn text(text: &str, finish: &'static str) -> Canned {
        Canned {
            text: text.to_owned(),
            reasoning: None,
            calls: vec![],
            finish,
        }
    }

    pub fn weather_call() -> Canned {
        Canned {
            text: String::new(),
            reasoning: None,
            calls: vec![("call_canned_1", "get_weather", weather_args())],
            finish: "tool_calls",
        }
    }

    pub fn parallel_calls() -> Canned {
        Canned {
            calls: vec![
                ("call_canned_1", "get_weather", weather_args()),
                ("call_canned_2", "get_time", json!({"city": "Tokyo"})),
            ],
            ..Canned::weather_call()
        }
    }

    pub fn reasoning(thinking: &'static str) -> Canned {
        Canned {
            text: format!("{FAKE_REPLY_PREFIX}{MODEL})"),
            reasoning: Some(thinking),
            calls: vec![],
            finish: "stop",
        }
    }

    fn tool_calls(&self) -> Vec<Value> {
        self.calls
            .iter()
            .enumerate()
            .map(|(i, (id, name, args))| {
                json!({"index": i, "id": id, "type": "function",
                "function": {"name": name, "arguments": args.to_string()}})
            })
            .collect()
    }

    pub fn whole(&self) -> String {
        let mut message = json!({"role": "assistant", "content": if self.calls.is_empty() { json!(self.text) } else { Value::Null }});
        if let Some(r) = self.reasoning {
            message["reasoning_content"] = json!(r);
        }
        if !self.calls.is_empty() {
            let calls: Vec<Value> = self
                .tool_calls()
                .into_iter()
                .map(|mut c| {
                    c.as_object_mut().unwrap().remove("index");
                    c
                })
                .collect();
            message["tool_calls"] = json!(calls);
        }
        json!({"id": ID, "object": "chat.completion", "created": created(), "model": MODEL,
            "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": self.finish}],
            "usage": usage()})
        .to_string()
    }

    /// The stream, with every tool call of the answer in one chunk (as some upstreams send it).
    pub fn stream(&self) -> String {
        let created = created();
        let chunk = |choices: Value, usage: Option<Value>| {
            let mut c = json!({"id": ID, "object": "chat.completion.chunk", "created": created, "model": MODEL, "choices": choices});
            if let Some(u) = usage {
                c["usage"] = u;
            }
            format!("data: {c}\n\n")
        };
        let delta = |d: Value| json!([{"index": 0, "delta": d, "finish_reason": null}]);
        let mut out = chunk(delta(json!({"role": "assistant", "content": ""})), None);
        if let Some(r) = self.reasoning {
            let (a, b) = r.split_at(r.len() / 2);
            out += &chunk(delta(json!({"reasoning_content": a})), None);
            out += &chunk(delta(json!({"reasoning_content": b})), None);
        }
        if !self.text.is_empty() {
            let (a, b) = self.text.split_at(self.text.len() / 2);
            out += &chunk(delta(json!({"content": a})), None);
            out += &chunk(delta(json!({"content": b})), None);
        }
        if !self.calls.is_empty() {
            out += &chunk(delta(json!({"tool_calls": self.tool_calls()})), None);
        }
        out += &chunk(
            json!([{"index": 0, "delta": {}, "finish_reason": self.finish}]),
            None,
        );
        out += &chunk(json!([]), Some(usage()));
        out + "data: [DONE]\n\n"
    }
}
