"""Files and batches through Forge with the official `openai` SDK: upload, list, retrieve,
content, delete, and a batch followed to its output file, against the fake upstream that
serves them as OpenAI's API does. Two users share one upstream account; each reaches only
what it created (the other gets the SDK's NotFoundError)."""

import json

import pytest
import requests
from openai import NotFoundError, OpenAI

from conftest import run_fake, server_on
from forge_e2e import unique_name

FILES_KEY = "sk-files-fake-0001"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def forge_server(request, tmp_path_factory):
    """Every test here runs on SQLite and on PostgreSQL."""
    yield from server_on(request.param, tmp_path_factory)

LINES = [
    {"custom_id": f"req-{n}", "method": "POST", "url": "/v1/chat/completions",
     "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"question {n}"}]}}
    for n in range(3)
]


@pytest.fixture(scope="module")
def files_upstream(tmp_path_factory):
    yield from run_fake(tmp_path_factory, "openai", FILES_KEY, ["gpt-4o-mini"])


def new_client(forge_server, upstream) -> OpenAI:
    """A fresh user whose `openai` key is the shared upstream account, and its SDK client."""
    name = unique_name("files")
    password = "correct horse battery staple"
    res = requests.post(forge_server.api + "/auth/register", timeout=30, json={
        "username": name, "email": f"{name}@example.com", "password": password})
    assert res.status_code == 200, res.text
    jwt = requests.post(forge_server.api + "/auth/token", timeout=30,
                        data={"username": name, "password": password}).json()["access_token"]
    headers = {"Authorization": f"Bearer {jwt}"}
    res = requests.post(forge_server.api + "/provider-keys/", headers=headers, timeout=30, json={
        "provider_name": "openai", "api_key": FILES_KEY, "base_url": upstream})
    assert res.status_code == 200, res.text
    key = requests.post(forge_server.api + "/api-keys/", json={"name": "files"},
                        headers=headers, timeout=30).json()["key"]
    return OpenAI(base_url=forge_server.api, api_key=key, max_retries=0)


def test_files_and_batches_with_the_sdk(forge_server, files_upstream, tmp_path):
    alice = new_client(forge_server, files_upstream)
    bob = new_client(forge_server, files_upstream)
    source = tmp_path / "requests.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in LINES))

    uploaded = alice.files.create(file=source.open("rb"), purpose="batch")
    assert uploaded.purpose == "batch" and uploaded.bytes == source.stat().st_size
    bobs = bob.files.create(file=("notes.jsonl", source.read_bytes()), purpose="batch")

    assert [f.id for f in alice.files.list(purpose="batch")] == [uploaded.id]
    assert [f.id for f in bob.files.list()] == [bobs.id]
    for n in range(3):  # newer files of Bob's on the shared account, one per upstream page
        bob.files.create(file=(f"more-{n}.jsonl", source.read_bytes()), purpose="batch")
    # Auto-pagination a file at a time still walks to Alice's file.
    assert [f.id for f in alice.files.list(limit=1)] == [uploaded.id]
    assert alice.files.retrieve(uploaded.id).filename == "requests.jsonl"
    assert alice.files.content(uploaded.id).read() == source.read_bytes()
    with pytest.raises(NotFoundError):
        bob.files.retrieve(uploaded.id)
    with pytest.raises(NotFoundError):
        bob.files.content(uploaded.id)
    with pytest.raises(NotFoundError):
        bob.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                           completion_window="24h")

    batch = alice.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                 completion_window="24h", metadata={"run": "e2e"})
    assert batch.status == "validating" and batch.metadata == {"run": "e2e"}
    done = alice.batches.retrieve(batch.id)
    assert done.status == "completed" and done.request_counts.completed == 3
    output = alice.files.content(done.output_file_id).text
    answers = [json.loads(line) for line in output.splitlines()]
    assert [a["custom_id"] for a in answers] == ["req-0", "req-1", "req-2"]
    assert answers[0]["response"]["body"]["choices"][0]["message"]["content"]
    assert [b.id for b in alice.batches.list()] == [batch.id]
    assert list(bob.batches.list()) == []
    with pytest.raises(NotFoundError):
        bob.batches.retrieve(batch.id)
    with pytest.raises(NotFoundError):
        bob.files.content(done.output_file_id)

    second = alice.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                  completion_window="24h")
    assert alice.batches.cancel(second.id).status == "cancelling"
    with pytest.raises(NotFoundError):
        bob.batches.cancel(second.id)

    with pytest.raises(NotFoundError):
        bob.files.delete(uploaded.id)
    assert alice.files.delete(uploaded.id).deleted is True
    with pytest.raises(NotFoundError):
        alice.files.retrieve(uploaded.id)
    assert bob.files.delete(bobs.id).deleted is True
