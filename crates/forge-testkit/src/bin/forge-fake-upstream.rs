//! The fake upstreams as a process, for the Python end-to-end tests.
//!
//! `forge-fake-upstream [--kind openai|anthropic|gemini|cohere] [--port N] [--api-key KEY]
//! [--models a,b,c] [--reply TEXT] [--stream-chunks N]` prints `listening on BASE_URL` once
//! bound (`http://127.0.0.1:PORT/v1`, or `/v1beta` for gemini, the bare host for cohere), then serves until killed.
//! Faults are chosen per request with the `x-fake-fault` header.

use std::io::Write;
use std::process::ExitCode;

use forge_testkit::{
    FakeAnthropic, FakeAnthropicConfig, FakeCohere, FakeCohereConfig, FakeGemini, FakeGeminiConfig,
    FakeOpenAi, FakeOpenAiConfig,
};

const USAGE: &str = "usage: forge-fake-upstream [--kind openai|anthropic|gemini|cohere] [--port N] [--api-key KEY] [--models a,b,c] [--reply TEXT] [--stream-chunks N]";

#[derive(Default)]
struct Args {
    kind: Option<String>,
    port: u16,
    api_key: Option<String>,
    models: Option<Vec<String>>,
    reply: Option<String>,
    stream_chunks: Option<usize>,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut out = Args::default();
    let mut args = args;
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.to_owned());
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--kind" => out.kind = Some(value),
            "--port" => out.port = value.parse().map_err(|_| format!("bad --port `{value}`"))?,
            "--api-key" => out.api_key = Some(value),
            "--models" => {
                out.models = Some(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|m| !m.is_empty())
                        .map(str::to_owned)
                        .collect(),
                );
            }
            "--reply" => out.reply = Some(value),
            "--stream-chunks" => {
                out.stream_chunks = Some(
                    value
                        .parse()
                        .map_err(|_| format!("bad --stream-chunks `{value}`"))?,
                );
            }
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok(out)
}

/// Applies the flags given to a kind's default configuration (same four fields everywhere).
macro_rules! configure {
    ($cfg:expr, $args:expr) => {{
        let mut cfg = $cfg;
        if let Some(key) = $args.api_key {
            cfg.api_key = key;
        }
        if let Some(models) = $args.models {
            cfg.models = models;
        }
        if $args.reply.is_some() {
            cfg.reply = $args.reply;
        }
        if let Some(n) = $args.stream_chunks {
            cfg.stream_chunks = n;
        }
        cfg
    }};
}

/// Keeps whichever server runs alive until the process is killed.
enum Running {
    OpenAi(FakeOpenAi),
    Anthropic(FakeAnthropic),
    Gemini(FakeGemini),
    Cohere(FakeCohere),
}

impl Running {
    fn base_url(&self) -> String {
        match self {
            Running::OpenAi(s) => s.base_url(),
            Running::Anthropic(s) => s.base_url(),
            Running::Gemini(s) => s.base_url(),
            Running::Cohere(s) => s.base_url(),
        }
    }
}

fn start(args: Args) -> Result<Running, String> {
    let port = args.port;
    let kind = args.kind.clone().unwrap_or_else(|| "openai".to_owned());
    let started = match kind.as_str() {
        "openai" => FakeOpenAi::try_start(configure!(FakeOpenAiConfig::default(), args), port)
            .map(Running::OpenAi),
        "anthropic" => {
            FakeAnthropic::try_start(configure!(FakeAnthropicConfig::default(), args), port)
                .map(Running::Anthropic)
        }
        "gemini" => FakeGemini::try_start(configure!(FakeGeminiConfig::default(), args), port)
            .map(Running::Gemini),
        "cohere" => FakeCohere::try_start(configure!(FakeCohereConfig::default(), args), port)
            .map(Running::Cohere),
        other => return Err(format!("unknown --kind `{other}`\n{USAGE}")),
    };
    started.map_err(|e| format!("forge-fake-upstream: cannot listen on 127.0.0.1:{port}: {e}"))
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(v) => v,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let server = match start(args) {
        Ok(s) => s,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    if writeln!(out, "listening on {}", server.base_url())
        .and_then(|()| out.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    drop(out);
    loop {
        std::thread::park();
    }
}
