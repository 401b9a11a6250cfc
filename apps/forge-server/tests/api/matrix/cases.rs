//! One matrix cell: a case asked in one client dialect of one upstream kind, non-streamed then
//! streamed, checking what the upstream received and what the client got.

use forge_testkit::{FAKE_THINKING, Fault, RecordedRequest};
use serde_json::{Value, json};

use super::canned::Canned;
use super::client::{Got, In, Outcome, Outgoing};
use super::fixture::{Fixture, Up};
use super::spec::{
    FIRST_ANSWER, FIRST_QUESTION, JSON_TOOL, PARALLEL_PROMPT, QUESTION, STOP_WORD, SYSTEM, Spec,
    TOOL_PROMPT, Turn, reply, weather_args,
};
use super::upstream;
use crate::harness::{Reply, read};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    Text,
    System,
    MultiTurn,
    StopSequence,
    MaxTokens,
    ToolCall,
    ParallelToolCalls,
    ToolResult,
    Image,
    JsonOutput,
    Reasoning,
    UpstreamErrors,
}

/// The JSON a JSON-output answer carries (what the fakes invent for `answer_schema`).
fn json_answer() -> Value {
    json!({"answer": "Paris"})
}

impl Case {
    fn spec(self, stream: bool) -> Spec {
        let mut spec = match self {
            Case::Text | Case::UpstreamErrors => Spec::ask(QUESTION),
            Case::System => Spec {
                system: Some(SYSTEM),
                ..Spec::ask(QUESTION)
            },
            Case::MultiTurn => Spec {
                system: Some(SYSTEM),
                turns: vec![Turn::User(FIRST_QUESTION), Turn::Assistant(FIRST_ANSWER)],
                ..Spec::ask(QUESTION)
            },
            Case::StopSequence => Spec {
                stop: vec![STOP_WORD],
                ..Spec::ask(QUESTION)
            },
            Case::MaxTokens => Spec {
                max_tokens: Some(3),
                ..Spec::ask(QUESTION)
            },
            Case::ToolCall => Spec {
                tools: true,
                ..Spec::ask(TOOL_PROMPT)
            },
            Case::ParallelToolCalls => Spec {
                tools: true,
                ..Spec::ask(PARALLEL_PROMPT)
            },
            Case::ToolResult => Spec {
                tools: true,
                turns: vec![
                    Turn::User(TOOL_PROMPT),
                    Turn::ToolCall { id: "call_abc123" },
                    Turn::ToolResult { id: "call_abc123" },
                ],
                question: None,
                ..Spec::default()
            },
            Case::Image => Spec {
                image: true,
                ..Spec::ask("What is in this image?")
            },
            Case::JsonOutput => Spec {
                json: true,
                ..Spec::ask(QUESTION)
            },
            Case::Reasoning => Spec {
                reasoning: true,
                ..Spec::ask(QUESTION)
            },
        };
        spec.stream = stream;
        spec
    }

    /// The answer the OpenAI-compatible fake cannot give by itself.
    fn canned(self, inbound: In) -> Option<Canned> {
        let full = reply("gpt-4o-mini");
        match self {
            Case::StopSequence => Some(Canned::text(&full[..full.find(STOP_WORD)?], "stop")),
            Case::MaxTokens => Some(Canned::text(&full[..9], "length")),
            Case::ToolCall => Some(Canned::weather_call()),
            Case::ParallelToolCalls => Some(Canned::parallel_calls()),
            Case::Reasoning => Some(Canned::reasoning(FAKE_THINKING)),
            Case::JsonOutput if inbound == In::Anthropic => Some(Canned {
                calls: vec![("call_canned_1", JSON_TOOL, json_answer())],
                ..Canned::weather_call()
            }),
            // Responses go to the upstream natively, an endpoint the fake does not have: every
            // answer is canned.
            Case::JsonOutput if inbound == In::Responses => {
                Some(Canned::text(&json_answer().to_string(), "stop"))
            }
            _ if inbound == In::Responses => Some(Canned::text(&full, "stop")),
            _ => None,
        }
    }
}

pub async fn send(fx: &Fixture, out: &Outgoing) -> Reply {
    let key = if out.key_header == "authorization" {
        format!("Bearer {}", fx.key)
    } else {
        fx.key.clone()
    };
    let mut req = fx
        .client
        .post(fx.server.url(&out.path))
        .insert_header((out.key_header, key));
    for (name, value) in &out.headers {
        req = req.insert_header((*name, *value));
    }
    read(req.send_json(&out.body).await.unwrap()).await
}

/// Whether the upstream receives the Responses API itself (so its request is not in the
/// upstream's chat format the `upstream` checks read).
fn native_responses(inbound: In, up: Up) -> bool {
    inbound == In::Responses && up == Up::OpenAi
}

/// The native upstream request for the same dialect is the client's body with only `model`
/// rewritten (Gemini carries the model in the path, so its body is untouched).
fn check_passthrough(inbound: In, up: Up, out: &Outgoing, received: &RecordedRequest) {
    let same = matches!(
        (inbound, up),
        (In::OpenAi, Up::OpenAi)
            | (In::Anthropic, Up::Anthropic)
            | (In::Gemini, Up::Gemini)
            | (In::Responses, Up::OpenAi)
    );
    if !same {
        return;
    }
    let mut expected = out.body.clone();
    if inbound != In::Gemini {
        expected["model"] = json!(up.upstream_model());
    }
    assert_eq!(
        received.body, expected,
        "passthrough changes only the model"
    );
    if inbound == In::Responses {
        // Byte for byte: the client's JSON text (as awc sent it) with only the model replaced.
        assert_eq!(
            received.raw_body,
            expected.to_string(),
            "passthrough keeps every byte but the model"
        );
    }
}

/// The envelope of a native Responses request: endpoint, key and stream flag.
fn check_native_envelope(r: &RecordedRequest, key: &str, stream: bool) {
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/v1/responses");
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {key}").as_str())
    );
    assert_eq!(
        r.body["stream"].as_bool().unwrap_or(false),
        stream,
        "{}",
        r.body
    );
}

pub async fn run(inbound: In, up: Up, case: Case) {
    let fx = Fixture::start().await;
    if case == Case::UpstreamErrors {
        return errors(&fx, inbound, up).await;
    }
    for stream in [false, true] {
        fx.clear();
        let spec = case.spec(stream);
        if up == Up::OpenAi
            && let Some(canned) = case.canned(inbound)
        {
            let body = match (inbound, stream) {
                (In::Responses, true) => canned.responses_stream(),
                (In::Responses, false) => canned.responses_whole(),
                (_, true) => canned.stream(),
                (_, false) => canned.whole(),
            };
            fx.arm(
                up,
                Fault::Status {
                    status: 200,
                    body: Some(body),
                    retry_after: None,
                },
            );
        }
        if case == Case::JsonOutput {
            let text = json_answer().to_string();
            fx.openai.set_reply(Some(text.clone()));
            fx.gemini.set_reply(Some(text.clone()));
            fx.cohere.set_reply(Some(text));
        }
        let out = inbound.request(&spec, up.client_model());
        let reply = send(&fx, &out).await;
        let ctx = format!("{inbound:?} -> {up:?}, {case:?}, stream {stream}");
        let got = inbound.parse(&reply, stream, &[up.client_model(), up.upstream_model()]);
        for other in [Up::OpenAi, Up::Anthropic, Up::Gemini, Up::Cohere] {
            let n = fx.received(other).len();
            assert_eq!(n, usize::from(other == up), "{ctx}: requests at {other:?}");
        }
        let r = fx.last_received(up);
        if native_responses(inbound, up) {
            check_native_envelope(&r, fx.upstream_key(up), stream);
        } else {
            upstream::check_envelope(up, &r, fx.upstream_key(up), stream);
            upstream::check_spec(up, &r.body, &spec);
        }
        check_passthrough(inbound, up, &out, &r);
        check_case(inbound, up, case, &r.body, &got, &ctx);
        assert!(
            !reply.text.contains(fx.upstream_key(up)),
            "{ctx}: key leaked"
        );
    }
}

fn check_case(inbound: In, up: Up, case: Case, received: &Value, got: &Got, ctx: &str) {
    let full = reply(up.upstream_model());
    let anthropic = up == Up::Anthropic;
    let finish = |o: Outcome| inbound.finish(o, anthropic);
    // A native Responses request is the client's own (checked by `check_passthrough`), not
    // in the format the upstream checks read.
    let upstream_checks = !native_responses(inbound, up);
    assert!(got.input_tokens > 0, "{ctx}: usage {got:?}");
    match case {
        Case::Text | Case::System | Case::Image => {
            assert_eq!(got.text, full, "{ctx}");
            assert!(
                got.calls.is_empty() && got.reasoning.is_empty(),
                "{ctx}: {got:?}"
            );
            assert_eq!(got.finish, finish(Outcome::End), "{ctx}");
            assert!(got.output_tokens > 0, "{ctx}: {got:?}");
        }
        Case::MultiTurn => {
            assert_eq!(got.text, full, "{ctx}");
            assert_eq!(got.finish, finish(Outcome::End), "{ctx}");
            if !upstream_checks {
                return;
            }
            assert_eq!(
                upstream::roles(up, received),
                ["user", "assistant", "user"],
                "{ctx}"
            );
            assert_eq!(
                upstream::texts(up, received),
                [FIRST_QUESTION, FIRST_ANSWER, QUESTION],
                "{ctx}"
            );
        }
        Case::StopSequence => {
            assert_eq!(got.text, full[..full.find(STOP_WORD).unwrap()], "{ctx}");
            assert_eq!(got.finish, finish(Outcome::StopSequence), "{ctx}");
        }
        Case::MaxTokens => {
            assert!(
                !got.text.is_empty() && got.text.len() < full.len() && full.starts_with(&got.text),
                "{ctx}: cut short: {:?}",
                got.text
            );
            assert_eq!(got.finish, finish(Outcome::Length), "{ctx}");
        }
        Case::ToolCall => {
            assert_eq!(got.calls.len(), 1, "{ctx}: {got:?}");
            assert_eq!(got.calls[0].name, "get_weather");
            assert_eq!(got.calls[0].args, weather_args(), "{ctx}");
            assert!(got.text.is_empty(), "{ctx}: {got:?}");
            assert_eq!(got.finish, finish(Outcome::Tools), "{ctx}");
        }
        Case::ParallelToolCalls => {
            let calls: Vec<(&str, &Value)> = got
                .calls
                .iter()
                .map(|c| (c.name.as_str(), &c.args))
                .collect();
            assert_eq!(
                calls,
                [
                    ("get_weather", &weather_args()),
                    ("get_time", &json!({"city": "Tokyo"}))
                ],
                "{ctx}"
            );
            if inbound != In::Gemini {
                assert_ne!(got.calls[0].id, got.calls[1].id, "{ctx}: distinct ids");
                assert!(got.calls.iter().all(|c| c.id.is_some()), "{ctx}");
            }
            assert_eq!(got.finish, finish(Outcome::Tools), "{ctx}");
        }
        Case::ToolResult => {
            if upstream_checks {
                upstream::check_tool_history(up, received);
            }
            assert_eq!(got.text, full, "{ctx}");
            assert_eq!(got.finish, finish(Outcome::End), "{ctx}");
        }
        Case::JsonOutput => {
            if upstream_checks {
                upstream::check_json(up, received, inbound == In::Anthropic);
            }
            if inbound == In::Anthropic {
                assert_eq!(got.calls.len(), 1, "{ctx}: {got:?}");
                assert_eq!(got.calls[0].name, JSON_TOOL);
                assert_eq!(got.calls[0].args, json_answer(), "{ctx}");
                assert_eq!(got.finish, finish(Outcome::Tools), "{ctx}");
            } else {
                let v: Value = serde_json::from_str(&got.text)
                    .unwrap_or_else(|e| panic!("{ctx}: JSON text ({e}): {got:?}"));
                assert_eq!(v, json_answer(), "{ctx}");
                assert!(got.calls.is_empty(), "{ctx}: {got:?}");
                assert_eq!(got.finish, finish(Outcome::End), "{ctx}");
            }
        }
        Case::Reasoning => {
            assert_eq!(got.reasoning, FAKE_THINKING, "{ctx}: {got:?}");
            assert_eq!(got.text, full, "{ctx}");
            assert_eq!(got.finish, finish(Outcome::End), "{ctx}");
        }
        Case::UpstreamErrors => unreachable!(),
    }
}

/// Upstream 400, 401, 429 (with `retry-after`) and 500 reach the client with the same status in
/// its own dialect's error shape; a 429 keeps its `retry-after`, streamed or not.
async fn errors(fx: &Fixture, inbound: In, up: Up) {
    for (status, stream) in [
        (400, false),
        (401, false),
        (429, false),
        (500, false),
        (429, true),
        (500, true),
    ] {
        let retry_after = (status == 429).then_some(7);
        fx.arm(
            up,
            Fault::Status {
                status,
                body: None,
                retry_after,
            },
        );
        let out = inbound.request(&case_spec_errors(stream), up.client_model());
        let reply = send(fx, &out).await;
        let ctx = format!("{inbound:?} -> {up:?}, upstream {status}, stream {stream}");
        assert_eq!(reply.status, status, "{ctx}: {}", reply.text);
        let message = inbound.error_message(&reply, status);
        assert!(!message.is_empty(), "{ctx}");
        assert!(
            !reply.text.contains(fx.upstream_key(up)),
            "{ctx}: key leaked"
        );
        assert!(!reply.text.contains(&fx.key), "{ctx}: key leaked");
        assert_eq!(
            reply.header("retry-after"),
            retry_after.map(|s| s.to_string()).as_deref(),
            "{ctx}"
        );
    }
}

fn case_spec_errors(stream: bool) -> Spec {
    Case::UpstreamErrors.spec(stream)
}
