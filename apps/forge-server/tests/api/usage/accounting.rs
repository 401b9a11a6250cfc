//! Every attempt is recorded once, with the upstream's own token counts, streamed or not.

use awc::Client;
use futures_util::StreamExt;
use futures_util::future::join_all;
use serde_json::{Value, json};

use super::common::*;
use crate::harness::{Backend, TestServer, client, read};
use crate::on_both_backends;
use crate::routing::common::{
    KEY, anthropic, anthropic_provider, chat_body, openai, openai_provider, static_key,
};

fn config(oa: &forge_testkit::FakeOpenAi, claude: &forge_testkit::FakeAnthropic) -> String {
    format!(
        "{}{}{}[models.m]\ndeployments = [{{ provider = \"oa\", model = \"gpt-4o-mini\" }}]\n\n[models.c]\ndeployments = [{{ provider = \"claude\", model = \"claude-sonnet-4-5\" }}]\n\n[[prices]]\nmodel = \"gpt-4o-mini\"\ninput = \"1.00\"\ncached_input = \"0.50\"\noutput = \"2.00\"\n",
        openai_provider("oa", oa),
        anthropic_provider("claude", claude),
        static_key(),
    )
}

async fn post(c: &Client, s: &TestServer, path: &str, body: &Value) -> awc::ClientResponse {
    c.post(s.url(path))
        .insert_header(("authorization", format!("Bearer {KEY}")))
        .insert_header(("anthropic-version", "2023-06-01"))
        .send_json(body)
        .await
        .unwrap()
}

/// Reads a whole response (streamed or not) and returns its text.
async fn drain(mut resp: awc::ClientResponse) -> String {
    let mut out = Vec::new();
    while let Some(chunk) = resp.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn messages_body(stream: bool) -> Value {
    json!({
        "model": "c",
        "max_tokens": 64,
        "stream": stream,
        "messages": [{"role": "user", "content": "hello"}],
    })
}

async fn totals_equal_what_the_upstreams_reported(backend: Backend) {
    let oa = openai();
    let claude = anthropic();
    let server = TestServer::start_with_config_on(backend, &config(&oa, &claude)).await;
    let c = client();
    // What the upstreams report for these exact requests, learnt from unstreamed answers.
    let one = read(post(&c, &server, "/v1/chat/completions", &chat_body("m", false)).await).await;
    let (oa_in, oa_out) = (
        one.body["usage"]["prompt_tokens"].as_i64().unwrap(),
        one.body["usage"]["completion_tokens"].as_i64().unwrap(),
    );
    let one = read(post(&c, &server, "/v1/messages", &messages_body(false)).await).await;
    let (cl_in, cl_out) = (
        one.body["usage"]["input_tokens"].as_i64().unwrap(),
        one.body["usage"]["output_tokens"].as_i64().unwrap(),
    );
    // Mixed traffic: OpenAI passthrough streamed (without and with include_usage) and not,
    // Anthropic passthrough streamed, and OpenAI clients translated onto Anthropic.
    let with_usage = json!({
        "model": "m", "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "hello"}],
    });
    let kinds: Vec<(&str, Value, bool)> = vec![
        ("/v1/chat/completions", chat_body("m", false), true),
        ("/v1/chat/completions", chat_body("m", true), true),
        ("/v1/chat/completions", with_usage.clone(), true),
        ("/v1/messages", messages_body(true), false),
        ("/v1/chat/completions", chat_body("c", true), false),
    ];
    let rounds = 200;
    let mut expected = (oa_in + cl_in, oa_out + cl_out);
    for round in 0..rounds {
        let replies = join_all(kinds.iter().map(|(path, body, _)| {
            let c = c.clone();
            let server = &server;
            async move { drain(post(&c, server, path, body).await).await }
        }))
        .await;
        for ((path, body, to_openai), text) in kinds.iter().zip(&replies) {
            let (i, o) = if *to_openai {
                (oa_in, oa_out)
            } else {
                (cl_in, cl_out)
            };
            expected = (expected.0 + i, expected.1 + o);
            if round == 0 && body["stream"] == true && *path == "/v1/chat/completions" {
                // The usage chunk reaches the client only when it asked for it.
                let asked = body.get("stream_options").is_some();
                assert_eq!(text.contains("\"usage\":{"), asked, "{text}");
                assert!(text.trim_end().ends_with("data: [DONE]"));
            }
        }
    }
    let n = 2 + rounds * kinds.len();
    let records = wait_for(&server, n).await;
    assert_eq!(records.len(), n, "one record per attempt");
    let totals = records.iter().fold((0, 0), |(i, o), r| {
        (i + r.input_tokens, o + r.output_tokens)
    });
    assert_eq!(totals, expected);
    assert!(
        records
            .iter()
            .all(|r| !r.estimated && r.error_class.is_none() && r.status == 200)
    );
    let mut ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "record ids are unique");
    // Streamed records say so and carry a time to first token.
    assert!(
        records
            .iter()
            .filter(|r| r.streamed)
            .all(|r| r.ttft_ms.is_some())
    );
    assert_eq!(records.iter().filter(|r| r.streamed).count(), 4 * rounds);
}

async fn prices_are_applied_and_unknown_ones_stay_unknown(backend: Backend) {
    let oa = openai();
    let claude = anthropic();
    let config = config(&oa, &claude).replace(
        "[models.c]",
        "[models.unpriced]\ndeployments = [{ provider = \"oa\", model = \"gpt-4o\" }]\n\n[models.c]",
    );
    // gpt-4o is in the shipped table: make it unknown by pricing only gpt-4o-mini and
    // pointing the unpriced model at a name the table cannot know.
    let config = config.replace(
        "model = \"gpt-4o\" }",
        "model = \"gpt-4o-mini-internal-ft\" }",
    );
    let server = TestServer::start_with_config_on(backend, &config).await;
    let c = client();
    let priced =
        read(post(&c, &server, "/v1/chat/completions", &chat_body("m", false)).await).await;
    assert_eq!(priced.status, 200);
    let unpriced = read(
        post(
            &c,
            &server,
            "/v1/chat/completions",
            &chat_body("unpriced", false),
        )
        .await,
    )
    .await;
    // The fake only knows its own models; an unknown upstream model is its 404, which still
    // reached the provider and is recorded (without tokens).
    let records = wait_for(&server, 2).await;
    let r = records.iter().find(|r| r.requested_model == "m").unwrap();
    let input = priced.body["usage"]["prompt_tokens"].as_i64().unwrap();
    let output = priced.body["usage"]["completion_tokens"].as_i64().unwrap();
    // $1.00 per 1M input, $2.00 per 1M output, in billionths of a dollar.
    assert_eq!(r.cost_nanos, Some(input * 1_000 + output * 2_000));
    assert_eq!(
        (r.price_source.as_str(), r.currency.as_str()),
        ("config", "USD")
    );
    let u = records
        .iter()
        .find(|r| r.requested_model == "unpriced")
        .unwrap();
    assert_eq!(u.status, unpriced.status);
    assert_eq!(u.price_source, "unknown");
    assert_eq!(u.cost_nanos, None);
}

async fn a_client_that_leaves_mid_stream_is_still_charged_for_what_it_got(backend: Backend) {
    let oa = openai();
    let claude = anthropic();
    let server = TestServer::start_with_config_on(backend, &config(&oa, &claude)).await;
    let c = client();
    oa.set_fault(
        forge_testkit::Fault::ChunkDelay(150),
        forge_testkit::FaultMode::Always,
    );
    let mut resp = post(&c, &server, "/v1/chat/completions", &chat_body("m", true)).await;
    // Leave once some content arrived (and before the end).
    let mut got = String::new();
    while !got.contains("Hello") {
        got.push_str(&String::from_utf8_lossy(
            &resp.next().await.unwrap().unwrap(),
        ));
    }
    assert!(!got.contains("[DONE]"));
    drop(resp);
    let records = wait_for(&server, 1).await;
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert!(r.client_disconnected, "{r:?}");
    assert!(r.estimated, "{r:?}");
    assert!(
        r.input_tokens > 0 && r.output_tokens > 0,
        "never zero for output: {r:?}"
    );
    assert_eq!(r.error_class.as_deref(), Some("client_disconnected"));
}

/// An upstream that answers a stream request with one JSON body (200, content-length): the
/// client gets that answer (as JSON, passed through or translated), the worker does not
/// panic, and the record counts the body's usage.
async fn a_stream_answered_with_one_json_body_is_relayed_and_metered(backend: Backend) {
    let oa = openai();
    let claude = anthropic();
    let server = TestServer::start_with_config_on(backend, &config(&oa, &claude)).await;
    let c = client();
    let whole = json!({
        "id": "chatcmpl-whole",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "whole answer"}}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    });
    oa.set_fault(
        forge_testkit::Fault::Status {
            status: 200,
            body: Some(whole.to_string()),
            retry_after: None,
        },
        forge_testkit::FaultMode::Times(2),
    );
    let resp = post(&c, &server, "/v1/chat/completions", &chat_body("m", true)).await;
    assert_eq!(resp.status().as_u16(), 200);
    let passed: Value = serde_json::from_str(&drain(resp).await).unwrap();
    assert_eq!(passed["choices"][0]["message"]["content"], "whole answer");

    let mut body = messages_body(true);
    body["model"] = json!("m");
    let resp = post(&c, &server, "/v1/messages", &body).await;
    assert_eq!(resp.status().as_u16(), 200);
    let translated: Value = serde_json::from_str(&drain(resp).await).unwrap();
    assert_eq!(translated["type"], "message", "{translated}");
    assert_eq!(translated["content"][0]["text"], "whole answer");

    let records = wait_for(&server, 2).await;
    for r in &records {
        assert!(!r.client_disconnected, "{r:?}");
        assert_eq!((r.input_tokens, r.output_tokens), (11, 7), "{r:?}");
        assert!(!r.estimated, "{r:?}");
    }
}

on_both_backends!(
    a_stream_answered_with_one_json_body_is_relayed_and_metered,
    totals_equal_what_the_upstreams_reported,
    prices_are_applied_and_unknown_ones_stay_unknown,
    a_client_that_leaves_mid_stream_is_still_charged_for_what_it_got,
);
