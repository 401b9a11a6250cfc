//! `GET /metrics` after known traffic: request, attempt, failover, token and latency figures
//! match what was sent; the token guards it; `metrics_bind` moves it to its own listener.

use awc::Client;
use forge_testkit::{Fault, FaultMode};
use serde_json::json;

use crate::harness::{TestServer, client, free_port, get, read};
use crate::routing::common::*;

/// The sum of the samples of `name` whose labels include every one of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            (metric == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\""))))
            .then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

async fn scrape(c: &Client, url: &str, bearer: Option<&str>) -> (u16, String) {
    let mut req = c.get(url);
    if let Some(token) = bearer {
        req = req.insert_header(("authorization", format!("Bearer {token}")));
    }
    let r = read(req.send().await.unwrap()).await;
    (r.status, r.text)
}

#[actix_rt::test]
async fn metrics_report_the_traffic_that_was_sent() {
    let a = openai();
    let b = openai();
    // The first request fails on `a` and moves to `b`; the rest are served by `a`.
    a.set_fault(Fault::status(500), FaultMode::Once);
    let config = two_deployments(&a, &b, "strategy = \"priority\"");
    let s = TestServer::start_with_config(&config).await;
    let c = client();
    for _ in 0..5 {
        let reply = chat(&c, &s, &chat_body("m", false), &[]).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let streamed = chat(&c, &s, &chat_body("m", true), &[]).await;
    assert_eq!(streamed.status, 200);
    // Refused before any upstream: counted, with no route or provider.
    let refused = read(
        c.post(s.url("/v1/chat/completions"))
            .insert_header(("authorization", "Bearer wrong-key"))
            .send_json(&chat_body("m", false))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(refused.status, 401);

    let records = crate::usage::common::wait_for(&s, 7).await;
    assert_eq!(records.len(), 7, "six answers and one failed attempt");
    let (status, text) = scrape(&c, &s.url("/metrics"), None).await;
    assert_eq!(status, 200, "{text}");

    let chat_route = [
        ("dialect", "openai"),
        ("endpoint", "chat/completions"),
        ("route", "m"),
    ];
    assert_eq!(
        sample(&text, "forge_requests_total", &chat_route),
        6.0,
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "forge_requests_total",
            &[("route", "m"), ("provider", "a"), ("status_class", "2xx")]
        ),
        5.0
    );
    assert_eq!(
        sample(
            &text,
            "forge_requests_total",
            &[("route", "m"), ("provider", "b")]
        ),
        1.0,
        "the failed-over request is counted where it was answered"
    );
    assert_eq!(
        sample(
            &text,
            "forge_requests_total",
            &[("route", "none"), ("status_class", "4xx")]
        ),
        1.0
    );
    assert_eq!(
        sample(&text, "forge_requests_in_flight", &[("dialect", "openai")]),
        0.0
    );
    assert_eq!(
        sample(
            &text,
            "forge_upstream_attempts_total",
            &[
                ("deployment", "a/gpt-4o-mini#0"),
                ("outcome", "upstream_5xx")
            ]
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            "forge_upstream_attempts_total",
            &[("deployment", "a/gpt-4o-mini#0"), ("outcome", "ok")]
        ),
        5.0
    );
    assert_eq!(
        sample(&text, "forge_failovers_total", &[("route", "m")]),
        1.0
    );
    assert_eq!(sample(&text, "forge_retries_total", &[("route", "m")]), 0.0);

    // Tokens equal what the usage records hold.
    let input: i64 = records.iter().map(|r| r.input_tokens).sum();
    let output: i64 = records.iter().map(|r| r.output_tokens).sum();
    assert!(input > 0 && output > 0);
    assert_eq!(
        sample(
            &text,
            "forge_tokens_total",
            &[("route", "m"), ("kind", "input")]
        ),
        input as f64
    );
    assert_eq!(
        sample(
            &text,
            "forge_tokens_total",
            &[("route", "m"), ("kind", "output")]
        ),
        output as f64
    );

    // Histograms: one observation per request, sub-millisecond buckets present.
    assert_eq!(
        sample(&text, "forge_request_duration_seconds_count", &chat_route),
        6.0
    );
    assert_eq!(
        sample(
            &text,
            "forge_gateway_overhead_seconds_count",
            &[("endpoint", "chat/completions")]
        ),
        6.0
    );
    // Buckets resolve sub-millisecond overhead: the smallest bound is 50 µs.
    let smallest = text
        .lines()
        .filter(|l| l.starts_with("forge_gateway_overhead_seconds_bucket{"))
        .filter_map(|l| {
            l.split("le=\"")
                .nth(1)?
                .split('"')
                .next()?
                .parse::<f64>()
                .ok()
        })
        .fold(f64::INFINITY, f64::min);
    assert!((smallest - 0.00005).abs() < 1e-12, "{smallest}");
    assert_eq!(
        sample(
            &text,
            "forge_upstream_ttfb_seconds_count",
            &[("provider", "a")]
        ),
        6.0
    );
    assert_eq!(
        sample(
            &text,
            "forge_upstream_ttft_seconds_count",
            &[("route", "m")]
        ),
        1.0
    );

    // Scrape-time figures.
    assert_eq!(sample(&text, "forge_usage_written_total", &[]), 7.0);
    assert_eq!(
        sample(
            &text,
            "forge_deployment_state",
            &[("deployment", "b/gpt-4o-mini#0"), ("state", "ready")]
        ),
        1.0
    );
    assert!(sample(&text, "process_resident_memory_bytes", &[]) > 1e6);
    assert!(sample(&text, "process_open_fds", &[]) > 0.0);
    assert!(text.contains("# TYPE forge_requests_total counter"));
    // No key, user or made-up name is a label.
    assert!(!text.contains(KEY) && !text.contains(OPENAI_KEY) && !text.contains("wrong-key"));

    let om = c
        .get(s.url("/metrics"))
        .insert_header((
            "accept",
            "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;q=0.3",
        ))
        .send()
        .await
        .unwrap();
    assert!(
        om.headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let om = read(om).await;
    assert!(om.text.trim_end().ends_with("# EOF"));
    assert!(om.text.contains("# TYPE forge_requests counter"));
}

#[actix_rt::test]
async fn the_metrics_token_is_required_when_set() {
    let fake = openai();
    let config = format!(
        "[server]\nmetrics_token = \"mt-0123456789\"\n\n{}{}",
        openai_provider("oa", &fake),
        static_key()
    );
    let s = TestServer::start_with_config(&config).await;
    let c = client();
    let (status, text) = scrape(&c, &s.url("/metrics"), None).await;
    assert_eq!(status, 401);
    assert!(!text.contains("mt-0123456789"));
    assert_eq!(
        scrape(&c, &s.url("/metrics"), Some("mt-wrong")).await.0,
        401
    );
    let (status, text) = scrape(&c, &s.url("/metrics"), Some("mt-0123456789")).await;
    assert_eq!(status, 200);
    assert!(text.contains("process_start_time_seconds"));
}

#[actix_rt::test]
async fn metrics_bind_serves_them_apart() {
    let port = free_port();
    let config = format!(
        "[server]\nmetrics_bind = \"127.0.0.1:{port}\"\n\n{}",
        static_key()
    );
    let s = TestServer::start_with_config(&config).await;
    let c = client();
    let main = get(&c, &s.url("/metrics"), None).await;
    assert_eq!(main.status, 404, "not on the main listener: {}", main.text);
    let apart = format!("http://127.0.0.1:{port}");
    let (status, text) = scrape(&c, &format!("{apart}/metrics"), None).await;
    assert_eq!(status, 200);
    assert!(text.contains("process_start_time_seconds"));
    let ready = get(&c, &format!("{apart}/health/ready"), None).await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body, json!({ "status": "ready" }));
    assert_eq!(
        get(&c, &format!("{apart}/v1/models"), None).await.status,
        404
    );
}

#[actix_rt::test]
async fn limit_rejections_are_counted_by_scope_and_kind() {
    let fake = openai();
    let config = format!(
        "{}[[keys]]\nname = \"tests\"\nkey = \"sha256:{}\"\nlimits = {{ rpm = 2 }}\n\n[models.m]\ndeployments = [{{ provider = \"oa\", model = \"gpt-4o-mini\" }}]\n",
        openai_provider("oa", &fake),
        key_digest()
    );
    let s = TestServer::start_with_config(&config).await;
    let c = client();
    let statuses: Vec<u16> = chats(&c, &s, "m", 3, 1)
        .await
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [200, 200, 429]);
    let (_, text) = scrape(&c, &s.url("/metrics"), None).await;
    assert_eq!(
        sample(
            &text,
            "forge_limit_rejections_total",
            &[("scope", "gateway_key"), ("kind", "requests_per_minute")]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        sample(&text, "forge_requests_total", &[("status_class", "4xx")]),
        1.0
    );
}
