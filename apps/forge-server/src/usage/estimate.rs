//! Prompt counting for the rare attempt whose upstream reported no usage (it broke, or the
//! client left before the report). The body is parsed again only then, never on the normal
//! path.

use std::rc::Rc;

use bytes::Bytes;
use forge_core::canonical::ChatRequest;

use crate::usage::meter::PromptEstimate;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    OpenAiChat,
    Anthropic,
    Gemini,
    Responses,
    /// Completions, embeddings: the body's text is counted whole (an over-estimate).
    Raw,
}

pub fn estimator(kind: Prompt, body: Bytes) -> PromptEstimate {
    Rc::new(move |model: &str| count(kind, &body, model))
}

fn count(kind: Prompt, body: &[u8], model: &str) -> u64 {
    match canonical(kind, body, model) {
        Some(request) => forge_usage::count_chat(model, &request).0,
        None => forge_usage::count_text(model, &String::from_utf8_lossy(body)).0,
    }
}

fn canonical(kind: Prompt, body: &[u8], model: &str) -> Option<ChatRequest> {
    match kind {
        Prompt::OpenAiChat => {
            let wire: forge_core::openai::ChatCompletionRequest =
                serde_json::from_slice(body).ok()?;
            forge_core::openai::convert::chat_request_to_canonical(&wire).ok()
        }
        Prompt::Anthropic => {
            let wire: forge_core::anthropic::MessagesRequest = serde_json::from_slice(body).ok()?;
            Some(forge_core::anthropic::convert::request_to_canonical(&wire))
        }
        Prompt::Gemini => {
            let wire: forge_core::gemini::GenerateContentRequest =
                serde_json::from_slice(body).ok()?;
            forge_core::gemini::convert::request_to_canonical(model, &wire).ok()
        }
        Prompt::Responses => {
            let wire: forge_core::responses::ResponsesRequest =
                serde_json::from_slice(body).ok()?;
            forge_core::responses::request_to_canonical(&wire, None).ok()
        }
        Prompt::Raw => None,
    }
}
