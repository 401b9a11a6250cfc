"""The real coding-agent CLIs (Claude Code, Codex, Gemini CLI, pinned in tests/agents) run
non-interactively through forge-server against the four fake upstreams of agent_upstreams.py:
every CLI against every upstream kind for a one-shot answer, and one tool round trip per CLI
through an upstream of another dialect (the CLI's real read-file or shell tool reads a file
holding a random token; the fake echoes the tool result back).

The CLIs come from $FORGE_AGENT_BIN_DIR (default tests/agents/node_modules/.bin; install them
with `npm ci` in tests/agents, as scripts/test.sh does). Each run has its own HOME (and
CODEX_HOME, XDG dirs) under the test's tmp_path, closed stdin and a timeout.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent_upstreams import (
    RESULT_PREFIX,
    AnthropicAgentUpstream,
    ChatOnlyAgentUpstream,
    GeminiAgentUpstream,
    ResponsesAgentUpstream,
    reply_text,
)
from forge_e2e import REPO, log_tail

AGENT_BIN_DIR = Path(os.environ.get("FORGE_AGENT_BIN_DIR")
                     or REPO / "tests" / "agents" / "node_modules" / ".bin")
RUN_TIMEOUT_S = 120
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")

ANTHROPIC_AGENT_KEY = "sk-ant-agent-upstream-5c81e0"
OPENAI_AGENT_KEY = "sk-agent-upstream-openai-2b7d94"
CHAT_ONLY_AGENT_KEY = "sk-agent-upstream-chatonly-e61f3a"
GEMINI_AGENT_KEY = "AIza-agent-upstream-0d4c7b"


@dataclass(frozen=True)
class UpstreamKind:
    fixture: str  # the session fixture serving it
    model: str  # as the CLIs address it through Forge: <provider key name>/<model>
    reply: str  # what its fake answers a plain prompt


# provider key name -> upstream
UPSTREAMS = {
    "anthropic": UpstreamKind("anthropic_agent_upstream", "anthropic/claude-sonnet-4-5",
                              reply_text("anthropic")),
    "openai": UpstreamKind("responses_agent_upstream", "openai/gpt-5.1-codex",
                           reply_text("responses")),
    "chatonly": UpstreamKind("chat_only_agent_upstream", "chatonly/gpt-4o",
                             reply_text("chat-only")),
    "gemini": UpstreamKind("gemini_agent_upstream", "gemini/gemini-2.5-flash",
                           reply_text("gemini")),
}

CLIS = ("claude", "codex", "gemini")

# The tool each CLI really declares for reading a file, and its arguments for `path`.
READ_TOOLS = {
    "claude": ("Read", lambda path: {"file_path": str(path)}),
    "codex": ("exec_command", lambda path: {"cmd": f"cat {path}"}),
    "gemini": ("read_file", lambda path: {"file_path": str(path)}),
}

# One tool round trip per CLI, through an upstream that speaks another dialect.
TOOL_CELLS = [
    ("claude", "chatonly"), ("claude", "gemini"),
    ("codex", "anthropic"), ("codex", "chatonly"), ("codex", "gemini"),
    ("gemini", "openai"), ("gemini", "anthropic"),
]


# --- fixtures -------------------------------------------------------------------------------------

def _serve(cls, api_key: str):
    fake = cls(api_key)
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture(scope="session")
def anthropic_agent_upstream():
    yield from _serve(AnthropicAgentUpstream, ANTHROPIC_AGENT_KEY)


@pytest.fixture(scope="session")
def responses_agent_upstream():
    yield from _serve(ResponsesAgentUpstream, OPENAI_AGENT_KEY)


@pytest.fixture(scope="session")
def chat_only_agent_upstream():
    yield from _serve(ChatOnlyAgentUpstream, CHAT_ONLY_AGENT_KEY)


@pytest.fixture(scope="session")
def gemini_agent_upstream():
    yield from _serve(GeminiAgentUpstream, GEMINI_AGENT_KEY)


@pytest.fixture
def agent_key(request, make_forge_key) -> str:
    """A Forge key of a fresh user holding one provider key per fake upstream."""
    providers = {}
    for name, kind in UPSTREAMS.items():
        fake = request.getfixturevalue(kind.fixture)
        providers[name] = (fake.api_key, fake.base_url)
    return make_forge_key(providers)


@pytest.fixture
def forge_log(tmp_path_factory):
    """The tail of the session forge-server's log (conftest.run_forge_server writes it under
    the fixture's `forge-server*` directory)."""

    def tail(lines: int = 60) -> str:
        logs = sorted(tmp_path_factory.getbasetemp().glob("forge-server*/server-*.log"),
                      key=lambda p: p.stat().st_mtime)
        if not logs:
            return "(no forge-server log found)"
        return ANSI_ESCAPE.sub("", log_tail(logs[-1], lines))

    return tail


# --- running a CLI --------------------------------------------------------------------------------

def agent_bin(name: str) -> Path:
    path = AGENT_BIN_DIR / name
    if not path.exists():
        pytest.fail(
            f"{path} does not exist: install the pinned agent CLIs with `npm ci` in "
            f"{REPO / 'tests' / 'agents'} (scripts/test.sh does) or point FORGE_AGENT_BIN_DIR "
            "at the directory that holds claude, codex and gemini"
        )
    return path


@dataclass
class Run:
    argv: list[str]
    returncode: int | None  # None: killed at the timeout
    stdout: str
    stderr: str

    def report(self) -> str:
        status = "timed out" if self.returncode is None else f"exit code {self.returncode}"
        return (f"$ {' '.join(self.argv)}\n{status}\n--- stdout ---\n{self.stdout[-6000:]}\n"
                f"--- stderr ---\n{self.stderr[-6000:]}")


def base_env(home: Path) -> dict[str, str]:
    """A clean environment: nothing of the caller's (API keys, CLI settings) leaks in."""
    env = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT")
           if k in os.environ}
    env.update({
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "NO_COLOR": "1",
        "TERM": "dumb",
        "CI": "1",
    })
    return env


def claude_command(origin: str, key: str, model: str, prompt: str, home: Path,
                   tool: str | None) -> tuple[list[str], dict[str, str]]:
    env = base_env(home)
    env.update({
        "ANTHROPIC_BASE_URL": origin,
        "ANTHROPIC_API_KEY": key,
        "ANTHROPIC_MODEL": model,
        "ANTHROPIC_SMALL_FAST_MODEL": model,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": model,
        "ANTHROPIC_DEFAULT_SONNET_MODEL": model,
        "ANTHROPIC_DEFAULT_OPUS_MODEL": model,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_MAX_RETRIES": "0",  # an error shows as itself, not after backoffs
    })
    argv = [str(agent_bin("claude")), "-p", prompt, "--model", model]
    if tool:
        argv += ["--allowedTools", tool]
    return argv, env


def codex_command(origin: str, key: str, model: str, prompt: str, home: Path,
                  tool: str | None) -> tuple[list[str], dict[str, str]]:
    env = base_env(home)
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    (codex_home / "config.toml").write_text(f"""\
model = {json.dumps(model)}
model_provider = "forge"
check_for_update_on_startup = false

[model_providers.forge]
name = "Forge"
base_url = {json.dumps(origin + "/v1")}
env_key = "FORGE_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[analytics]
enabled = false
""")
    env.update({"CODEX_HOME": str(codex_home), "FORGE_API_KEY": key})
    argv = [str(agent_bin("codex")), "exec", "--strict-config", "--skip-git-repo-check",
            "--dangerously-bypass-approvals-and-sandbox", prompt]
    return argv, env


def gemini_command(origin: str, key: str, model: str, prompt: str, home: Path,
                   tool: str | None) -> tuple[list[str], dict[str, str]]:
    env = base_env(home)
    settings = home / ".gemini" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False,
                    "maxAttempts": 1, "retryFetchErrors": False},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
    }, indent=2))
    env.update({
        "GOOGLE_GEMINI_BASE_URL": origin,
        "GEMINI_API_KEY": key,
        "GEMINI_CLI_TRUST_WORKSPACE": "true",
    })
    argv = [str(agent_bin("gemini")), "-p", prompt, "-m", model]
    return argv, env


COMMANDS = {"claude": claude_command, "codex": codex_command, "gemini": gemini_command}


def run_cli(cli: str, origin: str, key: str, model: str, prompt: str, tmp_path: Path,
            tool: str | None = None) -> Run:
    """Runs `cli` once in `tmp_path/work` with its own HOME; stdout and stderr go to files (a
    leftover grandchild holding a pipe cannot hang the test), and the whole process group is
    killed at the timeout and after the run."""
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir(exist_ok=True)
    work.mkdir(exist_ok=True)
    argv, env = COMMANDS[cli](origin, key, model, prompt, home, tool)
    out_path, err_path = tmp_path / f"{cli}.stdout", tmp_path / f"{cli}.stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(argv, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err, start_new_session=True)
        try:
            returncode = proc.wait(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            returncode = None
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    return Run(argv=argv, returncode=returncode,
               stdout=out_path.read_text(errors="replace"),
               stderr=err_path.read_text(errors="replace"))


class Records:
    """What a session fake recorded from the moment this was made on: this test's requests."""

    def __init__(self, fake) -> None:
        self.fake = fake
        self._paths, self._errors = len(fake.paths), len(fake.errors)
        self._requests = len(fake.requests)

    def describe(self) -> str:
        name = type(self.fake).__name__
        text = f"--- {name}: requests ---\n" + "\n".join(self.fake.paths[self._paths:][-20:])
        bodies = self.fake.requests[self._requests:]
        if bodies:
            text += f"\n--- {name}: the last request, in short ---\n" + shape(bodies[-1])
        errors = self.fake.errors[self._errors:]
        if errors:
            text += (f"\n--- {name}: errors it answered ---\n"
                     + "\n".join(e[:1500] for e in errors[-5:]))
        return text


def shape(body: object) -> str:
    """The structure of a request body, for a failure message: each turn's role and a cut of
    its content, and the declared tool names."""
    def cut(value: object) -> str:
        text = value if isinstance(value, str) else json.dumps(value)
        return text if len(text) <= 300 else text[:150] + " ... " + text[-150:]
    if not isinstance(body, dict):
        return cut(body)
    turns = body.get("messages") or body.get("input") or body.get("contents") or []
    lines = [f"model={body.get('model')!r} stream={body.get('stream')!r}"]
    for turn in turns if isinstance(turns, list) else [turns]:
        if isinstance(turn, dict):
            role = turn.get("role") or turn.get("type")
            content = turn.get("content", turn.get("parts", turn))
            lines.append(f"  {role}: {cut(content)}")
    names = []
    for tool in body.get("tools") or []:
        if isinstance(tool, dict):
            fn = tool.get("function") or {}
            names.append(tool.get("name") or fn.get("name")
                         or ",".join(d.get("name", "?") for d in tool.get("functionDeclarations", []))
                         or tool.get("type"))
    lines.append(f"  tools: {names}")
    return "\n".join(lines)


def explain(run: Run, records: Records, forge_log) -> str:
    return "\n".join([run.report(), records.describe(),
                      "--- forge-server log (tail) ---\n" + forge_log()])


# --- tests ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("upstream", sorted(UPSTREAMS))
@pytest.mark.parametrize("cli", CLIS)
def test_one_shot(cli, upstream, request, forge_server, agent_key, forge_log, tmp_path):
    kind = UPSTREAMS[upstream]
    records = Records(request.getfixturevalue(kind.fixture))
    run = run_cli(cli, forge_server.url, agent_key, kind.model, "Say hi", tmp_path)
    why = explain(run, records, forge_log)
    assert run.returncode == 0, why
    assert kind.reply in run.stdout, why


@pytest.mark.parametrize(("cli", "upstream"), TOOL_CELLS)
def test_tool_round_trip(cli, upstream, request, forge_server, agent_key, forge_log, tmp_path):
    kind = UPSTREAMS[upstream]
    records = Records(request.getfixturevalue(kind.fixture))
    token = "forge-token-" + secrets.token_hex(8)
    work = tmp_path / "work"
    work.mkdir()
    secret = work / "token.txt"
    secret.write_text(token + "\n")
    tool, arguments = READ_TOOLS[cli]
    prompt = f"FORGE_CALL {tool} {json.dumps(arguments(secret))}"
    run = run_cli(cli, forge_server.url, agent_key, kind.model, prompt, tmp_path, tool=tool)
    why = explain(run, records, forge_log)
    assert run.returncode == 0, why
    assert RESULT_PREFIX in run.stdout, why
    assert token in run.stdout, why
