//! OpenAI's multipart endpoints: `POST /v1/audio/transcriptions`, `/v1/audio/translations`,
//! `/v1/images/edits` and `/v1/images/variations`, the forms read with `actix-multipart` (not
//! the gateway's parser) and validated as OpenAI's API reference states: the file field, its
//! extension, `model`, `response_format`, and `stream` only for the GPT transcription models.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::json;

use crate::dialect::Dialect;
use crate::openai_error::OpenAiError;
use crate::pipeline::intercept;
use crate::routes::now;
use crate::state::Shared;
use crate::{auth, validate};

/// A parsed form: text fields, and files as (field name, filename, bytes).
pub(crate) struct Upload {
    pub(crate) fields: BTreeMap<String, String>,
    pub(crate) files: Vec<(String, String, Bytes)>,
}

async fn read_form(req: &HttpRequest, raw: Bytes) -> Result<Upload, OpenAiError> {
    let bad = |m: String| OpenAiError::invalid(m, None, None);
    let stream =
        futures_util::stream::once(async move { Ok::<_, actix_web::error::PayloadError>(raw) });
    let mut form = actix_multipart::Multipart::new(req.headers(), stream);
    let mut upload = Upload {
        fields: BTreeMap::new(),
        files: Vec::new(),
    };
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| bad(format!("Could not parse multipart form: {e}")))?;
        let (name, filename) = match field.content_disposition() {
            Some(cd) => (
                cd.get_name().unwrap_or_default().to_owned(),
                cd.get_filename().map(str::to_owned),
            ),
            None => {
                return Err(bad(
                    "Could not parse multipart form: a part without Content-Disposition".into(),
                ));
            }
        };
        let mut value = Vec::new();
        while let Some(chunk) = field.next().await {
            value.extend_from_slice(
                &chunk.map_err(|e| bad(format!("Could not parse multipart form: {e}")))?,
            );
        }
        match filename {
            Some(filename) => upload.files.push((name, filename, Bytes::from(value))),
            None => {
                upload
                    .fields
                    .insert(name, String::from_utf8_lossy(&value).into_owned());
            }
        }
    }
    Ok(upload)
}

/// A `multipart/form-data` body, parsed; anything else is OpenAI's 400.
pub(crate) async fn read_multipart(req: &HttpRequest, raw: Bytes) -> Result<Upload, HttpResponse> {
    let is_form = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"));
    if !is_form {
        return Err(
            OpenAiError::invalid("This endpoint expects multipart/form-data.", None, None)
                .response(),
        );
    }
    read_form(req, raw).await.map_err(|e| e.response())
}

/// The common checks: faults, the key, a multipart body with a known `model`.
async fn prepare(
    req: &HttpRequest,
    raw: Bytes,
    shared: &Arc<Shared>,
) -> Result<(Upload, String), HttpResponse> {
    let _intercepted = intercept(req, &raw, shared, Dialect::OpenAi).await?;
    auth::check(req, &shared.api_key).map_err(|e| e.response())?;
    let upload = read_multipart(req, raw).await?;
    let model = match upload.fields.get("model") {
        None => return Err(validate::missing("model").response()),
        Some(m) if shared.models.contains(m) => m.clone(),
        Some(m) => {
            return Err(OpenAiError {
                status: 404,
                message: format!("The model `{m}` does not exist or you do not have access to it."),
                kind: "invalid_request_error",
                param: Some("model".into()),
                code: Some("model_not_found"),
            }
            .response());
        }
    };
    Ok((upload, model))
}

const AUDIO: [&str; 10] = [
    "flac", "mp3", "mp4", "mpeg", "mpga", "m4a", "ogg", "wav", "webm", "oga",
];

/// `/v1/audio/transcriptions` and `/v1/audio/translations`.
async fn audio(
    req: HttpRequest,
    raw: Bytes,
    shared: web::Data<Shared>,
    translate: bool,
) -> HttpResponse {
    let shared = shared.into_inner();
    let (upload, model) = match prepare(&req, raw, &shared).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let Some((_, filename, file)) = upload.files.iter().find(|(name, _, _)| name == "file") else {
        return validate::missing("file").response();
    };
    let extension = filename
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !AUDIO.contains(&extension.as_str()) {
        return OpenAiError::invalid(
            format!("Invalid file format. Supported formats: {AUDIO:?}"),
            Some("file".into()),
            None,
        )
        .response();
    }
    let gpt = model.starts_with("gpt-");
    let format = upload
        .fields
        .get("response_format")
        .map_or("json", String::as_str);
    let allowed: &[&str] = if gpt {
        &["json", "text"]
    } else {
        &["json", "text", "srt", "verbose_json", "vtt"]
    };
    if !allowed.contains(&format) {
        return OpenAiError::invalid(
            format!("Invalid value for 'response_format': '{format}'"),
            Some("response_format".into()),
            None,
        )
        .response();
    }
    let stream = upload.fields.get("stream").is_some_and(|s| s == "true");
    if stream && (!gpt || translate) {
        return OpenAiError::invalid(
            "Streaming is not supported for this model.",
            Some("stream".into()),
            None,
        )
        .response();
    }
    let text = format!("Transcribed {} bytes of {filename}.", file.len());
    let seconds = (file.len() as f64 / 16_000.0).max(0.1);
    let usage = if gpt {
        let input = (file.len() as u64).div_ceil(160).max(1);
        let output = text.split(' ').count() as u64;
        json!({ "type": "tokens", "input_tokens": input, "output_tokens": output, "total_tokens": input + output,
                "input_token_details": { "audio_tokens": input, "text_tokens": 0 } })
    } else {
        json!({ "type": "duration", "seconds": seconds.ceil() as u64 })
    };
    if stream {
        let mut events: Vec<Result<Bytes, actix_web::Error>> = text
            .split_inclusive(' ')
            .map(|w| {
                Ok(Bytes::from(format!(
                    "data: {}\n\n",
                    json!({ "type": "transcript.text.delta", "delta": w })
                )))
            })
            .collect();
        events.push(Ok(Bytes::from(format!(
            "data: {}\n\n",
            json!({ "type": "transcript.text.done", "text": text, "usage": usage })
        ))));
        return HttpResponse::Ok()
            .content_type("text/event-stream")
            .streaming(futures_util::stream::iter(events));
    }
    match format {
        "text" => HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(text),
        "srt" | "vtt" => HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(format!("1\n00:00:00,000 --> 00:00:01,000\n{text}\n")),
        "verbose_json" => HttpResponse::Ok().json(json!({ "task": if translate { "translate" } else { "transcribe" },
            "language": "english", "duration": seconds, "text": text, "segments": [], "usage": usage })),
        _ if translate => HttpResponse::Ok().json(json!({ "text": text })),
        _ => HttpResponse::Ok().json(json!({ "text": text, "usage": usage })),
    }
}

pub(crate) async fn transcriptions(
    req: HttpRequest,
    raw: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    audio(req, raw, shared, false).await
}

pub(crate) async fn translations(
    req: HttpRequest,
    raw: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    audio(req, raw, shared, true).await
}

/// `/v1/images/edits` (`image` or `image[]`, and a `prompt`) and `/v1/images/variations`.
async fn image(
    req: HttpRequest,
    raw: Bytes,
    shared: web::Data<Shared>,
    edit: bool,
) -> HttpResponse {
    let shared = shared.into_inner();
    let (upload, model) = match prepare(&req, raw, &shared).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let images = upload
        .files
        .iter()
        .filter(|(name, _, _)| name == "image" || name == "image[]")
        .count();
    if images == 0 {
        return validate::missing("image").response();
    }
    let prompt = upload.fields.get("prompt").cloned().unwrap_or_default();
    if edit && prompt.is_empty() {
        return validate::missing("prompt").response();
    }
    let n: u32 = upload
        .fields
        .get("n")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
        .clamp(1, 10);
    let gpt_image = model.starts_with("gpt-image");
    let data: Vec<_> = (0..n)
        .map(|_| json!({ "b64_json": super::media::PIXEL_PNG_B64 }))
        .collect();
    let mut body = json!({ "created": now(), "data": data });
    if gpt_image {
        let input = crate::tokens::text_tokens(&prompt) + 65 * images as u64;
        let output = 272 * u64::from(n);
        body["usage"] = json!({ "input_tokens": input, "output_tokens": output, "total_tokens": input + output });
    }
    HttpResponse::Ok().json(body)
}

pub(crate) async fn image_edits(
    req: HttpRequest,
    raw: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    image(req, raw, shared, true).await
}

pub(crate) async fn image_variations(
    req: HttpRequest,
    raw: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    image(req, raw, shared, false).await
}
