//! A fake OpenAI-compatible upstream for the benchmark: raw HTTP/1.1 on one tokio thread,
//! keep-alive, fixed bodies, an optional delay and paced SSE chunks (see
//! `forge_bench::behaviour`). It answers any path the same way.
//!
//! Usage: `bench-upstream [--port 9200] [--bind 127.0.0.1] [--backlog 16384]`

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use forge_bench::args::Args;
use forge_bench::behaviour::Behaviour;
use forge_bench::bodies::{DONE_EVENT, chat_chunk_event, chat_response};
use forge_bench::http1::{self, LAST_CHUNK, push_chunk};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, sleep, sleep_until};

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 16 * 1024 * 1024;
const MODEL: &str = "bench-model";

fn main() {
    if let Err(e) = run() {
        eprintln!("bench-upstream: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args = Args::from_env();
    let port: u16 = args.get("port", 9200)?;
    let bind: std::net::IpAddr = args.get("bind", [127, 0, 0, 1].into())?;
    let backlog: u32 = args.get("backlog", 16_384)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(serve(SocketAddr::new(bind, port), backlog))
}

async fn serve(addr: SocketAddr, backlog: u32) -> Result<(), String> {
    let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket.set_reuseaddr(true).map_err(|e| e.to_string())?;
    socket.bind(addr).map_err(|e| format!("bind {addr}: {e}"))?;
    let listener = socket.listen(backlog).map_err(|e| e.to_string())?;
    let json = Arc::new(json_response());
    eprintln!("bench-upstream listening on {addr}");
    loop {
        match listener.accept().await {
            Ok((sock, _)) => {
                let json = json.clone();
                tokio::spawn(async move {
                    // A peer that goes away mid-exchange is normal under load.
                    let _ = connection(sock, &json).await;
                });
            }
            Err(e) => {
                // Out of descriptors, most likely: back off rather than spin.
                eprintln!("bench-upstream: accept: {e}");
                sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

fn json_response() -> Vec<u8> {
    let body = chat_response(MODEL);
    let mut out = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

/// Reads more bytes into `buf`; `Ok(false)` at end of stream.
async fn fill(sock: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    buf.reserve(4096);
    Ok(sock.read_buf(buf).await? > 0)
}

async fn connection(mut sock: TcpStream, json: &[u8]) -> std::io::Result<()> {
    sock.set_nodelay(true)?;
    let mut buf = Vec::new();
    loop {
        let head_len = loop {
            if let Some(n) = http1::head_end(&buf) {
                break n;
            }
            if buf.len() > MAX_HEAD || !fill(&mut sock, &mut buf).await? {
                return Ok(());
            }
        };
        let body_len = http1::content_length(&buf[..head_len])
            .unwrap_or(0)
            .min(MAX_BODY);
        while buf.len() < head_len + body_len {
            if !fill(&mut sock, &mut buf).await? {
                return Ok(());
            }
        }
        let close = http1::wants_close(&buf[..head_len]);
        let behaviour = Behaviour::from_body(&buf[head_len..head_len + body_len]);
        buf.drain(..head_len + body_len);
        if !behaviour.delay.is_zero() {
            sleep(behaviour.delay).await;
        }
        if behaviour.stream {
            stream(&mut sock, &behaviour, close).await?;
        } else if close {
            let mut out = json.to_vec();
            out.splice(17..17, b"connection: close\r\n".iter().copied());
            sock.write_all(&out).await?;
        } else {
            sock.write_all(json).await?;
        }
        if close {
            return sock.shutdown().await;
        }
    }
}

/// An SSE answer in chunked coding: all at once when there is no interval, else one event per
/// write, each at its own deadline (so pacing does not drift with write times).
async fn stream(sock: &mut TcpStream, b: &Behaviour, close: bool) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n");
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    let start = Instant::now();
    for index in 0..b.chunks {
        if index > 0 && !b.interval.is_zero() {
            sock.write_all(&out).await?;
            out.clear();
            sleep_until(start + b.interval * index).await;
        }
        push_chunk(
            &mut out,
            chat_chunk_event(MODEL, index, b.chunks).as_bytes(),
        );
    }
    push_chunk(&mut out, DONE_EVENT.as_bytes());
    out.extend_from_slice(LAST_CHUNK);
    sock.write_all(&out).await
}
