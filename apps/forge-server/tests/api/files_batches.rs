//! `/v1/files` and `/v1/batches`: objects created through Forge on a provider key belong to
//! the caller who created them. Two users share one upstream account here (the same fake and
//! key), the worst case: neither sees, reads, deletes or batches the other's objects, and
//! Forge refuses without asking the upstream.

use serde_json::{Value, json};

use crate::harness::{
    Backend, Reply, TestServer, client, create_forge_key, post_json, read, register_and_login,
    send_raw,
};
use crate::routing::common::{OPENAI_KEY, openai};
use crate::usage::common::wait_for;

const CT: &str = "multipart/form-data; boundary=FoRgE";

fn upload_form(purpose: &str, filename: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body =
        format!("--FoRgE\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n{purpose}\r\n--FoRgE\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/jsonl\r\n\r\n")
            .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(b"\r\n--FoRgE--\r\n");
    body
}

const BATCH_INPUT: &str = concat!(
    r#"{"custom_id": "q1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "one"}]}}"#,
    "\n",
    r#"{"custom_id": "q2", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "two"}]}}"#,
    "\n"
);

/// A user with the given provider keys (name → base URL, all holding the fake's key).
async fn user(s: &TestServer, name: &str, providers: &[(&str, &str)]) -> String {
    let c = client();
    let jwt = register_and_login(&c, s, name).await;
    for (provider, url) in providers {
        let added = post_json(
            &c,
            &s.url("/v1/provider-keys/"),
            Some(&jwt),
            &json!({ "provider_name": provider, "api_key": OPENAI_KEY, "base_url": url }),
        )
        .await;
        assert_eq!(added.status, 200, "{}", added.text);
    }
    create_forge_key(&c, s, &jwt, None).await.1
}

async fn upload(s: &TestServer, key: &str, provider: Option<&str>) -> Reply {
    let mut req = client()
        .post(s.url("/v1/files"))
        .insert_header(("authorization", format!("Bearer {key}")))
        .insert_header(("content-type", CT));
    if let Some(p) = provider {
        req = req.insert_header(("x-forge-provider", p));
    }
    read(
        req.send_body(upload_form("batch", "input.jsonl", BATCH_INPUT.as_bytes()))
            .await
            .unwrap(),
    )
    .await
}

async fn call(s: &TestServer, method: &str, path: &str, key: &str) -> Reply {
    send_raw(&client(), method, &s.url(path), Some(key), None).await
}

fn ids(list: &Value) -> Vec<&str> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect()
}

async fn objects_belong_to_their_creator(backend: Backend) {
    let oa = openai();
    let s = TestServer::start(backend).await;
    let alice = user(&s, "files_alice", &[("openai", &oa.base_url())]).await;
    let bob = user(&s, "files_bob", &[("openai", &oa.base_url())]).await;
    let c = client();

    // Alice uploads; the file is hers on her `openai` key.
    let file = upload(&s, &alice, None).await;
    assert_eq!(file.status, 200, "{}", file.text);
    let file_id = file.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (file.body["purpose"].as_str(), file.body["bytes"].as_u64()),
        (Some("batch"), Some(BATCH_INPUT.len() as u64))
    );
    let seen = oa.requests().pop().unwrap();
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("POST", "/v1/files")
    );
    assert!(seen.headers.iter().all(|(n, _)| n != "x-forge-provider"));
    // Bob uploads on the same upstream account.
    let bobs = upload(&s, &bob, Some("openai")).await;
    assert_eq!(bobs.status, 200, "{}", bobs.text);
    let bobs_id = bobs.body["id"].as_str().unwrap().to_owned();

    // Each list shows only its owner's files, though the upstream lists both.
    let listed = call(&s, "GET", "/v1/files?purpose=batch&limit=50", &alice).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(ids(&listed.body), vec![file_id.as_str()]);
    assert_eq!(listed.body["first_id"], file_id.as_str());
    assert_eq!(oa.requests().pop().unwrap().query, "purpose=batch&limit=50");
    let listed = call(&s, "GET", "/v1/files", &bob).await;
    assert_eq!(ids(&listed.body), vec![bobs_id.as_str()]);
    // Pages of the shared account that hold none of Alice's files are read past: a page of one
    // reaches her file behind Bob's four newer ones.
    for _ in 0..3 {
        assert_eq!(upload(&s, &bob, None).await.status, 200);
    }
    let first = call(&s, "GET", "/v1/files?limit=1", &alice).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(ids(&first.body), vec![file_id.as_str()]);
    assert_eq!(first.body["last_id"], file_id.as_str());
    assert_eq!(
        first.body["has_more"], false,
        "her file is the account's oldest"
    );
    let rest = call(
        &s,
        "GET",
        &format!("/v1/files?limit=1&after={file_id}"),
        &alice,
    )
    .await;
    assert_eq!(
        (ids(&rest.body).len(), rest.body["has_more"].as_bool()),
        (0, Some(false))
    );

    // Retrieve and content for the owner; a 404 for anyone else, the upstream not asked.
    let got = call(&s, "GET", &format!("/v1/files/{file_id}"), &alice).await;
    assert_eq!(
        (got.status, got.body["id"].as_str()),
        (200, Some(file_id.as_str()))
    );
    let content = call(&s, "GET", &format!("/v1/files/{file_id}/content"), &alice).await;
    assert_eq!(content.status, 200);
    assert_eq!(content.text, BATCH_INPUT);
    assert_eq!(
        content.header("content-type"),
        Some("application/octet-stream")
    );
    let before = oa.request_count();
    for (method, path) in [
        ("GET", format!("/v1/files/{file_id}")),
        ("GET", format!("/v1/files/{file_id}/content")),
        ("DELETE", format!("/v1/files/{file_id}")),
    ] {
        let refused = call(&s, method, &path, &bob).await;
        assert_eq!(refused.status, 404, "{method} {path}: {}", refused.text);
        assert_eq!(
            refused.body["error"]["message"],
            format!("No such File object: {file_id}")
        );
    }
    let stolen = post_json(
        &c,
        &s.url("/v1/batches"),
        Some(&bob),
        &json!({ "input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h" }),
    )
    .await;
    assert_eq!(stolen.status, 404, "{}", stolen.text);
    assert_eq!(
        oa.request_count(),
        before,
        "refused without asking the upstream"
    );

    // Alice's batch runs on her file's key; its output file becomes hers.
    let batch = post_json(
        &c,
        &s.url("/v1/batches"),
        Some(&alice),
        &json!({ "input_file_id": file_id, "endpoint": "/v1/chat/completions",
                 "completion_window": "24h", "metadata": { "job": "nightly" } }),
    )
    .await;
    assert_eq!(batch.status, 200, "{}", batch.text);
    assert_eq!(batch.body["status"], "validating");
    let batch_id = batch.body["id"].as_str().unwrap().to_owned();
    let done = call(&s, "GET", &format!("/v1/batches/{batch_id}"), &alice).await;
    assert_eq!(done.body["status"], "completed", "{}", done.text);
    assert_eq!(done.body["request_counts"]["completed"], 2);
    let output = done.body["output_file_id"].as_str().unwrap().to_owned();
    let answers = call(&s, "GET", &format!("/v1/files/{output}/content"), &alice).await;
    assert_eq!(answers.status, 200, "{}", answers.text);
    let lines: Vec<Value> = answers
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["custom_id"], "q1");
    assert_eq!(lines[0]["response"]["status_code"], 200);
    let listed = call(&s, "GET", "/v1/batches?limit=10", &alice).await;
    assert_eq!(ids(&listed.body), vec![batch_id.as_str()]);
    for path in [
        format!("/v1/batches/{batch_id}"),
        format!("/v1/files/{output}/content"),
    ] {
        assert_eq!(call(&s, "GET", &path, &bob).await.status, 404, "{path}");
    }
    assert_eq!(
        ids(&call(&s, "GET", "/v1/batches", &bob).await.body),
        Vec::<&str>::new()
    );
    assert_eq!(
        call(&s, "POST", &format!("/v1/batches/{batch_id}/cancel"), &bob)
            .await
            .status,
        404
    );

    // Cancelling: the upstream's answer (and its refusal of a finished batch) as sent.
    let second = post_json(
        &c,
        &s.url("/v1/batches"),
        Some(&alice),
        &json!({ "input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h" }),
    )
    .await;
    let second_id = second.body["id"].as_str().unwrap();
    let cancelled = call(
        &s,
        "POST",
        &format!("/v1/batches/{second_id}/cancel"),
        &alice,
    )
    .await;
    assert_eq!(
        (cancelled.status, cancelled.body["status"].as_str()),
        (200, Some("cancelling"))
    );
    let finished = call(
        &s,
        "POST",
        &format!("/v1/batches/{batch_id}/cancel"),
        &alice,
    )
    .await;
    assert_eq!(finished.status, 409, "{}", finished.text);

    // The upstream's own validation comes back as it said it.
    let bad = post_json(
        &c,
        &s.url("/v1/batches"),
        Some(&alice),
        &json!({ "input_file_id": file_id, "endpoint": "/v1/embeddings", "completion_window": "24h" }),
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert!(bad.text.contains("does not match"), "{}", bad.text);

    // Deleting forgets the id: afterwards it is no object of Alice's either.
    let deleted = call(&s, "DELETE", &format!("/v1/files/{file_id}"), &alice).await;
    assert_eq!(
        (deleted.status, deleted.body["deleted"].as_bool()),
        (200, Some(true))
    );
    let before = oa.request_count();
    assert_eq!(
        call(&s, "GET", &format!("/v1/files/{file_id}"), &alice)
            .await
            .status,
        404
    );
    assert_eq!(oa.request_count(), before);

    // Every call that reached the upstream has a usage record, its tokens unknown.
    let records = wait_for(&s, 16).await;
    let objects: Vec<_> = records
        .iter()
        .filter(|r| r.endpoint == "files" || r.endpoint == "batches")
        .collect();
    assert!(objects.len() >= 16, "{records:?}");
    assert!(
        objects
            .iter()
            .all(|r| r.price_source == "tokens_unknown" && r.provider == "openai"),
        "{objects:?}"
    );
}

#[actix_rt::test]
async fn files_and_batches_belong_to_their_creator_on_sqlite() {
    objects_belong_to_their_creator(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn files_and_batches_belong_to_their_creator_on_postgres() {
    objects_belong_to_their_creator(Backend::Postgres).await;
}

#[actix_rt::test]
async fn the_key_that_holds_a_new_object_is_named_or_unambiguous() {
    let oa = openai();
    let other = openai();
    let s = TestServer::start(Backend::Sqlite).await;
    let c = client();
    // No OpenAI-compatible key at all.
    let none = user(&s, "files_none", &[]).await;
    let refused = upload(&s, &none, None).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert!(
        refused.text.contains("x-forge-provider"),
        "{}",
        refused.text
    );
    // Two OpenAI-compatible hosts and no `openai`: the caller must name one.
    let two = user(
        &s,
        "files_two",
        &[("groq", &oa.base_url()), ("together", &other.base_url())],
    )
    .await;
    let refused = upload(&s, &two, None).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert!(refused.text.contains("groq, together"), "{}", refused.text);
    let named = upload(&s, &two, Some("Together")).await;
    assert_eq!(named.status, 200, "{}", named.text);
    assert_eq!(other.requests().pop().unwrap().path, "/v1/files");
    // Listing on `groq` shows nothing of what went to `together`; the id still reaches its key.
    let id = named.body["id"].as_str().unwrap();
    let on_groq = send_raw(&c, "GET", &s.url("/v1/files"), Some(&two), None).await;
    assert_eq!(on_groq.status, 400, "{}", on_groq.text);
    let got = call(&s, "GET", &format!("/v1/files/{id}"), &two).await;
    assert_eq!(got.status, 200, "{}", got.text);
    // A name the caller has no key for.
    let unknown = upload(&s, &two, Some("mistral")).await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    // A batch must run where its input file is.
    let elsewhere = client()
        .post(s.url("/v1/batches"))
        .insert_header(("authorization", format!("Bearer {two}")))
        .insert_header(("x-forge-provider", "groq"))
        .send_json(&json!({ "input_file_id": id, "endpoint": "/v1/chat/completions", "completion_window": "24h" }))
        .await
        .unwrap();
    let elsewhere = read(elsewhere).await;
    assert_eq!(elsewhere.status, 400, "{}", elsewhere.text);
    assert!(elsewhere.text.contains("together"), "{}", elsewhere.text);
    // An id that cannot be one is simply no object.
    assert_eq!(call(&s, "GET", "/v1/files/a%2F..", &two).await.status, 404);
    // Anonymous callers are refused before anything else.
    assert_eq!(
        send_raw(&c, "GET", &s.url("/v1/files"), None, None)
            .await
            .status,
        401
    );
}

#[actix_rt::test]
async fn a_shared_forge_toml_account_keeps_files_behind_v1_files() {
    use crate::routing::common::{KEY, key_digest, openai_provider};
    let oa = openai();
    let config = format!(
        "{}[[keys]]\nname = \"tests\"\nkey = \"sha256:{}\"\n\n[[forward]]\nprefix = \"/mounted\"\nprovider = \"oa\"\n",
        openai_provider("OA", &oa),
        key_digest()
    );
    let s = TestServer::start_with_config(&config).await;
    // The static key's files go to the one forge.toml OpenAI-compatible provider.
    let file = upload(&s, KEY, None).await;
    assert_eq!(file.status, 200, "{}", file.text);
    let id = file.body["id"].as_str().unwrap();
    let listed = call(&s, "GET", "/v1/files", KEY).await;
    assert_eq!(ids(&listed.body), vec![id]);
    // Named in any case, it is the same provider.
    let named = upload(&s, KEY, Some("oa")).await;
    assert_eq!(named.status, 200, "{}", named.text);
    // The pass-through and mounts would reach every caller's files on the shared account.
    let before = oa.request_count();
    for path in [
        "/passthrough/OA/files".to_owned(),
        format!("/passthrough/oa/v1/files/{id}/content"),
        "/passthrough/oa/fil%65s".to_owned(),
        "/mounted/batches".to_owned(),
    ] {
        let refused = call(&s, "GET", &path, KEY).await;
        assert_eq!(refused.status, 403, "{path}: {}", refused.text);
        assert!(refused.text.contains("/v1/files"), "{}", refused.text);
    }
    assert_eq!(oa.request_count(), before, "nothing reached the upstream");
    // Other paths still pass.
    assert_eq!(
        call(&s, "GET", "/passthrough/oa/models", KEY).await.status,
        200
    );
}
