//! The conformance matrix: every client dialect (OpenAI chat, Anthropic messages, Gemini
//! generateContent, OpenAI Responses) x every upstream kind (OpenAI-compatible, Anthropic, Gemini,
//! Cohere) x every case,
//! one test per cell, each run whole and streamed. A cell checks the native request the fake
//! upstream received and the exact shape of the answer in the client's dialect.

mod canned;
mod canned_responses;
mod cases;
mod claude_code;
mod client;
mod fixture;
mod responses_client;
mod spec;
mod upstream;

use cases::{Case, run};
use client::In;
use fixture::Up;

/// One test per case for one (client dialect, upstream kind) pair.
macro_rules! cells {
    ($inbound:expr, $up:expr; $($name:ident => $case:ident),+ $(,)?) => {$(
        #[actix_rt::test]
        async fn $name() {
            run($inbound, $up, Case::$case).await
        }
    )+};
}

/// The table: (module, client dialect, upstream kind), each with every case, plus the cases
/// only some dialects can ask, in brackets.
macro_rules! matrix {
    ($($pair:ident: $inbound:ident -> $up:ident [$($name:ident => $case:ident),*];)+) => {$(
        mod $pair {
            use super::*;
            cells!(In::$inbound, Up::$up;
                $($name => $case,)*
                text => Text,
                system_prompt => System,
                multi_turn => MultiTurn,
                max_tokens => MaxTokens,
                tool_call => ToolCall,
                parallel_tool_calls => ParallelToolCalls,
                tool_result => ToolResult,
                image_base64 => Image,
                json_output => JsonOutput,
                reasoning => Reasoning,
                upstream_errors => UpstreamErrors,
            );
        }
    )+};
}

matrix! {
    openai_to_openai: OpenAi -> OpenAi [stop_sequence => StopSequence];
    openai_to_anthropic: OpenAi -> Anthropic [stop_sequence => StopSequence];
    openai_to_gemini: OpenAi -> Gemini [stop_sequence => StopSequence];
    anthropic_to_openai: Anthropic -> OpenAi [stop_sequence => StopSequence];
    anthropic_to_anthropic: Anthropic -> Anthropic [stop_sequence => StopSequence];
    anthropic_to_gemini: Anthropic -> Gemini [stop_sequence => StopSequence];
    gemini_to_openai: Gemini -> OpenAi [stop_sequence => StopSequence];
    gemini_to_anthropic: Gemini -> Anthropic [stop_sequence => StopSequence];
    gemini_to_gemini: Gemini -> Gemini [stop_sequence => StopSequence];
    // `POST /v1/responses` has no stop-sequence parameter (no `stop` field in the Responses
    // API), so there is nothing for a stop_sequence cell to ask.
    responses_to_openai: Responses -> OpenAi [];
    responses_to_anthropic: Responses -> Anthropic [];
    responses_to_gemini: Responses -> Gemini [];
    openai_to_cohere: OpenAi -> Cohere [stop_sequence => StopSequence];
    anthropic_to_cohere: Anthropic -> Cohere [stop_sequence => StopSequence];
    gemini_to_cohere: Gemini -> Cohere [stop_sequence => StopSequence];
    responses_to_cohere: Responses -> Cohere [];
}
