"""Small HTTP servers in the test process, for what the `forge-fake-upstream` binary cannot do
from outside:

* `OpenAiToolsUpstream`: an OpenAI-compatible chat endpoint that answers with tool calls
  (the Rust OpenAI fake only answers text). It checks what the real API checks for the fields
  the tests touch (Bearer key, `model`, `messages` roles, the `tools` shape, `tool_call_id` on
  tool messages) and uses the same trigger words as the Rust fakes (`weather`: one call,
  `parallel`: two).
* `FaultProxy`: forwards `/{port}/{status}/{rest}` to `127.0.0.1:{port}/{rest}` with the
  `x-fake-fault` header set, so a real fake answers that status in its own dialect's error
  shape (forge-server never forwards client headers upstream, so the tests cannot set it).
"""

from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOOL_TRIGGER = "weather"
PARALLEL_TRIGGER = "parallel"
RETRY_AFTER_S = 7


def fake_arguments(schema: dict, call: int) -> dict:
    """The arguments the Rust fakes invent (crates/forge-testkit/src/triggers.rs)."""
    args = {}
    for name, prop in (schema or {}).get("properties", {}).items():
        if prop.get("enum"):
            args[name] = prop["enum"][0]
            continue
        kind = str(prop.get("type", "string")).lower()
        args[name] = {
            "integer": 1, "number": 1, "boolean": True, "array": [], "object": {},
        }.get(kind, "Paris" if call == 0 else "Tokyo")
    return args


def calls_for(prompt: str) -> int:
    prompt = prompt.lower()
    return 2 if PARALLEL_TRIGGER in prompt else 1 if TOOL_TRIGGER in prompt else 0


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class _Background:
    """A ThreadingHTTPServer on a free loopback port, served from a daemon thread."""

    handler: type[BaseHTTPRequestHandler]

    def __init__(self) -> None:
        handler = type("Handler", (self.handler,), {"owner": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: object

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def send(self, status: int, body: bytes, content_type: str, headers: dict | None = None):
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, value: object) -> None:
        self.send(status, json.dumps(value).encode(), "application/json")

    def read_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("content-length") or 0))


# --- OpenAI-compatible upstream with tool calls -------------------------------------------------

class _OpenAiToolsHandler(_Handler):
    owner: "OpenAiToolsUpstream"

    def error(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        self.send_json(status, {"error": {"message": message, "type": kind, "param": None,
                                          "code": None}})

    def authorized(self) -> bool:
        if self.headers.get("authorization") != f"Bearer {self.owner.api_key}":
            self.error(401, "Incorrect API key provided.", "invalid_api_key")
            return False
        return True

    def do_GET(self) -> None:
        if not self.authorized():
            return
        if self.path.rstrip("/") == "/v1/models":
            self.send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "stub"}
                for m in self.owner.models]})
        else:
            self.error(404, f"no route {self.path}")

    def do_POST(self) -> None:
        raw = self.read_body()
        self.owner.headers.append({k.lower(): v for k, v in self.headers.items()})
        if not self.authorized():
            return
        if self.path.rstrip("/") != "/v1/chat/completions":
            self.error(404, f"no route {self.path}")
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self.error(400, "body is not JSON")
            return
        self.owner.requests.append(body)
        problem = validate_chat(body, self.owner.models)
        if problem:
            self.error(*problem)
            return
        self.answer(body)

    def answer(self, body: dict) -> None:
        model = body["model"]
        prompt = last_user_text(body["messages"])
        tools = [t["function"] for t in body.get("tools") or []]
        count = calls_for(prompt) if tools and body.get("tool_choice") != "none" else 0
        calls = []
        for i in range(count):
            fn = tools[i] if i < len(tools) else tools[0]
            calls.append({
                "id": f"call_stub{self.owner.next_id():08d}",
                "type": "function",
                "function": {"name": fn["name"],
                             "arguments": json.dumps(fake_arguments(fn.get("parameters"), i))},
            })
        text = None if calls else self.owner.reply
        finish = "tool_calls" if calls else "stop"
        usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
        cid = f"chatcmpl-stub{self.owner.next_id():08d}"
        if not body.get("stream"):
            message = {"role": "assistant", "content": text, "refusal": None}
            if calls:
                message["tool_calls"] = calls
            self.send_json(200, {
                "id": cid, "object": "chat.completion", "created": 1_700_000_000, "model": model,
                "choices": [{"index": 0, "message": message, "logprobs": None,
                             "finish_reason": finish}],
                "usage": usage,
            })
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(delta: dict | None, finish_reason=None, usage_value=None) -> bytes:
            c = {"id": cid, "object": "chat.completion.chunk", "created": 1_700_000_000,
                 "model": model,
                 "choices": [] if delta is None else [
                     {"index": 0, "delta": delta, "logprobs": None,
                      "finish_reason": finish_reason}]}
            if include_usage:
                c["usage"] = usage_value
            return b"data: " + json.dumps(c).encode() + b"\n\n"

        events = [chunk({"role": "assistant", "content": "" if text else None})]
        if text:
            step = max(1, len(text) // 4)
            events += [chunk({"content": text[i:i + step]}) for i in range(0, len(text), step)]
        for index, call in enumerate(calls):
            args = call["function"]["arguments"]
            half = len(args) // 2
            # As OpenAI streams them: id and name first, then the arguments in pieces.
            events.append(chunk({"tool_calls": [{
                "index": index, "id": call["id"], "type": "function",
                "function": {"name": call["function"]["name"], "arguments": ""}}]}))
            for piece in (args[:half], args[half:]):
                events.append(chunk({"tool_calls": [{
                    "index": index, "function": {"arguments": piece}}]}))
        events.append(chunk({}, finish))
        if include_usage:
            events.append(chunk(None, usage_value=usage))
        events.append(b"data: [DONE]\n\n")
        self.send(200, b"".join(events), "text/event-stream")


def last_user_text(messages: list) -> str:
    """The prompt: the text of the last message when it is the user's. After a tool call the
    last message is a `tool` result, which triggers nothing (a plain text answer follows)."""
    message = messages[-1]
    if message.get("role") != "user":
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    return " ".join(p.get("text", "") for p in content or [] if p.get("type") == "text")


def validate_chat(body: dict, models: list[str]) -> tuple[int, str] | None:
    """What OpenAI would reject among the fields these tests exercise."""
    if not isinstance(body.get("model"), str):
        return 400, "you must provide a model parameter"
    if body["model"] not in models:
        return 404, f"The model `{body['model']}` does not exist"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return 400, "'messages' must be a non-empty array"
    for i, m in enumerate(messages):
        role = m.get("role")
        if role not in ("system", "developer", "user", "assistant", "tool"):
            return 400, f"messages[{i}].role `{role}` is invalid"
        if role == "tool" and not m.get("tool_call_id"):
            return 400, f"messages[{i}]: tool messages need `tool_call_id`"
        if role == "assistant":
            for call in m.get("tool_calls") or []:
                if call.get("type") != "function" or not call.get("id"):
                    return 400, f"messages[{i}].tool_calls: bad tool call {call}"
                try:
                    json.loads(call["function"]["arguments"])
                except (KeyError, TypeError, ValueError):
                    return 400, f"messages[{i}].tool_calls: arguments must be a JSON string"
    for i, tool in enumerate(body.get("tools") or []):
        fn = tool.get("function")
        if tool.get("type") != "function" or not isinstance(fn, dict) or not fn.get("name"):
            return 400, f"tools[{i}] must be {{type: function, function: {{name, ...}}}}"
        params = fn.get("parameters")
        if params is not None and not isinstance(params, dict):
            return 400, f"tools[{i}].function.parameters must be an object"
        bad = bad_schema_type(params)
        if bad is not None:
            return 400, f"Invalid schema for function '{fn['name']}': {bad!r} is not valid"
    return None


JSON_SCHEMA_TYPES = {"object", "array", "string", "number", "integer", "boolean", "null"}


def bad_schema_type(schema: object) -> object | None:
    """The first `type` in a JSON schema that JSON Schema (and so OpenAI) does not know, such as
    Gemini's upper-case `STRING`."""
    if isinstance(schema, list):
        for item in schema:
            bad = bad_schema_type(item)
            if bad is not None:
                return bad
    if not isinstance(schema, dict):
        return None
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind is not None else []
    for k in kinds:
        if k not in JSON_SCHEMA_TYPES:
            return k
    for key in ("properties", "$defs", "definitions"):
        for sub in (schema.get(key) or {}).values():
            bad = bad_schema_type(sub)
            if bad is not None:
                return bad
    for key in ("items", "anyOf", "oneOf", "allOf"):
        bad = bad_schema_type(schema.get(key))
        if bad is not None:
            return bad
    return None


class OpenAiToolsUpstream(_Background):
    handler = _OpenAiToolsHandler

    def __init__(self, api_key: str, models: list[str], reply: str) -> None:
        self.api_key = api_key
        self.models = models
        self.reply = reply
        self.requests: list[dict] = []
        # Each request's headers (lowercase names), in arrival order.
        self.headers: list[dict] = []
        self._ids = 0
        self._lock = threading.Lock()
        super().__init__()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def next_id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids


# --- fault proxy --------------------------------------------------------------------------------

class _FaultProxyHandler(_Handler):
    def forward(self) -> None:
        body = self.read_body()
        try:
            _, port, status, rest = self.path.split("/", 3)
            fault = f"status={int(status)}"
        except ValueError:
            self.send_json(400, {"error": f"fault proxy: bad path {self.path}"})
            return
        if int(status) == 429:
            fault += f";retry_after={RETRY_AFTER_S}"
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "content-length", "connection")}
        headers["x-fake-fault"] = fault
        conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
        try:
            conn.request(self.command, "/" + rest, body=body, headers=headers)
            res = conn.getresponse()
            answer = res.read()
            keep = {k: v for k, v in res.getheaders()
                    if k.lower() not in ("content-length", "transfer-encoding", "connection",
                                         "content-type", "date", "server")}
            self.send(res.status, answer, res.getheader("content-type") or "application/json",
                      keep)
        finally:
            conn.close()

    do_GET = forward
    do_POST = forward


class FaultProxy(_Background):
    handler = _FaultProxyHandler

    def base_url(self, upstream_base_url: str, status: int) -> str:
        """`upstream_base_url` (`http://127.0.0.1:PORT/v1...`) with every answer `status`."""
        origin, _, path = upstream_base_url.removeprefix("http://").partition("/")
        port = origin.rsplit(":", 1)[1]
        return f"http://127.0.0.1:{self.port}/{port}/{status}/{path}"
