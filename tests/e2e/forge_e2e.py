"""Helpers shared by conftest.py and the tests: where the binaries are, ports, processes."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN_DIR = Path(os.environ.get("FORGE_BIN_DIR") or REPO / "target" / "debug")

UPSTREAM_KEY = "sk-e2e-upstream-secret-7f3a9c"
REPLY = "Hello from the fake upstream, streamed in pieces."
UPSTREAM_MODELS = ["gpt-4o-mini", "gpt-4o"]
STREAM_CHUNKS = 4

# The native fakes (`--kind anthropic|gemini`), each with its own key and models.
ANTHROPIC_KEY = "sk-ant-e2e-upstream-secret-41d2"
ANTHROPIC_MODELS = ["claude-sonnet-4-5", "claude-3-5-haiku-latest"]
GEMINI_KEY = "AIza-e2e-upstream-secret-93be"
GEMINI_MODELS = ["gemini-2.5-flash", "gemini-2.5-pro"]

START_DEADLINE_S = 90.0  # a debug build runs migrations before /health/ready answers 200
BIND_ATTEMPTS = 5


def binary(name: str) -> Path:
    path = BIN_DIR / name
    if not path.is_file():
        pytest.fail(
            f"{path} does not exist: build it with "
            "`cargo build -p forge-server -p forge-testkit -p forge-cli` "
            "or point FORGE_BIN_DIR at the directory that holds it"
        )
    return path


def free_port() -> int:
    """A port that was free a moment ago; the caller retries if someone takes it meanwhile."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def unique_name(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(4)}"
