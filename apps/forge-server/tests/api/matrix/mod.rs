//! The conformance matrix: every client dialect (OpenAI chat, Anthropic messages, Gemini
//! generateContent) x every upstream kind (OpenAI-compatible, Anthropic, Gemini) x every case,
//! one test per cell, each run whole and streamed. A cell checks the native request the fake
//! upstream received and the exact shape of the answer in the client's dialect.

mod canned;
mod cases;
mod claude_code;
mod client;
mod fixture;
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

/// The table: (module, client dialect, upstream kind), each with every case.
macro_rules! matrix {
    ($($pair:ident: $inbound:ident -> $up:ident;)+) => {$(
        mod $pair {
            use super::*;
            cells!(In::$inbound, Up::$up;
                text => Text,
                system_prompt => System,
                multi_turn => MultiTurn,
                stop_sequence => StopSequence,
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
    openai_to_openai: OpenAi -> OpenAi;
    openai_to_anthropic: OpenAi -> Anthropic;
    openai_to_gemini: OpenAi -> Gemini;
    anthropic_to_openai: Anthropic -> OpenAi;
    anthropic_to_anthropic: Anthropic -> Anthropic;
    anthropic_to_gemini: Anthropic -> Gemini;
    gemini_to_openai: Gemini -> OpenAi;
    gemini_to_anthropic: Gemini -> Anthropic;
    gemini_to_gemini: Gemini -> Gemini;
}
