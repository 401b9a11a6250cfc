#![allow(clippy::unwrap_used, clippy::panic)]

use forge_core::canonical::{
    ChatRequest, ContentPart, FinishReason, Message, Role, StreamEvent, Tool, ToolChoice,
};
use forge_core::sse::SseParser;
use serde_json::{Value, json};

use super::*;

const KEY: &str = "AIzaSy-test-0123456789abcdef";

fn adapter() -> GeminiAdapter {
    GeminiAdapter::new(None, KEY)
}

fn header<'a>(req: &'a UpstreamRequest, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

fn assert_key_only_in_header(req: &UpstreamRequest) {
    assert_eq!(header(req, "x-goog-api-key"), Some(KEY));
    assert!(!req.url.contains(KEY), "{}", req.url);
    assert!(!req.url.contains("key="), "{}", req.url);
    assert!(!format!("{req:?}").contains(KEY));
}

#[test]
fn base_urls() {
    assert_eq!(adapter().base_url(), DEFAULT_BASE_URL);
    assert_eq!(
        GeminiAdapter::new(Some("  "), KEY).base_url(),
        DEFAULT_BASE_URL
    );
    assert_eq!(
        GeminiAdapter::new(Some("http://127.0.0.1:9/v1beta/"), KEY).base_url(),
        "http://127.0.0.1:9/v1beta"
    );
}

#[test]
fn generate_urls_and_headers() {
    let a = adapter();
    let req = a
        .generate_request(
            "gemini-2.0-flash",
            &GenerateContentRequest::default(),
            false,
        )
        .unwrap();
    assert_eq!(req.method, Method::Post);
    assert_eq!(
        req.url,
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent"
    );
    assert_eq!(header(&req, "content-type"), Some("application/json"));
    assert_key_only_in_header(&req);
    assert_eq!(
        serde_json::from_slice::<Value>(&req.body).unwrap(),
        json!({"contents": []})
    );

    let req = a.passthrough(
        "models/gemini-2.5-pro",
        bytes::Bytes::from_static(b"{\"contents\":[]}"),
        true,
    );
    assert_eq!(
        req.url,
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    );
    assert_eq!(header(&req, "accept"), Some("text/event-stream"));
    assert_eq!(&req.body[..], b"{\"contents\":[]}");
    assert_key_only_in_header(&req);
}

#[test]
fn model_names_cannot_change_the_url() {
    let a = adapter();
    let url = |m: &str| a.passthrough(m, bytes::Bytes::new(), false).url;
    assert_eq!(
        url("tunedModels/my-model-1"),
        format!("{DEFAULT_BASE_URL}/tunedModels/my-model-1:generateContent")
    );
    assert_eq!(
        url(" /models/gemini-1.5-pro-002 "),
        format!("{DEFAULT_BASE_URL}/models/gemini-1.5-pro-002:generateContent")
    );
    assert_eq!(
        url("x?key=1#y z"),
        format!("{DEFAULT_BASE_URL}/models/x%3Fkey%3D1%23y%20z:generateContent")
    );
}

#[test]
fn debug_never_shows_the_key() {
    let shown = format!("{:?}", adapter());
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("<redacted>"));
}

#[test]
fn chat_request_renders_gemini() {
    let mut req = ChatRequest::new(
        "gemini-2.5-flash",
        vec![
            Message::text_message(Role::System, "Be brief."),
            Message::text_message(Role::User, "Weather in Paris?"),
            Message::new(
                Role::Assistant,
                vec![ContentPart::ToolCall {
                    id: "call_1".into(),
                    name: "get_weather".into(),
                    arguments: "{\"city\":\"Paris\"}".into(),
                }],
            ),
            Message::new(
                Role::Tool,
                vec![ContentPart::ToolResult {
                    call_id: "call_1".into(),
                    content: vec![ContentPart::Text { text: "18C".into() }],
                }],
            ),
        ],
    );
    req.tools = vec![Tool {
        name: "get_weather".into(),
        description: None,
        parameters: Some(
            json!({"type": "object", "properties": {"city": {"type": "string"}}, "additionalProperties": false}),
        ),
        strict: Some(true),
    }];
    req.tool_choice = Some(ToolChoice::Named("get_weather".into()));
    req.max_tokens = Some(100);
    req.stream = true;
    let up = adapter().chat_request(&req).unwrap();
    assert!(
        up.url
            .ends_with("/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
    );
    assert_key_only_in_header(&up);
    let body: Value = serde_json::from_slice(&up.body).unwrap();
    insta::assert_json_snapshot!("chat_request_body", body);
}

#[test]
fn list_and_parse_models() {
    let req = adapter().list_models();
    assert_eq!(req.method, Method::Get);
    assert_eq!(
        req.url,
        "https://generativelanguage.googleapis.com/v1beta/models?pageSize=1000"
    );
    assert!(req.body.is_empty());
    assert_key_only_in_header(&req);
    let body = json!({"models": [
        {"name": "models/gemini-2.0-flash", "displayName": "Gemini 2.0 Flash", "supportedGenerationMethods": ["generateContent", "countTokens"],
         "inputTokenLimit": 1048576, "outputTokenLimit": 8192, "version": "2.0"},
        {"name": "models/text-embedding-004", "supportedGenerationMethods": ["embedContent"]}
    ], "nextPageToken": "abc"});
    assert_eq!(
        adapter().parse_models(body.to_string().as_bytes()).unwrap(),
        ["gemini-2.0-flash", "text-embedding-004"]
    );
    assert_eq!(adapter().parse_models(b"nope").unwrap_err().status(), 502);
}

#[test]
fn parse_response_to_canonical() {
    let body = json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": "Hi"}]}, "finishReason": "MAX_TOKENS", "index": 0}],
        "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1, "totalTokenCount": 4},
        "modelVersion": "gemini-2.0-flash", "responseId": "r1"
    });
    let resp = adapter()
        .parse_response(body.to_string().as_bytes())
        .unwrap();
    assert_eq!((resp.id.as_str(), resp.text().as_str()), ("r1", "Hi"));
    assert_eq!(resp.finish_reason, FinishReason::Length);
    assert_eq!(resp.usage.total_tokens(), 4);
    let err = adapter()
        .parse_response(br#"{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}"#)
        .unwrap_err();
    assert_eq!(err.status(), 503);
    assert_eq!(
        adapter().parse_response(b"<html>").unwrap_err().status(),
        502
    );
}

#[test]
fn parse_errors_keep_status_and_retry_delay() {
    let body = json!({"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED", "details": [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37.5s"}
    ]}});
    let err = adapter().parse_error(429, None, body.to_string().as_bytes());
    let Error::Upstream {
        provider,
        status,
        message,
        retry_after,
        error_type,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (provider.as_str(), *status, message.as_str()),
        ("gemini", 429, "Quota exceeded")
    );
    assert_eq!(*retry_after, Some(38));
    assert_eq!(error_type.as_deref(), Some("RESOURCE_EXHAUSTED"));
    assert!(err.retryable());
    // The header wins over the body.
    let err = adapter().parse_error(429, Some("5"), body.to_string().as_bytes());
    assert!(matches!(
        err,
        Error::Upstream {
            retry_after: Some(5),
            ..
        }
    ));
    // The Gemini error body of the edge keeps Google's status name.
    assert_eq!(
        forge_core::gemini::error_body(&err).error.status,
        "RESOURCE_EXHAUSTED"
    );
}

#[test]
fn parse_errors_never_include_the_key() {
    let body = format!(
        r#"[{{"error":{{"code":400,"message":"API key {KEY} not valid","status":"INVALID_ARGUMENT"}}}}]"#
    );
    let err = adapter().parse_error(400, None, body.as_bytes());
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("INVALID_ARGUMENT"));
    let err = adapter().parse_error(500, None, format!("plain {KEY}").as_bytes());
    assert!(!err.to_string().contains(KEY));
    let err = adapter().parse_error(502, None, b"");
    assert!(err.to_string().contains("empty response body"));
}

#[test]
fn stream_events_and_in_stream_errors() {
    let a = adapter();
    let mut decoder = a.stream_decoder("gemini", "gemini-2.0-flash", 1_750_000_000);
    let mut parser = SseParser::new();
    let mut sse = Vec::new();
    parser.push(
        b"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hi\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"responseId\": \"r\"}\r\n\r\n\
          data: {\"error\": {\"code\": 500, \"message\": \"Internal error\", \"status\": \"INTERNAL\"}}\r\n\r\n",
        &mut sse,
    );
    let events = decoder.decode(&sse[0]).unwrap();
    assert!(decoder.complete(), "a finish reason ends the stream");
    assert_eq!(events[1], StreamEvent::TextDelta { text: "Hi".into() });
    assert_eq!(
        events[2],
        StreamEvent::Finish {
            reason: FinishReason::Stop
        }
    );
    let err = decoder.decode(&sse[1]).unwrap_err();
    assert_eq!(err.status(), 500);
    let bad = forge_core::sse::SseEvent {
        data: format!("{{bad {KEY}"),
        ..Default::default()
    };
    let err = decoder.decode(&bad).unwrap_err();
    assert_eq!(err.status(), 502);
    assert!(!err.to_string().contains(KEY));
}
