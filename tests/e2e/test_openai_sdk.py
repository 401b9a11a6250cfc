"""The official `openai` package pointed at forge-server with a Forge API key."""

import openai
import pytest

MODEL = "openai/gpt-4o-mini"


@pytest.fixture
def client(forge_server, forge_key) -> openai.OpenAI:
    # No retries: a failure must show up as itself, not as a slower retry.
    return openai.OpenAI(base_url=forge_server.api, api_key=forge_key, max_retries=0, timeout=60)


def test_chat_completion(client, fake_upstream):
    res = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}]
    )
    assert res.choices[0].message.content == fake_upstream.reply


def test_chat_completion_stream(client, fake_upstream):
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True
    )
    deltas = [
        chunk.choices[0].delta.content
        for chunk in stream
        if chunk.choices and chunk.choices[0].delta.content
    ]
    assert "".join(deltas) == fake_upstream.reply
    assert len(deltas) > 1, "the answer arrived in one piece: was the stream buffered?"


def test_models_list(client):
    ids = [model.id for model in client.models.list()]
    assert MODEL in ids
    assert "openai/gpt-4o" in ids


@pytest.mark.parametrize("model", ["openai/no-such-model", "nosuchprovider/gpt-4o-mini"])
def test_unknown_model_is_not_found(client, model):
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])


@pytest.mark.parametrize("bad_key", ["forge-" + "0" * 36, "not-a-forge-key"])
def test_bad_key_is_rejected(forge_server, forge_key, bad_key):
    client = openai.OpenAI(base_url=forge_server.api, api_key=bad_key, max_retries=0, timeout=60)
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.AuthenticationError):
        client.models.list()
