//! Config text and request helpers shared by the routing tests.

use awc::Client;
use forge_testkit::{FakeAnthropic, FakeAnthropicConfig, FakeOpenAi, FakeOpenAiConfig};
use futures_util::future::join_all;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::{Reply, TestServer, read};

/// The static gateway key the configs declare (by digest only).
pub const KEY: &str = "gw-test-key-5f0c1d2e3a4b";
pub const OPENAI_KEY: &str = "sk-fake-upstream-key-0001";
pub const ANTHROPIC_KEY: &str = "sk-ant-fake-upstream-key-0001";

pub fn key_digest() -> String {
    hex::encode(Sha256::digest(KEY.as_bytes()))
}

pub fn openai() -> FakeOpenAi {
    FakeOpenAi::start(FakeOpenAiConfig::default())
}

pub fn anthropic() -> FakeAnthropic {
    FakeAnthropic::start(FakeAnthropicConfig::default())
}

/// A `[[providers]]` entry for an OpenAI-compatible fake.
pub fn openai_provider(name: &str, fake: &FakeOpenAi) -> String {
    format!(
        "[[providers]]\nname = \"{name}\"\nkind = \"openai-compatible\"\nbase_url = \"{}\"\nkeys = [{{ key = \"{OPENAI_KEY}\" }}]\n\n",
        fake.base_url()
    )
}

pub fn anthropic_provider(name: &str, fake: &FakeAnthropic) -> String {
    format!(
        "[[providers]]\nname = \"{name}\"\nkind = \"anthropic\"\nbase_url = \"{}\"\nkeys = [{{ key = \"{ANTHROPIC_KEY}\" }}]\n\n",
        fake.base_url()
    )
}

/// The static key, allowed every model.
pub fn static_key() -> String {
    format!(
        "[[keys]]\nname = \"tests\"\nkey = \"sha256:{}\"\n\n",
        key_digest()
    )
}

/// Two OpenAI fakes `a` and `b` behind logical model `m` (both serve `gpt-4o-mini`).
pub fn two_deployments(a: &FakeOpenAi, b: &FakeOpenAi, model: &str) -> String {
    format!(
        "{}{}{}[models.m]\n{model}\ndeployments = [{{ provider = \"a\", model = \"gpt-4o-mini\" }}, {{ provider = \"b\", model = \"gpt-4o-mini\", priority = 1 }}]\n",
        openai_provider("a", a),
        openai_provider("b", b),
        static_key(),
    )
}

pub fn chat_body(model: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "messages": [{"role": "user", "content": "hello"}],
        "stream": stream,
    })
}

/// POST /v1/chat/completions with the static key.
pub async fn chat(c: &Client, s: &TestServer, body: &Value, headers: &[(&str, &str)]) -> Reply {
    let mut req = c
        .post(s.url("/v1/chat/completions"))
        .insert_header(("authorization", format!("Bearer {KEY}")));
    for (name, value) in headers {
        req = req.insert_header((*name, *value));
    }
    read(req.send_json(body).await.unwrap()).await
}

/// `n` non-streamed chats, `parallel` at a time; the replies in order.
pub async fn chats(
    c: &Client,
    s: &TestServer,
    model: &str,
    n: usize,
    parallel: usize,
) -> Vec<Reply> {
    let body = chat_body(model, false);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let batch = parallel.min(n - out.len());
        let replies = join_all((0..batch).map(|_| chat(c, s, &body, &[]))).await;
        out.extend(replies);
    }
    out
}

pub fn attempts(reply: &Reply) -> u32 {
    reply
        .header("x-forge-attempts")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no x-forge-attempts on {} {}", reply.status, reply.text))
}

/// The text of a non-streamed OpenAI chat answer.
pub fn answer_text(reply: &Reply) -> &str {
    reply.body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_else(|| panic!("no answer in {}", reply.text))
}
