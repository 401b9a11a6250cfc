//! `models` and `test`: the proxy side, authenticated with a Forge API key.

use awc::http::Method;
use clap::Args;
use serde_json::{Value, json};

use super::{Ctx, as_list};
use crate::client::{Auth, CHAT_TIMEOUT, Flow, MODELS_TIMEOUT, error_message};
use crate::error::CliError;
use crate::sse::SseEvent;
use crate::{output, say};

#[derive(Args, Clone, Default)]
pub struct TestArgs {
    /// `provider/model`, e.g. openai/gpt-4o-mini (see `forge-cli models`).
    #[arg(long)]
    pub model: String,
    #[arg(long)]
    pub message: String,
    /// Print the answer as it is generated.
    #[arg(long)]
    pub stream: bool,
}

pub async fn models(ctx: &mut Ctx) -> Result<(), CliError> {
    let key = ctx.forge_key()?;
    let list = ctx
        .client
        .call(
            Method::GET,
            "/v1/models",
            Auth::ForgeKey(&key),
            None,
            MODELS_TIMEOUT,
        )
        .await?;
    if ctx.json {
        return output::json(&list);
    }
    let data = list
        .get("data")
        .ok_or_else(|| CliError::BadResponse("the model list has no `data`".into()))?;
    let data = as_list(data, "the model list's `data`")?;
    if data.is_empty() {
        say!("No models: add a provider key with `forge-cli add-key`.");
        return Ok(());
    }
    for model in data {
        if let Some(id) = model.get("id").and_then(Value::as_str) {
            say!("{id}");
        }
    }
    Ok(())
}

pub async fn test(ctx: &mut Ctx, args: TestArgs) -> Result<(), CliError> {
    let key = ctx.forge_key()?;
    let mut body = json!({
        "model": args.model,
        "messages": [{"role": "user", "content": args.message}],
    });
    if args.stream {
        body["stream"] = json!(true);
        return stream(ctx, &key, &body).await;
    }
    let answer = ctx
        .client
        .call(
            Method::POST,
            "/v1/chat/completions",
            Auth::ForgeKey(&key),
            Some(&body),
            CHAT_TIMEOUT,
        )
        .await?;
    if ctx.json {
        return output::json(&answer);
    }
    let choice = answer
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| CliError::BadResponse("the answer has no choices".into()))?;
    match choice.pointer("/message/content") {
        Some(Value::String(text)) => say!("{text}"),
        _ => say!("(the answer has no text content)"),
    }
    Ok(())
}

async fn stream(ctx: &mut Ctx, key: &str, body: &Value) -> Result<(), CliError> {
    let json_mode = ctx.json;
    let mut state = StreamState::default();
    let outcome = ctx
        .client
        .post_sse("/v1/chat/completions", Auth::ForgeKey(key), body, |event| {
            state.on_event(event, json_mode)
        })
        .await;
    // Whatever happened, the streamed text ends with a newline before any error goes to stderr.
    if state.printed_text {
        output::chunk("\n")?;
    }
    outcome?;
    if !state.done {
        return Err(CliError::Stream(
            "the stream ended before `data: [DONE]`; the answer may be cut short".into(),
        ));
    }
    Ok(())
}

#[derive(Default)]
struct StreamState {
    done: bool,
    printed_text: bool,
}

impl StreamState {
    fn on_event(&mut self, event: SseEvent, json_mode: bool) -> Result<Flow, CliError> {
        let data = event.data.trim();
        if data == "[DONE]" {
            self.done = true;
            return Ok(Flow::Stop);
        }
        if data.is_empty() {
            return Ok(Flow::Continue);
        }
        let chunk: Value = serde_json::from_str(data).map_err(|_| {
            CliError::BadResponse(format!("a stream event is not JSON: {data:.200}"))
        })?;
        if chunk.get("error").is_some() || event.event.as_deref() == Some("error") {
            let message = error_message(&chunk).unwrap_or_else(|| chunk.to_string());
            return Err(CliError::Stream(message));
        }
        if json_mode {
            output::line(format_args!("{chunk}"))?;
            return Ok(Flow::Continue);
        }
        let text = chunk
            .get("choices")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0)
            .filter_map(|c| c.pointer("/delta/content").and_then(Value::as_str))
            .collect::<String>();
        if !text.is_empty() {
            output::chunk(&text)?;
            self.printed_text = true;
        }
        Ok(Flow::Continue)
    }
}
