//! The streaming side of the benchmark, printing one JSON object per run on stdout.
//!
//! - `bench-stream body --model M [--stream]`: prints the ~1 KB chat request the scenarios send.
//! - `bench-stream probe --addr HOST:PORT --model M [--key K] [--requests 30]`: sequential
//!   streamed requests, one connection each; time to first event and to the end of the stream,
//!   and how many separate reads carried the events (chunk by chunk, or buffered).
//! - `bench-stream hold --addr HOST:PORT --model M --streams N [--key K] [--watch-pid PID]`:
//!   N streams open at once; reports errors, and the RSS of PID once all have started. Streams
//!   not done after `--max-secs` (300) are cut and counted as unfinished.

use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use forge_bench::args::Args;
use forge_bench::bodies::chat_request;
use forge_bench::http1;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PATH: &str = "/v1/chat/completions";

fn main() {
    match run() {
        Ok(out) => println!("{out}"),
        Err(e) => {
            eprintln!("bench-stream: {e}");
            std::process::exit(1);
        }
    }
}

fn run() -> Result<String, String> {
    let args = Args::from_env();
    let command = args.positional.first().cloned().unwrap_or_default();
    let model = args.text("model", "bench/instant");
    if command == "body" {
        return Ok(chat_request(&model, args.flag("stream")));
    }
    let addr: SocketAddr = args.get("addr", SocketAddr::from(([127, 0, 0, 1], 8000)))?;
    let key = args.text("key", "");
    let request = Rc::new(request_bytes(&key, &model));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let local = tokio::task::LocalSet::new();
    match command.as_str() {
        "probe" => {
            let requests: usize = args.get("requests", 30)?;
            let warmup: usize = args.get("warmup", 3)?;
            local.block_on(&runtime, probe(addr, request, requests, warmup))
        }
        "hold" => {
            let streams: usize = args.get("streams", 1000)?;
            let parallel: usize = args.get("connect-parallel", 256)?;
            let pid: u32 = args.get("watch-pid", 0)?;
            let max = Duration::from_secs(args.get("max-secs", 300)?);
            local.block_on(&runtime, hold(addr, request, streams, parallel, pid, max))
        }
        other => Err(format!("unknown command {other:?} (body, probe, hold)")),
    }
}

fn request_bytes(key: &str, model: &str) -> Vec<u8> {
    let body = chat_request(model, true);
    let auth = if key.is_empty() {
        String::new()
    } else {
        format!("authorization: Bearer {key}\r\n")
    };
    format!(
        "POST {PATH} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\naccept: text/event-stream\r\n{auth}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

struct Sample {
    first_event: Duration,
    total: Duration,
    /// Reads that brought body bytes: ~one per event when nothing buffers the stream.
    reads: usize,
}

/// One streamed request on a fresh connection, timed from the request write.
async fn one_stream(
    addr: SocketAddr,
    request: &[u8],
    started: Option<&AtomicUsize>,
) -> Result<Sample, String> {
    let mut sock = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    sock.set_nodelay(true).map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    sock.write_all(request)
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = Vec::with_capacity(2048);
    let mut head_len = None;
    let mut first_event = None;
    let mut reads = 0;
    loop {
        buf.reserve(4096);
        let n = sock
            .read_buf(&mut buf)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            break;
        }
        if head_len.is_none() {
            head_len = http1::head_end(&buf);
        }
        if let Some(h) = head_len {
            if buf.len() > h {
                reads += 1;
            }
            if first_event.is_none() && buf[h..].windows(5).any(|w| w == b"data:") {
                first_event = Some(t0.elapsed());
                if let Some(counter) = started {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
    let total = t0.elapsed();
    let h = head_len.ok_or("no response head")?;
    let head = &buf[..h];
    let status = http1::status(head).unwrap_or(0);
    if status != 200 {
        let body = String::from_utf8_lossy(&buf[h..]);
        return Err(format!("status {status}: {:.200}", body));
    }
    let body = if http1::is_chunked(head) {
        http1::decode_chunked(&buf[h..]).ok_or("malformed chunked body")?
    } else {
        buf[h..].to_vec()
    };
    if !body.windows(12).any(|w| w == b"data: [DONE]") {
        return Err("stream ended without [DONE]".into());
    }
    Ok(Sample {
        first_event: first_event.ok_or("no event")?,
        total,
        reads,
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

async fn probe(
    addr: SocketAddr,
    request: Rc<Vec<u8>>,
    requests: usize,
    warmup: usize,
) -> Result<String, String> {
    for _ in 0..warmup {
        one_stream(addr, &request, None).await?;
    }
    let mut samples = Vec::with_capacity(requests);
    let mut errors = 0usize;
    let mut first_error = String::new();
    for _ in 0..requests {
        match one_stream(addr, &request, None).await {
            Ok(s) => samples.push(s),
            Err(e) => {
                errors += 1;
                if first_error.is_empty() {
                    first_error = e;
                }
            }
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let first = sorted(samples.iter().map(|s| ms(s.first_event)).collect());
    let total = sorted(samples.iter().map(|s| ms(s.total)).collect());
    let reads = sorted(samples.iter().map(|s| s.reads as f64).collect());
    Ok(format!(
        r#"{{"requests":{},"errors":{errors},"first_error":{:?},"first_event_p50_ms":{:.4},"first_event_p99_ms":{:.4},"total_p50_ms":{:.4},"total_p99_ms":{:.4},"reads_p50":{}}}"#,
        samples.len(),
        first_error,
        percentile(&first, 50.0),
        percentile(&first, 99.0),
        percentile(&total, 50.0),
        percentile(&total, 99.0),
        percentile(&reads, 50.0),
    ))
}

fn rss_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

async fn hold(
    addr: SocketAddr,
    request: Rc<Vec<u8>>,
    streams: usize,
    parallel: usize,
    pid: u32,
    max: Duration,
) -> Result<String, String> {
    let started = Rc::new(AtomicUsize::new(0));
    // Bounds connections still waiting for their first event, so the ramp-up does not
    // overflow listen backlogs (which would turn into SYN retries, not errors).
    let gate = Rc::new(tokio::sync::Semaphore::new(parallel.max(1)));
    let t0 = Instant::now();
    let mut tasks = Vec::with_capacity(streams);
    for _ in 0..streams {
        let (request, started, gate) = (request.clone(), started.clone(), gate.clone());
        tasks.push(tokio::task::spawn_local(async move {
            let permit = gate.acquire().await.map_err(|e| e.to_string())?;
            let before = started.load(Ordering::Relaxed);
            let mut permit = Some(permit);
            let fut = one_stream(addr, &request, Some(&started));
            tokio::pin!(fut);
            loop {
                tokio::select! {
                    r = &mut fut => return r,
                    _ = tokio::time::sleep(Duration::from_millis(20)), if permit.is_some() => {
                        if started.load(Ordering::Relaxed) > before {
                            permit = None;
                        }
                    }
                }
            }
        }));
    }
    // Wait until every stream has its first event (or the ramp stalls), then sample RSS.
    let mut last_progress = (0usize, Instant::now());
    let all_started_s = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = started.load(Ordering::Relaxed);
        if now >= streams {
            break t0.elapsed().as_secs_f64();
        }
        if now != last_progress.0 {
            last_progress = (now, Instant::now());
        } else if last_progress.1.elapsed() > Duration::from_secs(15) {
            break f64::NAN;
        }
    };
    let started_count = started.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_held = if pid > 0 { rss_kb(pid, "VmRSS:") } else { 0 };
    let mut ok = 0usize;
    let mut errors = 0usize;
    let mut unfinished = 0usize;
    let mut first_error = String::new();
    let deadline = tokio::time::Instant::from_std(t0 + max);
    for mut task in tasks {
        let Ok(result) = tokio::time::timeout_at(deadline, &mut task).await else {
            task.abort();
            unfinished += 1;
            continue;
        };
        match result {
            Ok(Ok(_)) => ok += 1,
            Ok(Err(e)) => {
                errors += 1;
                if first_error.is_empty() {
                    first_error = e;
                }
            }
            Err(e) => {
                errors += 1;
                if first_error.is_empty() {
                    first_error = e.to_string();
                }
            }
        }
    }
    Ok(format!(
        r#"{{"streams":{streams},"started":{started_count},"ok":{ok},"errors":{errors},"unfinished":{unfinished},"first_error":{:?},"all_started_s":{},"rss_held_kb":{rss_held},"elapsed_s":{:.2}}}"#,
        first_error,
        if all_started_s.is_nan() {
            "null".to_owned()
        } else {
            format!("{all_started_s:.2}")
        },
        t0.elapsed().as_secs_f64(),
    ))
}
