"""Images, moderations and speech through Forge with the official `openai` SDK, against the
fake upstream that serves them as OpenAI's API does; usage recorded for each."""

import base64
import time

import pytest
import requests
from openai import OpenAI

from conftest import run_fake, server_on

MEDIA_KEY = "sk-media-fake-0001"
MODELS = ["gpt-image-1", "dall-e-3", "omni-moderation-latest", "tts-1", "jina-reranker-v2"]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def forge_server(request, tmp_path_factory):
    """Every test here runs on SQLite and on PostgreSQL."""
    yield from server_on(request.param, tmp_path_factory)


@pytest.fixture(scope="module")
def media_upstream(tmp_path_factory):
    yield from run_fake(tmp_path_factory, "openai", MEDIA_KEY, MODELS)


@pytest.fixture
def client(forge_server, media_upstream, make_forge_key) -> OpenAI:
    key = make_forge_key({"openai": (MEDIA_KEY, media_upstream)})
    return OpenAI(base_url=forge_server.api, api_key=key, max_retries=0)


def test_images_moderations_and_speech(client, forge_server, account):
    image = client.images.generate(model="openai/gpt-image-1", prompt="A lighthouse", n=2)
    assert len(image.data) == 2
    assert base64.b64decode(image.data[0].b64_json).startswith(b"\x89PNG")
    assert image.usage.output_tokens == 544

    dalle = client.images.generate(model="openai/dall-e-3", prompt="A lighthouse",
                                   response_format="url")
    assert dalle.data[0].url.startswith("https://") and dalle.data[0].revised_prompt

    # The upstream's validation comes back as it said it.
    from openai import BadRequestError
    with pytest.raises(BadRequestError) as refused:
        client.images.generate(model="openai/gpt-image-1", prompt="x", response_format="url")
    assert "response_format" in str(refused.value)

    moderation = client.moderations.create(model="openai/omni-moderation-latest",
                                           input=["hello", "world"])
    assert [r.flagged for r in moderation.results] == [False, False]

    with client.audio.speech.with_streaming_response.create(
            model="openai/tts-1", voice="alloy", input="Hello there, this is speech.",
            response_format="wav") as speech:
        assert speech.headers["content-type"] == "audio/wav"
        audio = b"".join(speech.iter_bytes())
    assert audio.startswith(b"FAKE-wav-AUDIO:") and len(audio) == 15 + 3 * 1024

    # Rerank has no SDK method: Jina's shape over plain HTTP, with the same Forge key.
    res = requests.post(forge_server.api + "/rerank", timeout=30,
                        headers={"Authorization": f"Bearer {client.api_key}"},
                        json={"model": "openai/jina-reranker-v2", "query": "red apple",
                              "documents": ["a green pear", "a red apple", "red wine"], "top_n": 2})
    assert res.status_code == 200, res.text
    assert [r["index"] for r in res.json()["results"]] == [1, 2]

    # One record per call that reached the upstream (the refused one included): 6.
    deadline = time.monotonic() + 20
    while True:
        res = requests.get(forge_server.api + "/usage", params={"group_by": "model"},
                           headers=account.headers, timeout=30)
        assert res.status_code == 200, res.text
        rows = {row["model"]: row for row in res.json()["rows"]}
        if sum(row["requests"] for row in rows.values()) >= 6 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    image_row = rows["gpt-image-1"]
    assert (image_row["requests"], image_row["errors"], image_row["output_tokens"]) == (2, 1, 544), rows
    # Priced per token: 544 image tokens at $40/M and the 4-token prompt at $5/M.
    assert image_row["cost"] == "0.02178", rows
    # DALL-E is priced per image: one standard image at the default size, $0.04.
    assert rows["dall-e-3"]["cost"] == "0.04" and rows["dall-e-3"]["unpriced_requests"] == 0, rows
    moderation_row = rows["omni-moderation-latest"]
    assert moderation_row["requests"] == 1 and moderation_row["cost"] == "0", rows
    assert rows["tts-1"]["requests"] == 1 and rows["tts-1"]["estimated_requests"] == 1, rows
    # Speech is priced per character: 28 characters at $15 per million.
    assert rows["tts-1"]["cost"] == "0.00042", rows
    # The host's `usage.total_tokens`, read as input.
    assert rows["jina-reranker-v2"]["input_tokens"] > 0, rows
    assert rows["jina-reranker-v2"]["estimated_requests"] == 0, rows


UPLOAD_MODELS = ["whisper-1", "gpt-4o-transcribe", "gpt-image-1", "dall-e-2"]
UPLOAD_KEY = "sk-upload-fake-0001"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")


@pytest.fixture(scope="module")
def upload_upstream(tmp_path_factory):
    yield from run_fake(tmp_path_factory, "openai", UPLOAD_KEY, UPLOAD_MODELS)


def test_multipart_uploads(forge_server, upload_upstream, make_forge_key, account):
    key = make_forge_key({"openai": (UPLOAD_KEY, upload_upstream)})
    client = OpenAI(base_url=forge_server.api, api_key=key, max_retries=0)
    audio = b"RIFF" + bytes(range(256)) * 64  # 16,388 bytes, any content

    whisper = client.audio.transcriptions.create(model="openai/whisper-1", file=("talk.wav", audio))
    assert whisper.text == "Transcribed 16388 bytes of talk.wav."
    text = client.audio.transcriptions.create(model="openai/whisper-1", file=("talk.wav", audio),
                                              response_format="text")
    assert text.strip() == "Transcribed 16388 bytes of talk.wav."
    gpt = client.audio.transcriptions.create(model="openai/gpt-4o-transcribe",
                                             file=("talk.wav", audio))
    assert gpt.usage.input_tokens == 103
    deltas = [e.delta for e in client.audio.transcriptions.create(
        model="openai/gpt-4o-transcribe", file=("talk.wav", audio), stream=True)
        if e.type == "transcript.text.delta"]
    assert "".join(deltas) == "Transcribed 16388 bytes of talk.wav."
    translated = client.audio.translations.create(model="openai/whisper-1", file=("talk.mp3", audio))
    assert translated.text.startswith("Transcribed")

    # The upstream's own validation of the upload comes back.
    from openai import BadRequestError
    with pytest.raises(BadRequestError) as refused:
        client.audio.transcriptions.create(model="openai/whisper-1", file=("notes.txt", b"hello"))
    assert "Invalid file format" in str(refused.value)

    edited = client.images.edit(model="openai/gpt-image-1", image=("in.png", PNG), prompt="Add a hat")
    assert base64.b64decode(edited.data[0].b64_json) == PNG and edited.usage.output_tokens == 272
    variation = client.images.create_variation(model="openai/dall-e-2", image=("in.png", PNG), n=2)
    assert len(variation.data) == 2

    # Usage: tokens where the answer reported them, else unknown (never zero, never guessed).
    deadline = time.monotonic() + 20
    while True:
        res = requests.get(forge_server.api + "/usage", params={"group_by": "model"},
                           headers=account.headers, timeout=30)
        rows = {row["model"]: row for row in res.json()["rows"]}
        if sum(row["requests"] for row in rows.values()) >= 8 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert rows["gpt-4o-transcribe"]["requests"] == 2, rows
    # Both reported: the JSON answer and the stream's last event.
    assert rows["gpt-4o-transcribe"]["input_tokens"] == 206, rows
    assert rows["gpt-image-1"]["output_tokens"] == 272, rows
    whisper_row = rows["whisper-1"]
    assert whisper_row["requests"] == 4 and whisper_row["input_tokens"] == 0, rows
    # Whisper bills audio minutes: only the JSON answer reports its duration (2 s at
    # $0.006/min); the text answer, the translation and the refusal stay unpriced.
    assert whisper_row["cost"] == "0.0002" and whisper_row["estimated_requests"] == 0, rows
    # DALL-E 2 variations: two images at the default size, $0.02 each.
    assert rows["dall-e-2"]["cost"] == "0.04", rows
