//! Drives the real `forge-cli` binary against a fake Forge server: request shapes (JSON vs form,
//! headers, paths with their trailing slash), output, error messages, exit codes and the stored
//! session file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};
use support::*;

/// A fresh config directory with a session and a remembered Forge key.
fn logged_in_with_key(fake: &FakeForge) -> tempfile::TempDir {
    let dir = logged_in(&fake.url);
    run(&fake.url, dir.path(), &["keys", "create"]).ok();
    dir
}

fn config_file(dir: &Path) -> std::path::PathBuf {
    dir.join("config.json")
}

#[test]
fn register_sends_json_and_never_prints_the_password() {
    let fake = FakeForge::start();
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &fake.url,
        dir.path(),
        &[
            "register",
            "--username",
            USER,
            "--email",
            "alice@example.com",
            "--password",
            PASSWORD,
        ],
    );
    out.ok();
    assert!(
        out.stdout
            .contains("Registered alice <alice@example.com> (user id 1)"),
        "{}",
        out.stdout
    );
    assert!(!out.all().contains(PASSWORD));
    let req = fake.last();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/v1/auth/register")
    );
    assert!(
        req.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        req.json(),
        json!({"username": USER, "email": "alice@example.com", "password": PASSWORD})
    );
}

#[test]
fn register_password_can_come_from_stdin() {
    let fake = FakeForge::start();
    let dir = tempfile::tempdir().unwrap();
    let out = run_with_stdin(
        &fake.url,
        dir.path(),
        &["register", "--username", USER, "--email", "a@example.com"],
        "typed-password\n",
    );
    out.ok();
    assert_eq!(fake.last().json()["password"], "typed-password");
    assert!(!out.all().contains("typed-password"));
}

#[test]
fn server_errors_show_status_and_detail_and_fail() {
    let fake = FakeForge::start();
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &fake.url,
        dir.path(),
        &[
            "register",
            "--username",
            "taken",
            "--email",
            "t@example.com",
            "--password",
            "x",
        ],
    );
    out.failed();
    assert!(
        out.stderr
            .contains("Forge answered 400 Bad Request: Username already registered"),
        "{}",
        out.stderr
    );

    // A 422 list is shown as `loc: msg`, without echoing the input.
    let out = run(
        &fake.url,
        dir.path(),
        &[
            "register",
            "--username",
            "bob",
            "--email",
            "not-an-email",
            "--password",
            "x",
        ],
    );
    out.failed();
    assert!(
        out.stderr
            .contains("422 Unprocessable Entity: body.email: value is not a valid email address"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("not-an-email"));
}

#[test]
fn login_posts_a_form_and_stores_the_session_with_mode_0600() {
    let fake = FakeForge::start();
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("forge");
    let out = run(
        &fake.url,
        &config_dir,
        &["login", "--username", USER, "--password", PASSWORD],
    );
    out.ok();
    assert!(out.stdout.contains("Logged in to"), "{}", out.stdout);
    assert!(!out.all().contains(TOKEN), "the JWT was printed");
    assert!(!out.all().contains(PASSWORD));

    let req = fake.last();
    assert_eq!(req.path, "/v1/auth/token");
    assert_eq!(
        req.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form = form_decode(&req.body);
    assert_eq!(form.get("username").map(String::as_str), Some(USER));
    assert_eq!(form.get("password").map(String::as_str), Some(PASSWORD));

    let path = config_file(&config_dir);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(stored["token"], TOKEN);
    assert_eq!(stored["server"], fake.url.as_str());
    assert!(!stored.to_string().contains(PASSWORD));

    // The stored JWT is sent as a Bearer token.
    let out = run(&fake.url, &config_dir, &["whoami"]);
    out.ok();
    assert!(out.stdout.contains("username:   alice"), "{}", out.stdout);
    assert!(out.stdout.contains("forge-********"), "{}", out.stdout);
    let req = fake.last();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("GET", "/v1/users/me")
    );
    assert_eq!(
        req.header("authorization").unwrap(),
        format!("Bearer {TOKEN}")
    );
}

#[test]
fn wrong_password_fails_and_stores_nothing() {
    let fake = FakeForge::start();
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &fake.url,
        dir.path(),
        &["login", "--username", USER, "--password", "nope"],
    );
    out.failed();
    assert!(
        out.stderr
            .contains("401 Unauthorized: Incorrect username or password"),
        "{}",
        out.stderr
    );
    assert!(!config_file(dir.path()).exists());
}

#[test]
fn commands_needing_a_session_say_so_without_calling_the_server() {
    let fake = FakeForge::start();
    let dir = tempfile::tempdir().unwrap();
    for args in [&["whoami"][..], &["keys", "list"], &["list-keys"]] {
        let out = run(&fake.url, dir.path(), args);
        out.failed();
        assert!(
            out.stderr.contains("not logged in"),
            "{args:?}: {}",
            out.stderr
        );
    }
    let out = run(&fake.url, dir.path(), &["models"]);
    out.failed();
    assert!(out.stderr.contains("no Forge API key"), "{}", out.stderr);
    assert!(fake.requests().is_empty());
}

#[test]
fn the_session_is_not_sent_to_another_server() {
    let fake = FakeForge::start();
    let other = FakeForge::start();
    let dir = logged_in_with_key(&fake);
    let out = run(&other.url, dir.path(), &["whoami"]);
    out.failed();
    assert!(
        out.stderr
            .contains(&format!("not logged in to {}", other.url)),
        "{}",
        out.stderr
    );
    run(&other.url, dir.path(), &["models"]).failed();
    assert!(other.requests().is_empty());
    // Without FORGE_SERVER the CLI goes back to the server it logged in to.
    let mut cmd = command(&fake.url, dir.path(), &["whoami"]);
    cmd.env_remove("FORGE_SERVER");
    assert!(cmd.output().unwrap().status.success());
}

#[test]
fn keys_create_prints_the_full_key_and_remembers_it_for_models() {
    let fake = FakeForge::start();
    let dir = logged_in(&fake.url);
    let out = run(&fake.url, dir.path(), &["keys", "create"]);
    out.ok();
    assert!(out.stdout.contains(FORGE_KEY), "{}", out.stdout);
    let req = fake.last();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/v1/api-keys/")
    );
    assert_eq!(req.json(), json!({}), "no scope given means unrestricted");

    let out = run(&fake.url, dir.path(), &["models"]);
    out.ok();
    assert_eq!(out.stdout, "openai/gpt-4o-mini\nopenai/gpt-4o\n");
    let req = fake.last();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("GET", "/v1/models")
    );
    assert_eq!(req.header("x-api-key"), Some(FORGE_KEY));
    assert_eq!(req.header("authorization"), None);
}

#[test]
fn keys_create_scope_flags() {
    let fake = FakeForge::start();
    let dir = logged_in(&fake.url);
    run(
        &fake.url,
        dir.path(),
        &[
            "keys",
            "create",
            "--name",
            "ci",
            "--allow-provider-key-id",
            "1",
            "--allow-provider-key-id",
            "2",
        ],
    )
    .ok();
    assert_eq!(
        fake.last().json(),
        json!({"name": "ci", "allowed_provider_key_ids": [1, 2]})
    );
    run(&fake.url, dir.path(), &["keys", "create", "--no-providers"]).ok();
    assert_eq!(fake.last().json(), json!({"allowed_provider_key_ids": []}));
    let out = run(
        &fake.url,
        dir.path(),
        &[
            "keys",
            "create",
            "--no-providers",
            "--allow-provider-key-id",
            "1",
        ],
    );
    out.failed();
}

#[test]
fn keys_list_update_delete_regenerate() {
    let fake = FakeForge::start();
    let dir = logged_in_with_key(&fake);

    let out = run(&fake.url, dir.path(), &["keys", "list"]);
    out.ok();
    let header = out.stdout.lines().next().unwrap_or_default();
    for title in [
        "ID",
        "NAME",
        "KEY",
        "ACTIVE",
        "LAST USED",
        "PROVIDER KEY IDS",
    ] {
        assert!(header.contains(title), "{header}");
    }
    assert!(out.stdout.contains("laptop"), "{}", out.stdout);
    assert!(!out.stdout.contains(FORGE_KEY));
    assert_eq!(fake.last().path, "/v1/api-keys/");

    run(
        &fake.url,
        dir.path(),
        &["keys", "update", "7", "--active", "false"],
    )
    .ok();
    let req = fake.last();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("PUT", "/v1/api-keys/7")
    );
    assert_eq!(
        req.json(),
        json!({"is_active": false}),
        "only the given fields are sent"
    );

    run(
        &fake.url,
        dir.path(),
        &["keys", "update", "7", "--name", "", "--no-providers"],
    )
    .ok();
    assert_eq!(
        fake.last().json(),
        json!({"name": "", "allowed_provider_key_ids": []})
    );

    let before = fake.requests().len();
    let out = run(&fake.url, dir.path(), &["keys", "update", "7"]);
    out.failed();
    assert!(out.stderr.contains("nothing to update"), "{}", out.stderr);
    assert_eq!(fake.requests().len(), before);

    let out = run(
        &fake.url,
        dir.path(),
        &["keys", "update", "99", "--name", "x"],
    );
    out.failed();
    assert!(
        out.stderr.contains("404 Not Found: API key not found"),
        "{}",
        out.stderr
    );

    // Regenerating the remembered key makes the new secret the remembered one.
    let out = run(&fake.url, dir.path(), &["keys", "regenerate", "7"]);
    out.ok();
    assert!(out.stdout.contains(FORGE_KEY_2));
    assert_eq!(fake.last().path, "/v1/api-keys/7/regenerate");
    run(&fake.url, dir.path(), &["models"]).ok();
    assert_eq!(fake.last().header("x-api-key"), Some(FORGE_KEY_2));

    // Deleting it forgets it.
    let out = run(&fake.url, dir.path(), &["keys", "delete", "7"]);
    out.ok();
    let req = fake.last();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("DELETE", "/v1/api-keys/7")
    );
    run(&fake.url, dir.path(), &["models"]).failed();
    run(&fake.url, dir.path(), &["keys", "delete", "8"]).failed();
}

#[test]
fn provider_key_commands() {
    let fake = FakeForge::start();
    let dir = logged_in(&fake.url);

    let out = run(
        &fake.url,
        dir.path(),
        &[
            "add-key",
            "--provider",
            "openai",
            "--api-key",
            PROVIDER_SECRET,
            "--model-mapping",
            r#"{"fast":"gpt-4o-mini"}"#,
        ],
    );
    out.ok();
    assert!(out.stdout.contains(MASKED_PROVIDER), "{}", out.stdout);
    assert!(!out.all().contains(PROVIDER_SECRET));
    let req = fake.last();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/v1/provider-keys/")
    );
    assert_eq!(
        req.json(),
        json!({"provider_name": "openai", "api_key": PROVIDER_SECRET, "model_mapping": {"fast": "gpt-4o-mini"}})
    );

    let before = fake.requests().len();
    let out = run(
        &fake.url,
        dir.path(),
        &[
            "add-key",
            "--provider",
            "openai",
            "--api-key",
            "k",
            "--model-mapping",
            "[1]",
        ],
    );
    out.failed();
    assert!(
        out.stderr.contains("--model-mapping must be a JSON object"),
        "{}",
        out.stderr
    );
    assert_eq!(fake.requests().len(), before);

    let out = run(
        &fake.url,
        dir.path(),
        &["add-key", "--provider", "dup", "--api-key", "k"],
    );
    out.failed();
    assert!(
        out.stderr.contains("Provider key for dup already exists"),
        "{}",
        out.stderr
    );

    let out = run(&fake.url, dir.path(), &["list-keys"]);
    out.ok();
    let header = out.stdout.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("ID") && header.contains("PROVIDER") && header.contains("MODEL MAPPING"),
        "{header}"
    );
    assert!(
        out.stdout.contains("openai") && out.stdout.contains(MASKED_PROVIDER),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("http://up.example/v1"));
    assert_eq!(fake.last().path, "/v1/provider-keys/");

    run(
        &fake.url,
        dir.path(),
        &[
            "update-key",
            "--provider",
            "openai",
            "--base-url",
            "http://new/v1",
        ],
    )
    .ok();
    let req = fake.last();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("PUT", "/v1/provider-keys/openai")
    );
    assert_eq!(
        req.json(),
        json!({"base_url": "http://new/v1"}),
        "only the given fields"
    );

    run(
        &fake.url,
        dir.path(),
        &[
            "update-key",
            "--provider",
            "my host",
            "--model-mapping",
            "null",
        ],
    )
    .ok();
    let req = fake.last();
    assert_eq!(req.path, "/v1/provider-keys/my%20host");
    assert_eq!(req.json(), json!({"model_mapping": null}));

    run(
        &fake.url,
        dir.path(),
        &["update-key", "--provider", "openai"],
    )
    .failed();

    run(
        &fake.url,
        dir.path(),
        &["delete-key", "--provider", "openai"],
    )
    .ok();
    let req = fake.last();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("DELETE", "/v1/provider-keys/openai")
    );
    let out = run(&fake.url, dir.path(), &["delete-key", "--provider", "nope"]);
    out.failed();
    assert!(
        out.stderr.contains("404 Not Found: Provider key not found"),
        "{}",
        out.stderr
    );
}

#[test]
fn test_prints_the_answer() {
    let fake = FakeForge::start();
    let dir = logged_in_with_key(&fake);
    let out = run(
        &fake.url,
        dir.path(),
        &["test", "--model", "openai/gpt-4o-mini", "--message", "hi"],
    );
    out.ok();
    assert_eq!(out.stdout, format!("{REPLY}\n"));
    let req = fake.last();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/v1/chat/completions")
    );
    assert_eq!(req.header("x-api-key"), Some(FORGE_KEY));
    assert_eq!(
        req.json(),
        json!({"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
    );
}

#[test]
fn test_stream_prints_the_deltas() {
    let fake = FakeForge::start();
    let dir = logged_in_with_key(&fake);
    let out = run(
        &fake.url,
        dir.path(),
        &[
            "test",
            "--model",
            "openai/gpt-4o-mini",
            "--message",
            "hi",
            "--stream",
        ],
    );
    out.ok();
    assert_eq!(out.stdout, format!("{}\n", STREAM_PARTS.concat()));
    assert_eq!(fake.last().json()["stream"], json!(true));

    let out = run(
        &fake.url,
        dir.path(),
        &[
            "--json",
            "test",
            "--model",
            "openai/gpt-4o-mini",
            "--message",
            "hi",
            "--stream",
        ],
    );
    out.ok();
    let events: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 1 + STREAM_PARTS.len());
}

#[test]
fn test_stream_errors_fail() {
    let fake = FakeForge::start();
    let dir = logged_in_with_key(&fake);
    let out = run(
        &fake.url,
        dir.path(),
        &[
            "test",
            "--model",
            "openai/broken",
            "--message",
            "hi",
            "--stream",
        ],
    );
    out.failed();
    assert_eq!(out.stdout, "partial\n");
    assert!(
        out.stderr.contains("upstream dropped the connection"),
        "{}",
        out.stderr
    );

    let out = run(
        &fake.url,
        dir.path(),
        &[
            "test",
            "--model",
            "openai/truncated",
            "--message",
            "hi",
            "--stream",
        ],
    );
    out.failed();
    assert!(out.stderr.contains("ended before"), "{}", out.stderr);

    // An error before the stream starts is a plain HTTP error.
    let out = run(
        &fake.url,
        dir.path(),
        &["test", "--model", "nope/x", "--message", "hi", "--stream"],
    );
    out.failed();
    assert!(
        out.stderr
            .contains("404 Not Found: Model 'nope/x' not found"),
        "{}",
        out.stderr
    );
}

#[test]
fn test_stream_is_printed_as_it_arrives() {
    let fake = FakeForge::start();
    let dir = logged_in_with_key(&fake);
    let mut child = command(
        &fake.url,
        dir.path(),
        &[
            "test",
            "--model",
            "openai/slow",
            "--message",
            "hi",
            "--stream",
        ],
    )
    .spawn()
    .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    seen.extend_from_slice(&buf[..n]);
                    let _ = tx.send(String::from_utf8_lossy(&seen).into_owned());
                }
            }
        }
    });
    // The server holds the second half back until released: "first" must show up before that.
    let first = rx
        .recv_timeout(Duration::from_secs(8))
        .expect("nothing printed while the stream was open");
    assert_eq!(first, "first");
    fake.release();
    let status = child.wait().unwrap();
    assert!(status.success());
    let mut last = first;
    while let Ok(text) = rx.recv_timeout(Duration::from_secs(2)) {
        last = text;
    }
    assert_eq!(last, "firstsecond\n");
}

#[test]
fn proxy_errors_show_the_openai_message() {
    let fake = FakeForge::start();
    let dir = logged_in_with_key(&fake);
    let out = run(
        &fake.url,
        dir.path(),
        &["test", "--model", "openai/unknown", "--message", "hi"],
    );
    out.failed();
    assert!(
        out.stderr
            .contains("Forge answered 404 Not Found: Model 'openai/unknown' not found"),
        "{}",
        out.stderr
    );

    let out = run(
        &fake.url,
        dir.path(),
        &["test", "--model", "openai/plain500", "--message", "hi"],
    );
    out.failed();
    assert!(
        out.stderr
            .contains("500 Internal Server Error: Internal Server Error"),
        "{}",
        out.stderr
    );

    // An explicit key wins over the remembered one.
    let mut cmd = command(&fake.url, dir.path(), &["models"]);
    cmd.env("FORGE_API_KEY", "forge-wrong");
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("401 Unauthorized: Invalid API key"));
    assert_eq!(fake.last().header("x-api-key"), Some("forge-wrong"));
}

#[test]
fn unreachable_server_is_named() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &url,
        dir.path(),
        &["login", "--username", USER, "--password", "x"],
    );
    out.failed();
    assert!(
        out.stderr.contains(&format!("cannot reach Forge at {url}")),
        "{}",
        out.stderr
    );
}

#[test]
fn json_flag_prints_the_servers_json_but_never_the_jwt() {
    let fake = FakeForge::start();
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &fake.url,
        dir.path(),
        &[
            "--json",
            "login",
            "--username",
            USER,
            "--password",
            PASSWORD,
        ],
    );
    out.ok();
    let value: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(value["username"], USER);
    assert!(!out.stdout.contains(TOKEN));

    let out = run(&fake.url, dir.path(), &["--json", "keys", "list"]);
    out.ok();
    let value: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(value[0]["id"], 7);
}

#[test]
fn server_url_may_carry_v1_and_a_slash() {
    let fake = FakeForge::start();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}/v1/", fake.url);
    run(
        &url,
        dir.path(),
        &["login", "--username", USER, "--password", PASSWORD],
    )
    .ok();
    assert_eq!(fake.last().path, "/v1/auth/token");
    let out = run("localhost:8000", dir.path(), &["whoami"]);
    out.failed();
    assert!(
        out.stderr.contains("server URL must look like"),
        "{}",
        out.stderr
    );
}

#[test]
fn menu_runs_actions_until_quit_or_eof() {
    let fake = FakeForge::start();
    let dir = tempfile::tempdir().unwrap();
    // Not logged in yet: "Who am I" fails, the menu goes on; then log in, create a key, list
    // models, chat, and stdin ends.
    let input = format!("3\n2\n{USER}\n{PASSWORD}\n4\n\n\n13\n14\nopenai/gpt-4o-mini\nhi\nn\n");
    let out = run_with_stdin(&fake.url, dir.path(), &[], &input);
    out.ok();
    assert!(out.stdout.contains(" 1. Register"), "{}", out.stdout);
    assert!(out.stderr.contains("not logged in"), "{}", out.stderr);
    assert!(out.stdout.contains("Logged in to"));
    assert!(out.stdout.contains(FORGE_KEY));
    assert!(out.stdout.contains("openai/gpt-4o-mini\n"));
    assert!(out.stdout.contains(REPLY));
    assert!(!out.all().contains(PASSWORD));

    let out = run_with_stdin(&fake.url, dir.path(), &[], "99\nq\n");
    out.ok();
    assert!(out.stderr.contains("unknown option"), "{}", out.stderr);
}
