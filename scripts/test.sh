#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine, installing what the tests need:
#   1. the supply-chain policy (cargo deny: bans, licenses, sources),
#   2. all Rust tests with cargo-nextest (unit, integration against real HTTP fake upstreams,
#      storage and server suites on SQLite and on the local PostgreSQL),
#   3. end-to-end tests in Python with the official `openai` SDK and the real forge-cli binary,
#   4. the real coding-agent CLIs (Claude Code, Codex, Gemini CLI, pinned in tests/agents) run
#      through forge-server against fake upstreams of every kind.
# Needs PostgreSQL at $FORGE_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test) and
# Redis at 127.0.0.1:6379 (the multi-instance limit tests); both are started if installed and down.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*" >&2; }

ensure_cargo_tool() { # binary, crate
  if ! command -v "$1" >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/$1" ]; then
    log "installing $2"
    cargo install --locked "$2"
  fi
}

ensure_postgres() {
  if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
    log "starting PostgreSQL"
    if command -v pg_ctlcluster >/dev/null 2>&1; then
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    fi
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
}

ensure_redis() {
  if command -v redis-cli >/dev/null 2>&1 && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    log "starting Redis"
    if command -v redis-server >/dev/null 2>&1; then
      redis-server --daemonize yes --save '' --appendonly no >/dev/null || true
    fi
    for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
  fi
}

export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
ensure_cargo_tool cargo-nextest cargo-nextest
ensure_cargo_tool cargo-deny cargo-deny
ensure_postgres
ensure_redis

log "cargo deny check bans licenses sources"
cargo deny --log-level error check bans licenses sources

log "import cycles in the server crate (scripts/import-cycles)"
python3 scripts/import-cycles

log "building the workspace (binaries are used by the end-to-end tests)"
cargo build --workspace --bins --locked

log "checking the micro-benchmarks compile (nextest does not build benches)"
cargo check -p forge-bench --benches --locked

log "Rust tests (cargo nextest)"
cargo nextest run --workspace --locked --no-fail-fast

log "Python end-to-end tests (openai SDK, forge-cli)"
venv=target/e2e-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
stamp="$venv/.requirements.sha256"
want=$(sha256sum tests/e2e/requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt
  echo "$want" > "$stamp"
fi

log "coding-agent CLIs (npm, pinned in tests/agents/package-lock.json)"
agents=tests/agents
want=$(sha256sum "$agents/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$agents/node_modules/.forge-stamp" 2>/dev/null)" != "$want" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
  fi
  (cd "$agents" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" > "$agents/node_modules/.forge-stamp"
fi

FORGE_BIN_DIR="$PWD/target/debug" FORGE_AGENT_BIN_DIR="$PWD/$agents/node_modules/.bin" \
  "$venv/bin/python" -m pytest -q tests/e2e
