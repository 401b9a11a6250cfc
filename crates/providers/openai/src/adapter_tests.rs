#![allow(clippy::unwrap_used, clippy::panic)]

use forge_core::canonical::{
    ChatRequest, ContentPart, FinishReason, Message, Role, Tool, ToolChoice, Usage,
};
use forge_core::sse::SseParser;
use serde_json::{Value, json};

use super::*;
use crate::providers::lookup;

const KEY: &str = "sk-test-0123456789abcdef";

fn adapter(name: &str, base: Option<&str>) -> OpenAiAdapter {
    OpenAiAdapter::new(&lookup(name), base, KEY).unwrap()
}

fn header<'a>(req: &'a UpstreamRequest, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn base_urls() {
    assert_eq!(
        adapter("openai", None).base_url(),
        "https://api.openai.com/v1"
    );
    assert_eq!(
        adapter("openai", Some("")).base_url(),
        "https://api.openai.com/v1"
    );
    assert_eq!(
        adapter("openai", Some("  ")).base_url(),
        "https://api.openai.com/v1"
    );
    assert_eq!(
        adapter("openai", Some("http://127.0.0.1:9000/v1/")).base_url(),
        "http://127.0.0.1:9000/v1"
    );
    assert_eq!(
        adapter("Custom", Some("http://h/x//")).base_url(),
        "http://h/x"
    );
    assert_eq!(adapter("Custom", Some("http://h/x")).provider(), "custom");
}

#[test]
fn gemini_suffix() {
    assert_eq!(
        adapter("gemini", None).base_url(),
        "https://generativelanguage.googleapis.com/v1beta/openai"
    );
    assert_eq!(
        adapter("gemini", Some("http://h/v1beta/")).base_url(),
        "http://h/v1beta/openai"
    );
    assert_eq!(
        adapter("gemini", Some("http://h/v1beta/openai/")).base_url(),
        "http://h/v1beta/openai"
    );
}

#[test]
fn missing_base_url_and_unsupported() {
    match OpenAiAdapter::new(&lookup("my-vllm"), None, KEY) {
        Err(Error::InvalidRequest { message, .. }) => {
            assert_eq!(message, "provider my-vllm needs a base_url")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        OpenAiAdapter::new(&lookup("bedrock"), Some("https://x"), KEY),
        Err(Error::InvalidRequest { .. })
    ));
    assert!(
        OpenAiAdapter::new(&lookup("azure"), None, KEY).is_err(),
        "Azure has no default URL"
    );
}

#[test]
fn azure_routes_by_deployment_with_api_key_and_version() {
    let a = OpenAiAdapter::new(&lookup("azure"), Some("https://res.openai.azure.com/"), KEY)
        .unwrap()
        .with_api_version(Some("2024-06-01"));
    let req = a.passthrough(
        Endpoint::ChatCompletions,
        Bytes::from_static(b"{\"model\":\"my gpt/4o\",\"messages\":[],\"x\":1}"),
    );
    assert_eq!(
        req.url,
        "https://res.openai.azure.com/openai/deployments/my%20gpt%2F4o/chat/completions?api-version=2024-06-01"
    );
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        body,
        json!({ "messages": [], "x": 1 }),
        "model leaves the body"
    );
    assert_eq!(header(&req, "api-key"), Some(KEY));
    assert_eq!(header(&req, "authorization"), None);
    let models = a.list_models();
    assert_eq!(
        models.url,
        "https://res.openai.azure.com/openai/models?api-version=2024-06-01"
    );
    assert_eq!(header(&models, "api-key"), Some(KEY));
    let default = OpenAiAdapter::new(&lookup("azure"), Some("https://r"), KEY).unwrap();
    assert!(
        default
            .list_models()
            .url
            .ends_with(AZURE_DEFAULT_API_VERSION)
    );
    // Other hosts ignore an api version.
    let openai = adapter("openai", None).with_api_version(Some("2024-06-01"));
    assert_eq!(openai.list_models().url, "https://api.openai.com/v1/models");
}

#[test]
fn passthrough_request() {
    let a = adapter("openai", Some("http://h/v1/"));
    for (endpoint, path) in [
        (Endpoint::ChatCompletions, "chat/completions"),
        (Endpoint::Completions, "completions"),
        (Endpoint::Embeddings, "embeddings"),
        (Endpoint::Responses, "responses"),
    ] {
        assert_eq!(endpoint.path(), path);
        let req = a.passthrough(endpoint, Bytes::from_static(b"{\"model\":\"x\"}"));
        assert_eq!(req.method, Method::Post);
        assert_eq!(req.url, format!("http://h/v1/{path}"));
        assert_eq!(&req.body[..], b"{\"model\":\"x\"}");
    }
    let req = a.passthrough(Endpoint::ChatCompletions, Bytes::new());
    assert_eq!(
        req.headers,
        vec![
            ("authorization", format!("Bearer {KEY}")),
            ("content-type", "application/json".to_owned()),
            ("accept", "application/json".to_owned()),
        ]
    );
}

#[test]
fn list_models_request() {
    let req = adapter("groq", None).list_models();
    assert_eq!(req.method, Method::Get);
    assert_eq!(req.url, "https://api.groq.com/openai/v1/models");
    assert_eq!(
        header(&req, "authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(header(&req, "content-type"), None);
    assert!(req.body.is_empty());
}

#[test]
fn debug_never_shows_the_key() {
    let a = adapter("openai", None);
    let shown = format!("{a:?} {:?}", a.list_models());
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("<redacted>"));
}

#[test]
fn models_parsing() {
    let a = adapter("openai", None);
    let ids = a
        .parse_models(br#"{"object":"list","data":[{"id":"gpt-4o","object":"model"},{"id":"o3"},{"no_id":1}]}"#)
        .unwrap();
    assert_eq!(ids, ["gpt-4o", "o3"]);
    assert_eq!(
        a.parse_models(br#"{"data":[]}"#).unwrap(),
        Vec::<String>::new()
    );
    // Together answers a bare array.
    assert_eq!(
        a.parse_models(br#"[{"id":"meta-llama/Llama-3-8b","type":"chat"},{"x":1}]"#)
            .unwrap(),
        ["meta-llama/Llama-3-8b"]
    );
    assert_eq!(a.parse_models(b"[]").unwrap(), Vec::<String>::new());
    for bad in [&b"not json"[..], b"{\"models\":[]}", b"{\"data\":{}}", b"5"] {
        match a.parse_models(bad) {
            Err(e @ Error::Upstream { status: 502, .. }) => assert_eq!(e.status(), 502),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn error_parsing_json() {
    let a = adapter("openai", None);
    let body = br#"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#;
    match a.parse_error(429, Some(" 12 "), body) {
        Error::Upstream {
            provider,
            status,
            message,
            retry_after,
            error_type,
            code,
        } => {
            assert_eq!(provider, "openai");
            assert_eq!(status, 429);
            assert_eq!(message, "Rate limit reached");
            assert_eq!(retry_after, Some(12));
            assert_eq!(error_type.as_deref(), Some("requests"));
            assert_eq!(code.as_deref(), Some("rate_limit_exceeded"));
        }
        other => panic!("{other:?}"),
    }
    // Gemini wraps its error in an array and uses numeric codes.
    let gemini =
        br#"[{"error":{"code":400,"message":"API key not valid","status":"INVALID_ARGUMENT"}}]"#;
    match adapter("gemini", None).parse_error(400, Some("Wed, 21 Oct 2015 07:28:00 GMT"), gemini) {
        Error::Upstream {
            message,
            error_type,
            code,
            retry_after,
            ..
        } => {
            assert_eq!(message, "API key not valid");
            assert_eq!(error_type.as_deref(), Some("INVALID_ARGUMENT"));
            assert_eq!(code.as_deref(), Some("400"));
            assert_eq!(retry_after, None);
        }
        other => panic!("{other:?}"),
    }
    match a.parse_error(400, None, br#"{"error":"bad model"}"#) {
        Error::Upstream { message, .. } => assert_eq!(message, "bad model"),
        other => panic!("{other:?}"),
    }
    match a.parse_error(422, None, br#"{"detail":"Field required"}"#) {
        Error::Upstream { message, .. } => assert_eq!(message, "Field required"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn error_parsing_text_and_scrubbing() {
    let a = adapter("openai", None);
    match a.parse_error(502, None, b"  <html>Bad Gateway</html>\n") {
        Error::Upstream {
            message,
            error_type,
            code,
            ..
        } => {
            assert_eq!(message, "<html>Bad Gateway</html>");
            assert_eq!((error_type, code), (None, None));
        }
        other => panic!("{other:?}"),
    }
    match a.parse_error(500, None, b"") {
        Error::Upstream { message, .. } => assert_eq!(message, "empty response body"),
        other => panic!("{other:?}"),
    }
    let long = "é".repeat(2000);
    match a.parse_error(500, None, long.as_bytes()) {
        Error::Upstream { message, .. } => assert_eq!(message.chars().count(), 501),
        other => panic!("{other:?}"),
    }
    let echoed = format!(
        r#"{{"error":{{"message":"Incorrect API key provided: {KEY}.","code":"invalid_api_key"}}}}"#
    );
    let err = a.parse_error(401, None, echoed.as_bytes());
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("Incorrect API key provided: <redacted>."));
    let text_err = a.parse_error(401, None, format!("bad key {KEY}").as_bytes());
    assert!(!text_err.to_string().contains(KEY));
    assert_eq!(err.status(), 401);
}

#[test]
fn unreadable_bodies_never_quote_the_key() {
    let a = adapter("openai", None);
    // A field of the wrong type makes serde quote the offending string in its message.
    let body = format!(
        r#"{{"id":"c","object":"chat.completion","created":"{KEY}","model":"m","choices":[]}}"#
    );
    let err = a.parse_response(body.as_bytes()).unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
    let chunk = SseEvent {
        data: format!(r#"{{"id":"c","created":"{KEY}","model":"m","choices":[]}}"#),
        ..SseEvent::default()
    };
    let err = a.parse_stream_event(&chunk).unwrap_err();
    assert!(!format!("{err} {err:?}").contains(KEY));
    let err = a
        .parse_models(format!(r#"{{"data":[{{"id":"{KEY}"}}] trailing"#).as_bytes())
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains(KEY));
    let long = format!(r#"{{"id":"c","created":"{}"}}"#, "x".repeat(5000));
    let err = a.parse_response(long.as_bytes()).unwrap_err();
    assert!(err.to_string().chars().count() < 700, "{err}");
}

#[test]
fn chat_response_parsing() {
    let a = adapter("openai", None);
    let body = br#"{"id":"chatcmpl-1","object":"chat.completion","created":5,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":2,"completion_tokens":1,"total_tokens":3}}"#;
    let resp = a.parse_response(body).unwrap();
    assert_eq!(resp.text(), "Hi");
    assert_eq!(resp.finish_reason, FinishReason::Stop);
    assert_eq!(resp.usage.total_tokens(), 3);
    match a.parse_response(br#"{"error":{"message":"overloaded","code":529}}"#) {
        Err(Error::Upstream {
            status, message, ..
        }) => {
            assert_eq!((status, message.as_str()), (529, "overloaded"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        a.parse_response(b"<html>"),
        Err(Error::Upstream { status: 502, .. })
    ));
}

fn events_of(stream: &[u8]) -> Vec<SseEvent> {
    let mut parser = SseParser::new();
    let mut out = Vec::new();
    parser.push(stream, &mut out);
    parser.finish(&mut out);
    out
}

#[test]
fn stream_parsing_with_tool_calls_and_usage() {
    let a = adapter("openai", None);
    let stream = concat!(
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":9,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n",
        ": keep-alive\n\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":9,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]},\"finish_reason\":null}]}\r\n\r\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":9,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}],\"usage\":null}\n\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":9,\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":4,\"total_tokens\":14,\"prompt_tokens_details\":{\"cached_tokens\":2}}}\n\n",
        "data: [DONE]\n\n",
    );
    let mut events = Vec::new();
    for ev in events_of(stream.as_bytes()) {
        events.extend(a.parse_stream_event(&ev).unwrap());
    }
    let start = StreamEvent::Start {
        id: "c1".into(),
        model: "gpt-4o".into(),
        created: 9,
    };
    assert_eq!(
        events,
        vec![
            start.clone(),
            StreamEvent::ToolCallStart {
                index: 0,
                id: "call_a".into(),
                name: "get_weather".into()
            },
            start.clone(),
            StreamEvent::ToolCallArgumentsDelta {
                index: 0,
                fragment: "{\"city\":".into()
            },
            start.clone(),
            StreamEvent::Finish {
                reason: FinishReason::ToolCalls
            },
            start,
            StreamEvent::Usage(Usage {
                input_tokens: 10,
                output_tokens: 4,
                cached_input_tokens: 2,
                ..Usage::default()
            }),
        ]
    );
}

#[test]
fn stream_errors() {
    let a = adapter("openai", None);
    let ev = SseEvent {
        data: r#"{"error":{"message":"Internal error","type":"server_error","code":null}}"#.into(),
        ..SseEvent::default()
    };
    match a.parse_stream_event(&ev) {
        Err(Error::Upstream {
            status,
            message,
            error_type,
            ..
        }) => {
            assert_eq!(status, 502);
            assert_eq!(message, "Internal error");
            assert_eq!(error_type.as_deref(), Some("server_error"));
        }
        other => panic!("{other:?}"),
    }
    let done = SseEvent {
        data: "[DONE]".into(),
        ..SseEvent::default()
    };
    assert_eq!(a.parse_stream_event(&done).unwrap(), vec![]);
    let garbage = SseEvent {
        data: "{not json".into(),
        ..SseEvent::default()
    };
    assert!(matches!(
        a.parse_stream_event(&garbage),
        Err(Error::Upstream { status: 502, .. })
    ));
}

fn sample_request() -> ChatRequest {
    let mut req = ChatRequest::new(
        "gpt-4o-mini",
        vec![
            Message::text_message(Role::System, "You are terse."),
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
        description: Some("Current weather".into()),
        parameters: Some(
            json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        ),
        strict: None,
    }];
    req.tool_choice = Some(ToolChoice::Auto);
    req.max_tokens = Some(128);
    req.temperature = Some(0.2);
    req.stop = vec!["\n\n".into()];
    req.stream = true;
    req.extra
        .insert("stream_options".into(), json!({"include_usage": true}));
    req
}

#[test]
fn built_chat_request_snapshot() {
    let req = adapter("together", None)
        .chat_request(&sample_request())
        .unwrap();
    assert_eq!(req.url, "https://api.together.xyz/v1/chat/completions");
    assert_eq!(header(&req, "content-type"), Some("application/json"));
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body["max_tokens"], 128);
    insta::assert_json_snapshot!("together_chat_request", body);
}

#[test]
fn openai_gets_max_completion_tokens() {
    let req = adapter("openai", None)
        .chat_request(&sample_request())
        .unwrap();
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body["max_completion_tokens"], 128);
    assert!(body.get("max_tokens").is_none());
}

#[test]
fn responses_mode_follows_the_table_unless_configured() {
    let openai = lookup("openai");
    let deepseek = lookup("deepseek");
    let azure = lookup("azure");
    let custom = lookup("my-vllm");
    let adapter = |info: &crate::ProviderInfo| {
        OpenAiAdapter::new(info, Some("https://h.example/v1"), "k").unwrap()
    };
    assert!(adapter(&openai).serves_responses());
    assert!(adapter(&azure).serves_responses());
    assert!(!adapter(&deepseek).serves_responses());
    assert!(!adapter(&custom).serves_responses());
    assert!(!adapter(&openai).responses_pinned());
    let pinned = adapter(&custom).with_responses_mode(Some(" Native "));
    assert!(pinned.serves_responses() && pinned.responses_pinned());
    let off = adapter(&openai).with_responses_mode(Some("translate"));
    assert!(!off.serves_responses() && off.responses_pinned());
    let ignored = adapter(&openai).with_responses_mode(Some("sometimes"));
    assert!(ignored.serves_responses() && !ignored.responses_pinned());
}
