"""OpenTelemetry traces from the real forge-server, received by OTLP receivers started here (HTTP
/protobuf and gRPC) and decoded with the official `opentelemetry-proto` definitions: one server
span per request under the client's `traceparent`, one client span per upstream attempt, the
attempt's context sent upstream as `traceparent`, GenAI attributes, and no secrets."""

from __future__ import annotations

import hashlib
import threading
import time
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import pytest
import requests
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from conftest import run_forge_server
from forge_e2e import UPSTREAM_KEY, free_port
from stub_upstreams import OpenAiToolsUpstream

STATIC_KEY = "e2e-otlp-key-51c0de"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"
TOOLS_KEY = "sk-tools-otlp-0001"


class Spans:
    """Every span received, with its resource's service name."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, trace_pb2.Span]] = []
        self.lock = threading.Lock()

    def take(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
        with self.lock:
            for resource_spans in request.resource_spans:
                service = next(
                    (a.value.string_value for a in resource_spans.resource.attributes
                     if a.key == "service.name"), "")
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans.append((service, span))

    def of_trace(self, trace_id: str, count: int, deadline_s: float = 20) -> list[trace_pb2.Span]:
        end = time.monotonic() + deadline_s
        while True:
            with self.lock:
                found = [s for _, s in self.spans if s.trace_id.hex() == trace_id]
            if len(found) >= count or time.monotonic() > end:
                return found
            time.sleep(0.05)


class HttpReceiver:
    """OTLP/HTTP: `POST /v1/traces` with a protobuf body."""

    def __init__(self) -> None:
        self.spans = Spans()
        spans = self.spans

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if self.path != "/v1/traces" or \
                        self.headers.get("content-type") != "application/x-protobuf":
                    self.send_response(400)
                    self.end_headers()
                    return
                request = trace_service_pb2.ExportTraceServiceRequest()
                request.ParseFromString(body)
                spans.take(request)
                answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


class GrpcReceiver:
    """OTLP/gRPC: `opentelemetry.proto.collector.trace.v1.TraceService/Export`."""

    def __init__(self) -> None:
        self.spans = Spans()

        def export(request, _context):
            self.spans.take(request)
            return trace_service_pb2.ExportTraceServiceResponse()

        handler = grpc.method_handlers_generic_handler(
            "opentelemetry.proto.collector.trace.v1.TraceService",
            {"Export": grpc.unary_unary_rpc_method_handler(
                export,
                request_deserializer=trace_service_pb2.ExportTraceServiceRequest.FromString,
                response_serializer=trace_service_pb2.ExportTraceServiceResponse.SerializeToString,
            )},
        )
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self.server.add_generic_rpc_handlers((handler,))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def close(self) -> None:
        self.server.stop(None)


def attrs(span: trace_pb2.Span) -> dict:
    out = {}
    for a in span.attributes:
        v = a.value
        kind = v.WhichOneof("value")
        out[a.key] = getattr(v, kind) if kind else None
    return out


def strings(value) -> list:
    """An OTLP string array attribute's values."""
    return [v.string_value for v in value.values]


@pytest.fixture(scope="module")
def tools_upstream():
    upstream = OpenAiToolsUpstream(TOOLS_KEY, ["tools-model"], "Traced reply.")
    try:
        yield upstream
    finally:
        upstream.close()


def traced_server(tmp_path_factory, fake_upstream, fault_proxy, tools_upstream, protocol, port):
    """A server whose logical model `m` fails over from a 503 deployment to `tools_upstream`."""
    root = tmp_path_factory.mktemp(f"otlp-{protocol.replace('/', '-')}")
    digest = hashlib.sha256(STATIC_KEY.encode()).hexdigest()
    failing = fault_proxy.base_url(fake_upstream.base_url, 503)
    config = f"""
[[providers]]
name = "down"
kind = "openai-compatible"
base_url = "{failing}"
keys = [{{ key = "{UPSTREAM_KEY}" }}]

[[providers]]
name = "tools"
kind = "openai-compatible"
base_url = "{tools_upstream.base_url}"
keys = [{{ key = "{TOOLS_KEY}" }}]

[models.m]
strategy = "priority"
deployments = [
  {{ provider = "down", model = "gpt-4o-mini" }},
  {{ provider = "tools", model = "tools-model", priority = 1 }},
]

[[keys]]
name = "otlp"
key = "sha256:{digest}"
"""
    path = root / "forge.toml"
    path.write_text(config)
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_SERVICE_NAME": "forge-e2e",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    return run_forge_server(root, ["--config", str(path)], env)


@pytest.fixture(scope="module", params=["http/protobuf", "grpc"])
def traced(request, tmp_path_factory, fake_upstream, fault_proxy, tools_upstream):
    receiver = HttpReceiver() if request.param == "http/protobuf" else GrpcReceiver()
    try:
        with traced_server(tmp_path_factory, fake_upstream, fault_proxy, tools_upstream,
                           request.param, receiver.port) as server:
            yield server, receiver
    finally:
        receiver.close()


def call(server, stream: bool, trace_id: str) -> requests.Response:
    return requests.post(
        server.api + "/chat/completions",
        headers={"Authorization": f"Bearer {STATIC_KEY}",
                 "traceparent": f"00-{trace_id}-{CLIENT_SPAN}-01"},
        json={"model": "m", "messages": [{"role": "user", "content": "hello"}],
              "stream": stream, **({"stream_options": {"include_usage": True}} if stream else {})},
        timeout=30,
    )


@pytest.mark.parametrize("stream", [False, True])
def test_a_failover_is_one_server_span_with_a_child_per_attempt(traced, tools_upstream, stream):
    server, receiver = traced
    trace_id = hashlib.md5(f"{receiver.port}-{stream}".encode()).hexdigest()
    seen = len(tools_upstream.headers)
    res = call(server, stream, trace_id)
    assert res.status_code == 200, res.text
    assert res.headers["x-forge-trace-id"] == trace_id
    if stream:
        assert "data: [DONE]" in res.text

    spans = receiver.spans.of_trace(trace_id, 3)
    assert len(spans) == 3, [s.name for s in spans]
    (root,) = [s for s in spans if s.kind == trace_pb2.Span.SPAN_KIND_SERVER]
    attempts = sorted((s for s in spans if s.kind == trace_pb2.Span.SPAN_KIND_CLIENT),
                      key=lambda s: attrs(s)["forge.attempt"])
    assert len(attempts) == 2

    # The request span continues the client's trace.
    assert root.parent_span_id.hex() == CLIENT_SPAN
    assert root.name == "chat m"
    a = attrs(root)
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.request.model"] == "m"
    assert a["http.response.status_code"] == 200
    assert a["forge.route"] == "m" and a["forge.provider"] == "tools"
    assert root.end_time_unix_nano >= max(s.end_time_unix_nano for s in attempts)

    failed, served = attempts
    for span in attempts:
        assert span.parent_span_id == root.span_id
        assert root.start_time_unix_nano <= span.start_time_unix_nano <= span.end_time_unix_nano
    f = attrs(failed)
    assert f["forge.attempt"] == 1 and f["gen_ai.provider.name"] == "down"
    assert f["error.type"] == "upstream_5xx" and f["http.response.status_code"] == 503
    assert failed.status.code == trace_pb2.Status.STATUS_CODE_ERROR
    s = attrs(served)
    assert s["forge.attempt"] == 2 and s["gen_ai.provider.name"] == "tools"
    assert s["forge.deployment"].startswith("tools/tools-model")
    assert s["gen_ai.request.model"] == "tools-model"
    assert s["gen_ai.usage.input_tokens"] > 0 and s["gen_ai.usage.output_tokens"] > 0
    assert s["forge.streamed"] is stream
    assert strings(s["gen_ai.response.finish_reasons"]) == ["stop"]
    assert "error.type" not in s
    assert "gen_ai.response.finish_reasons" not in f

    # The upstream got the served attempt's own context.
    sent = tools_upstream.headers[seen:]
    assert sent and sent[-1]["traceparent"] == f"00-{trace_id}-{served.span_id.hex()}-01"

    # Nothing secret and no content in any attribute.
    text = str([attrs(x) for x in spans])
    for secret in (STATIC_KEY, UPSTREAM_KEY, TOOLS_KEY, "hello", "Traced reply"):
        assert secret not in text


def test_the_service_name_comes_from_the_environment(traced):
    server, receiver = traced
    trace_id = hashlib.md5(f"{receiver.port}-service".encode()).hexdigest()
    assert call(server, False, trace_id).status_code == 200
    receiver.spans.of_trace(trace_id, 3)
    with receiver.spans.lock:
        services = {service for service, span in receiver.spans.spans
                    if span.trace_id.hex() == trace_id}
    assert services == {"forge-e2e"}


@pytest.mark.parametrize("stream", [False, True])
def test_a_translated_answer_reports_its_finish_reason(traced, stream):
    """Anthropic Messages in, an OpenAI-compatible upstream out: the canonical form's reason."""
    server, receiver = traced
    trace_id = hashlib.md5(f"{receiver.port}-messages-{stream}".encode()).hexdigest()
    res = requests.post(
        server.api + "/messages",
        headers={"x-api-key": STATIC_KEY, "anthropic-version": "2023-06-01",
                 "traceparent": f"00-{trace_id}-{CLIENT_SPAN}-01"},
        json={"model": "m", "max_tokens": 64, "stream": stream,
              "messages": [{"role": "user", "content": "hello"}]},
        timeout=30,
    )
    assert res.status_code == 200, res.text
    # The failing deployment may be cooling down from the tests before: 2 or 3 spans.
    spans = receiver.spans.of_trace(trace_id, 2)
    served = [attrs(s) for s in spans
              if s.kind == trace_pb2.Span.SPAN_KIND_CLIENT
              and attrs(s)["gen_ai.provider.name"] == "tools"]
    assert len(served) == 1
    assert strings(served[0]["gen_ai.response.finish_reasons"]) == ["stop"]
