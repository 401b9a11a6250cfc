"""The official `openai` package calling Claude and Gemini models through forge-server: the
provider keys are named `anthropic` and `gemini` (the native APIs) and point at the native fakes,
so every request and answer is translated between the OpenAI dialect and the upstream's own.
"""

import json

import openai
import pytest

from forge_e2e import ANTHROPIC_MODELS, GEMINI_MODELS
from stub_upstreams import RETRY_AFTER_S

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}

UPSTREAMS = {
    "anthropic": ("fake_anthropic", "anthropic/" + ANTHROPIC_MODELS[0]),
    "gemini": ("fake_gemini", "gemini/" + GEMINI_MODELS[0]),
}


@pytest.fixture(params=sorted(UPSTREAMS))
def target(request, make_forge_key, forge_server):
    """(client, model, upstream) for one native upstream kind."""
    fixture, model = UPSTREAMS[request.param]
    upstream = request.getfixturevalue(fixture)
    key = make_forge_key({request.param: (upstream.api_key, upstream.base_url)})
    client = openai.OpenAI(base_url=forge_server.api, api_key=key, max_retries=0, timeout=60)
    return client, model, upstream


def test_chat_completion(target):
    client, model, upstream = target
    res = client.chat.completions.create(
        model=model,
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hi"},
        ],
    )
    choice = res.choices[0]
    assert choice.message.content == upstream.reply
    assert choice.finish_reason == "stop"
    # The upstream's model name, as on the OpenAI-compatible path (where the answer is relayed).
    assert res.model == model.split("/", 1)[1]
    assert res.id and res.created > 0
    assert res.usage is not None and res.usage.completion_tokens > 0


def test_chat_completion_stream(target):
    client, model, upstream = target
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    deltas = [c.choices[0].delta.content for c in chunks
              if c.choices and c.choices[0].delta.content]
    assert "".join(deltas) == upstream.reply
    assert len(deltas) > 1, "the answer arrived in one piece: was the stream buffered?"
    finishes = [c.choices[0].finish_reason for c in chunks
                if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert all(c.id and c.created > 0 for c in chunks), "placeholder id or created in a chunk"
    assert {c.model for c in chunks} == {model.split("/", 1)[1]}
    # include_usage: the last chunk has the usage and an empty choices list, as OpenAI sends it.
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def accumulate_tool_calls(stream) -> tuple[dict, list[str]]:
    """What an OpenAI client does with streamed tool-call deltas: merge them by index."""
    calls: dict[int, dict] = {}
    finishes = []
    for chunk in stream:
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        if choice.finish_reason:
            finishes.append(choice.finish_reason)
        for delta in choice.delta.tool_calls or []:
            call = calls.setdefault(delta.index, {"id": None, "name": "", "arguments": ""})
            if delta.id:
                call["id"] = delta.id
            if delta.function and delta.function.name:
                call["name"] += delta.function.name
            if delta.function and delta.function.arguments:
                call["arguments"] += delta.function.arguments
    return calls, finishes


def test_streamed_tool_call(target):
    client, model, _ = target
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[WEATHER_TOOL],
        stream=True,
    )
    calls, finishes = accumulate_tool_calls(stream)
    assert list(calls) == [0]
    call = calls[0]
    assert call["id"], "tool call without an id"
    assert call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"location": "Paris", "unit": "celsius"}
    assert finishes == ["tool_calls"]


def test_streamed_parallel_tool_calls(target):
    client, model, _ = target
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Both, in parallel please."}],
        tools=[WEATHER_TOOL, TIME_TOOL],
        stream=True,
    )
    calls, finishes = accumulate_tool_calls(stream)
    assert sorted(calls) == [0, 1]
    assert [calls[i]["name"] for i in (0, 1)] == ["get_weather", "get_time"]
    assert json.loads(calls[0]["arguments"]) == {"location": "Paris", "unit": "celsius"}
    assert json.loads(calls[1]["arguments"]) == {"city": "Tokyo"}
    assert calls[0]["id"] and calls[1]["id"] and calls[0]["id"] != calls[1]["id"]
    assert finishes == ["tool_calls"]


def test_tool_call_and_result_round_trip(target):
    """Non-stream tool call, then the tool's result sent back: a plain text answer."""
    client, model, upstream = target
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL])
    assert first.choices[0].finish_reason == "tool_calls"
    (call,) = first.choices[0].message.tool_calls
    assert call.id and call.function.name == "get_weather"
    assert json.loads(call.function.arguments)["location"] == "Paris"
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 18}'})
    second = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL])
    assert second.choices[0].message.content == upstream.reply
    assert second.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("kind", sorted(UPSTREAMS))
def test_upstream_rate_limit(request, kind, stream, make_forge_key, forge_server, fault_proxy):
    fixture, model = UPSTREAMS[kind]
    upstream = request.getfixturevalue(fixture)
    key = make_forge_key({kind: (upstream.api_key, fault_proxy.base_url(upstream.base_url, 429))})
    client = openai.OpenAI(base_url=forge_server.api, api_key=key, max_retries=0, timeout=60)
    with pytest.raises(openai.RateLimitError) as caught:
        res = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "hi"}], stream=stream
        )
        if stream:
            list(res)
    assert caught.value.status_code == 429
    assert caught.value.response.headers.get("retry-after") == str(RETRY_AFTER_S)
