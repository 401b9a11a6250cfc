#![allow(clippy::unwrap_used, clippy::panic)]
use forge_core::anthropic::{ContentBlock, InputMessage, MessagesRequest, Role};
use forge_core::canonical::{ChatRequest, FinishReason, Message, Role as CRole};
use serde_json::{Value, json};

use super::*;

const KEY: &str = "sk-ant-api03-secretsecret";

fn adapter() -> AnthropicAdapter {
    AnthropicAdapter::new(None, KEY, None)
}

fn header<'a>(req: &'a UpstreamRequest, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn base_urls_and_headers() {
    assert_eq!(adapter().base_url(), "https://api.anthropic.com/v1");
    assert_eq!(
        AnthropicAdapter::new(Some("http://127.0.0.1:9/"), KEY, None).base_url(),
        "http://127.0.0.1:9/v1"
    );
    assert_eq!(
        AnthropicAdapter::new(Some(" "), KEY, None).base_url(),
        DEFAULT_BASE_URL
    );
    let req = adapter().passthrough(Bytes::from_static(b"{}"), Some("prompt-caching-2024-07-31"));
    assert_eq!(req.method, Method::Post);
    assert_eq!(req.url, "https://api.anthropic.com/v1/messages");
    assert_eq!(header(&req, "x-api-key"), Some(KEY));
    assert_eq!(header(&req, "anthropic-version"), Some("2023-06-01"));
    assert_eq!(
        header(&req, "anthropic-beta"),
        Some("prompt-caching-2024-07-31")
    );
    assert_eq!(header(&req, "content-type"), Some("application/json"));
    assert_eq!(header(&req, "accept"), Some("application/json"));
    assert!(header(&req, "authorization").is_none());
    let other = AnthropicAdapter::new(None, KEY, Some("2024-01-01"));
    assert_eq!(
        header(&other.list_models(), "anthropic-version"),
        Some("2024-01-01")
    );
    assert!(header(&adapter().passthrough(Bytes::new(), None), "anthropic-beta").is_none());
}

#[test]
fn debug_never_shows_the_key() {
    let a = adapter();
    assert!(!format!("{a:?}").contains(KEY));
    assert!(!format!("{:?}", a.list_models()).contains(KEY));
}

#[test]
fn models() {
    let req = adapter().list_models();
    assert_eq!(req.method, Method::Get);
    assert_eq!(req.url, "https://api.anthropic.com/v1/models?limit=1000");
    assert_eq!(header(&req, "x-api-key"), Some(KEY));
    assert!(header(&req, "content-type").is_none());
    let body = br#"{"data":[{"type":"model","id":"claude-sonnet-4-20250514","display_name":"Claude Sonnet 4"},{"id":"claude-3-5-haiku-20241022"}],"has_more":false,"first_id":"a","last_id":"b"}"#;
    assert_eq!(
        adapter().parse_models(body).unwrap(),
        ["claude-sonnet-4-20250514", "claude-3-5-haiku-20241022"]
    );
    assert!(adapter().parse_models(b"nope").unwrap().is_empty());
}

#[test]
fn chat_request_uses_the_model_default_max_tokens() {
    let mut req = ChatRequest::new(
        "claude-3-5-haiku-20241022",
        vec![
            Message::text_message(CRole::System, "sys"),
            Message::text_message(CRole::User, "hi"),
        ],
    );
    req.stop = vec!["END".into()];
    req.user = Some("u1".into());
    let up = adapter().chat_request(&req).unwrap();
    assert_eq!(up.url, "https://api.anthropic.com/v1/messages");
    let body: Value = serde_json::from_slice(&up.body).unwrap();
    insta::assert_json_snapshot!("chat_request_body", body);
    assert_eq!(body["max_tokens"], 8192);
    assert_eq!(body["system"], "sys");
    req.model = "unknown-model".into();
    let body: Value = serde_json::from_slice(&adapter().chat_request(&req).unwrap().body).unwrap();
    assert_eq!(body["max_tokens"], 4096);
}

#[test]
fn typed_and_count_tokens_requests() {
    let wire = MessagesRequest::new(
        "claude-x",
        10,
        vec![InputMessage::blocks(
            Role::User,
            vec![ContentBlock::text("hi")],
        )],
    );
    let up = adapter().messages_request(&wire, None).unwrap();
    let body: Value = serde_json::from_slice(&up.body).unwrap();
    assert_eq!(
        body,
        json!({"model": "claude-x", "max_tokens": 10, "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]})
    );
    let count = adapter()
        .count_tokens_request(&(&wire).into(), Some("b"))
        .unwrap();
    assert_eq!(
        count.url,
        "https://api.anthropic.com/v1/messages/count_tokens"
    );
    let body: Value = serde_json::from_slice(&count.body).unwrap();
    assert!(body.get("max_tokens").is_none());
    assert_eq!(header(&count, "anthropic-beta"), Some("b"));
}

#[test]
fn responses() {
    let body = br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"Hi"}],"stop_reason":"max_tokens","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":5}}"#;
    let resp = adapter().parse_response(body).unwrap();
    assert_eq!(resp.text(), "Hi");
    assert_eq!(resp.finish_reason, FinishReason::Length);
    assert!(resp.created > 1_600_000_000);
    // A 200 carrying an error body is that error.
    let err = adapter()
        .parse_response(
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::Upstream { status: 529, .. }),
        "{err:?}"
    );
    let err = adapter().parse_response(b"<html>").unwrap_err();
    assert!(matches!(err, Error::Upstream { status: 502, .. }));
}

#[test]
fn errors() {
    let body = format!(
        r#"{{"type":"error","error":{{"type":"rate_limit_error","message":"Too many requests for key {KEY}"}},"request_id":"req_1"}}"#
    );
    match adapter().parse_error(429, Some("12"), body.as_bytes()) {
        Error::Upstream {
            provider,
            status,
            message,
            retry_after,
            error_type,
            ..
        } => {
            assert_eq!(
                (provider.as_str(), status, retry_after),
                ("anthropic", 429, Some(12))
            );
            assert_eq!(error_type.as_deref(), Some("rate_limit_error"));
            assert!(!message.contains(KEY), "{message}");
            assert!(message.starts_with("Too many requests"));
        }
        other => panic!("{other:?}"),
    }
    let e = adapter().parse_error(500, None, b"");
    assert!(e.to_string().contains("empty response body"));
    let e = adapter().parse_error(502, Some("soon"), b"Bad gateway");
    assert!(matches!(
        e,
        Error::Upstream {
            retry_after: None,
            ..
        }
    ));
    assert!(e.to_string().contains("Bad gateway"));
    // Through the Anthropic error body, the type is kept.
    let e = adapter().parse_error(
        529,
        None,
        br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
    );
    assert_eq!(
        forge_core::anthropic::error_body(&e).error.r#type,
        "overloaded_error"
    );
}
