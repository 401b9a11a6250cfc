"""Fixtures that run the real binaries: `forge-fake-upstream` (OpenAI-compatible, Anthropic and
Gemini fakes that check their keys) and `forge-server` on free ports with a temporary data
directory, one of each per session; plus the in-process stubs of stub_upstreams.py.

Binaries come from $FORGE_BIN_DIR (default: <repo>/target/debug); build them first with
`cargo build -p forge-server -p forge-testkit -p forge-cli`. Readiness is polled (`/health/ready`, the
upstream's "listening on" line) against a deadline; nothing sleeps a fixed time.
"""

from __future__ import annotations

import contextlib
import os
import queue
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass

import pytest
import requests

from forge_e2e import (
    ANTHROPIC_KEY,
    ANTHROPIC_MODELS,
    BIND_ATTEMPTS,
    GEMINI_KEY,
    GEMINI_MODELS,
    REPLY,
    START_DEADLINE_S,
    STREAM_CHUNKS,
    UPSTREAM_KEY,
    UPSTREAM_MODELS,
    binary,
    free_port,
    log_tail,
    stop,
    unique_name,
)
from stub_upstreams import FaultProxy, OpenAiToolsUpstream


@dataclass
class Upstream:
    base_url: str  # http://127.0.0.1:PORT/v1
    api_key: str
    reply: str


@dataclass
class Server:
    url: str  # http://127.0.0.1:PORT (no /v1)

    @property
    def api(self) -> str:
        return self.url + "/v1"


def run_fake(tmp_path_factory, kind: str, api_key: str, models: list[str]):
    """Runs `forge-fake-upstream --kind KIND` until the session ends; yields its base URL."""
    log = tmp_path_factory.mktemp(f"upstream-{kind}") / "stderr.log"
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            [
                str(binary("forge-fake-upstream")),
                "--kind", kind,
                "--port", "0",
                "--api-key", api_key,
                "--models", ",".join(models),
                "--reply", REPLY,
                "--stream-chunks", str(STREAM_CHUNKS),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        base_url = None
        while base_url is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"forge-fake-upstream did not report its address:\n{log_tail(log)}")
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                pytest.fail(f"forge-fake-upstream exited early:\n{log_tail(log)}")
            if line.startswith("listening on "):
                base_url = line.removeprefix("listening on ").strip()
        yield base_url
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def fake_upstream(tmp_path_factory) -> Upstream:
    """The OpenAI-compatible fake (`--kind openai`)."""
    for base_url in run_fake(tmp_path_factory, "openai", UPSTREAM_KEY, UPSTREAM_MODELS):
        yield Upstream(base_url=base_url, api_key=UPSTREAM_KEY, reply=REPLY)


@pytest.fixture(scope="session")
def fake_anthropic(tmp_path_factory) -> Upstream:
    """The native Anthropic Messages fake (`--kind anthropic`, base URL ends in /v1)."""
    for base_url in run_fake(tmp_path_factory, "anthropic", ANTHROPIC_KEY, ANTHROPIC_MODELS):
        yield Upstream(base_url=base_url, api_key=ANTHROPIC_KEY, reply=REPLY)


@pytest.fixture(scope="session")
def fake_gemini(tmp_path_factory) -> Upstream:
    """The native Gemini fake (`--kind gemini`, base URL ends in /v1beta)."""
    for base_url in run_fake(tmp_path_factory, "gemini", GEMINI_KEY, GEMINI_MODELS):
        yield Upstream(base_url=base_url, api_key=GEMINI_KEY, reply=REPLY)


@pytest.fixture(scope="session")
def openai_tools_upstream() -> OpenAiToolsUpstream:
    """An OpenAI-compatible upstream (in this process) that answers with tool calls."""
    stub = OpenAiToolsUpstream(api_key=UPSTREAM_KEY, models=UPSTREAM_MODELS, reply=REPLY)
    try:
        yield stub
    finally:
        stub.close()


@pytest.fixture(scope="session")
def fault_proxy() -> FaultProxy:
    """Makes a fake answer a chosen status: see `FaultProxy.base_url`."""
    proxy = FaultProxy()
    try:
        yield proxy
    finally:
        proxy.close()


def wait_healthy(proc: subprocess.Popen, url: str, deadline: float) -> bool:
    """True once GET /health/ready answers ready (the port opens before migrations run, with
    a placeholder answering 503); False if the process exits first."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            res = requests.get(url + "/health/ready", timeout=2)
            if res.status_code == 200 and res.json().get("status") == "ready":
                return True
        except (requests.RequestException, ValueError):
            pass
        # Poll interval: the loop ends as soon as /health/ready answers.
        time.sleep(0.05)
    return False


@contextlib.contextmanager
def run_forge_server(root, extra_args=(), extra_env=None):
    """Runs forge-server on a free port (retrying if the port was taken) until the block ends."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "FORGE_BIND", "FORGE_DATA_DIR", "FORGE_CONFIG",
                        "FORGE_ENCRYPTION_KEY", "FORGE_JWT_SECRET", "REDIS_URL")
           and not k.startswith("OTEL_")}
    env.update(extra_env or {})
    env["FORGE_ALLOW_PRIVATE_UPSTREAMS"] = "true"
    # Opt-in: run the same suite on PostgreSQL.
    if os.environ.get("FORGE_E2E_DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["FORGE_E2E_DATABASE_URL"]
    failures = []
    for attempt in range(BIND_ATTEMPTS):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        data_dir = root / f"data-{attempt}"
        log = root / f"server-{attempt}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    str(binary("forge-server")),
                    "--bind", f"127.0.0.1:{port}",
                    "--data-dir", str(data_dir),
                    "--allow-private-upstreams",
                    *extra_args,
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        if wait_healthy(proc, url, time.monotonic() + START_DEADLINE_S):
            try:
                yield Server(url=url)
            finally:
                stop(proc)
            return
        stop(proc)
        failures.append(f"attempt {attempt + 1} on port {port}:\n{log_tail(log)}")
        # The port may have been taken between free_port() and the server's bind: try another.
    pytest.fail("forge-server never became healthy:\n" + "\n\n".join(failures))


@pytest.fixture(scope="session")
def forge_server(tmp_path_factory) -> Server:
    with run_forge_server(tmp_path_factory.mktemp("forge-server")) as server:
        yield server


# The PostgreSQL server every machine runs; scratch databases are made beside `test`.
PG_ADMIN_URL = os.environ.get("FORGE_E2E_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def scratch_postgres():
    """A new, empty PostgreSQL database for one server, dropped afterwards."""
    name = "forge_e2e_" + secrets.token_hex(6)
    subprocess.run(["psql", PG_ADMIN_URL, "-qc", f"CREATE DATABASE {name}"], check=True,
                   stdout=subprocess.DEVNULL)
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        subprocess.run(["psql", PG_ADMIN_URL, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
                       check=False, stdout=subprocess.DEVNULL)


def server_on(backend: str, tmp_path_factory):
    """A forge-server on `backend` (`sqlite` or `postgres`): for modules that run on both, as
    a module-scoped `forge_server` override parametrized over the two."""
    root = tmp_path_factory.mktemp(f"forge-server-{backend}")
    if backend == "sqlite":
        with run_forge_server(root) as server:
            yield server
        return
    with scratch_postgres() as url:
        with run_forge_server(root, extra_env={"DATABASE_URL": url}) as server:
            yield server


@dataclass
class Account:
    username: str
    password: str
    jwt: str

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.jwt}"}


@pytest.fixture
def account(forge_server: Server) -> Account:
    """A fresh user, registered and logged in through the admin API."""
    username = unique_name("e2e")
    password = "correct horse battery staple"
    res = requests.post(
        forge_server.api + "/auth/register",
        json={"username": username, "email": f"{username}@example.com", "password": password},
        timeout=30,
    )
    assert res.status_code == 200, res.text
    res = requests.post(
        forge_server.api + "/auth/token",
        data={"username": username, "password": password},
        timeout=30,
    )
    assert res.status_code == 200, res.text
    return Account(username=username, password=password, jwt=res.json()["access_token"])


@pytest.fixture
def forge_key(forge_server: Server, fake_upstream: Upstream, account: Account) -> str:
    """A Forge API key of a user whose `openai` provider key points at the fake upstream."""
    res = requests.post(
        forge_server.api + "/provider-keys/",
        json={
            "provider_name": "openai",
            "api_key": fake_upstream.api_key,
            "base_url": fake_upstream.base_url,
        },
        headers=account.headers,
        timeout=30,
    )
    assert res.status_code == 200, res.text
    assert fake_upstream.api_key not in res.text, "the provider secret came back unmasked"
    res = requests.post(
        forge_server.api + "/api-keys/", json={"name": "e2e"}, headers=account.headers, timeout=30
    )
    assert res.status_code == 200, res.text
    key = res.json()["key"]
    assert key.startswith("forge-") and "*" not in key
    return key


@pytest.fixture
def make_forge_key(forge_server: Server, account: Account):
    """Gives the test's fresh user the provider keys `{name: (api_key, base_url)}` and returns
    a new Forge key of that user."""

    def make(providers: dict[str, tuple[str, str]]) -> str:
        for name, (api_key, base_url) in providers.items():
            res = requests.post(
                forge_server.api + "/provider-keys/",
                json={"provider_name": name, "api_key": api_key, "base_url": base_url},
                headers=account.headers,
                timeout=30,
            )
            assert res.status_code == 200, res.text
            assert api_key not in res.text, "the provider secret came back unmasked"
        res = requests.post(
            forge_server.api + "/api-keys/", json={"name": "e2e"}, headers=account.headers,
            timeout=30,
        )
        assert res.status_code == 200, res.text
        return res.json()["key"]

    return make
