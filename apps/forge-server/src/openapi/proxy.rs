//! The proxy routes in the spec. Their handlers are generic over the client dialect
//! (`proxy::client::handle::<D>`), so the operations are declared here, on bodiless functions
//! that exist only to carry `#[utoipa::path]`. The bodies are the providers' own large
//! schemas: each is stated as an open JSON object with the fields Forge itself reads (model,
//! messages, stream, ...) and `additionalProperties` for the rest, which Forge passes on.

#![allow(dead_code)]

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::errors::{AnthropicErrorBody, GeminiErrorBody, OpenAiErrorBody};

/// An OpenAI Chat Completions request.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}))]
pub struct ChatCompletionRequest {
    /// A model or route name of forge.toml, or `provider/model`.
    pub model: String,
    pub messages: Vec<Map<String, Value>>,
    /// Server-sent events (`text/event-stream`) when true.
    pub stream: Option<bool>,
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub tools: Option<Vec<Map<String, Value>>>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// An OpenAI legacy Completions request.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"model": "openai/gpt-4o-mini", "prompt": "Hello"}))]
pub struct CompletionRequest {
    pub model: String,
    pub prompt: Value,
    pub stream: Option<bool>,
    pub max_tokens: Option<u64>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// An OpenAI Embeddings request.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"model": "openai/text-embedding-3-small", "input": "Hello"}))]
pub struct EmbeddingRequest {
    pub model: String,
    /// A string, a list of strings or of token lists.
    pub input: Value,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// An OpenAI image generation request.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"model": "openai/gpt-image-1", "prompt": "A lighthouse at dawn"}))]
pub struct ImageRequest {
    pub model: String,
    pub prompt: String,
    pub n: Option<u32>,
    /// `1024x1024`, ...
    pub size: Option<String>,
    /// `url` or `b64_json` (DALL-E).
    pub response_format: Option<String>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// An OpenAI moderation request (Forge needs the `model`, to know where it goes).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"model": "openai/omni-moderation-latest", "input": "Hello"}))]
pub struct ModerationRequest {
    pub model: String,
    /// A string, a list of strings, or multimodal parts.
    pub input: Value,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// An OpenAI text-to-speech request.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"model": "openai/gpt-4o-mini-tts", "input": "Hello", "voice": "alloy"}))]
pub struct SpeechRequest {
    pub model: String,
    pub input: String,
    pub voice: String,
    /// `mp3`, `opus`, `aac`, `flac`, `wav` or `pcm`.
    pub response_format: Option<String>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// A rerank request in Cohere's and Jina's shape.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"model": "jina/jina-reranker-v2-base-multilingual", "query": "q", "documents": ["a", "b"]}))]
pub struct RerankRequest {
    pub model: String,
    pub query: String,
    pub documents: Vec<Value>,
    pub top_n: Option<u32>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// An OpenAI Responses API request.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"model": "openai/gpt-4o-mini", "input": "Hello"}))]
pub struct ResponsesRequest {
    pub model: String,
    /// A string or a list of input items.
    pub input: Value,
    pub instructions: Option<String>,
    pub previous_response_id: Option<String>,
    pub stream: Option<bool>,
    pub store: Option<bool>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// An Anthropic Messages request (also the body of `count_tokens`, without `max_tokens`).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"model": "anthropic/claude-sonnet-4-5", "max_tokens": 256, "messages": [{"role": "user", "content": "Hello"}]}))]
pub struct MessagesRequest {
    pub model: String,
    pub messages: Vec<Map<String, Value>>,
    pub max_tokens: Option<u64>,
    /// A string or a list of text blocks.
    pub system: Option<Value>,
    pub stream: Option<bool>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// A Gemini `generateContent` / `countTokens` request.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"contents": [{"role": "user", "parts": [{"text": "Hello"}]}]}))]
pub struct GenerateContentRequest {
    pub contents: Vec<Map<String, Value>>,
    pub system_instruction: Option<Map<String, Value>>,
    pub generation_config: Option<Map<String, Value>>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// A provider's answer, passed through or translated into the route's dialect.
#[derive(Serialize, ToSchema)]
pub struct ProviderResponse {
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// One server-sent event of a streamed answer (the schema of each event of a
/// `text/event-stream` body): `data` is one JSON chunk of the dialect's stream (OpenAI's ends
/// with `[DONE]`), `event` names it in the Anthropic and Responses streams.
#[derive(Serialize, ToSchema)]
pub struct SseEvent {
    pub data: String,
    pub event: Option<String>,
    pub id: Option<String>,
    pub retry: Option<u64>,
}

/// Anthropic's `count_tokens` answer (an estimate: no upstream is called).
#[derive(Serialize, ToSchema)]
pub struct TokenCount {
    pub input_tokens: u64,
}

/// Gemini's `countTokens` answer (an estimate).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GeminiTokenCount {
    pub total_tokens: u64,
}

/// `GET /v1/models`: the models the caller's keys reach.
#[derive(Serialize, ToSchema)]
pub struct ModelList {
    /// Always `list`.
    pub object: String,
    pub data: Vec<Model>,
}

/// One model, as `provider/model`.
#[derive(Serialize, ToSchema)]
pub struct Model {
    pub id: String,
    /// Always `model`.
    pub object: String,
    pub created: i64,
    pub owned_by: String,
    pub display_name: String,
}

/// `GET /v1beta/models` in Google's shape.
#[derive(Serialize, ToSchema)]
pub struct GeminiModelList {
    pub models: Vec<GeminiModel>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GeminiModel {
    /// `models/{provider/model}`.
    pub name: String,
    pub display_name: String,
    pub supported_generation_methods: Vec<String>,
}

const STREAM: &str = "A JSON answer, or with `stream: true` server-sent events \
                      (`text/event-stream`) in the same dialect";

/// Declares an OpenAI generation route: a JSON answer or a stream, errors in OpenAI's shape.
macro_rules! openai_generation {
    ($path:literal, $name:ident, $body:ty) => {
        #[utoipa::path(post, path = $path, tag = "OpenAI", operation_id = stringify!($name),
            request_body = $body,
            responses(
                (status = 200, description = STREAM, content(
                    (ProviderResponse = "application/json"), (SseEvent = "text/event-stream"))),
                (status = "4XX", description = "Rejected (OpenAI's error shape)", body = OpenAiErrorBody),
                (status = "5XX", description = "The upstream failed or timed out", body = OpenAiErrorBody),
            ),
            security(("forge_key" = []), ("x_api_key" = [])))]
        pub fn $name() {}
    };
}

openai_generation!(
    "/v1/chat/completions",
    chat_completions,
    ChatCompletionRequest
);
openai_generation!("/v1/completions", completions, CompletionRequest);
openai_generation!("/v1/responses", responses, ResponsesRequest);

#[utoipa::path(post, path = "/v1/embeddings", tag = "OpenAI", operation_id = "embeddings",
    request_body = EmbeddingRequest,
    responses(
        (status = 200, description = "Embeddings in OpenAI's shape", body = ProviderResponse),
        (status = "4XX", description = "Rejected (OpenAI's error shape)", body = OpenAiErrorBody),
        (status = "5XX", description = "The upstream failed or timed out", body = OpenAiErrorBody),
    ),
    security(("forge_key" = []), ("x_api_key" = [])))]
pub fn embeddings() {}

/// Declares an OpenAI route that answers JSON (errors in OpenAI's shape).
macro_rules! openai_json {
    ($path:literal, $name:ident, $body:ty, $what:literal) => {
        #[utoipa::path(post, path = $path, tag = "OpenAI", operation_id = stringify!($name),
            request_body = $body,
            responses(
                (status = 200, description = $what, body = ProviderResponse),
                (status = "4XX", description = "Rejected (OpenAI's error shape)", body = OpenAiErrorBody),
                (status = "5XX", description = "The upstream failed or timed out", body = OpenAiErrorBody),
            ),
            security(("forge_key" = []), ("x_api_key" = [])))]
        pub fn $name() {}
    };
}

openai_json!(
    "/v1/images/generations",
    images_generations,
    ImageRequest,
    "Images in OpenAI's shape (URLs or base64), or with `stream: true` partial images as events"
);
openai_json!(
    "/v1/moderations",
    moderations,
    ModerationRequest,
    "Moderation results in OpenAI's shape"
);
openai_json!(
    "/v1/rerank",
    rerank,
    RerankRequest,
    "Ranked documents in the host's (Cohere/Jina) shape"
);

#[utoipa::path(post, path = "/v1/audio/speech", tag = "OpenAI", operation_id = "audio_speech",
    request_body = SpeechRequest,
    responses(
        (status = 200, description = "The audio, streamed as the provider produces it (its content type)",
            content(("application/octet-stream"), ("audio/mpeg"), ("text/event-stream"))),
        (status = "4XX", description = "Rejected (OpenAI's error shape)", body = OpenAiErrorBody),
        (status = "5XX", description = "The upstream failed or timed out", body = OpenAiErrorBody),
    ),
    security(("forge_key" = []), ("x_api_key" = [])))]
pub fn audio_speech() {}

#[utoipa::path(get, path = "/v1/models", tag = "OpenAI", operation_id = "list_models",
    responses(
        (status = 200, description = "The models the caller's keys reach", body = ModelList),
        (status = "4XX", description = "Rejected (OpenAI's error shape)", body = OpenAiErrorBody),
    ),
    security(("forge_key" = []), ("x_api_key" = [])))]
pub fn list_models() {}

#[utoipa::path(get, path = "/v1/models/{model}", tag = "OpenAI", operation_id = "retrieve_model",
    params(("model" = String, Path, description = "`provider/model`; `/` may be sent as `%2F`")),
    responses(
        (status = 200, description = "The model", body = Model),
        (status = "4XX", description = "Unknown model or rejected (OpenAI's error shape)", body = OpenAiErrorBody),
    ),
    security(("forge_key" = []), ("x_api_key" = [])))]
pub fn retrieve_model() {}

#[utoipa::path(post, path = "/v1/messages", tag = "Anthropic", operation_id = "messages",
    request_body = MessagesRequest,
    params(("anthropic-version" = Option<String>, Header, description = "Passed on to Anthropic upstreams"),
           ("anthropic-beta" = Option<String>, Header, description = "Passed on to Anthropic upstreams")),
    responses(
        (status = 200, description = STREAM, content(
            (ProviderResponse = "application/json"), (SseEvent = "text/event-stream"))),
        (status = "4XX", description = "Rejected (Anthropic's error shape)", body = AnthropicErrorBody),
        (status = "5XX", description = "The upstream failed or timed out", body = AnthropicErrorBody),
    ),
    security(("x_api_key" = []), ("forge_key" = [])))]
pub fn messages() {}

#[utoipa::path(post, path = "/v1/messages/count_tokens", tag = "Anthropic", operation_id = "count_tokens",
    request_body = MessagesRequest,
    responses(
        (status = 200, description = "An estimate of the input tokens (no upstream call)", body = TokenCount),
        (status = "4XX", description = "Rejected (Anthropic's error shape)", body = AnthropicErrorBody),
    ),
    security(("x_api_key" = []), ("forge_key" = [])))]
pub fn count_tokens() {}

#[utoipa::path(get, path = "/v1beta/models", tag = "Gemini", operation_id = "gemini_list_models",
    responses(
        (status = 200, description = "The models the caller's keys reach", body = GeminiModelList),
        (status = "4XX", description = "Rejected (Google's error shape)", body = GeminiErrorBody),
    ),
    security(("x_goog_api_key" = []), ("key_query" = []), ("forge_key" = [])))]
pub fn gemini_list_models() {}

#[utoipa::path(get, path = "/v1beta/models/{model}", tag = "Gemini", operation_id = "gemini_get_model",
    params(("model" = String, Path, description = "`provider/model`, optionally after `models/`")),
    responses(
        (status = 200, description = "The model", body = GeminiModel),
        (status = "4XX", description = "Unknown model or rejected (Google's error shape)", body = GeminiErrorBody),
    ),
    security(("x_goog_api_key" = []), ("key_query" = []), ("forge_key" = [])))]
pub fn gemini_get_model() {}

/// Declares `generateContent`, `streamGenerateContent` and `countTokens` under one prefix
/// (`/v1beta/models` and Forge's `/v1/models` twin): one actix route, `{model}:{action}`.
macro_rules! gemini_actions {
    ($prefix:literal, $generate:ident, $stream:ident, $count:ident) => {
        #[utoipa::path(post, path = concat!($prefix, "/{model}:generateContent"), tag = "Gemini",
            operation_id = stringify!($generate),
            params(("model" = String, Path, description = "`provider/model`; `/` may be sent as `%2F`")),
            request_body = GenerateContentRequest,
            responses(
                (status = 200, description = "A GenerateContentResponse", body = ProviderResponse),
                (status = "4XX", description = "Rejected (Google's error shape)", body = GeminiErrorBody),
                (status = "5XX", description = "The upstream failed or timed out", body = GeminiErrorBody),
            ),
            security(("x_goog_api_key" = []), ("key_query" = []), ("forge_key" = [])))]
        pub fn $generate() {}

        #[utoipa::path(post, path = concat!($prefix, "/{model}:streamGenerateContent"), tag = "Gemini",
            operation_id = stringify!($stream),
            params(("model" = String, Path, description = "`provider/model`; `/` may be sent as `%2F`"),
                   ("alt" = Option<String>, Query, description = "`sse` for server-sent events")),
            request_body = GenerateContentRequest,
            responses(
                (status = 200, description = "GenerateContentResponse chunks: server-sent events \
                    with `alt=sse`, else a JSON array", content(
                    (SseEvent = "text/event-stream"), (Vec<ProviderResponse> = "application/json"))),
                (status = "4XX", description = "Rejected (Google's error shape)", body = GeminiErrorBody),
                (status = "5XX", description = "The upstream failed or timed out", body = GeminiErrorBody),
            ),
            security(("x_goog_api_key" = []), ("key_query" = []), ("forge_key" = [])))]
        pub fn $stream() {}

        #[utoipa::path(post, path = concat!($prefix, "/{model}:countTokens"), tag = "Gemini",
            operation_id = stringify!($count),
            params(("model" = String, Path, description = "`provider/model`; `/` may be sent as `%2F`")),
            request_body = GenerateContentRequest,
            responses(
                (status = 200, description = "An estimate of the input tokens (no upstream call)", body = GeminiTokenCount),
                (status = "4XX", description = "Rejected (Google's error shape)", body = GeminiErrorBody),
            ),
            security(("x_goog_api_key" = []), ("key_query" = []), ("forge_key" = [])))]
        pub fn $count() {}
    };
}

gemini_actions!(
    "/v1beta/models",
    gemini_generate_content,
    gemini_stream_generate_content,
    gemini_count_tokens
);
gemini_actions!(
    "/v1/models",
    v1_generate_content,
    v1_stream_generate_content,
    v1_count_tokens
);

/// Generates the pass-through's operations, one per method, all alike.
macro_rules! passthrough_op {
    ($method:ident, $name:ident) => {
        #[utoipa::path($method, path = "/passthrough/{provider}/{path}", tag = "Pass-through",
            operation_id = stringify!($name),
            params(
                ("provider" = String, Path, description = "The name of one of the caller's provider keys (or, for forge.toml keys, of a forge.toml provider)"),
                ("path" = String, Path, description = "The path below the provider's base URL; the query string is passed on (without `key`)"),
            ),
            responses(
                (status = "default", description = "The provider's answer as it sent it (status, headers, body); Forge's own refusals (401, 404 unknown provider, 413, 429) in OpenAI's error shape"),
            ),
            security(("forge_key" = []), ("x_api_key" = []), ("x_goog_api_key" = []), ("key_query" = [])))]
        pub fn $name() {}
    };
}

passthrough_op!(get, passthrough_get);
passthrough_op!(post, passthrough_post);
passthrough_op!(put, passthrough_put);
passthrough_op!(patch, passthrough_patch);
passthrough_op!(delete, passthrough_delete);

/// A multipart upload: the file field (`file` for audio, `image` for images), `model`, and the
/// endpoint's other fields, passed on as sent.
#[derive(Serialize, ToSchema)]
pub struct UploadForm {
    /// `provider/model`, an alias or a forge.toml route; rewritten to the upstream's name.
    pub model: String,
    /// The audio file (transcriptions, translations).
    #[schema(value_type = Option<String>, format = Binary)]
    pub file: Option<String>,
    /// The image (edits, variations); `image[]` for several.
    #[schema(value_type = Option<String>, format = Binary)]
    pub image: Option<String>,
    /// Edits: what to change.
    pub prompt: Option<String>,
    /// Transcriptions with GPT models: server-sent events.
    pub stream: Option<bool>,
}

/// Declares a multipart route (errors in OpenAI's shape).
macro_rules! openai_upload {
    ($path:literal, $name:ident, $what:literal) => {
        #[utoipa::path(post, path = $path, tag = "OpenAI", operation_id = stringify!($name),
            request_body(content = UploadForm, content_type = "multipart/form-data"),
            responses(
                (status = 200, description = $what, content(
                    (ProviderResponse = "application/json"), ("text/plain"), (SseEvent = "text/event-stream"))),
                (status = "4XX", description = "Rejected (OpenAI's error shape)", body = OpenAiErrorBody),
                (status = "5XX", description = "The upstream failed or timed out", body = OpenAiErrorBody),
            ),
            security(("forge_key" = []), ("x_api_key" = [])))]
        pub fn $name() {}
    };
}

openai_upload!(
    "/v1/images/edits",
    images_edits,
    "Edited images in OpenAI's shape"
);
openai_upload!(
    "/v1/images/variations",
    images_variations,
    "Variations in OpenAI's shape"
);
openai_upload!(
    "/v1/audio/transcriptions",
    audio_transcriptions,
    "The transcription as JSON, text or subtitles (as `response_format` asks), or its events"
);
openai_upload!(
    "/v1/audio/translations",
    audio_translations,
    "The English translation"
);
