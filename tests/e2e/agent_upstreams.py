"""Fake upstreams for the coding-agent CLI tests (test_agent_clis.py): four HTTP servers in the
test process that speak the protocols Claude Code, Codex and Gemini CLI use, strictly enough
that a gateway's translation mistakes show up as the errors the real services would answer.

* `AnthropicAgentUpstream`: the Messages API (`/v1/messages`, `count_tokens`, `/v1/models`).
* `ResponsesAgentUpstream`: an OpenAI host with `/v1/responses` and `/v1/chat/completions`.
* `ChatOnlyAgentUpstream`: an OpenAI-compatible host with `/v1/chat/completions` only.
* `GeminiAgentUpstream`: the Gemini API (`generateContent`, `streamGenerateContent`,
  `countTokens`, `/v1beta/models`).

Each checks its key, validates the request fields these clients use, answers errors in its
service's error shape, and records every request: its body in `requests`, `METHOD path` in
`paths`, and each error it answered in `errors`. They share one "brain" (`decide`): the last
user turn is read; a tool result there is echoed as `TOOL RESULT: <first 300 characters>`;
`FORGE_CALL <tool> <json object>` calls that tool when the request declares it; anything else
gets `Hello from the <kind> fake.`.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from stub_upstreams import _Background, _Handler, bad_schema_type

CALL_PATTERN = re.compile(r"FORGE_CALL[ \t]+(\S+)[ \t]+(\{[^\r\n]*)")
RESULT_CHARS = 300
RESULT_PREFIX = "TOOL RESULT: "

ANTHROPIC_MODELS = ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"]
OPENAI_MODELS = ["gpt-5.1-codex", "gpt-5.1-codex-mini", "gpt-5.1", "gpt-5", "gpt-4o", "gpt-4o-mini"]
GEMINI_MODELS = ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-lite"]

REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")


def reply_text(kind: str) -> str:
    return f"Hello from the {kind} fake."


# --- the shared brain ---------------------------------------------------------------------------

@dataclass
class Prompt:
    """What the fakes read of a request: the text of the last user turn, and the text of the
    first tool result in that turn (None when it holds none)."""

    text: str
    tool_result: str | None = None


@dataclass
class Answer:
    text: str | None = None
    call: tuple[str, dict] | None = None  # (tool name, arguments)


def decide(kind: str, prompt: Prompt, declared: set[str]) -> Answer:
    if prompt.tool_result is not None:
        return Answer(text=RESULT_PREFIX + prompt.tool_result[:RESULT_CHARS])
    for match in CALL_PATTERN.finditer(prompt.text):
        name, raw = match.group(1), match.group(2).strip()
        if name not in declared:
            continue
        try:
            args = json.loads(raw)
        except ValueError:
            continue
        if isinstance(args, dict):
            return Answer(call=(name, args))
    return Answer(text=reply_text(kind))


def pieces(text: str, count: int = 3) -> list[str]:
    """`text` in `count` pieces (fewer when it is short), as a model streams it."""
    step = max(1, -(-len(text) // count))
    return [text[i:i + step] for i in range(0, len(text), step)] or [""]


def text_of(value: object) -> str:
    """The text of a tool result in any dialect: a string, a list of text parts, or an object
    (Gemini's `response`), whose `output`/`content`/`result` string is preferred."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        texts = [p if isinstance(p, str) else p.get("text") for p in value
                 if isinstance(p, (str, dict))]
        return "\n".join(t for t in texts if isinstance(t, str))
    if isinstance(value, dict):
        for key in ("output", "content", "result", "text"):
            if isinstance(value.get(key), str):
                return value[key]
        return json.dumps(value)
    return str(value)


def estimate_tokens(raw: bytes | str) -> int:
    return max(1, len(raw) // 4)


def new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


class Rejected(Exception):
    """A request the real service would refuse: the status and its error body."""

    def __init__(self, status: int, body: dict) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


# --- HTTP plumbing shared by the four fakes -----------------------------------------------------

class _AgentHandler(_Handler):
    owner: "_AgentUpstream"

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        raw = self.read_body()
        url = urlsplit(self.path)
        self.route_path = url.path.rstrip("/") or "/"
        self.query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        body: object = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
        self.owner.record(method, self.path, body)
        try:
            self.handle_request(method, self.route_path, raw, body)
        except Rejected as rejected:
            self.owner.record_error(method, self.path, rejected)
            self.send_json(rejected.status, rejected.body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def handle_request(self, method: str, path: str, raw: bytes, body: object) -> None:
        raise NotImplementedError

    # Server-sent events with chunked transfer encoding, flushed event by event.
    def start_stream(self, content_type: str = "text/event-stream; charset=utf-8") -> None:
        self.send_response(200)
        self.send_header("content-type", content_type)
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

    def write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _AgentUpstream(_Background):
    kind = ""
    default_models: list[str] = []

    def __init__(self, api_key: str, models: list[str] | None = None) -> None:
        self.api_key = api_key
        self.models = list(models or self.default_models)
        self.requests: list[object] = []  # every request body (parsed JSON, else text, else None)
        self.paths: list[str] = []  # "METHOD /path?query" of every request
        self.errors: list[str] = []  # "METHOD /path -> status body" of every request refused
        self._lock = threading.Lock()
        super().__init__()

    def record(self, method: str, path: str, body: object) -> None:
        with self._lock:
            self.paths.append(f"{method} {path}")
            self.requests.append(body)

    def record_error(self, method: str, path: str, rejected: Rejected) -> None:
        with self._lock:
            self.errors.append(f"{method} {path} -> {rejected.status} {json.dumps(rejected.body)}")

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.origin + "/v1"


def _require_object(body: object, error) -> dict:
    if not isinstance(body, dict):
        raise error("The request body is not valid JSON.")
    return body


# --- Anthropic ------------------------------------------------------------------------------------

def anthropic_error(status: int, kind: str, message: str) -> Rejected:
    return Rejected(status, {"type": "error", "error": {"type": kind, "message": message},
                             "request_id": new_id("req_")})


def _a_invalid(message: str) -> Rejected:
    return anthropic_error(400, "invalid_request_error", message)


ANTHROPIC_CREATE_FIELDS = {
    "model", "messages", "max_tokens", "system", "metadata", "stop_sequences", "stream",
    "temperature", "top_p", "top_k", "tools", "tool_choice", "thinking", "service_tier",
    "container", "mcp_servers", "context_management", "output_format", "output_config",
}
ANTHROPIC_COUNT_FIELDS = {
    "model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers",
    "context_management", "output_format", "output_config",
}
ANTHROPIC_BLOCKS = {
    "text", "image", "document", "search_result", "thinking", "redacted_thinking", "tool_use",
    "tool_result", "server_tool_use", "web_search_tool_result", "web_fetch_tool_result",
    "container_upload",
}
ANTHROPIC_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
SERVER_TOOL_TYPE = re.compile(r"^[a-z_]+_\d{8}$")


def _blocks(message: dict) -> list:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return content if isinstance(content, list) else []


def validate_anthropic(body: dict, models: list[str], count_only: bool = False) -> dict:
    """Checks a Messages request as Anthropic does; returns the declared custom tools by name."""
    known = ANTHROPIC_COUNT_FIELDS if count_only else ANTHROPIC_CREATE_FIELDS
    for field in body:
        if field not in known:
            raise _a_invalid(f"{field}: Extra inputs are not permitted")
    model = body.get("model")
    if model is None:
        raise _a_invalid("model: Field required")
    if not isinstance(model, str):
        raise _a_invalid("model: Input should be a valid string")
    max_tokens = None
    if not count_only:
        max_tokens = body.get("max_tokens")
        if max_tokens is None:
            raise _a_invalid("max_tokens: Field required")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
            raise _a_invalid("max_tokens: Input should be a valid integer")
        if max_tokens < 1:
            raise _a_invalid("max_tokens: Input should be greater than or equal to 1")
    messages = body.get("messages")
    if messages is None:
        raise _a_invalid("messages: Field required")
    if not isinstance(messages, list):
        raise _a_invalid("messages: Input should be a valid list")
    if not messages:
        raise _a_invalid("messages: at least one message is required")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise _a_invalid(f"messages.{i}: Input should be a valid dictionary")
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise _a_invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        content = message.get("content")
        if content is None:
            raise _a_invalid(f"messages.{i}.content: Field required")
        if isinstance(content, str):
            if not content and not (role == "assistant" and i == len(messages) - 1):
                raise _a_invalid("messages: text content blocks must be non-empty")
            continue
        if not isinstance(content, list):
            raise _a_invalid(f"messages.{i}.content: Input should be a valid list")
        for j, block in enumerate(content):
            _check_anthropic_block(i, j, role, block)
    if messages[0].get("role") != "user":
        raise _a_invalid('messages: first message must use the "user" role')
    _check_tool_pairing(messages)
    system = body.get("system")
    if system is not None and not isinstance(system, str):
        if not isinstance(system, list):
            raise _a_invalid("system: Input should be a valid string or a list of text blocks")
        for j, block in enumerate(system):
            if not isinstance(block, dict) or block.get("type") != "text":
                raise _a_invalid(f"system.{j}.type: Input should be 'text'")
            if not isinstance(block.get("text"), str):
                raise _a_invalid(f"system.{j}.text: Field required")
            if not block["text"]:
                raise _a_invalid("system: text content blocks must be non-empty")
    thinking = body.get("thinking")
    thinking_on = False
    if thinking is not None:
        kind = thinking.get("type") if isinstance(thinking, dict) else None
        if kind == "enabled":
            budget = thinking.get("budget_tokens")
            if not isinstance(budget, int) or isinstance(budget, bool):
                raise _a_invalid("thinking.enabled.budget_tokens: Field required")
            if budget < 1024:
                raise _a_invalid("thinking.enabled.budget_tokens: Input should be greater than "
                                 "or equal to 1024")
            if max_tokens is not None and budget >= max_tokens:
                raise _a_invalid("`max_tokens` must be greater than `thinking.budget_tokens`. "
                                 "Please consult our documentation at "
                                 "https://docs.claude.com/en/docs/build-with-claude/"
                                 "extended-thinking#max-tokens-and-context-window-size")
            thinking_on = True
        elif kind == "adaptive":
            thinking_on = True
        elif kind != "disabled":
            raise _a_invalid(f"thinking: Input tag '{kind}' found using 'type' does not match "
                             "any of the expected tags: 'adaptive', 'disabled', 'enabled'")
    temperature = body.get("temperature")
    if temperature is not None:
        if not isinstance(temperature, (int, float)) or isinstance(temperature, bool):
            raise _a_invalid("temperature: Input should be a valid number")
        if not 0 <= temperature <= 1:
            raise _a_invalid("temperature: Input should be less than or equal to 1")
        if thinking_on and temperature != 1:
            raise _a_invalid("`temperature` may only be set to 1 when thinking is enabled or "
                             "in adaptive mode.")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise _a_invalid("stream: Input should be a valid boolean")
    declared = {}
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise _a_invalid("tools: Input should be a valid list")
        for i, tool in enumerate(tools):
            if not isinstance(tool, dict):
                raise _a_invalid(f"tools.{i}: Input should be a valid dictionary")
            kind = tool.get("type")
            name = tool.get("name")
            if kind not in (None, "custom"):
                if not isinstance(kind, str) or not SERVER_TOOL_TYPE.match(kind):
                    raise _a_invalid(f"tools.{i}: Input tag '{kind}' found using 'type' does not "
                                     "match any of the expected tags")
                if not isinstance(name, str):
                    raise _a_invalid(f"tools.{i}.name: Field required")
                continue
            if not isinstance(name, str):
                raise _a_invalid(f"tools.{i}.custom.name: Field required")
            if not ANTHROPIC_TOOL_NAME.match(name):
                raise _a_invalid(f"tools.{i}.custom.name: String should match pattern "
                                 "'^[a-zA-Z0-9_-]{1,128}$'")
            schema = tool.get("input_schema")
            if schema is None:
                raise _a_invalid(f"tools.{i}.custom.input_schema: Field required")
            if not isinstance(schema, dict):
                raise _a_invalid(f"tools.{i}.custom.input_schema: Input should be a valid "
                                 "dictionary")
            if schema.get("type") != "object":
                raise _a_invalid(f"tools.{i}.custom.input_schema.type: Input should be 'object'")
            if name in declared:
                raise _a_invalid("tools: Tool names must be unique.")
            declared[name] = tool
    choice = body.get("tool_choice")
    if choice is not None:
        kind = choice.get("type") if isinstance(choice, dict) else None
        if kind not in ("auto", "any", "tool", "none"):
            raise _a_invalid(f"tool_choice: Input tag '{kind}' found using 'type' does not match "
                             "any of the expected tags: 'auto', 'any', 'tool', 'none'")
        if kind == "tool" and not isinstance(choice.get("name"), str):
            raise _a_invalid("tool_choice.tool.name: Field required")
    if model not in models:
        raise anthropic_error(404, "not_found_error", f"model: {model}")
    return declared


def _check_anthropic_block(i: int, j: int, role: str, block: object) -> None:
    at = f"messages.{i}.content.{j}"
    if not isinstance(block, dict):
        raise _a_invalid(f"{at}: Input should be a valid dictionary")
    kind = block.get("type")
    if kind not in ANTHROPIC_BLOCKS:
        raise _a_invalid(f"{at}: Input tag '{kind}' found using 'type' does not match any of the "
                         "expected tags: " + ", ".join(f"'{t}'" for t in sorted(ANTHROPIC_BLOCKS)))
    if kind == "text":
        if not isinstance(block.get("text"), str):
            raise _a_invalid(f"{at}.text.text: Field required")
        if not block["text"]:
            raise _a_invalid("messages: text content blocks must be non-empty")
    elif kind == "tool_use":
        if role != "assistant":
            raise _a_invalid(f"{at}: `tool_use` blocks are only allowed in assistant messages")
        for field in ("id", "name"):
            if not isinstance(block.get(field), str) or not block[field]:
                raise _a_invalid(f"{at}.tool_use.{field}: Field required")
        if not isinstance(block.get("input"), dict):
            raise _a_invalid(f"{at}.tool_use.input: Input should be a valid dictionary")
    elif kind == "tool_result":
        if role != "user":
            raise _a_invalid(f"{at}: `tool_result` blocks are only allowed in user messages")
        if not isinstance(block.get("tool_use_id"), str):
            raise _a_invalid(f"{at}.tool_result.tool_use_id: Field required")
        content = block.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise _a_invalid(f"{at}.tool_result.content: Input should be a valid list")
    elif kind in ("thinking", "redacted_thinking") and role != "assistant":
        raise _a_invalid(f"{at}: `{kind}` blocks are only allowed in assistant messages")
    elif kind == "thinking" and not isinstance(block.get("signature"), str):
        raise _a_invalid(f"{at}.thinking.signature: Field required")


def _check_tool_pairing(messages: list) -> None:
    for i, message in enumerate(messages):
        blocks = _blocks(message)
        results = [b for b in blocks if b.get("type") == "tool_result"]
        if results:
            asked = []
            if i > 0 and messages[i - 1].get("role") == "assistant":
                asked = [b.get("id") for b in _blocks(messages[i - 1])
                         if b.get("type") == "tool_use"]
            for j, block in enumerate(blocks):
                if block.get("type") == "tool_result" and block.get("tool_use_id") not in asked:
                    raise _a_invalid(
                        f"messages.{i}.content.{j}: unexpected `tool_use_id` found in "
                        f"`tool_result` blocks: {block.get('tool_use_id')}. Each `tool_result` "
                        "block must have a corresponding `tool_use` block in the previous message.")
            kinds = [b.get("type") for b in blocks]
            first_other = next((k for k, t in enumerate(kinds) if t != "tool_result"), len(kinds))
            if "tool_result" in kinds[first_other:]:
                raise _a_invalid(f"messages.{i}: `tool_result` blocks must come first in the user "
                                 "message, before any other content")
        if message.get("role") != "assistant":
            continue
        ids = [b.get("id") for b in blocks if b.get("type") == "tool_use"]
        if not ids:
            continue
        answered = set()
        if i + 1 < len(messages) and messages[i + 1].get("role") == "user":
            answered = {b.get("tool_use_id") for b in _blocks(messages[i + 1])
                        if b.get("type") == "tool_result"}
        missing = [x for x in ids if x not in answered]
        if missing:
            raise _a_invalid(
                f"messages.{i + 1 if i + 1 < len(messages) else i}: `tool_use` ids were found "
                f"without `tool_result` blocks immediately after: {', '.join(missing)}. Each "
                "`tool_use` block must have a corresponding `tool_result` block in the next "
                "message.")


def anthropic_prompt(messages: list) -> Prompt:
    last = messages[-1]
    if last.get("role") != "user":
        return Prompt("")
    blocks = _blocks(last)
    texts = [b["text"] for b in blocks
             if b.get("type") == "text" and isinstance(b.get("text"), str)]
    results = [b for b in blocks if b.get("type") == "tool_result"]
    return Prompt("\n".join(texts), text_of(results[0].get("content")) if results else None)


class _AnthropicHandler(_AgentHandler):
    owner: "AnthropicAgentUpstream"

    def authorized(self) -> None:
        key = self.headers.get("x-api-key")
        bearer = self.headers.get("authorization") or ""
        if key is None and bearer.lower().startswith("bearer "):
            key = bearer[7:]
        if key is None:
            raise anthropic_error(401, "authentication_error", "x-api-key header is required")
        if key != self.owner.api_key:
            raise anthropic_error(401, "authentication_error", "invalid x-api-key")

    def handle_request(self, method: str, path: str, raw: bytes, body: object) -> None:
        self.authorized()
        if method == "GET" and path == "/v1/models":
            data = [self.model_info(m) for m in self.owner.models]
            self.send_json(200, {"data": data, "has_more": False,
                                 "first_id": data[0]["id"] if data else None,
                                 "last_id": data[-1]["id"] if data else None})
        elif method == "GET" and path.startswith("/v1/models/"):
            model = path.removeprefix("/v1/models/")
            if model not in self.owner.models:
                raise anthropic_error(404, "not_found_error", f"model: {model}")
            self.send_json(200, self.model_info(model))
        elif method == "POST" and path == "/v1/messages/count_tokens":
            body = _require_object(body, _a_invalid)
            validate_anthropic(body, self.owner.models, count_only=True)
            self.send_json(200, {"input_tokens": estimate_tokens(raw)})
        elif method == "POST" and path == "/v1/messages":
            body = _require_object(body, _a_invalid)
            declared = validate_anthropic(body, self.owner.models)
            answer = decide(self.owner.kind, anthropic_prompt(body["messages"]), set(declared))
            self.respond(body, answer, estimate_tokens(raw))
        else:
            raise anthropic_error(404, "not_found_error", "Not Found")

    @staticmethod
    def model_info(model: str) -> dict:
        return {"type": "model", "id": model, "display_name": model,
                "created_at": "2025-09-29T00:00:00Z"}

    def respond(self, body: dict, answer: Answer, input_tokens: int) -> None:
        msg_id = new_id("msg_")
        model = body["model"]
        if answer.call:
            name, args = answer.call
            block = {"type": "tool_use", "id": new_id("toolu_"), "name": name, "input": args}
            stop, output_tokens = "tool_use", estimate_tokens(json.dumps(args))
        else:
            block = {"type": "text", "text": answer.text}
            stop, output_tokens = "end_turn", estimate_tokens(answer.text)
        usage = {"input_tokens": input_tokens, "output_tokens": output_tokens,
                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        if not body.get("stream"):
            self.send_json(200, {"id": msg_id, "type": "message", "role": "assistant",
                                 "model": model, "content": [block], "stop_reason": stop,
                                 "stop_sequence": None, "usage": usage})
            return

        def event(name: str, data: dict) -> None:
            self.write_chunk(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())

        self.start_stream()
        event("message_start", {"type": "message_start", "message": {
            "id": msg_id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": {**usage, "output_tokens": 1}}})
        if answer.call:
            start = {**block, "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": p}
                      for p in pieces(json.dumps(block["input"]))]
        else:
            start = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in pieces(answer.text)]
        event("content_block_start", {"type": "content_block_start", "index": 0,
                                      "content_block": start})
        event("ping", {"type": "ping"})
        for delta in deltas:
            event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                          "delta": delta})
        event("content_block_stop", {"type": "content_block_stop", "index": 0})
        event("message_delta", {"type": "message_delta",
                                "delta": {"stop_reason": stop, "stop_sequence": None},
                                "usage": {"output_tokens": output_tokens}})
        event("message_stop", {"type": "message_stop"})
        self.end_stream()


class AnthropicAgentUpstream(_AgentUpstream):
    """The Anthropic Messages API. `base_url` ends in /v1 (a Forge `anthropic` key);
    `origin` is what ANTHROPIC_BASE_URL takes."""

    handler = _AnthropicHandler
    kind = "anthropic"
    default_models = ANTHROPIC_MODELS


# --- OpenAI: errors, chat completions -------------------------------------------------------------

def openai_error(status: int, message: str, kind: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None) -> Rejected:
    return Rejected(status, {"error": {"message": message, "type": kind, "param": param,
                                       "code": code}})


def _o_invalid(message: str, param: str | None = None, code: str | None = None) -> Rejected:
    return openai_error(400, message, param=param, code=code)


def is_reasoning_model(model: str) -> bool:
    return model.startswith(REASONING_PREFIXES)


OPENAI_FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
CHAT_ROLES = ("system", "developer", "user", "assistant", "tool")
CHAT_PART_TYPES = {
    "user": ("text", "image_url", "input_audio", "file"),
    "system": ("text",), "developer": ("text",), "tool": ("text",),
    "assistant": ("text", "refusal"),
}


def _supported(values) -> str:
    quoted = [f"'{v}'" for v in values]
    if len(quoted) == 1:
        return quoted[0]
    return ", ".join(quoted[:-1]) + (", and " if len(quoted) > 2 else " and ") + quoted[-1]


def _check_function_name(name: object, param: str) -> None:
    if not isinstance(name, str) or not name:
        raise _o_invalid(f"Missing required parameter: '{param}'.", param,
                         "missing_required_parameter")
    if len(name) > 64:
        raise _o_invalid(f"Invalid '{param}': string too long. Expected a string with maximum "
                         f"length 64, but got a string with length {len(name)} instead.",
                         param, "string_above_max_length")
    if not OPENAI_FUNCTION_NAME.match(name):
        raise _o_invalid(f"Invalid '{param}': string does not match pattern. Expected a string "
                         "that matches the pattern '^[a-zA-Z0-9_-]+$'.", param, "invalid_value")


def _check_parameters(params: object, param: str, name: str) -> None:
    if params is None:
        return
    if not isinstance(params, dict):
        raise _o_invalid(f"Invalid type for '{param}': expected an object, but got "
                         f"{type(params).__name__} instead.", param, "invalid_type")
    bad = bad_schema_type(params)
    if bad is not None:
        raise _o_invalid(f"Invalid schema for function '{name}': {json.dumps(bad)} is not valid "
                         "under any of the given schemas.", param, "invalid_function_parameters")


def validate_chat(body: dict, models: list[str]) -> set[str]:
    """Checks a chat completions request as OpenAI does; returns the declared function names."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _o_invalid("you must provide a model parameter")
    if "reasoning_effort" in body and not is_reasoning_model(model):
        raise _o_invalid("Unrecognized request argument supplied: reasoning_effort")
    if "max_tokens" in body and is_reasoning_model(model):
        raise _o_invalid("Unsupported parameter: 'max_tokens' is not supported with this model. "
                         "Use 'max_completion_tokens' instead.", "max_tokens",
                         "unsupported_parameter")
    if body.get("stream_options") is not None and not body.get("stream"):
        raise _o_invalid("The 'stream_options' parameter is only allowed when 'stream' is "
                         "enabled.", "stream_options", "invalid_value")
    messages = body.get("messages")
    if messages is None:
        raise _o_invalid("Missing required parameter: 'messages'.", "messages",
                         "missing_required_parameter")
    if not isinstance(messages, list) or not messages:
        raise _o_invalid("Invalid 'messages': empty array. Expected an array with minimum length "
                         "1, but got an empty array instead.", "messages", "empty_array")
    pending: list[str] = []  # tool_call ids of the last assistant message not yet answered
    pending_from = -1
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise _o_invalid(f"Invalid type for 'messages[{i}]': expected an object.",
                             f"messages[{i}]", "invalid_type")
        role = m.get("role")
        if role not in CHAT_ROLES:
            raise _o_invalid(f"Invalid value: '{role}'. Supported values are: 'system', "
                             "'assistant', 'user', 'function', 'tool', and 'developer'.",
                             f"messages[{i}].role", "invalid_value")
        if role != "tool" and pending:
            raise _o_invalid("An assistant message with 'tool_calls' must be followed by tool "
                             "messages responding to each 'tool_call_id'. The following "
                             f"tool_call_ids did not have response messages: {', '.join(pending)}",
                             f"messages.[{pending_from}].role")
        content = m.get("content")
        if content is None:
            if not (role == "assistant" and (m.get("tool_calls") or "content" in m)):
                raise _o_invalid(f"Missing required parameter: 'messages[{i}].content'.",
                                 f"messages[{i}].content", "missing_required_parameter")
        elif isinstance(content, list):
            for j, part in enumerate(content):
                kind = part.get("type") if isinstance(part, dict) else None
                if kind not in CHAT_PART_TYPES[role]:
                    raise _o_invalid(f"Invalid value: '{kind}'. Supported values are: "
                                     f"{_supported(CHAT_PART_TYPES[role])}.",
                                     f"messages[{i}].content[{j}].type", "invalid_value")
                if kind == "text" and not isinstance(part.get("text"), str):
                    raise _o_invalid(f"Missing required parameter: 'messages[{i}].content[{j}]"
                                     ".text'.", f"messages[{i}].content[{j}].text",
                                     "missing_required_parameter")
        elif not isinstance(content, str):
            raise _o_invalid(f"Invalid type for 'messages[{i}].content': expected one of a "
                             "string or array of objects.", f"messages[{i}].content",
                             "invalid_type")
        if role == "tool":
            call_id = m.get("tool_call_id")
            if not isinstance(call_id, str):
                raise _o_invalid("Missing parameter 'tool_call_id': messages with role 'tool' "
                                 "must have a 'tool_call_id'.", f"messages.[{i}].tool_call_id")
            if call_id not in pending:
                raise _o_invalid("Invalid parameter: messages with role 'tool' must be a "
                                 "response to a preceeding message with 'tool_calls'.",
                                 f"messages.[{i}].role")
            pending.remove(call_id)
        if role == "assistant" and m.get("tool_calls") is not None:
            calls = m["tool_calls"]
            if not isinstance(calls, list) or not calls:
                raise _o_invalid(f"Invalid 'messages[{i}].tool_calls': empty array. Expected an "
                                 "array with minimum length 1, but got an empty array instead.",
                                 f"messages[{i}].tool_calls", "empty_array")
            for k, call in enumerate(calls):
                at = f"messages[{i}].tool_calls[{k}]"
                if not isinstance(call, dict) or not isinstance(call.get("id"), str):
                    raise _o_invalid(f"Missing required parameter: '{at}.id'.", f"{at}.id",
                                     "missing_required_parameter")
                if call.get("type") != "function":
                    raise _o_invalid(f"Missing required parameter: '{at}.type'.", f"{at}.type",
                                     "missing_required_parameter")
                fn = call.get("function")
                if not isinstance(fn, dict):
                    raise _o_invalid(f"Missing required parameter: '{at}.function'.",
                                     f"{at}.function", "missing_required_parameter")
                if not isinstance(fn.get("name"), str):
                    raise _o_invalid(f"Missing required parameter: '{at}.function.name'.",
                                     f"{at}.function.name", "missing_required_parameter")
                if not isinstance(fn.get("arguments"), str):
                    raise _o_invalid(f"Invalid type for '{at}.function.arguments': expected a "
                                     "string.", f"{at}.function.arguments", "invalid_type")
            pending = [c["id"] for c in calls]
            pending_from = i
    if pending:
        raise _o_invalid("An assistant message with 'tool_calls' must be followed by tool "
                         "messages responding to each 'tool_call_id'. The following tool_call_ids "
                         f"did not have response messages: {', '.join(pending)}",
                         f"messages.[{pending_from}].role")
    declared = set()
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise _o_invalid("Invalid type for 'tools': expected an array.", "tools",
                             "invalid_type")
        for i, tool in enumerate(tools):
            if not isinstance(tool, dict) or tool.get("type") != "function":
                kind = tool.get("type") if isinstance(tool, dict) else None
                raise _o_invalid(f"Invalid value: '{kind}'. Supported values are: 'function' "
                                 "and 'custom'.", f"tools[{i}].type", "invalid_value")
            fn = tool.get("function")
            if not isinstance(fn, dict):
                raise _o_invalid(f"Missing required parameter: 'tools[{i}].function'.",
                                 f"tools[{i}].function", "missing_required_parameter")
            _check_function_name(fn.get("name"), f"tools[{i}].function.name")
            _check_parameters(fn.get("parameters"), f"tools[{i}].function.parameters",
                              fn["name"])
            declared.add(fn["name"])
    if model not in models:
        raise openai_error(404, f"The model `{model}` does not exist or you do not have access "
                                "to it.", code="model_not_found")
    return declared


def chat_prompt(messages: list) -> Prompt:
    # System and developer messages may follow the last turn (Claude Code sends its reminders
    # as a system message after the user's); a model reads past them.
    turns = [m for m in messages if m.get("role") not in ("system", "developer")]
    results = []
    for m in reversed(turns):
        if m.get("role") != "tool":
            break
        results.insert(0, m)
    if results:
        return Prompt("", text_of(results[0].get("content")))
    if not turns or turns[-1].get("role") != "user":
        return Prompt("")
    return Prompt(text_of(turns[-1].get("content")))


def send_chat(handler: _AgentHandler, kind: str, body: dict, raw: bytes,
              declared: set[str]) -> None:
    answer = decide(kind, chat_prompt(body["messages"]), declared)
    if body.get("tool_choice") == "none":
        answer = Answer(text=answer.text or reply_text(kind))
    model = body["model"]
    cid = new_id("chatcmpl-")
    created = int(time.time())
    prompt_tokens = estimate_tokens(raw)
    if answer.call:
        name, args = answer.call
        call = {"id": new_id("call_"), "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)}}
        completion_tokens = estimate_tokens(call["function"]["arguments"])
        finish = "tool_calls"
    else:
        call = None
        completion_tokens = estimate_tokens(answer.text)
        finish = "stop"
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
             "total_tokens": prompt_tokens + completion_tokens,
             "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
             "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                           "accepted_prediction_tokens": 0,
                                           "rejected_prediction_tokens": 0}}
    if not body.get("stream"):
        message = {"role": "assistant", "content": answer.text, "refusal": None,
                   "annotations": []}
        if call:
            message["tool_calls"] = [call]
        handler.send_json(200, {
            "id": cid, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": finish}],
            "usage": usage, "service_tier": "default", "system_fingerprint": "fp_fake"})
        return
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

    def chunk(delta: dict | None, finish_reason: str | None = None, usage_value=None) -> None:
        data = {"id": cid, "object": "chat.completion.chunk", "created": created,
                "model": model, "service_tier": "default", "system_fingerprint": "fp_fake",
                "choices": [] if delta is None else [
                    {"index": 0, "delta": delta, "logprobs": None,
                     "finish_reason": finish_reason}]}
        if include_usage:
            data["usage"] = usage_value
        handler.write_chunk(b"data: " + json.dumps(data).encode() + b"\n\n")

    handler.start_stream()
    if call:
        chunk({"role": "assistant", "content": None, "refusal": None})
        chunk({"tool_calls": [{"index": 0, "id": call["id"], "type": "function",
                               "function": {"name": call["function"]["name"],
                                            "arguments": ""}}]})
        for piece in pieces(call["function"]["arguments"]):
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
    else:
        chunk({"role": "assistant", "content": "", "refusal": None})
        for piece in pieces(answer.text):
            chunk({"content": piece})
    chunk({}, finish)
    if include_usage:
        chunk(None, usage_value=usage)
    handler.write_chunk(b"data: [DONE]\n\n")
    handler.end_stream()


class _OpenAiHandler(_AgentHandler):
    owner: "_AgentUpstream"
    serves_responses = False

    def authorized(self) -> None:
        auth = self.headers.get("authorization")
        if not auth or not auth.lower().startswith("bearer "):
            raise openai_error(401, "You didn't provide an API key. You need to provide your API "
                                    "key in an Authorization header using Bearer auth (i.e. "
                                    "Authorization: Bearer YOUR_KEY).")
        if auth[7:] != self.owner.api_key:
            raise openai_error(401, f"Incorrect API key provided: {auth[7:11]}****. You can find "
                                    "your API key at https://platform.openai.com/account/api-keys.",
                               code="invalid_api_key")

    def handle_request(self, method: str, path: str, raw: bytes, body: object) -> None:
        self.authorized()
        if method == "GET" and path == "/v1/models":
            self.send_json(200, {"object": "list", "data": [self.model_info(m)
                                                            for m in self.owner.models]})
        elif method == "GET" and path.startswith("/v1/models/"):
            model = path.removeprefix("/v1/models/")
            if model not in self.owner.models:
                raise openai_error(404, f"The model '{model}' does not exist", param="model",
                                   code="model_not_found")
            self.send_json(200, self.model_info(model))
        elif method == "POST" and path == "/v1/chat/completions":
            body = _require_object(body, _o_invalid)
            declared = validate_chat(body, self.owner.models)
            send_chat(self, self.owner.kind, body, raw, declared)
        elif method == "POST" and path == "/v1/responses" and self.serves_responses:
            body = _require_object(body, _o_invalid)
            declared = validate_responses(body, self.owner.models)
            send_response(self, self.owner.kind, body, raw, declared)
        else:
            raise openai_error(404, f"Invalid URL ({method} {self.path})")

    @staticmethod
    def model_info(model: str) -> dict:
        return {"id": model, "object": "model", "created": 1_700_000_000, "owned_by": "system"}


# --- OpenAI: responses ----------------------------------------------------------------------------

RESPONSES_FIELDS = {
    "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "reasoning",
    "store", "stream", "stream_options", "include", "prompt_cache_key", "prompt_cache_retention",
    "text", "max_output_tokens", "max_tool_calls", "temperature", "top_p", "top_logprobs",
    "metadata", "previous_response_id", "conversation", "truncation", "user",
    "safety_identifier", "service_tier", "background", "prompt", "context_management",
    "client_metadata",
}
RESPONSES_ROLES = ("assistant", "system", "developer", "user")
RESPONSES_ITEMS = {
    "message", "function_call", "function_call_output", "reasoning", "custom_tool_call",
    "custom_tool_call_output", "web_search_call", "file_search_call", "computer_call",
    "computer_call_output", "local_shell_call", "local_shell_call_output", "shell_call",
    "shell_call_output", "apply_patch_call", "apply_patch_call_output", "image_generation_call",
    "code_interpreter_call", "mcp_call", "mcp_list_tools", "mcp_approval_request",
    "mcp_approval_response", "item_reference", "compaction", "tool_search_call",
    "tool_search_output",
}
RESPONSES_TOOLS = {
    "function", "namespace", "custom", "web_search", "web_search_preview",
    "web_search_2025_08_26", "web_search_preview_2025_03_11", "file_search", "local_shell",
    "shell", "apply_patch", "image_generation", "code_interpreter", "mcp", "computer_use_preview",
    "tool_search",
}
INPUT_PARTS = ("input_text", "input_image", "input_file")
OUTPUT_PARTS = ("output_text", "refusal")


def _check_function_tool(tool: dict, at: str) -> str:
    if "function" in tool and "name" not in tool:
        # The chat completions shape, which the Responses API does not take.
        raise _o_invalid(f"Missing required parameter: '{at}.name'.", f"{at}.name",
                         "missing_required_parameter")
    _check_function_name(tool.get("name"), f"{at}.name")
    _check_parameters(tool.get("parameters"), f"{at}.parameters", tool["name"])
    return tool["name"]


def validate_responses(body: dict, models: list[str]) -> set[str]:
    """Checks a Responses request as OpenAI does; returns the declared function names
    (including those inside namespaces)."""
    for field in body:
        if field not in RESPONSES_FIELDS:
            raise _o_invalid(f"Unknown parameter: '{field}'.", field, "unknown_parameter")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _o_invalid("Missing required parameter: 'model'.", "model",
                         "missing_required_parameter")
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and reasoning.get("effort") is not None \
            and not is_reasoning_model(model):
        raise _o_invalid("Unsupported parameter: 'reasoning.effort' is not supported with this "
                         "model.", "reasoning.effort", "unsupported_parameter")
    items = body.get("input")
    if items is None and body.get("previous_response_id") is None:
        raise _o_invalid("Missing required parameter: 'input'.", "input",
                         "missing_required_parameter")
    if isinstance(items, list):
        calls: set[str] = set()
        answered: set[str] = set()
        for i, item in enumerate(items):
            at = f"input[{i}]"
            if not isinstance(item, dict):
                raise _o_invalid(f"Invalid type for '{at}': expected an object.", at,
                                 "invalid_type")
            kind = item.get("type", "message")
            if kind not in RESPONSES_ITEMS:
                raise _o_invalid(f"Invalid value: '{kind}'. Supported values are: "
                                 f"{_supported(sorted(RESPONSES_ITEMS))}.", f"{at}.type",
                                 "invalid_value")
            if kind == "message":
                role = item.get("role")
                if role not in RESPONSES_ROLES:
                    raise _o_invalid(f"Invalid value: '{role}'. Supported values are: "
                                     f"{_supported(RESPONSES_ROLES)}.", f"{at}.role",
                                     "invalid_value")
                content = item.get("content")
                if isinstance(content, list):
                    allowed = OUTPUT_PARTS if role == "assistant" else INPUT_PARTS
                    for j, part in enumerate(content):
                        ptype = part.get("type") if isinstance(part, dict) else None
                        if ptype not in allowed:
                            raise _o_invalid(f"Invalid value: '{ptype}'. Supported values are: "
                                             f"{_supported(allowed)}.",
                                             f"{at}.content[{j}]", "invalid_value")
                        if ptype in ("input_text", "output_text") \
                                and not isinstance(part.get("text"), str):
                            raise _o_invalid(f"Missing required parameter: '{at}.content[{j}]"
                                             ".text'.", f"{at}.content[{j}].text",
                                             "missing_required_parameter")
                elif not isinstance(content, str):
                    raise _o_invalid(f"Missing required parameter: '{at}.content'.",
                                     f"{at}.content", "missing_required_parameter")
            elif kind in ("function_call", "custom_tool_call"):
                for field in ("call_id", "name"):
                    if not isinstance(item.get(field), str) or not item[field]:
                        raise _o_invalid(f"Missing required parameter: '{at}.{field}'.",
                                         f"{at}.{field}", "missing_required_parameter")
                payload = "arguments" if kind == "function_call" else "input"
                if not isinstance(item.get(payload), str):
                    raise _o_invalid(f"Missing required parameter: '{at}.{payload}'.",
                                     f"{at}.{payload}", "missing_required_parameter")
                calls.add(item["call_id"])
            elif kind in ("function_call_output", "custom_tool_call_output"):
                call_id = item.get("call_id")
                if not isinstance(call_id, str):
                    raise _o_invalid(f"Missing required parameter: '{at}.call_id'.",
                                     f"{at}.call_id", "missing_required_parameter")
                if call_id not in calls:
                    raise _o_invalid("No tool call found for function call output with call_id "
                                     f"{call_id}.", "input")
                if not isinstance(item.get("output"), (str, list)):
                    raise _o_invalid(f"Missing required parameter: '{at}.output'.",
                                     f"{at}.output", "missing_required_parameter")
                answered.add(call_id)
            elif kind == "reasoning":
                if not isinstance(item.get("summary"), list):
                    raise _o_invalid(f"Missing required parameter: '{at}.summary'.",
                                     f"{at}.summary", "missing_required_parameter")
        missing = sorted(calls - answered)
        if missing and body.get("previous_response_id") is None:
            raise _o_invalid(f"No tool output found for function call {missing[0]}.", "input")
    elif items is not None and not isinstance(items, str):
        raise _o_invalid("Invalid type for 'input': expected one of a string or array of "
                         "objects.", "input", "invalid_type")
    declared: set[str] = set()
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise _o_invalid("Invalid type for 'tools': expected an array.", "tools",
                             "invalid_type")
        for i, tool in enumerate(tools):
            at = f"tools[{i}]"
            kind = tool.get("type") if isinstance(tool, dict) else None
            if kind not in RESPONSES_TOOLS:
                raise _o_invalid(f"Invalid value: '{kind}'. Supported values are: "
                                 f"{_supported(sorted(RESPONSES_TOOLS))}.", f"{at}.type",
                                 "invalid_value")
            if kind == "function":
                declared.add(_check_function_tool(tool, at))
            elif kind == "namespace":
                if not isinstance(tool.get("name"), str) or not tool["name"]:
                    raise _o_invalid(f"Missing required parameter: '{at}.name'.", f"{at}.name",
                                     "missing_required_parameter")
                inner = tool.get("tools")
                if not isinstance(inner, list):
                    raise _o_invalid(f"Missing required parameter: '{at}.tools'.",
                                     f"{at}.tools", "missing_required_parameter")
                for j, fn in enumerate(inner):
                    if not isinstance(fn, dict) or fn.get("type") != "function":
                        raise _o_invalid(f"Invalid value: '{fn.get('type')}'. Supported values "
                                         "are: 'function'.", f"{at}.tools[{j}].type",
                                         "invalid_value")
                    declared.add(_check_function_tool(fn, f"{at}.tools[{j}]"))
            elif kind == "custom":
                _check_function_name(tool.get("name"), f"{at}.name")
    if model not in models:
        raise _o_invalid(f"The requested model '{model}' does not exist.", "model",
                         "model_not_found")
    return declared


def _namespace_of(body: dict, name: str) -> str | None:
    for tool in body.get("tools") or []:
        if tool.get("type") == "namespace" and any(
                fn.get("name") == name for fn in tool.get("tools") or []):
            return tool["name"]
    return None


def responses_prompt(items: object) -> Prompt:
    if isinstance(items, str):
        return Prompt(items)
    if not items:
        return Prompt("")
    # The last turn: the items after the model's last output.
    start = 0
    for i, item in enumerate(items):
        kind = item.get("type", "message")
        if kind in ("function_call", "custom_tool_call", "reasoning") or (
                kind == "message" and item.get("role") == "assistant"):
            start = i + 1
    turn = items[start:]
    for item in turn:
        if item.get("type") in ("function_call_output", "custom_tool_call_output"):
            return Prompt("", text_of(item.get("output")))
    for item in reversed(turn):
        if item.get("type", "message") == "message" and item.get("role") == "user":
            return Prompt(text_of(item.get("content")))
    return Prompt("")


def send_response(handler: _AgentHandler, kind: str, body: dict, raw: bytes,
                  declared: set[str]) -> None:
    answer = decide(kind, responses_prompt(body.get("input")), declared)
    if body.get("tool_choice") == "none":
        answer = Answer(text=answer.text or reply_text(kind))
    rid = new_id("resp_")
    created = int(time.time())
    input_tokens = estimate_tokens(raw)
    if answer.call:
        name, args = answer.call
        item = {"id": new_id("fc_"), "type": "function_call", "status": "completed",
                "arguments": json.dumps(args), "call_id": new_id("call_"), "name": name}
        namespace = _namespace_of(body, name)
        if namespace:
            item["namespace"] = namespace
        output_tokens = estimate_tokens(item["arguments"])
    else:
        item = {"id": new_id("msg_"), "type": "message", "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": answer.text, "annotations": [],
                             "logprobs": []}]}
        output_tokens = estimate_tokens(answer.text)
    usage = {"input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": 0},
             "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": input_tokens + output_tokens}
    reasoning = body.get("reasoning") or {}

    def response(status: str, output: list, usage_value) -> dict:
        return {
            "id": rid, "object": "response", "created_at": created, "status": status,
            "background": False, "error": None, "incomplete_details": None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"), "model": body["model"],
            "output": output, "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": body.get("previous_response_id"),
            "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
            "store": body.get("store", True), "temperature": body.get("temperature", 1.0),
            "text": body.get("text") or {"format": {"type": "text"}},
            "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools") or [],
            "top_p": body.get("top_p", 1.0), "truncation": body.get("truncation", "disabled"),
            "usage": usage_value, "user": None, "metadata": body.get("metadata") or {},
        }

    if not body.get("stream"):
        handler.send_json(200, response("completed", [item], usage))
        return
    sequence = 0

    def event(kind_: str, **fields) -> None:
        nonlocal sequence
        data = {"type": kind_, "sequence_number": sequence, **fields}
        sequence += 1
        handler.write_chunk(f"event: {kind_}\ndata: {json.dumps(data)}\n\n".encode())

    handler.start_stream()
    event("response.created", response=response("in_progress", [], None))
    event("response.in_progress", response=response("in_progress", [], None))
    if answer.call:
        event("response.output_item.added", output_index=0,
              item={**item, "status": "in_progress", "arguments": ""})
        for piece in pieces(item["arguments"]):
            event("response.function_call_arguments.delta", item_id=item["id"], output_index=0,
                  delta=piece)
        event("response.function_call_arguments.done", item_id=item["id"], output_index=0,
              name=item["name"], arguments=item["arguments"])
    else:
        text = answer.text
        event("response.output_item.added", output_index=0,
              item={**item, "status": "in_progress", "content": []})
        empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        event("response.content_part.added", item_id=item["id"], output_index=0,
              content_index=0, part=empty)
        for piece in pieces(text):
            event("response.output_text.delta", item_id=item["id"], output_index=0,
                  content_index=0, delta=piece, logprobs=[])
        event("response.output_text.done", item_id=item["id"], output_index=0, content_index=0,
              text=text, logprobs=[])
        event("response.content_part.done", item_id=item["id"], output_index=0,
              content_index=0, part=item["content"][0])
    event("response.output_item.done", output_index=0, item=item)
    event("response.completed", response=response("completed", [item], usage))
    handler.end_stream()


class _ResponsesHandler(_OpenAiHandler):
    serves_responses = True


class ResponsesAgentUpstream(_AgentUpstream):
    """An OpenAI host: /v1/responses and /v1/chat/completions (`base_url` ends in /v1)."""

    handler = _ResponsesHandler
    kind = "responses"
    default_models = OPENAI_MODELS


class ChatOnlyAgentUpstream(_AgentUpstream):
    """An OpenAI-compatible host with chat completions only: /v1/responses is a 404."""

    handler = _OpenAiHandler
    kind = "chat-only"
    default_models = OPENAI_MODELS


# --- Gemini ---------------------------------------------------------------------------------------

def google_error(code: int, status: str, message: str, details: list | None = None) -> Rejected:
    error = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = details
    return Rejected(code, {"error": error})


def _g_invalid(message: str) -> Rejected:
    return google_error(400, "INVALID_ARGUMENT", message)


def _snake(name: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), name)


def _camel(name: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name)


# The fields Google's JSON parser knows (camelCase; snake_case spellings are accepted too).
G_REQUEST = {"model", "contents", "tools", "toolConfig", "safetySettings", "systemInstruction",
             "generationConfig", "cachedContent"}
G_GENERATION_CONFIG = {
    "stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema",
    "responseModalities", "candidateCount", "maxOutputTokens", "temperature", "topP", "topK",
    "seed", "presencePenalty", "frequencyPenalty", "responseLogprobs", "logprobs",
    "enableEnhancedCivicAnswers", "speechConfig", "thinkingConfig", "imageConfig",
    "mediaResolution",
}
G_THINKING_CONFIG = {"includeThoughts", "thinkingBudget", "thinkingLevel"}
G_CONTENT = {"role", "parts"}
G_PART = {"text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode",
          "codeExecutionResult", "thought", "thoughtSignature", "videoMetadata", "partMetadata",
          "mediaResolution"}
G_PART_DATA = ("text", "inlineData", "fileData", "functionCall", "functionResponse",
               "executableCode", "codeExecutionResult")
G_FUNCTION_CALL = {"id", "name", "args"}
G_FUNCTION_RESPONSE = {"id", "name", "response", "parts", "willContinue", "scheduling"}
G_TOOL = {"functionDeclarations", "googleSearchRetrieval", "codeExecution", "googleSearch",
          "computerUse", "urlContext", "fileSearch", "googleMaps"}
G_DECLARATION = {"name", "description", "behavior", "parameters", "parametersJsonSchema",
                 "response", "responseJsonSchema"}
# Gemini's `Schema` (an OpenAPI subset: no additionalProperties, $schema, $ref, const...).
G_SCHEMA = {"type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems",
            "properties", "required", "minProperties", "maxProperties", "minLength",
            "maxLength", "pattern", "example", "anyOf", "propertyOrdering", "default", "items",
            "minimum", "maximum"}
G_SCHEMA_TYPES = {"TYPE_UNSPECIFIED", "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT",
                  "NULL"}
G_TOOL_CONFIG = {"functionCallingConfig", "retrievalConfig"}
G_FUNCTION_CALLING_CONFIG = {"mode", "allowedFunctionNames"}
GEMINI_FUNCTION_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$")


def _g_known(obj: dict, known: set[str], at: str) -> None:
    for name in obj:
        if _camel(name) not in known:
            where = f" at '{at}'" if at else ""
            message = (f'Invalid JSON payload received. Unknown name "{name}"{where}: '
                       "Cannot find field.")
            violation = {"description": message}
            if at:
                violation["field"] = at
            raise google_error(400, "INVALID_ARGUMENT", message, [
                {"@type": "type.googleapis.com/google.rpc.BadRequest",
                 "fieldViolations": [violation]}])


def _g_get(obj: dict, camel: str):
    return obj.get(camel, obj.get(_snake(camel)))


def _g_object(value: object, at: str) -> dict:
    if not isinstance(value, dict):
        raise _g_invalid(f"Invalid value at '{at}', expected an object but got "
                         f"{json.dumps(value)}")
    return value


def _g_list(value: object, at: str) -> list:
    if not isinstance(value, list):
        raise _g_invalid(f"Invalid value at '{at}', expected a list but got {json.dumps(value)}")
    return value


def _g_names(content: dict, kind: str) -> list[str]:
    names = []
    for part in content.get("parts") or []:
        data = _g_get(part, kind)
        if isinstance(data, dict):
            names.append(data.get("name"))
    return names


def _g_check_content(content: object, at: str, system: bool = False) -> None:
    content = _g_object(content, at)
    _g_known(content, G_CONTENT, at)
    role = content.get("role")
    if role is not None and not system and role not in ("user", "model"):
        raise _g_invalid("Please use a valid role: user, model.")
    parts = content.get("parts")
    if not isinstance(parts, list) or not parts:
        raise _g_invalid(f"* GenerateContentRequest.{at}.parts: contents.parts must not be "
                         "empty.\n")
    for j, part in enumerate(parts):
        part_at = f"{at}.parts[{j}]"
        part = _g_object(part, part_at)
        _g_known(part, G_PART, part_at)
        data = [f for f in G_PART_DATA if _g_get(part, f) is not None]
        if len(data) != 1:
            raise _g_invalid(f"* GenerateContentRequest.{part_at}.data: required oneof field "
                             "'data' must have one initialized field\n")
        if data[0] == "text" and not isinstance(part["text"], str):
            raise _g_invalid(f"Invalid value at '{part_at}.text' (TYPE_STRING), "
                             f"{json.dumps(part['text'])}")
        for kind, known in (("functionCall", G_FUNCTION_CALL),
                            ("functionResponse", G_FUNCTION_RESPONSE)):
            if data[0] != kind:
                continue
            sub_at = f"{part_at}.{_snake(kind)}"
            sub = _g_object(_g_get(part, kind), sub_at)
            _g_known(sub, known, sub_at)
            if not isinstance(sub.get("name"), str) or not sub["name"]:
                raise _g_invalid(f"* GenerateContentRequest.{sub_at}.name: Name cannot be "
                                 "empty.\n")
            payload = "args" if kind == "functionCall" else "response"
            if sub.get(payload) is not None:
                _g_object(sub[payload], f"{sub_at}.{payload}")


def _g_check_schema(schema: object, at: str) -> None:
    schema = _g_object(schema, at)
    _g_known(schema, G_SCHEMA, at)
    kind = schema.get("type")
    if kind is not None and (not isinstance(kind, str) or kind.upper() not in G_SCHEMA_TYPES):
        raise _g_invalid(f"Invalid value at '{at}.type' (type.googleapis.com/"
                         f"google.ai.generativelanguage.v1beta.Type), {json.dumps(kind)}")
    for k, prop in enumerate((schema.get("properties") or {}).values()):
        _g_check_schema(prop, f"{at}.properties[{k}].value")
    if schema.get("items") is not None:
        _g_check_schema(schema["items"], f"{at}.items")
    for k, sub in enumerate(_g_get(schema, "anyOf") or []):
        _g_check_schema(sub, f"{at}.any_of[{k}]")


def validate_gemini(body: dict, count_only: bool = False) -> set[str]:
    """Checks a GenerateContentRequest as Google does; returns the declared function names."""
    if count_only:
        _g_known(body, {"contents", "generateContentRequest"}, "")
        inner = _g_get(body, "generateContentRequest")
        if inner is not None:
            return validate_gemini(_g_object(inner, "generate_content_request"))
    else:
        _g_known(body, G_REQUEST, "")
    contents = _g_list(body.get("contents") or [], "contents")
    if not contents:
        raise _g_invalid("* GenerateContentRequest.contents: contents is not specified\n")
    for i, content in enumerate(contents):
        _g_check_content(content, f"contents[{i}]")
    for i, content in enumerate(contents):
        role = content.get("role", "user")
        prev = contents[i - 1] if i else None
        after_user = prev is not None and prev.get("role", "user") == "user"
        if _g_names(content, "functionCall") and not after_user:
            raise _g_invalid("Please ensure that function call turn comes immediately after a "
                             "user turn or after a function response turn.")
        responses = _g_names(content, "functionResponse")
        if not responses:
            continue
        asked = _g_names(prev, "functionCall") if prev and prev.get("role") == "model" else []
        if role != "user" or not asked:
            raise _g_invalid("Please ensure that function response turn comes immediately after "
                             "a function call turn.")
        if len(asked) != len(responses):
            raise _g_invalid("Please ensure that the number of function response parts is equal "
                             "to the number of function call parts of the function call turn.")
        for name in responses:
            if name not in asked:
                raise _g_invalid(f"* GenerateContentRequest.contents[{i}]: function response "
                                 f"name \"{name}\" does not match any function call of the "
                                 "previous turn.\n")
    if count_only:
        return set()
    system = _g_get(body, "systemInstruction")
    if system is not None:
        _g_check_content(system, "system_instruction", system=True)
    config = _g_get(body, "generationConfig")
    if config is not None:
        config = _g_object(config, "generation_config")
        _g_known(config, G_GENERATION_CONFIG, "generation_config")
        thinking = _g_get(config, "thinkingConfig")
        if thinking is not None:
            _g_known(_g_object(thinking, "generation_config.thinking_config"),
                     G_THINKING_CONFIG, "generation_config.thinking_config")
        for name in ("maxOutputTokens", "candidateCount", "topK", "seed"):
            value = _g_get(config, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise _g_invalid(f"Invalid value at 'generation_config.{_snake(name)}' "
                                 f"(TYPE_INT32), {json.dumps(value)}")
    tool_config = _g_get(body, "toolConfig")
    if tool_config is not None:
        _g_known(_g_object(tool_config, "tool_config"), G_TOOL_CONFIG, "tool_config")
        fcc = _g_get(tool_config, "functionCallingConfig")
        if fcc is not None:
            at = "tool_config.function_calling_config"
            _g_known(_g_object(fcc, at), G_FUNCTION_CALLING_CONFIG, at)
            mode = fcc.get("mode")
            if mode not in (None, "AUTO", "ANY", "NONE", "VALIDATED", "MODE_UNSPECIFIED"):
                raise _g_invalid(f"Invalid value at '{at}.mode' (type.googleapis.com/google.ai."
                                 f"generativelanguage.v1beta.FunctionCallingConfig.Mode), "
                                 f"{json.dumps(mode)}")
    declared: set[str] = set()
    for i, tool in enumerate(_g_list(body.get("tools") or [], "tools")):
        at = f"tools[{i}]"
        _g_known(_g_object(tool, at), G_TOOL, at)
        decls = _g_get(tool, "functionDeclarations")
        for j, decl in enumerate(_g_list(decls or [], f"{at}.function_declarations")):
            decl_at = f"{at}.function_declarations[{j}]"
            _g_known(_g_object(decl, decl_at), G_DECLARATION, decl_at)
            name = decl.get("name")
            if not isinstance(name, str) or not name:
                raise _g_invalid(f"* GenerateContentRequest.{decl_at}.name: Name cannot be "
                                 "empty.\n")
            if not GEMINI_FUNCTION_NAME.match(name):
                raise _g_invalid(f"* GenerateContentRequest.{decl_at}.name: Invalid function "
                                 "name. Must start with a letter or an underscore. Must be a-z, "
                                 "A-Z, 0-9, or contain underscores, dots, colons and dashes, with "
                                 "a maximum length of 64.\n")
            params = decl.get("parameters")
            json_schema = _g_get(decl, "parametersJsonSchema")
            if params is not None and json_schema is not None:
                raise _g_invalid(f"* GenerateContentRequest.{decl_at}: parameters and "
                                 "parameters_json_schema cannot both be set.\n")
            if params is not None:
                _g_check_schema(params, f"{decl_at}.parameters")
            declared.add(name)
    return declared


def gemini_prompt(contents: list) -> Prompt:
    last = contents[-1]
    parts = last.get("parts") or []
    results = [_g_get(p, "functionResponse") for p in parts
               if _g_get(p, "functionResponse") is not None]
    if results:
        result = results[0]
        return Prompt("", text_of(result.get("response") if result.get("response") is not None
                                  else result.get("parts")))
    if last.get("role", "user") != "user":
        return Prompt("")
    return Prompt("\n".join(p["text"] for p in parts
                            if isinstance(p.get("text"), str) and not p.get("thought")))


MODEL_ACTION = re.compile(r"^/v1beta/models/([^/:]+):([A-Za-z]+)$")


class _GeminiHandler(_AgentHandler):
    owner: "GeminiAgentUpstream"

    def authorized(self) -> None:
        key = self.headers.get("x-goog-api-key") or self.query.get("key")
        if not key:
            raise google_error(403, "PERMISSION_DENIED",
                               "Method doesn't allow unregistered callers (callers without "
                               "established identity). Please use API Key or other form of API "
                               "consumer identity to call this API.")
        if key != self.owner.api_key:
            raise google_error(400, "INVALID_ARGUMENT",
                               "API key not valid. Please pass a valid API key.", [
                                   {"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                    "reason": "API_KEY_INVALID", "domain": "googleapis.com",
                                    "metadata": {"service": "generativelanguage.googleapis.com"}}])

    def handle_request(self, method: str, path: str, raw: bytes, body: object) -> None:
        self.authorized()
        if method == "GET" and path == "/v1beta/models":
            self.send_json(200, {"models": [self.model_info(m) for m in self.owner.models]})
            return
        if method == "GET" and path.startswith("/v1beta/models/"):
            model = path.removeprefix("/v1beta/models/")
            if model not in self.owner.models:
                raise google_error(404, "NOT_FOUND", f"models/{model} is not found for API "
                                                     "version v1beta.")
            self.send_json(200, self.model_info(model))
            return
        match = MODEL_ACTION.match(path)
        action = match.group(2) if match else None
        if method != "POST" or action not in ("generateContent", "streamGenerateContent",
                                              "countTokens"):
            raise google_error(404, "NOT_FOUND", f"The requested URL {path} was not found on "
                                                 "this server.")
        model = match.group(1)
        body = _require_object(body, _g_invalid)
        declared = validate_gemini(body, count_only=action == "countTokens")
        if model not in self.owner.models:
            raise google_error(404, "NOT_FOUND",
                               f"models/{model} is not found for API version v1beta, or is not "
                               f"supported for {action}. Call ListModels to see the list of "
                               "available models and their supported methods.")
        if action == "countTokens":
            self.send_json(200, {"totalTokens": estimate_tokens(raw)})
            return
        answer = decide(self.owner.kind, gemini_prompt(body["contents"]), declared)
        self.respond(model, answer, estimate_tokens(raw), action == "streamGenerateContent")

    @staticmethod
    def model_info(model: str) -> dict:
        return {"name": f"models/{model}", "version": "001", "displayName": model,
                "inputTokenLimit": 1_048_576, "outputTokenLimit": 65_536,
                "supportedGenerationMethods": ["generateContent", "countTokens"],
                "thinking": True}

    def respond(self, model: str, answer: Answer, prompt_tokens: int, stream: bool) -> None:
        rid = secrets.token_urlsafe(16)
        if answer.call:
            name, args = answer.call
            chunks = [[{"functionCall": {"name": name, "args": args}}]]
            out_tokens = estimate_tokens(json.dumps(args))
        else:
            chunks = [[{"text": p}] for p in (pieces(answer.text) if stream else [answer.text])]
            out_tokens = estimate_tokens(answer.text)
        usage = {"promptTokenCount": prompt_tokens, "candidatesTokenCount": out_tokens,
                 "totalTokenCount": prompt_tokens + out_tokens,
                 "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}]}

        def payload(parts: list, last: bool) -> dict:
            candidate = {"content": {"parts": parts, "role": "model"}, "index": 0}
            data = {"candidates": [candidate], "modelVersion": model, "responseId": rid}
            if last:
                candidate["finishReason"] = "STOP"
                data["usageMetadata"] = usage
            else:
                data["usageMetadata"] = {"promptTokenCount": prompt_tokens,
                                         "totalTokenCount": prompt_tokens}
            return data

        if not stream:
            self.send_json(200, payload(chunks[0], True))
            return
        events = [payload(parts, i == len(chunks) - 1) for i, parts in enumerate(chunks)]
        sse = self.query.get("alt") == "sse"
        if sse:
            self.start_stream()
        else:
            self.start_stream("application/json; charset=UTF-8")
        if sse:
            for data in events:
                self.write_chunk(b"data: " + json.dumps(data).encode() + b"\r\n\r\n")
        else:  # without alt=sse the stream is one JSON array, written element by element
            for i, data in enumerate(events):
                self.write_chunk(("[" if i == 0 else ",\r\n").encode() + json.dumps(data).encode())
            self.write_chunk(b"]")
        self.end_stream()


class GeminiAgentUpstream(_AgentUpstream):
    """The Gemini API. `base_url` ends in /v1beta (a Forge `gemini` key); `origin` is what
    GOOGLE_GEMINI_BASE_URL takes."""

    handler = _GeminiHandler
    kind = "gemini"
    default_models = GEMINI_MODELS

    @property
    def base_url(self) -> str:
        return self.origin + "/v1beta"
