"""The official `google-genai` package pointed at forge-server with a Forge key, calling an
OpenAI-compatible upstream through the Gemini dialect. The model name `openai/gpt-4o-mini`
contains a `/`: the SDK puts it into the path unencoded
(`/v1beta/models/openai/gpt-4o-mini:generateContent`), and Forge must route it.

Text answers come from the Rust OpenAI fake, function calls from the in-process stub.
"""

import pytest
from google import genai
from google.genai import errors, types

from forge_e2e import UPSTREAM_MODELS
from stub_upstreams import RETRY_AFTER_S

MODEL = "openai/" + UPSTREAM_MODELS[0]
WEATHER_JSON_SCHEMA = {
    "type": "object",
    "properties": {
        "location": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["location"],
}
# The declaration as most google-genai code writes it: Google's own `Schema`, whose types are
# upper-case (`OBJECT`, `STRING`) on the wire.
WEATHER_FN = types.FunctionDeclaration(
    name="get_weather",
    description="Current weather in a city",
    parameters=types.Schema(
        type=types.Type.OBJECT,
        properties={
            "location": types.Schema(type=types.Type.STRING),
            "unit": types.Schema(type=types.Type.STRING, enum=["celsius", "fahrenheit"]),
        },
        required=["location"],
    ),
)
# The same declaration as plain JSON Schema. google-genai sends this field in snake_case,
# `parameters_json_schema` (Google's API, parsing proto JSON, accepts both spellings).
WEATHER_FN_JSON = types.FunctionDeclaration(
    name="get_weather",
    description="Current weather in a city",
    parameters_json_schema=WEATHER_JSON_SCHEMA,
)


def tool_config(fn: types.FunctionDeclaration) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[fn])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )


TOOL_CONFIG = tool_config(WEATHER_FN_JSON)
# A declaration without parameters: exercises the function-call path (call out, call back,
# function response) independently of how parameter schemas are translated.
NOARGS_CONFIG = tool_config(types.FunctionDeclaration(
    name="get_weather", description="Current weather in Paris"))
WEATHER_ARGS = {"location": "Paris", "unit": "celsius"}


def client_for(forge_server, key: str, api_version: str | None = "v1beta") -> genai.Client:
    options = types.HttpOptions(
        base_url=forge_server.url,
        timeout=60_000,
        # No retries: a failure must show up as itself, not as a slower retry.
        retry_options=types.HttpRetryOptions(attempts=1),
    )
    if api_version:
        options.api_version = api_version
    return genai.Client(api_key=key, http_options=options)


# v1beta as configured by hand; None: the SDK's own default version (`/v1/models/...`
# in current google-genai releases).
@pytest.fixture(params=["v1beta", None], ids=["v1beta", "sdk-default"])
def text_client(request, forge_server, forge_key) -> genai.Client:
    return client_for(forge_server, forge_key, request.param)


@pytest.fixture
def tool_client(forge_server, make_forge_key, openai_tools_upstream) -> genai.Client:
    up = openai_tools_upstream
    return client_for(forge_server, make_forge_key({"openai": (up.api_key, up.base_url)}))


def test_generate_content(text_client, fake_upstream):
    res = text_client.models.generate_content(
        model=MODEL,
        contents="hi",
        config=types.GenerateContentConfig(system_instruction="Be brief.", temperature=0.2),
    )
    assert res.text == fake_upstream.reply
    assert res.candidates[0].finish_reason == types.FinishReason.STOP
    assert res.usage_metadata is not None and res.usage_metadata.candidates_token_count > 0


def test_generate_content_stream(text_client, fake_upstream):
    chunks = list(text_client.models.generate_content_stream(model=MODEL, contents="hi"))
    pieces = [c.text for c in chunks if c.text]
    assert "".join(pieces) == fake_upstream.reply
    assert len(pieces) > 1, "the answer arrived in one piece: was the stream buffered?"
    finishes = [c.candidates[0].finish_reason for c in chunks
                if c.candidates and c.candidates[0].finish_reason]
    assert finishes == [types.FinishReason.STOP]


def test_generate_content_stream_reports_usage(text_client):
    """The last streamed chunk carries `usageMetadata`, as Gemini sends it. An OpenAI-compatible
    upstream only streams usage when asked with `stream_options.include_usage`."""
    chunks = list(text_client.models.generate_content_stream(model=MODEL, contents="hi"))
    usage = chunks[-1].usage_metadata
    assert usage is not None and usage.candidates_token_count, usage


def test_function_call(tool_client, openai_tools_upstream):
    res = tool_client.models.generate_content(
        model=MODEL, contents="What is the weather in Paris?", config=TOOL_CONFIG
    )
    sent = openai_tools_upstream.requests[-1]
    assert [t["function"]["name"] for t in sent["tools"]] == ["get_weather"]
    assert sent["tools"][0]["function"].get("parameters") == WEATHER_JSON_SCHEMA, sent["tools"]
    (call,) = res.function_calls
    assert call.name == "get_weather"
    assert call.args == WEATHER_ARGS
    parts = res.candidates[0].content.parts
    assert [p.function_call is not None for p in parts] == [True]


def test_function_declaration_with_gemini_schema(tool_client, openai_tools_upstream):
    """A `parameters` Schema in Google's form reaches the OpenAI-compatible upstream as JSON
    Schema: `OBJECT`/`STRING` become `object`/`string` (OpenAI rejects the upper-case names)."""
    res = tool_client.models.generate_content(
        model=MODEL, contents="What is the weather in Paris?", config=tool_config(WEATHER_FN)
    )
    (call,) = res.function_calls
    assert call.name == "get_weather"
    assert call.args == WEATHER_ARGS
    sent = openai_tools_upstream.requests[-1]["tools"][0]["function"]["parameters"]
    assert sent["type"] == "object"
    assert sent["properties"]["location"]["type"] == "string"


def test_function_call_stream(tool_client):
    chunks = list(tool_client.models.generate_content_stream(
        model=MODEL, contents="What is the weather in Paris?", config=NOARGS_CONFIG
    ))
    calls = [call for c in chunks for call in (c.function_calls or [])]
    assert len(calls) == 1, calls
    assert calls[0].name == "get_weather"
    assert calls[0].args == {}
    finishes = [c.candidates[0].finish_reason for c in chunks
                if c.candidates and c.candidates[0].finish_reason]
    assert finishes == [types.FinishReason.STOP]


def test_function_call_without_parameters(tool_client):
    res = tool_client.models.generate_content(
        model=MODEL, contents="What is the weather in Paris?", config=NOARGS_CONFIG
    )
    (call,) = res.function_calls
    assert call.name == "get_weather" and call.args == {}
    assert res.candidates[0].finish_reason == types.FinishReason.STOP


def test_function_response_round_trip(tool_client, openai_tools_upstream):
    first = tool_client.models.generate_content(
        model=MODEL, contents="What is the weather in Paris?", config=NOARGS_CONFIG
    )
    (call,) = first.function_calls
    contents = [
        types.Content(role="user", parts=[types.Part(text="What is the weather in Paris?")]),
        first.candidates[0].content,
        types.Content(role="user", parts=[types.Part(function_response=types.FunctionResponse(
            id=call.id, name=call.name, response={"temp_c": 18}))]),
    ]
    second = tool_client.models.generate_content(
        model=MODEL, contents=contents, config=NOARGS_CONFIG
    )
    assert second.text == openai_tools_upstream.reply
    sent = openai_tools_upstream.requests[-1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[2]["tool_call_id"] == sent[1]["tool_calls"][0]["id"]


def test_unknown_model_is_not_found(text_client):
    with pytest.raises(errors.ClientError) as caught:
        text_client.models.generate_content(model="nosuchprovider/gpt-4o-mini", contents="hi")
    assert caught.value.code == 404
    assert caught.value.status == "NOT_FOUND"


def test_bad_key_is_rejected(forge_server, forge_key):
    client = client_for(forge_server, "forge-" + "0" * 64)
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model=MODEL, contents="hi")
    assert caught.value.code in (401, 403), caught.value
    assert caught.value.status in ("UNAUTHENTICATED", "PERMISSION_DENIED")


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_upstream_rate_limit(stream, forge_server, make_forge_key, fake_upstream, fault_proxy):
    key = make_forge_key({"openai": (fake_upstream.api_key,
                                     fault_proxy.base_url(fake_upstream.base_url, 429))})
    client = client_for(forge_server, key)
    with pytest.raises(errors.ClientError) as caught:
        if stream:
            list(client.models.generate_content_stream(model=MODEL, contents="hi"))
        else:
            client.models.generate_content(model=MODEL, contents="hi")
    assert caught.value.code == 429
    assert caught.value.status == "RESOURCE_EXHAUSTED"
    assert caught.value.response.headers.get("retry-after") == str(RETRY_AFTER_S)
