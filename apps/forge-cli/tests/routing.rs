//! The routing admin commands (`routes`, `deployments`, `sessions`) against the fake Forge:
//! request paths and bodies, percent-encoded ids, text output, `--json`, and error details.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use support::*;

#[test]
fn admin_commands_need_a_session() {
    let fake = FakeForge::start();
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["routes", "list"][..],
        &["routes", "decide", "chat"],
        &["deployments", "list"],
        &["deployments", "reset", DEPLOYMENT],
        &["sessions", "drop", "abc"],
    ] {
        let out = run(&fake.url, dir.path(), args);
        out.failed();
        assert!(
            out.stderr.contains("not logged in"),
            "{args:?}: {}",
            out.stderr
        );
    }
    assert!(fake.requests().is_empty());
}

#[test]
fn routes_list_shows_routes_aliases_and_default() {
    let fake = FakeForge::start();
    let dir = logged_in(&fake.url);
    let out = run(&fake.url, dir.path(), &["routes", "list"]);
    out.ok();
    let req = fake.last();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("GET", "/v1/admin/routes")
    );
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let text = &out.stdout;
    assert!(text.contains("Source: /etc/forge.toml"), "{text}");
    assert!(text.contains("NAME  STRATEGY  DEPLOYMENTS"), "{text}");
    assert!(
        text.contains("chat  priority  openai/gpt-4o#0 (w=1, p=0)  backup"),
        "{text}"
    );
    assert!(text.contains("Default model: chat"), "{text}");
    assert!(text.contains("  fast -> gpt-4o-mini"), "{text}");

    let out = run(&fake.url, dir.path(), &["--json", "routes", "list"]);
    out.ok();
    let value: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(value["routes"][0]["timeouts"]["first_token_ms"], 30000);
}

#[test]
fn routes_decide_sends_model_and_session_and_prints_the_order() {
    let fake = FakeForge::start();
    let dir = logged_in(&fake.url);

    let out = run(&fake.url, dir.path(), &["routes", "decide", "chat"]);
    out.ok();
    let req = fake.last();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/v1/admin/routes/decide")
    );
    assert_eq!(req.json(), json!({"model": "chat"}));
    let text = &out.stdout;
    assert!(text.contains("Model chat goes to route chat."), "{text}");
    assert!(text.contains("1  openai/gpt-4o#0  ready"), "{text}");
    assert!(text.contains("12.5 ms"), "{text}");
    assert!(text.contains("Excluded:"), "{text}");
    assert!(text.contains("cooling (1.2 s left)"), "{text}");
    assert!(text.contains("Fallbacks: backup"), "{text}");

    let out = run(
        &fake.url,
        dir.path(),
        &["routes", "decide", "chat", "--session", "abc"],
    );
    out.ok();
    assert_eq!(
        fake.last().json(),
        json!({"model": "chat", "session_id": "abc"})
    );
    assert!(out.stdout.contains("(session abc)"), "{}", out.stdout);
    assert!(out.stdout.contains("ms  yes"), "{}", out.stdout);

    let out = run(
        &fake.url,
        dir.path(),
        &["--json", "routes", "decide", "chat"],
    );
    out.ok();
    let value: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(value["candidates"][0]["extra"], "ignored");

    let out = run(&fake.url, dir.path(), &["routes", "decide", "nope"]);
    out.failed();
    assert!(
        out.stderr
            .contains("Forge answered 404 Not Found: Unknown model \"nope\""),
        "{}",
        out.stderr
    );
}

#[test]
fn deployments_list_and_reset_with_an_encoded_id() {
    let fake = FakeForge::start();
    let dir = logged_in(&fake.url);

    let out = run(&fake.url, dir.path(), &["deployments", "list"]);
    out.ok();
    assert_eq!(fake.last().path, "/v1/admin/deployments");
    assert!(
        out.stdout
            .contains("openai/gpt-4o#0  cooling (4.5 s left)  1          250.0 ms   10/2       3"),
        "{}",
        out.stdout
    );

    let out = run(&fake.url, dir.path(), &["deployments", "reset", DEPLOYMENT]);
    out.ok();
    let req = fake.last();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        (
            "POST",
            format!("/v1/admin/deployments/{DEPLOYMENT_IN_PATH}/reset").as_str()
        )
    );
    assert!(
        out.stdout
            .contains("Reset deployment openai/gpt-4o#0: ready."),
        "{}",
        out.stdout
    );

    let out = run(
        &fake.url,
        dir.path(),
        &["--json", "deployments", "reset", DEPLOYMENT],
    );
    out.ok();
    let value: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(value["availability"], "ready");

    let out = run(&fake.url, dir.path(), &["deployments", "reset", "nope/x#9"]);
    out.failed();
    assert!(
        out.stderr.contains("404 Not Found: Deployment not found"),
        "{}",
        out.stderr
    );
    assert_eq!(fake.last().path, "/v1/admin/deployments/nope%2Fx%239/reset");
}

#[test]
fn sessions_drop_takes_a_204_and_reports_404() {
    let fake = FakeForge::start();
    let dir = logged_in(&fake.url);

    let out = run(&fake.url, dir.path(), &["sessions", "drop", SESSION]);
    out.ok();
    let req = fake.last();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        (
            "DELETE",
            format!("/v1/admin/sessions/{SESSION_IN_PATH}").as_str()
        )
    );
    assert!(
        out.stdout.contains(&format!("Dropped session {SESSION}")),
        "{}",
        out.stdout
    );

    let out = run(
        &fake.url,
        dir.path(),
        &["--json", "sessions", "drop", SESSION],
    );
    out.ok();
    assert_eq!(out.stdout, "");

    let out = run(&fake.url, dir.path(), &["sessions", "drop", "gone"]);
    out.failed();
    assert!(
        out.stderr
            .contains("Forge answered 404 Not Found: Session not found"),
        "{}",
        out.stderr
    );

    let out = run(&fake.url, dir.path(), &["sessions", "drop", " "]);
    out.failed();
    assert!(out.stderr.contains("must not be empty"), "{}", out.stderr);
}

#[test]
fn menu_runs_the_admin_actions() {
    let fake = FakeForge::start();
    let dir = logged_in(&fake.url);
    let input = format!("16\n17\nchat\n\n18\n19\n{DEPLOYMENT}\n20\n{SESSION}\nq\n");
    let out = run_with_stdin(&fake.url, dir.path(), &[], &input);
    out.ok();
    assert!(
        out.stdout.contains("16. Show routes (admin)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Default model: chat"), "{}", out.stdout);
    assert!(out.stdout.contains("Fallbacks: backup"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("Reset deployment openai/gpt-4o#0: ready."),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("Dropped session {SESSION}")),
        "{}",
        out.stdout
    );
    let paths: Vec<String> = fake.requests().into_iter().map(|r| r.path).collect();
    assert!(
        paths.contains(&format!("/v1/admin/sessions/{SESSION_IN_PATH}")),
        "{paths:?}"
    );
}
