//! `POST /v1/chat/completions`: a `chat.completion`, or a stream of `chat.completion.chunk`s.

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::config::render_reply;
use crate::pipeline::prepare;
use crate::sse;
use crate::state::Shared;
use crate::tokens::{chat_prompt_tokens, split_reply, text_tokens};
use crate::validate;

const FINGERPRINT: &str = "fp_fake_upstream";

pub(crate) async fn handle(
    req: HttpRequest,
    raw: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let shared = shared.into_inner();
    let p = match prepare(&req, &raw, &shared).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let checked = validate::messages(&p.body).and_then(|messages| {
        let stream = validate::stream_flag(&p.body)?;
        let include_usage = validate::include_usage(&p.body, stream)?;
        Ok((
            chat_prompt_tokens(&Value::Array(messages.clone())),
            stream,
            include_usage,
        ))
    });
    let (prompt_tokens, stream, include_usage) = match checked {
        Ok(v) => v,
        Err(e) => return e.response(),
    };
    let reply = render_reply(shared.reply_template().as_deref(), &p.model);
    let completion_tokens = text_tokens(&reply);
    let usage = usage(prompt_tokens, completion_tokens);
    let id = format!("chatcmpl-fake{:016x}", shared.next_id());
    let created = super::now();
    let model = p.model.as_str();

    if !stream {
        return HttpResponse::Ok().json(json!({
            "id": id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": reply, "refusal": null, "annotations": []},
                "logprobs": null,
                "finish_reason": "stop",
            }],
            "usage": usage,
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
        }));
    }

    let chunk = |choices: Value, usage_field: Option<Value>| {
        let mut c = json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
            "choices": choices,
        });
        if include_usage {
            // With include_usage every chunk carries `usage`, null until the last one.
            c["usage"] = usage_field.unwrap_or(Value::Null);
        }
        sse::event(&c)
    };
    let choice = |delta: Value, finish: Value| json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]);
    let mut events = vec![chunk(
        choice(
            json!({"role": "assistant", "content": "", "refusal": null}),
            Value::Null,
        ),
        None,
    )];
    for piece in split_reply(&reply, shared.stream_chunks) {
        events.push(chunk(choice(json!({"content": piece}), Value::Null), None));
    }
    events.push(chunk(choice(json!({}), json!("stop")), None));
    if include_usage {
        events.push(chunk(json!([]), Some(usage)));
    }
    events.push(sse::done());
    sse::response(events, p.fault, p.guard)
}

/// OpenAI's usage object, with the detail blocks it always sends zeroed.
pub(crate) fn usage(prompt_tokens: u64, completion_tokens: u64) -> Value {
    json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    })
}
