//! OpenTelemetry traces, exported over OTLP (HTTP/protobuf or gRPC).
//!
//! Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set,
//! and then free: the request path holds an `Option` that is `None`. On, each client request
//! is one server span (a child of the client's W3C `traceparent`, when it sends one) and each
//! upstream attempt one client span under it, whose context goes to the upstream as
//! `traceparent`. Attributes follow the GenAI semantic conventions plus Forge's own; prompt
//! and completion text and credentials never become attributes. Spans are batched and sent
//! by the SDK's background thread, never on the request path.
//!
//! The standard variables apply: `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_TRACES_SAMPLER(_ARG)`, `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf`, the default,
//! or `grpc`), `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_BSP_*`; `OTEL_SDK_DISABLED=true` turns
//! tracing off.

use std::time::{Duration, Instant, SystemTime};

use actix_web::http::header::HeaderMap;
use forge_core::usage_record::UsageRecord;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer as _, TracerProvider as _};
use opentelemetry::{Array, Context, KeyValue, StringValue, Value};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

/// The tracer provider, when tracing is on.
pub struct Traces {
    provider: Option<SdkTracerProvider>,
}

impl Traces {
    /// Reads the standard OpenTelemetry variables; off when no endpoint is set. Must run
    /// inside the server's runtime (the gRPC channel starts its task there).
    pub fn from_env() -> Result<Traces, String> {
        let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
        let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.trim() == "true");
        if disabled
            || !(set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
        {
            return Ok(Traces { provider: None });
        }
        let protocol = std::env::var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .or_else(|_| std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL"))
            .unwrap_or_default();
        use opentelemetry_otlp::{SpanExporter, WithExportConfig};
        let exporter = match protocol.trim() {
            "grpc" => SpanExporter::builder().with_tonic().build(),
            "" | "http/protobuf" => SpanExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .build(),
            other => {
                return Err(format!(
                    "OTEL_EXPORTER_OTLP_PROTOCOL={other} is not supported (use grpc or http/protobuf)"
                ));
            }
        }
        .map_err(|e| format!("the OTLP exporter could not be built: {e}"))?;
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name(
                std::env::var("OTEL_SERVICE_NAME")
                    .ok()
                    .filter(|v| !v.trim().is_empty())
                    .unwrap_or_else(|| "forge".to_owned()),
            )
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build();
        tracing::info!(protocol = %if protocol.is_empty() { "http/protobuf" } else { protocol.as_str() }, "OpenTelemetry traces are exported over OTLP");
        Ok(Traces {
            provider: Some(provider),
        })
    }

    pub fn off() -> Traces {
        Traces { provider: None }
    }

    pub fn tracer(&self) -> Option<SdkTracer> {
        self.provider.as_ref().map(|p| p.tracer("forge"))
    }

    /// Sends what is still batched (at shutdown). Blocking: call it off the runtime.
    pub fn shutdown(&self) {
        if let Some(provider) = &self.provider
            && let Err(e) = provider.shutdown_with_timeout(Duration::from_secs(5))
        {
            tracing::warn!(error = %e, "some spans could not be exported at shutdown");
        }
    }
}

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// Collects `traceparent` / `tracestate` for an upstream request.
struct Outgoing(Vec<(&'static str, String)>);

impl Injector for Outgoing {
    fn set(&mut self, key: &str, value: String) {
        let name = match key {
            "traceparent" => "traceparent",
            "tracestate" => "tracestate",
            _ => return,
        };
        self.0.push((name, value));
    }
}

/// The operation name of the GenAI conventions for a Forge endpoint.
fn operation(endpoint: &str) -> &'static str {
    match endpoint {
        "embeddings" => "embeddings",
        "completions" => "text_completion",
        "generateContent" | "streamGenerateContent" => "generate_content",
        _ => "chat",
    }
}

fn wall(at: Instant) -> SystemTime {
    SystemTime::now()
        .checked_sub(Instant::now().saturating_duration_since(at))
        .unwrap_or_else(SystemTime::now)
}

/// A client request's span.
pub struct RequestSpan {
    cx: Context,
    tracer: SdkTracer,
}

impl RequestSpan {
    pub fn start(tracer: &SdkTracer, headers: &HeaderMap, dialect: &str) -> RequestSpan {
        let parent = TraceContextPropagator::new().extract(&Headers(headers));
        let span = tracer
            .span_builder("forge request")
            .with_kind(SpanKind::Server)
            .with_attributes([KeyValue::new("forge.dialect", dialect.to_owned())])
            .start_with_context(tracer, &parent);
        RequestSpan {
            cx: parent.with_span(span),
            tracer: tracer.clone(),
        }
    }

    /// The trace id, for the `x-forge-trace-id` response header.
    pub fn trace_id(&self) -> String {
        self.cx.span().span_context().trace_id().to_string()
    }

    /// What the request head says (once read): the operation and the requested model.
    pub fn head(&self, endpoint: &str, model: Option<&str>) {
        let op = operation(endpoint);
        let span = self.cx.span();
        span.update_name(match model {
            Some(model) => format!("{op} {model}"),
            None => op.to_owned(),
        });
        span.set_attribute(KeyValue::new("gen_ai.operation.name", op));
        span.set_attribute(KeyValue::new("forge.endpoint", endpoint.to_owned()));
        if let Some(model) = model {
            span.set_attribute(KeyValue::new("gen_ai.request.model", model.to_owned()));
        }
    }

    /// An upstream attempt starts: its span, and the headers that carry it upstream.
    pub fn attempt(
        &self,
        number: u32,
        record: &UsageRecord,
    ) -> (AttemptSpan, Vec<(&'static str, String)>) {
        let op = operation(&record.endpoint);
        let mut attributes = vec![
            KeyValue::new("gen_ai.operation.name", op),
            KeyValue::new("gen_ai.system", record.provider.clone()),
            KeyValue::new("gen_ai.provider.name", record.provider.clone()),
            KeyValue::new("gen_ai.request.model", record.upstream_model.clone()),
            KeyValue::new("forge.attempt", i64::from(number)),
            KeyValue::new("forge.route", record.requested_model.clone()),
        ];
        if let Some(deployment) = &record.deployment {
            attributes.push(KeyValue::new("forge.deployment", deployment.clone()));
        }
        let span = self
            .tracer
            .span_builder(format!("{op} {}", record.upstream_model))
            .with_kind(SpanKind::Client)
            .with_attributes(attributes)
            .start_with_context(&self.tracer, &self.cx);
        let cx = self.cx.with_span(span);
        let mut out = Outgoing(Vec::with_capacity(2));
        TraceContextPropagator::new().inject_context(&cx, &mut out);
        (AttemptSpan { cx }, out.0)
    }

    /// The request ended with `status`; `route` and `provider` as the metrics folded them.
    pub fn finish(&self, status: u16, route: &str, provider: &str, ended: Instant) {
        let span = self.cx.span();
        span.set_attribute(KeyValue::new(
            "http.response.status_code",
            i64::from(status),
        ));
        span.set_attribute(KeyValue::new("forge.route", route.to_owned()));
        span.set_attribute(KeyValue::new("forge.provider", provider.to_owned()));
        if status >= 400 {
            span.set_attribute(KeyValue::new("error.type", status.to_string()));
            span.set_status(Status::error(format!("HTTP {status}")));
        }
        span.end_with_timestamp(wall(ended));
    }
}

/// One upstream attempt's span.
pub struct AttemptSpan {
    cx: Context,
}

impl AttemptSpan {
    /// `gen_ai.response.finish_reasons`, as the upstream (or the canonical form) names them.
    pub fn finish_reasons(&self, reasons: &[String]) {
        if reasons.is_empty() {
            return;
        }
        let values = reasons
            .iter()
            .map(|r| StringValue::from(r.clone()))
            .collect();
        self.cx.span().set_attribute(KeyValue::new(
            "gen_ai.response.finish_reasons",
            Value::Array(Array::String(values)),
        ));
    }

    /// The attempt settled with `record`; `ended` is when its upstream exchange ended.
    pub fn finish(self, record: &UsageRecord, ended: Option<Instant>) {
        let span = self.cx.span();
        span.set_attribute(KeyValue::new(
            "gen_ai.response.model",
            record.upstream_model.clone(),
        ));
        span.set_attribute(KeyValue::new(
            "gen_ai.usage.input_tokens",
            record.input_tokens,
        ));
        span.set_attribute(KeyValue::new(
            "gen_ai.usage.output_tokens",
            record.output_tokens,
        ));
        if record.cached_read_tokens > 0 {
            span.set_attribute(KeyValue::new(
                "gen_ai.usage.cache_read.input_tokens",
                record.cached_read_tokens,
            ));
        }
        if record.status > 0 {
            span.set_attribute(KeyValue::new(
                "http.response.status_code",
                i64::from(record.status),
            ));
        }
        if let Some(class) = &record.error_class {
            span.set_attribute(KeyValue::new("error.type", class.clone()));
            span.set_status(Status::error(class.clone()));
        }
        span.set_attribute(KeyValue::new("forge.streamed", record.streamed));
        match ended {
            Some(at) => span.end_with_timestamp(wall(at)),
            None => span.end(),
        }
    }
}
