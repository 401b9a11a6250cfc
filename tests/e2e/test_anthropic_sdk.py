"""The official `anthropic` package pointed at forge-server (`/v1/messages`) with a Forge key,
against an OpenAI-compatible upstream (translated) and an Anthropic upstream (passed through).

Text answers from the OpenAI-compatible side come from the Rust fake; tool calls from it come
from the in-process stub (the Rust OpenAI fake answers text only).
"""

import anthropic
import pytest

from forge_e2e import ANTHROPIC_MODELS, UPSTREAM_MODELS
from stub_upstreams import RETRY_AFTER_S

MAX_TOKENS = 256
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {
            "location": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["location"],
    },
}
TIME_TOOL = {
    "name": "get_time",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
WEATHER_ARGS = {"location": "Paris", "unit": "celsius"}

# provider key name -> (fixture of the text upstream, fixture of the tool upstream, model)
UPSTREAMS = {
    "openai": ("fake_upstream", "openai_tools_upstream", "openai/" + UPSTREAM_MODELS[0]),
    "anthropic": ("fake_anthropic", "fake_anthropic", "anthropic/" + ANTHROPIC_MODELS[0]),
}


def client_for(forge_server, key: str, **kwargs) -> anthropic.Anthropic:
    # No retries: a failure must show up as itself, not as a slower retry.
    return anthropic.Anthropic(base_url=forge_server.url, api_key=key, max_retries=0,
                               timeout=60, **kwargs)


def make_target(request, make_forge_key, forge_server, which: int):
    name = request.param
    upstream = request.getfixturevalue(UPSTREAMS[name][which])
    key = make_forge_key({name: (upstream.api_key, upstream.base_url)})
    return client_for(forge_server, key), UPSTREAMS[name][2], upstream


@pytest.fixture(params=sorted(UPSTREAMS))
def text_target(request, make_forge_key, forge_server):
    return make_target(request, make_forge_key, forge_server, 0)


@pytest.fixture(params=sorted(UPSTREAMS))
def tool_target(request, make_forge_key, forge_server):
    return make_target(request, make_forge_key, forge_server, 1)


def test_messages_create(text_target):
    client, model, upstream = text_target
    msg = client.messages.create(
        model=model,
        max_tokens=MAX_TOKENS,
        system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "hi"}],
    )
    assert msg.type == "message" and msg.role == "assistant"
    assert [b.type for b in msg.content] == ["text"]
    assert msg.content[0].text == upstream.reply
    assert msg.stop_reason == "end_turn"
    assert msg.id
    assert msg.usage.output_tokens > 0


def test_messages_create_with_bearer_token(text_target, forge_server):
    """The Forge key is accepted from `Authorization: Bearer` too (the SDK's `auth_token`)."""
    client, model, upstream = text_target
    bearer = anthropic.Anthropic(base_url=forge_server.url, auth_token=client.api_key,
                                 api_key=None, max_retries=0, timeout=60)
    msg = bearer.messages.create(model=model, max_tokens=MAX_TOKENS,
                                 messages=[{"role": "user", "content": "hi"}])
    assert msg.content[0].text == upstream.reply


def test_messages_stream_text(text_target):
    client, model, upstream = text_target
    with client.messages.stream(
        model=model, max_tokens=MAX_TOKENS, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(pieces) == upstream.reply
    assert len(pieces) > 1, "the answer arrived in one piece: was the stream buffered?"
    assert [b.type for b in final.content] == ["text"]
    assert final.content[0].text == upstream.reply
    assert final.stop_reason == "end_turn"
    assert final.id


def test_messages_stream_reports_usage(text_target):
    """`message_delta` carries the real output token count, whatever the upstream. An
    OpenAI-compatible upstream only sends usage in a stream when asked with
    `stream_options.include_usage`, so Forge must ask."""
    client, model, _ = text_target
    with client.messages.stream(
        model=model, max_tokens=MAX_TOKENS, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        final = stream.get_final_message()
    assert final.usage.output_tokens > 0, final.usage


def test_translated_stream_asks_openai_for_usage(make_forge_key, forge_server,
                                                 openai_tools_upstream):
    """What the OpenAI-compatible upstream received for a streamed /v1/messages request."""
    up = openai_tools_upstream
    client = client_for(forge_server, make_forge_key({"openai": (up.api_key, up.base_url)}))
    with client.messages.stream(
        model="openai/" + UPSTREAM_MODELS[0], max_tokens=MAX_TOKENS,
        messages=[{"role": "user", "content": "usage probe"}],
    ) as stream:
        final = stream.get_final_message()
    (sent,) = [r for r in up.requests if r["messages"][-1].get("content") == "usage probe"]
    assert sent["stream"] is True
    assert sent.get("stream_options") == {"include_usage": True}, sent
    assert final.usage.output_tokens > 0, final.usage


def test_messages_stream_event_sequence(text_target):
    """The raw events are Anthropic's exact sequence."""
    client, model, _ = text_target
    with client.messages.stream(
        model=model, max_tokens=MAX_TOKENS, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        kinds = [event.type for event in stream if event.type != "ping"]
    # The SDK adds its own `text` events next to each content_block_delta: drop them.
    kinds = [k for k in kinds if k not in ("text",)]
    deltas = kinds.count("content_block_delta")
    assert kinds == (
        ["message_start", "content_block_start"]
        + ["content_block_delta"] * deltas
        + ["content_block_stop", "message_delta", "message_stop"]
    ), kinds
    assert deltas > 1


def tool_uses(message) -> list:
    return [b for b in message.content if b.type == "tool_use"]


def test_messages_create_tool_use(tool_target):
    client, model, _ = tool_target
    msg = client.messages.create(
        model=model,
        max_tokens=MAX_TOKENS,
        tools=[WEATHER_TOOL],
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
    )
    assert msg.stop_reason == "tool_use"
    (use,) = tool_uses(msg)
    assert use.id and use.name == "get_weather"
    assert isinstance(use.input, dict) and use.input == WEATHER_ARGS


def test_messages_stream_tool_use(tool_target):
    client, model, _ = tool_target
    with client.messages.stream(
        model=model,
        max_tokens=MAX_TOKENS,
        tools=[WEATHER_TOOL],
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    (use,) = tool_uses(final)
    assert use.id and use.name == "get_weather"
    assert isinstance(use.input, dict) and use.input == WEATHER_ARGS


def test_messages_stream_parallel_tool_use(tool_target):
    """Two calls in one answer: one tool_use block each, each with its own complete input."""
    client, model, _ = tool_target
    with client.messages.stream(
        model=model,
        max_tokens=MAX_TOKENS,
        tools=[WEATHER_TOOL, TIME_TOOL],
        messages=[{"role": "user", "content": "Both, in parallel please."}],
    ) as stream:
        final = stream.get_final_message()
    uses = tool_uses(final)
    assert [u.name for u in uses] == ["get_weather", "get_time"]
    assert [u.input for u in uses] == [WEATHER_ARGS, {"city": "Tokyo"}]
    assert uses[0].id != uses[1].id
    assert final.stop_reason == "tool_use"


def test_tool_result_round_trip(tool_target):
    client, model, upstream = tool_target
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = client.messages.create(model=model, max_tokens=MAX_TOKENS, tools=[WEATHER_TOOL],
                                   messages=messages)
    (use,) = tool_uses(first)
    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": use.id, "content": "18 degrees, sunny"}]},
    ]
    second = client.messages.create(model=model, max_tokens=MAX_TOKENS, tools=[WEATHER_TOOL],
                                    messages=messages)
    assert second.stop_reason == "end_turn"
    assert [b.type for b in second.content] == ["text"]
    assert second.content[0].text == upstream.reply


def test_count_tokens(text_target):
    client, model, _ = text_target
    short = client.messages.count_tokens(
        model=model, messages=[{"role": "user", "content": "hi"}])
    long = client.messages.count_tokens(
        model=model,
        system="You are a helpful assistant.",
        tools=[WEATHER_TOOL],
        messages=[{"role": "user", "content": "Tell me a long story about the sea. " * 20}],
    )
    assert short.input_tokens > 0
    assert long.input_tokens > short.input_tokens


@pytest.mark.parametrize("model", ["nosuchprovider/claude-sonnet-4-5",
                                   "anthropic/claude-no-such-model"])
def test_unknown_model_is_not_found(model, make_forge_key, forge_server, fake_anthropic):
    """Unknown to Forge (no such provider key) and unknown to the upstream: both 404."""
    key = make_forge_key({"anthropic": (fake_anthropic.api_key, fake_anthropic.base_url)})
    client = client_for(forge_server, key)
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.messages.create(model=model, max_tokens=MAX_TOKENS,
                               messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body["type"] == "error"
    assert caught.value.body["error"]["type"] == "not_found_error"


@pytest.mark.parametrize("bad_key", ["forge-" + "0" * 64, "not-a-forge-key"])
def test_bad_key_is_rejected(bad_key, forge_server, forge_key):
    client = client_for(forge_server, bad_key)
    with pytest.raises(anthropic.AuthenticationError) as caught:
        client.messages.create(model="openai/gpt-4o-mini", max_tokens=MAX_TOKENS,
                               messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body["error"]["type"] == "authentication_error"


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("name", sorted(UPSTREAMS))
def test_upstream_rate_limit(request, name, stream, make_forge_key, forge_server, fault_proxy):
    upstream = request.getfixturevalue(UPSTREAMS[name][0])
    key = make_forge_key({name: (upstream.api_key, fault_proxy.base_url(upstream.base_url, 429))})
    client = client_for(forge_server, key)
    kwargs = dict(model=UPSTREAMS[name][2], max_tokens=MAX_TOKENS,
                  messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(anthropic.RateLimitError) as caught:
        if stream:
            with client.messages.stream(**kwargs) as s:
                s.get_final_message()
        else:
            client.messages.create(**kwargs)
    assert caught.value.status_code == 429
    assert caught.value.body["error"]["type"] == "rate_limit_error"
    assert caught.value.response.headers.get("retry-after") == str(RETRY_AFTER_S)
