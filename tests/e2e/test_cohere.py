"""Cohere's native v2 API as an upstream, reached with the official `openai` and `anthropic`
SDKs through Forge: streamed text, a tool call and its result, embeddings, usage. The fake
(`forge-fake-upstream --kind cohere`) refuses any field Cohere's v2 chat does not take."""

import json

import pytest
from anthropic import Anthropic
from openai import OpenAI

from conftest import run_fake
from forge_e2e import REPLY

COHERE_KEY = "co-e2e-upstream-secret-5c1d"
MODEL = "cohere/command-a-03-2025"
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather of a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


@pytest.fixture(scope="module")
def cohere_upstream(tmp_path_factory):
    yield from run_fake(tmp_path_factory, "cohere", COHERE_KEY, ["command-a-03-2025", "embed-v4.0"])


def test_openai_and_anthropic_sdks_through_cohere(forge_server, cohere_upstream, make_forge_key):
    key = make_forge_key({"cohere": (COHERE_KEY, cohere_upstream)})
    client = OpenAI(base_url=forge_server.api, api_key=key, max_retries=0)

    stream = client.chat.completions.create(
        model=MODEL, stream=True, stream_options={"include_usage": True},
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == REPLY
    assert chunks[-1].usage.prompt_tokens > 0 and chunks[-1].usage.completion_tokens > 0

    called = client.chat.completions.create(
        model=MODEL, tools=[WEATHER],
        messages=[{"role": "user", "content": "What is the weather in Paris?"}])
    call = called.choices[0].message.tool_calls[0]
    assert called.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    answered = client.chat.completions.create(
        model=MODEL, tools=[WEATHER],
        messages=[{"role": "user", "content": "What is the weather in Paris?"},
                  called.choices[0].message.model_dump(exclude_none=True),
                  {"role": "tool", "tool_call_id": call.id, "content": "18C and sunny"}])
    assert answered.choices[0].message.content == REPLY

    # Embeddings through Cohere's /v2/embed; the SDK asks for base64 and decodes it.
    vectors = client.embeddings.create(model="cohere/embed-v4.0", input=["red apple", "pear"],
                                       extra_body={"input_type": "search_query"})
    assert [len(d.embedding) for d in vectors.data] == [1536, 1536]
    assert vectors.usage.prompt_tokens > 0

    claude = Anthropic(base_url=forge_server.url, api_key=key, max_retries=0)
    with claude.messages.stream(model=MODEL, max_tokens=100,
                                messages=[{"role": "user", "content": "Hello"}]) as events:
        final = events.get_final_message()
    assert final.content[0].text == REPLY and final.usage.output_tokens > 0
