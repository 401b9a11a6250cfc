"""A server run from forge.toml alone (a logical model over two providers, a static key), driven
through the openai SDK and the real forge-cli: routing decisions, deployment health, usage."""

import hashlib
import json
import time

import openai
import pytest

from conftest import run_forge_server
from forge_e2e import UPSTREAM_KEY, ANTHROPIC_KEY, unique_name
from test_cli_walkthrough import make_cli

STATIC_KEY = "e2e-static-key-7d41c2"


@pytest.fixture(scope="module")
def routed_server(tmp_path_factory, fake_upstream, fake_anthropic):
    root = tmp_path_factory.mktemp("routed-server")
    digest = hashlib.sha256(STATIC_KEY.encode()).hexdigest()
    config = f"""
default_model = "chat"

[aliases]
fast = "oa:{fake_upstream_model()}"

[[providers]]
name = "oa"
kind = "openai-compatible"
base_url = "{fake_upstream.base_url}"
keys = [{{ key = "{UPSTREAM_KEY}" }}]

[[providers]]
name = "claude"
kind = "anthropic"
base_url = "{fake_anthropic.base_url}"
keys = [{{ key = "{ANTHROPIC_KEY}" }}]

[models.chat]
strategy = "priority"
deployments = [
  {{ provider = "oa", model = "{fake_upstream_model()}" }},
  {{ provider = "claude", model = "{fake_anthropic_model()}", priority = 1 }},
]

[[keys]]
name = "e2e"
key = "sha256:{digest}"
limits = {{ rpm = 1000 }}
"""
    path = root / "forge.toml"
    path.write_text(config)
    with run_forge_server(root, ["--config", str(path)]) as server:
        yield server


def fake_upstream_model():
    from forge_e2e import UPSTREAM_MODELS
    return UPSTREAM_MODELS[0]


def fake_anthropic_model():
    from forge_e2e import ANTHROPIC_MODELS
    return ANTHROPIC_MODELS[0]


def test_static_key_and_cli_routing_commands(routed_server, tmp_path):
    client = openai.OpenAI(base_url=routed_server.api, api_key=STATIC_KEY)
    raw = client.chat.completions.with_raw_response.create(
        model="chat", messages=[{"role": "user", "content": "hello"}]
    )
    assert raw.headers["x-forge-provider"] == "oa"
    assert raw.headers["x-forge-attempts"] == "1"
    assert raw.headers["x-ratelimit-limit-requests"] == "1000"
    answer = raw.parse()
    assert answer.choices[0].message.content
    stream = client.chat.completions.create(
        model="fast", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text

    cli = make_cli(routed_server, tmp_path / "cli")
    admin = unique_name("admin")
    cli("register", "--username", admin, "--email", f"{admin}@example.com",
        "--password", "routing admin 1")
    cli("login", "--username", admin, "--password", "routing admin 1")

    routes = json.loads(cli("--json", "routes", "list").stdout)
    chat = next(r for r in routes["routes"] if r["name"] == "chat")
    assert [d["provider"] for d in chat["deployments"]] == ["oa", "claude"]
    assert routes["aliases"]["fast"].startswith("oa:")

    decision = json.loads(cli("--json", "routes", "decide", "chat", "--session", "s1").stdout)
    assert decision["route"] == "chat"
    assert decision["candidates"][0]["provider"] == "oa"

    out = cli("deployments", "list").stdout
    assert "oa/" in out and "claude/" in out
    deployment = chat["deployments"][0]["id"]
    cli("deployments", "reset", deployment)
    cli("sessions", "drop", "no-such-session", ok=False)

    # Usage records are flushed in the background: admins see everyone's, static keys included.
    deadline = time.monotonic() + 10
    while True:
        usage = json.loads(cli("--json", "usage", "--group-by", "model").stdout)
        if usage["totals"]["requests"] >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert usage["totals"]["requests"] >= 2, usage
    table = cli("usage", "--group-by", "model").stdout
    assert fake_upstream_model() in table
