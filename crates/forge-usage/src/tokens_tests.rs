#![allow(clippy::unwrap_used)]

use forge_core::canonical::{Tool, ToolChoice};

use super::*;

#[test]
fn encodings_by_model() {
    for model in [
        "gpt-4o",
        "gpt-4o-mini-2024-07-18",
        "gpt-4.1-nano",
        "gpt-5",
        "o1",
        "o3-mini",
        "o4-mini",
        "openai/gpt-4o",
    ] {
        assert_eq!(encoding_for(model), (Encoding::O200k, true), "{model}");
    }
    for model in [
        "gpt-4",
        "gpt-4-turbo",
        "gpt-3.5-turbo-0125",
        "gpt-35-turbo",
        "text-embedding-3-small",
        "text-embedding-ada-002",
    ] {
        assert_eq!(encoding_for(model), (Encoding::Cl100k, true), "{model}");
    }
    for model in [
        "claude-sonnet-4-5",
        "gemini-2.5-pro",
        "deepseek-chat",
        "llama-3.3-70b-versatile",
        "o3x",
        "omni",
    ] {
        assert_eq!(encoding_for(model), (Encoding::O200k, false), "{model}");
    }
}

#[test]
fn known_text_counts() {
    assert_eq!(count_text("gpt-4", "tiktoken is great!"), (6, true));
    assert_eq!(count_text("gpt-4o", "hello world"), (2, true));
    assert_eq!(count_text("gpt-4", "hello world"), (2, true));
    assert_eq!(count_text("gpt-4o", ""), (0, true));
    let (n, exact) = count_text("claude-sonnet-4-5", "hello world");
    assert_eq!((n, exact), (2, false));
}

/// The OpenAI cookbook's example chat: 129 prompt tokens for cl100k models, 124 for gpt-4o.
#[test]
fn cookbook_chat() {
    let system = |name: Option<&str>, text: &str| {
        let mut m = Message::text_message(Role::System, text);
        m.name = name.map(str::to_owned);
        m
    };
    let messages = vec![
        system(
            None,
            "You are a helpful, pattern-following assistant that translates corporate jargon into plain English.",
        ),
        system(
            Some("example_user"),
            "New synergies will help drive top-line growth.",
        ),
        system(
            Some("example_assistant"),
            "Things working well together will increase revenue.",
        ),
        system(
            Some("example_user"),
            "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage.",
        ),
        system(
            Some("example_assistant"),
            "Let's talk later when we're less busy about how to do better.",
        ),
        Message::text_message(
            Role::User,
            "This late pivot means we don't have time to boil the ocean for the client deliverable.",
        ),
    ];
    let request = ChatRequest::new("gpt-4o", messages);
    assert_eq!(count_chat("gpt-3.5-turbo-0613", &request), (129, true));
    assert_eq!(count_chat("gpt-4-0613", &request), (129, true));
    assert_eq!(count_chat("gpt-4o", &request), (124, true));
    assert!(!count_chat("claude-haiku-4-5", &request).1);
}

#[test]
fn tools_images_and_calls_are_estimates() {
    let mut request = ChatRequest::new("gpt-4o", vec![Message::text_message(Role::User, "hi")]);
    let (plain, exact) = count_chat("gpt-4o", &request);
    assert!(exact);
    // 3 priming + 3 framing + "user" + "hi".
    assert_eq!(plain, 8);

    request.tools.push(Tool {
        name: "get_weather".into(),
        description: Some("Weather for a city".into()),
        parameters: Some(
            serde_json::json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        ),
        strict: None,
    });
    request.tool_choice = Some(ToolChoice::Auto);
    let (with_tools, exact) = count_chat("gpt-4o", &request);
    assert!(!exact);
    assert!(
        with_tools > plain + TOKENS_FOR_TOOLS + TOKENS_PER_TOOL + 10,
        "{with_tools}"
    );

    let image = Message::new(
        Role::User,
        vec![ContentPart::Image {
            source: forge_core::canonical::ImageSource::Url {
                url: "https://example.invalid/x.png".into(),
            },
            detail: Some("low".into()),
        }],
    );
    let request = ChatRequest::new("gpt-4o", vec![image]);
    assert_eq!(
        count_chat("gpt-4o", &request),
        (3 + 3 + 1 + IMAGE_LOW_DETAIL, false)
    );
}

#[test]
fn chunked_counts_equal_whole_counts() {
    let text = "The quick brown fox, née Renard, jumps over 1234567 lazy dogs!\n\
                \tIndented line with CamelCaseWords and snake_case_words.\r\n  \n\
                Mixed: naïve café — 東京タワー is 333 m; ØRESUND bridge; it's, we'll, they're.\n\
                fn main() { println!(\"{}\", 42); } // code   with   spaces\n\n\n";
    let text = text.repeat(5);
    for encoding in [Encoding::O200k, Encoding::Cl100k] {
        let bpe = encoder(encoding).unwrap();
        let whole = bpe.encode_ordinary(&text).len() as u64;
        for (target, max) in [(1, 64), (7, 40), (50, 200), (TARGET, MAX)] {
            let mut total = 0;
            let mut clean_all = true;
            for (chunk, clean) in Chunks::new(&text, target, max) {
                total += bpe.encode_ordinary(chunk).len() as u64;
                clean_all &= clean;
            }
            assert!(clean_all, "{encoding:?} {target}");
            assert_eq!(total, whole, "{encoding:?} target {target}");
        }
    }
}

#[test]
fn pathological_input_is_bounded_and_marked_estimated() {
    let text = "a".repeat(200_000);
    let started = std::time::Instant::now();
    let (n, exact) = count_text("gpt-4o", &text);
    assert!(!exact);
    assert!(n > 0 && n < 200_000, "{n}");
    let spaces = " ".repeat(100_000);
    let (n, _) = count_text("gpt-4o", &spaces);
    assert!(n > 0);
    assert!(started.elapsed().as_secs() < 60);
}

#[test]
fn estimate_is_chars_over_four() {
    assert_eq!(estimate(""), 0);
    assert_eq!(estimate("abcde"), 2);
    assert_eq!(estimate("日本語です"), 2);
}
