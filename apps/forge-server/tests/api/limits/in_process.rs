//! Admission in one process: rates, budgets, deployment limits, headers and 429 bodies.

use futures_util::future::join_all;
use serde_json::json;

use crate::harness::{TestServer, client, read};
use crate::routing::common::{KEY, chat, chat_body, chats, key_digest, openai, openai_provider};

fn limited_key(limits: &str) -> String {
    format!(
        "[[keys]]\nname = \"tests\"\nkey = \"sha256:{}\"\nlimits = {limits}\n\n",
        key_digest()
    )
}

fn config(oa: &forge_testkit::FakeOpenAi, limits: &str) -> String {
    format!(
        "{}{}[models.m]\ndeployments = [{{ provider = \"oa\", model = \"gpt-4o-mini\" }}]\n",
        openai_provider("oa", oa),
        limited_key(limits),
    )
}

#[actix_rt::test]
async fn an_rpm_limit_answers_429_with_headers_in_every_dialect() {
    let oa = openai();
    let server = TestServer::start_with_config(&config(&oa, "{ rpm = 5 }")).await;
    let c = client();
    for i in 0..5 {
        let reply = chat(&c, &server, &chat_body("m", false), &[]).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.header("x-ratelimit-limit-requests"), Some("5"));
        assert_eq!(
            reply.header("x-ratelimit-remaining-requests"),
            Some((4 - i).to_string().as_str())
        );
        assert!(reply.header("x-ratelimit-reset-requests").is_some());
    }
    let reply = chat(&c, &server, &chat_body("m", false), &[]).await;
    assert_eq!(reply.status, 429, "{}", reply.text);
    assert_eq!(reply.body["error"]["code"], "rate_limit_exceeded");
    assert_eq!(reply.body["error"]["type"], "requests");
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("requests per minute")
    );
    let retry: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(reply.header("x-ratelimit-remaining-requests"), Some("0"));
    assert_eq!(
        oa.request_count(),
        5,
        "a refused request never reaches the upstream"
    );

    let anthropic = read(
        c.post(server.url("/v1/messages"))
            .insert_header(("x-api-key", KEY))
            .insert_header(("anthropic-version", "2023-06-01"))
            .send_json(&json!({"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(anthropic.status, 429);
    assert_eq!(anthropic.body["type"], "error");
    assert_eq!(anthropic.body["error"]["type"], "rate_limit_error");
    assert!(anthropic.header("retry-after").is_some());

    let gemini = read(
        c.post(server.url("/v1beta/models/m:generateContent"))
            .insert_header(("x-goog-api-key", KEY))
            .send_json(&json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(gemini.status, 429);
    assert_eq!(gemini.body["error"]["code"], 429);
    assert_eq!(gemini.body["error"]["status"], "RESOURCE_EXHAUSTED");
}

#[actix_rt::test]
async fn a_budget_for_ten_requests_admits_at_most_ten_of_two_hundred_concurrent() {
    let oa = openai();
    let body = json!({"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": "hello"}]});
    // Learn what one request really costs, then size the budget for ten of them.
    let server = TestServer::start_with_config(&config(&oa, "{}")).await;
    let c = client();
    let one = chat(&c, &server, &body, &[]).await;
    let tokens = one.body["usage"]["total_tokens"].as_i64().unwrap();
    let limits = format!(
        "{{ budgets = [{{ period = \"day\", max_tokens = {} }}] }}",
        tokens * 10
    );
    server.write_config(&config(&oa, &limits));
    actix_rt::time::sleep(std::time::Duration::from_millis(700)).await;
    oa.set_fault(
        forge_testkit::Fault::DelayHeaders(200),
        forge_testkit::FaultMode::Always,
    );
    let replies = join_all((0..200).map(|_| chat(&c, &server, &body, &[]))).await;
    let admitted = replies.iter().filter(|r| r.status == 200).count();
    assert!((1..=10).contains(&admitted), "{admitted} admitted");
    let refused = replies.iter().find(|r| r.status == 429).unwrap();
    assert_eq!(refused.body["error"]["type"], "insufficient_quota");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("daily token budget"),
        "{}",
        refused.text
    );
}

#[actix_rt::test]
async fn a_deployment_at_its_own_rate_limit_is_skipped() {
    let a = openai();
    let b = openai();
    let config = format!(
        "{}{}[[keys]]\nname = \"tests\"\nkey = \"sha256:{}\"\n\n[models.m]\nstrategy = \"priority\"\ndeployments = [{{ provider = \"a\", model = \"gpt-4o-mini\" }}, {{ provider = \"b\", model = \"gpt-4o-mini\", priority = 1 }}]\n",
        openai_provider("a", &a).replace("}]", ", rpm = 2 }]"),
        openai_provider("b", &b),
        key_digest(),
    );
    let server = TestServer::start_with_config(&config).await;
    let c = client();
    let replies = chats(&c, &server, "m", 6, 1).await;
    let providers: Vec<&str> = replies
        .iter()
        .map(|r| r.header("x-forge-provider").unwrap())
        .collect();
    assert_eq!(providers, ["a", "a", "b", "b", "b", "b"]);
    assert!(
        replies
            .iter()
            .all(|r| r.header("x-forge-attempts") == Some("1"))
    );
}

#[actix_rt::test]
async fn streamed_output_counts_against_tpm_as_it_arrives() {
    use futures_util::StreamExt;
    let oa = forge_testkit::FakeOpenAi::start(forge_testkit::FakeOpenAiConfig {
        reply: Some("lorem ipsum dolor sit amet ".repeat(400)),
        stream_chunks: 20,
        ..Default::default()
    });
    let server = TestServer::start_with_config(&config(&oa, "{ tpm = 800 }")).await;
    let c = client();
    oa.set_fault(
        forge_testkit::Fault::ChunkDelay(60),
        forge_testkit::FaultMode::Always,
    );
    let mut stream = c
        .post(server.url("/v1/chat/completions"))
        .insert_header(("authorization", format!("Bearer {KEY}")))
        .send_json(&chat_body("m", true))
        .await
        .unwrap();
    assert_eq!(stream.status().as_u16(), 200);
    // Half the answer (about 1,400 tokens of 2,700) has been delivered ...
    let mut got = 0;
    while got < 5_400 {
        got += stream.next().await.unwrap().unwrap().len();
    }
    // ... which already counts: a second request does not fit in the minute's 800 tokens.
    let second = chat(&c, &server, &chat_body("m", false), &[]).await;
    assert_eq!(second.status, 429, "{}", second.text);
    assert_eq!(second.body["error"]["type"], "tokens");
    assert!(second.header("x-ratelimit-remaining-tokens").is_some());
    while stream.next().await.is_some() {}
}
