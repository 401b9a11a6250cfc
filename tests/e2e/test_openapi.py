"""Schemathesis against the served OpenAPI document: every operation of /openapi.json is called
with generated data (valid and invalid) on a real forge-server, and every answer must be
documented: no 5xx, a documented status, content type, headers and body schema.

Credentials go by the spec's own security schemes: the admin API gets the session token of the
server's first (admin) user; the proxy and the Forge-key statistics routes get a Forge key of a
second user whose `openai` and `anthropic` provider keys point at the fake upstreams, so the
proxy routes reach an upstream: the spec's request examples name those fakes' models, and the
`{model}` path parameter is `openai/gpt-4o-mini` (generated bodies are mostly refused before
any upstream is called). `PUT /v1/users/me` gets a throwaway user's
token, since a generated password change ends that user's sessions. The run is bounded:
`MAX_EXAMPLES` cases per operation and phase, one worker, a fixed seed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from conftest import run_forge_server
from forge_e2e import unique_name

CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
])
MAX_EXAMPLES = int(os.environ.get("FORGE_E2E_OPENAPI_EXAMPLES", "5"))
SEED = os.environ.get("FORGE_E2E_OPENAPI_SEED", "20261207")
# Routes the spec documents that this build may not serve yet (they come with the server's
# readiness and metrics work); each is fuzzed as soon as the server answers it.
MAYBE_UNSERVED = ["/health/ready", "/metrics"]
RUN_TIMEOUT_S = 600
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server of its own, so that the first user registered here is its admin."""
    with run_forge_server(tmp_path_factory.mktemp("openapi-server")) as server:
        yield server


def register(server, name: str) -> str:
    res = requests.post(
        server.api + "/auth/register",
        json={"username": name, "email": f"{name}@example.com", "password": PASSWORD},
        timeout=30,
    )
    assert res.status_code == 200, res.text
    res = requests.post(
        server.api + "/auth/token", data={"username": name, "password": PASSWORD}, timeout=30
    )
    assert res.status_code == 200, res.text
    return res.json()["access_token"]


def add_provider(server, jwt: str, name: str, upstream) -> None:
    res = requests.post(server.api + "/provider-keys", timeout=30, json={
        "provider_name": name, "api_key": upstream.api_key, "base_url": upstream.base_url,
    }, headers={"Authorization": f"Bearer {jwt}"})
    assert res.status_code == 200, res.text


def st_binary() -> Path:
    path = Path(sys.executable).parent / "st"
    if not path.is_file():
        pytest.fail(f"{path} not found: install tests/e2e/requirements.txt")
    return path


def test_every_operation_answers_as_documented(server, fake_upstream, fake_anthropic, tmp_path):
    spec = requests.get(server.url + "/openapi.json", timeout=30).json()
    assert spec["openapi"].startswith("3.1")
    operations = sum(len(item) for item in spec["paths"].values())

    admin = register(server, unique_name("admin"))
    me = requests.get(server.api + "/users/me", headers={"Authorization": f"Bearer {admin}"},
                      timeout=30).json()
    assert me["is_admin"], "the first user of a fresh server is its admin"
    caller = register(server, unique_name("caller"))
    throwaway = register(server, unique_name("throwaway"))
    auth = {"Authorization": f"Bearer {caller}"}
    add_provider(server, caller, "openai", fake_upstream)
    add_provider(server, caller, "anthropic", fake_anthropic)
    res = requests.post(server.api + "/api-keys", headers=auth, json={"name": "st"}, timeout=30)
    assert res.status_code == 200, res.text
    forge_key = res.json()["key"]

    # Identifiers that exist, so the `{key_id}`, `{user_id}` and `{provider_name}` operations
    # get past their 404s (the admin's own key and provider key; the caller's user id).
    admin_auth = {"Authorization": f"Bearer {admin}"}
    res = requests.post(server.api + "/api-keys", headers=admin_auth, json={"name": "x"}, timeout=30)
    assert res.status_code == 200, res.text
    key_id = res.json()["id"]
    add_provider(server, admin, "openai", fake_upstream)
    caller_id = requests.get(server.api + "/users/me", headers=auth, timeout=30).json()["id"]

    unserved = [p for p in MAYBE_UNSERVED
                if requests.get(server.url + p, timeout=30).status_code == 404]

    config = tmp_path / "schemathesis.toml"
    config.write_text(f"""
[auth]
auto-signup = false
[auth.openapi.jwt]
bearer = {json.dumps(admin)}
[auth.openapi.forge_key]
bearer = {json.dumps(forge_key)}
[auth.openapi.x_api_key]
api_key = {json.dumps(forge_key)}
[auth.openapi.x_goog_api_key]
api_key = {json.dumps(forge_key)}
[auth.openapi.key_query]
api_key = {json.dumps(forge_key)}

[parameters]
"path.model" = "openai/gpt-4o-mini"
"path.key_id" = {key_id}
"path.user_id" = {caller_id}
"path.provider_name" = "openai"
"path.provider" = "openai"

[[operations]]
include-operation-id = "update_me"
[operations.headers]
Authorization = {json.dumps("Bearer " + throwaway)}
""")
    report = tmp_path / "report.json"
    cmd = [
        str(st_binary()), "--config-file", str(config), "run", server.url + "/openapi.json",
        "--checks", CHECKS,
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", SEED,
        "--workers", "1",
        "--request-timeout", "30",
        "--generation-database", "none",
        # Credentials only from the config above: generated ones (or keys a response revealed,
        # such as the admin's new Forge keys, whose provider keys the fuzzing points anywhere)
        # would send proxy requests to unreachable upstreams, which rightly answer 502.
        "--generation-with-security-parameters", "false",
        "--report", "json", "--report-json-path", str(report),
        "--no-color",
    ]
    for path in unserved:
        cmd += ["--exclude-path", path]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                         stdin=subprocess.DEVNULL, cwd=tmp_path)
    print(res.stdout[-3000:])
    if unserved:
        print(f"not served by this build, not fuzzed: {unserved}")
    assert res.returncode == 0, f"schemathesis found problems:\n{res.stdout}\n{res.stderr}"
    ran = json.loads(report.read_text())
    assert not ran["failures"] and not ran["errors"], ran["failures"] or ran["errors"]
    # Schemathesis leaves out the operation that serves the document it reads (fetched above).
    counts = ran["operations"]
    assert counts["total"] == operations - 1, counts
    assert counts["tested"] == counts["selected"] == counts["total"] - len(unserved), counts
    assert ran["test_cases"]["generated"] >= counts["tested"], ran["test_cases"]
