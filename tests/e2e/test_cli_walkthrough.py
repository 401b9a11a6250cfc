"""The README walkthrough, through the real `forge-cli` binary against the real server."""

import os
import re
import stat
import subprocess

from forge_e2e import binary, unique_name

MODEL = "openai/gpt-4o-mini"


def make_cli(forge_server, config_dir):
    env = {k: v for k, v in os.environ.items() if k not in ("FORGE_API_KEY", "XDG_CONFIG_HOME")}
    env["FORGE_SERVER"] = forge_server.url
    env["FORGE_CONFIG_DIR"] = str(config_dir)

    def cli(*args, ok=True):
        res = subprocess.run(
            [str(binary("forge-cli")), *args],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if ok:
            assert res.returncode == 0, f"forge-cli {args[0]} failed:\n{res.stdout}\n{res.stderr}"
        else:
            assert res.returncode != 0, f"forge-cli {args[0]} should have failed:\n{res.stdout}"
        return res

    return cli


def test_cli_walkthrough(forge_server, fake_upstream, tmp_path):
    config_dir = tmp_path / "forge-config"
    cli = make_cli(forge_server, config_dir)
    username = unique_name("cli")
    password = "walkthrough password 1"

    out = cli("register", "--username", username, "--email", f"{username}@example.com",
              "--password", password)
    assert username in out.stdout

    out = cli("login", "--username", username, "--password", password)
    assert password not in out.stdout + out.stderr
    session = config_dir / "config.json"
    assert stat.S_IMODE(session.stat().st_mode) == 0o600
    assert password not in session.read_text()

    out = cli("whoami")
    assert username in out.stdout

    out = cli("keys", "create", "--name", "walkthrough")
    assert re.search(r"forge-[0-9a-f]{32,}", out.stdout), out.stdout

    out = cli("add-key", "--provider", "openai", "--api-key", fake_upstream.api_key,
              "--base-url", fake_upstream.base_url)
    assert fake_upstream.api_key not in out.stdout + out.stderr

    out = cli("test", "--model", MODEL, "--message", "hi")
    assert out.stdout.strip() == fake_upstream.reply

    out = cli("test", "--model", MODEL, "--message", "hi", "--stream")
    assert out.stdout.strip() == fake_upstream.reply

    out = cli("models")
    assert MODEL in out.stdout.split()

    out = cli("list-keys")
    assert "openai" in out.stdout
    assert fake_upstream.api_key not in out.stdout, "list-keys showed the full provider key"
    assert "****" in out.stdout and fake_upstream.api_key[-4:] in out.stdout, out.stdout

    out = cli("keys", "list")
    assert "walkthrough" in out.stdout

    out = cli("test", "--model", "openai/no-such-model", "--message", "hi", ok=False)
    assert "404" in out.stderr, out.stderr


def test_cli_reports_a_wrong_password(forge_server, tmp_path):
    cli = make_cli(forge_server, tmp_path / "cfg")
    username = unique_name("cli")
    cli("register", "--username", username, "--email", f"{username}@example.com",
        "--password", "right password")
    out = cli("login", "--username", username, "--password", "wrong password", ok=False)
    assert "401" in out.stderr and "Incorrect username or password" in out.stderr, out.stderr
    assert not (tmp_path / "cfg" / "config.json").exists()


def test_the_first_minutes_with_the_mock_provider(forge_server, tmp_path):
    """No real key and no fake upstream: `add-key --provider mock`, then chat, stream, models,
    and the official SDK, all answered by the built-in mock."""
    from openai import OpenAI

    cli = make_cli(forge_server, tmp_path / "cfg")
    username = unique_name("mock")
    cli("register", "--username", username, "--email", f"{username}@example.com",
        "--password", "mock password 1")
    cli("login", "--username", username, "--password", "mock password 1")
    out = cli("keys", "create", "--name", "mock")
    key = re.search(r"forge-[0-9a-f]{32,}", out.stdout).group(0)
    cli("add-key", "--provider", "mock")

    want = 'Mock reply from mock-only-gpt-4o: you said "Say hi".'
    out = cli("test", "--model", "mock/mock-only-gpt-4o", "--message", "Say hi")
    assert out.stdout.strip() == want
    out = cli("test", "--model", "mock/mock-only-gpt-4o", "--message", "Say hi", "--stream")
    assert out.stdout.strip() == want
    out = cli("models")
    assert "mock/mock-only-gpt-4o" in out.stdout.split()

    client = OpenAI(base_url=forge_server.api, api_key=key)
    chat = client.chat.completions.create(model="mock/mock-only-gpt-4o-mini",
                                          messages=[{"role": "user", "content": "Hello"}])
    assert chat.choices[0].message.content == \
        'Mock reply from mock-only-gpt-4o-mini: you said "Hello".'
    assert chat.usage.completion_tokens == 7
    pieces = [c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model="mock/mock-only-gpt-4o-mini", stream=True,
        messages=[{"role": "user", "content": "Hello"}]) if c.choices]
    assert len(pieces) > 3 and "".join(pieces) == chat.choices[0].message.content
    # The SDK asks for base64 embeddings and decodes them.
    emb = client.embeddings.create(model="mock/mock-only-text-embedding-3-small",
                                   input=["one", "two"], dimensions=16)
    assert [len(d.embedding) for d in emb.data] == [16, 16]
    assert abs(sum(x * x for x in emb.data[0].embedding) - 1.0) < 1e-3
