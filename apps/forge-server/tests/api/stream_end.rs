//! A passed-through stream's end is recognised from the parsed event, whatever the JSON's
//! formatting: hosts write compact, spaced or pretty-printed JSON, with LF or CRLF lines. A
//! stream that ended properly reaches the client byte for byte, with no error event; one that
//! stops before its terminal event still ends with an error event.

use std::io::{Read, Write};
use std::net::TcpListener;

use serde_json::{Value, json};

use crate::harness::{
    Backend, TestServer, add_provider, client, create_forge_key, register_and_login, send_json,
};

/// An upstream that answers every request with `body` as an event stream.
fn canned_upstream(body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut conn) = stream else { return };
            let body = body.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                let mut seen = Vec::new();
                loop {
                    let Some(head_end) = seen.windows(4).position(|w| w == b"\r\n\r\n") else {
                        match conn.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&seen[..head_end]).to_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    while seen.len() < head_end + 4 + length {
                        match conn.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    seen.drain(..head_end + 4 + length);
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if conn.write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    base
}

/// `events` (name, JSON) written the way a host formats them.
fn wire(events: &[(&str, Value)], format: &str) -> String {
    let mut out = String::new();
    for (name, data) in events {
        let compact = data.to_string();
        let data_lines = match format {
            "spaced" => format!(
                "data: {}\n",
                compact.replace("\":", "\": ").replace(",\"", ", \"")
            ),
            "pretty" => serde_json::to_string_pretty(data)
                .unwrap()
                .lines()
                .map(|l| format!("data: {l}\n"))
                .collect(),
            _ => format!("data:{compact}\n"),
        };
        if !name.is_empty() {
            out.push_str(&format!("event: {name}\n"));
        }
        out.push_str(&data_lines);
        out.push('\n');
    }
    if format == "crlf" {
        out = out.replace('\n', "\r\n");
    }
    out
}

fn responses_events() -> Vec<(&'static str, Value)> {
    let response = json!({"id": "resp_1", "object": "response", "status": "completed", "model": "gpt-4o-mini",
        "output": [], "usage": {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}});
    vec![
        (
            "response.created",
            json!({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "status": "in_progress"}}),
        ),
        (
            "response.output_text.delta",
            json!({"type": "response.output_text.delta", "sequence_number": 1, "item_id": "m", "output_index": 0, "content_index": 0, "delta": "Hello"}),
        ),
        (
            "response.completed",
            json!({"type": "response.completed", "sequence_number": 2, "response": response}),
        ),
    ]
}

fn anthropic_events() -> Vec<(&'static str, Value)> {
    vec![
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x", "content": [], "stop_reason": null, "usage": {"input_tokens": 5, "output_tokens": 0}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ]
}

fn gemini_events() -> Vec<(&'static str, Value)> {
    vec![
        (
            "",
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}, "index": 0}]}),
        ),
        (
            "",
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "lo"}]}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2, "totalTokenCount": 7}}),
        ),
    ]
}

struct Case {
    provider: &'static str,
    path: &'static str,
    body: Value,
    events: Vec<(&'static str, Value)>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            provider: "openai",
            path: "/v1/responses",
            body: json!({"model": "openai/gpt-4o-mini", "input": "hi", "stream": true}),
            events: responses_events(),
        },
        Case {
            provider: "anthropic",
            path: "/v1/messages",
            body: json!({"model": "anthropic/claude-x", "max_tokens": 16, "stream": true,
                "messages": [{"role": "user", "content": "hi"}]}),
            events: anthropic_events(),
        },
        Case {
            provider: "gemini",
            path: "/v1beta/models/gemini/gemini-x:streamGenerateContent?alt=sse",
            body: json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
            events: gemini_events(),
        },
    ]
}

async fn send(s: &TestServer, key: &str, case: &Case) -> (u16, String) {
    let mut resp = client()
        .post(s.url(case.path))
        .insert_header(("authorization", format!("Bearer {key}")))
        .insert_header(("anthropic-version", "2023-06-01"))
        .send_json(&case.body)
        .await
        .unwrap();
    let body = resp.body().limit(1 << 20).await.unwrap();
    (
        resp.status().as_u16(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

/// Points the provider's key at a new host that serves `body`.
async fn serve(c: &awc::Client, s: &TestServer, jwt: &str, provider: &str, body: String) {
    let base = canned_upstream(body);
    let base = if provider == "gemini" {
        base
    } else {
        format!("{base}/v1")
    };
    let url = s.url(&format!("/v1/provider-keys/{provider}"));
    let reply = send_json(c, "PUT", &url, Some(jwt), &json!({"base_url": base})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

#[actix_rt::test]
async fn stream_ends_are_read_from_the_event_in_every_formatting() {
    let s = TestServer::start(Backend::Sqlite).await;
    let c = client();
    let jwt = register_and_login(&c, &s, "formats").await;
    let (_, key) = create_forge_key(&c, &s, &jwt, None).await;
    for case in cases() {
        add_provider(
            &c,
            &s,
            &jwt,
            case.provider,
            "sk-formats-upstream-key",
            "http://127.0.0.1:9/v1",
        )
        .await;
        for format in ["compact", "spaced", "pretty", "crlf"] {
            let upstream = wire(&case.events, format);
            serve(&c, &s, &jwt, case.provider, upstream.clone()).await;
            let (status, got) = send(&s, &key, &case).await;
            assert_eq!(status, 200, "{} {format}: {got}", case.path);
            assert_eq!(
                got, upstream,
                "{} {format}: relayed untouched, with no error event",
                case.path
            );

            // The same stream cut before its terminal event is a failure the client sees.
            let mut cut = case.events.clone();
            cut.pop();
            serve(&c, &s, &jwt, case.provider, wire(&cut, format)).await;
            let (_, got) = send(&s, &key, &case).await;
            assert!(got.contains("error"), "{} {format} cut: {got}", case.path);
        }
    }
}

/// A stream that ends before any content (keep-alive comments only, or only the opening event
/// of a translated stream) and without its terminal event is a real HTTP error in the client's
/// dialect, never a 200 with an error event: a failover (or the client) can still act on it.
#[actix_rt::test]
async fn a_stream_cut_before_content_is_an_http_error() {
    let s = TestServer::start(Backend::Sqlite).await;
    let c = client();
    let jwt = register_and_login(&c, &s, "cutearly").await;
    let (_, key) = create_forge_key(&c, &s, &jwt, None).await;
    add_provider(
        &c,
        &s,
        &jwt,
        "anthropic",
        "sk-cut-upstream-key",
        "http://127.0.0.1:9/v1",
    )
    .await;

    // Passed through: only keep-alive comments, then the connection ends.
    serve(
        &c,
        &s,
        &jwt,
        "anthropic",
        ": keep-alive\n\n: keep-alive\n\n".into(),
    )
    .await;
    let messages = &cases()[1];
    let (status, got) = send(&s, &key, messages).await;
    assert_eq!(status, 502, "{got}");
    let body: Value = serde_json::from_str(&got).unwrap();
    assert_eq!(body["type"], "error", "Anthropic's error shape: {got}");

    // Translated (OpenAI client, Anthropic upstream): the opening event only.
    let opening = wire(&anthropic_events()[..1], "compact");
    serve(&c, &s, &jwt, "anthropic", opening).await;
    let chat = Case {
        provider: "anthropic",
        path: "/v1/chat/completions",
        body: json!({"model": "anthropic/claude-x", "stream": true,
            "messages": [{"role": "user", "content": "hi"}]}),
        events: Vec::new(),
    };
    let (status, got) = send(&s, &key, &chat).await;
    assert_eq!(status, 502, "{got}");
    let body: Value = serde_json::from_str(&got).unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("before it was complete")),
        "OpenAI's error shape: {got}"
    );
}
