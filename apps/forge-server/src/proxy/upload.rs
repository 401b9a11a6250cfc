//! OpenAI's multipart endpoints (`/v1/images/edits`, `/v1/images/variations`,
//! `/v1/audio/transcriptions`, `/v1/audio/translations`) as one client dialect: the form's
//! `model` field routes the request like a JSON body's would, and the form goes to
//! OpenAI-compatible upstreams byte for byte but for that one field's value. The answer
//! (JSON, text, subtitles, or a transcription's event stream) is relayed as sent; its usage is
//! read when it carries one (GPT transcription and image models report tokens), else the
//! record's tokens are unknown: an audio file's bytes say nothing about tokens.

use std::marker::PhantomData;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;
use forge_core::Error;
use forge_core::multipart::Form;
use forge_core::usage_sniff::SniffDialect;
use forge_provider_openai::Endpoint;

use crate::proxy::as_sent::{Relayed, as_sent};
use crate::proxy::client::{Attempt, ClientDialect, Head};
use crate::proxy::dialect::Dialect;
use crate::proxy::dispatch::Target;
use crate::proxy::openai::OpenAiEndpoint;
use crate::proxy::pipeline;
use crate::proxy::upstream::Upstream;
use crate::usage::estimate::Prompt;

crate::proxy::openai::openai_endpoints! {
    ImageEdits => ImagesEdits,
    ImageVariations => ImagesVariations,
    Transcriptions => AudioTranscriptions,
    Translations => AudioTranslations,
}

pub struct Upload<E>(PhantomData<E>);

impl<E> Default for Upload<E> {
    fn default() -> Self {
        Upload(PhantomData)
    }
}

pub struct Inbound<'a> {
    form: Form<'a>,
    content_type: String,
}

impl<E: OpenAiEndpoint> ClientDialect for Upload<E> {
    type Inbound<'a> = Inbound<'a>;
    const DIALECT: Dialect = Dialect::OpenAi;

    fn read<'a>(&self, req: &HttpRequest, body: &'a Bytes) -> Result<(Head, Inbound<'a>), Error> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let form = Form::parse(body, &content_type)?;
        let file = match E::ENDPOINT {
            Endpoint::ImagesEdits | Endpoint::ImagesVariations => "image",
            _ => "file",
        };
        if !form.has_file(file) {
            return Err(Error::InvalidRequest {
                message: format!("the form has no `{file}` file"),
                param: Some(file.to_owned()),
            });
        }
        let head = Head {
            model: form.single_text("model")?.map(str::to_owned),
            stream: form
                .single_text("stream")?
                .is_some_and(|s| s.trim() == "true"),
            endpoint: E::ENDPOINT.path(),
            prompt: Prompt::Raw,
            max_tokens: None,
        };
        Ok((head, Inbound { form, content_type }))
    }

    async fn attempt<'a>(
        &self,
        inbound: &mut Self::Inbound<'a>,
        cx: &Attempt<'_>,
        target: Target,
    ) -> Result<HttpResponse, Error> {
        let Upstream::OpenAi(adapter) = &target.upstream else {
            return Err(Error::NotFound(format!(
                "/v1/{} is not available for provider '{}' (it needs an OpenAI-compatible provider)",
                E::ENDPOINT.path(),
                target.provider
            )));
        };
        let body = inbound
            .form
            .with_text("model", &target.model)
            .ok_or_else(|| Error::invalid("the form has no `model` field"))?;
        let req = adapter.upload(
            E::ENDPOINT,
            &target.model,
            Bytes::from(body),
            &inbound.content_type,
        );
        if let Some(meter) = &target.meter {
            meter.tokens_unknown_unless_reported();
            if let Some(units) = crate::proxy::units::of_form(E::ENDPOINT, &inbound.form) {
                meter.units(units);
            }
        }
        let resp = pipeline::send(cx.transport, &target, req).await?;
        let meter = target.meter.clone();
        // GPT Image and GPT transcription models report `usage` with input/output tokens.
        Ok(as_sent(
            resp,
            meter,
            SniffDialect::OpenAiResponses,
            &target,
            Relayed::Content,
        ))
    }
}
