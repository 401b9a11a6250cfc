//! The fake OpenAI upstream as a process, for the Python end-to-end tests.
//!
//! `forge-fake-upstream [--port N] [--api-key KEY] [--models a,b,c] [--reply TEXT]
//! [--stream-chunks N]` prints `listening on http://127.0.0.1:PORT/v1` once bound, then serves
//! until killed. Faults are chosen per request with the `x-fake-fault` header.

use std::io::Write;
use std::process::ExitCode;

use forge_testkit::{FakeOpenAi, FakeOpenAiConfig};

const USAGE: &str = "usage: forge-fake-upstream [--port N] [--api-key KEY] [--models a,b,c] [--reply TEXT] [--stream-chunks N]";

fn parse(args: impl Iterator<Item = String>) -> Result<(FakeOpenAiConfig, u16), String> {
    let mut cfg = FakeOpenAiConfig::default();
    let mut port = 0u16;
    let mut args = args;
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.to_owned());
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--port" => port = value.parse().map_err(|_| format!("bad --port `{value}`"))?,
            "--api-key" => cfg.api_key = value,
            "--models" => {
                cfg.models = value
                    .split(',')
                    .map(str::trim)
                    .filter(|m| !m.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            "--reply" => cfg.reply = Some(value),
            "--stream-chunks" => {
                cfg.stream_chunks = value
                    .parse()
                    .map_err(|_| format!("bad --stream-chunks `{value}`"))?;
            }
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok((cfg, port))
}

fn main() -> ExitCode {
    let (cfg, port) = match parse(std::env::args().skip(1)) {
        Ok(v) => v,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let server = match FakeOpenAi::try_start(cfg, port) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("forge-fake-upstream: cannot listen on 127.0.0.1:{port}: {e}");
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
