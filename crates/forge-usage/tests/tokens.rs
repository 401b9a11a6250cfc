//! Token counting through the public API.
#![allow(clippy::unwrap_used)]

use forge_core::canonical::{ChatRequest, Message, Role};
use forge_usage::{count_chat, count_text, tokens};

#[test]
fn openai_models_count_exactly_others_estimate() {
    tokens::warm_up();
    assert!(count_text("gpt-4o", "tiktoken is great!").1);
    assert_eq!(
        count_text("text-embedding-3-small", "tiktoken is great!"),
        (6, true)
    );
    let (n, exact) = count_text("gemini-2.5-flash", "tiktoken is great!");
    assert!(!exact && n > 0);
}

#[test]
fn long_prompts_count_like_their_parts() {
    let paragraph = "Forge routes each request to a deployment and settles its usage once. ";
    let one = count_text("gpt-4.1", paragraph).0;
    let many = count_text("gpt-4.1", &paragraph.repeat(500));
    // The paragraph ends with a space, so repeats join as " Forge": the first piece differs.
    assert!(many.1);
    assert!(
        many.0.abs_diff(one * 500) <= 500,
        "{} vs {}",
        many.0,
        one * 500
    );
}

#[test]
fn chat_counts_grow_with_messages() {
    let mut request = ChatRequest::new(
        "gpt-4o",
        vec![Message::text_message(Role::System, "You are terse.")],
    );
    let (before, exact) = count_chat("gpt-4o", &request);
    assert!(exact);
    request
        .messages
        .push(Message::text_message(Role::User, "Say hello."));
    let (after, _) = count_chat("gpt-4o", &request);
    // Framing 3 + role 1 + "Say hello." (3 tokens).
    assert_eq!(after - before, 3 + 1 + count_text("gpt-4o", "Say hello.").0);
}
