//! Several forge-server processes sharing PostgreSQL and the real Redis: limits hold across
//! them, and a revoked key stops working on every instance.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use awc::Client;
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::harness::{PG_ADMIN_URL, Reply, client, get, post_json, read};
use crate::routing::common::{KEY, chat_body, key_digest, openai, openai_provider};

const REDIS: &str = "redis://127.0.0.1:6379";

/// One forge-server process; killed on drop.
struct Instance {
    child: Child,
    base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A shared database, data directories and config for a group of instances.
struct Cluster {
    instances: Vec<Instance>,
    database_url: String,
    dir: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.instances.clear();
        let url = self.database_url.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(forge_storage::testing::drop_postgres(PG_ADMIN_URL, &url))
        })
        .join();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn unique(prefix: &str) -> String {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).unwrap();
    format!("{prefix}-{}", hex::encode(bytes))
}

async fn cluster(n: usize, config: &str) -> Cluster {
    let database_url = forge_storage::testing::scratch_postgres(PG_ADMIN_URL)
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(unique("forge-cluster"));
    std::fs::create_dir_all(&dir).unwrap();
    let config_path = dir.join("forge.toml");
    std::fs::write(&config_path, config).unwrap();
    // Migrations once, before the instances race for them.
    let status = Command::new(env!("CARGO_BIN_EXE_forge-server"))
        .arg("migrate")
        .env("DATABASE_URL", &database_url)
        .env("FORGE_DATA_DIR", dir.join("migrate"))
        .env(
            "FORGE_ENCRYPTION_KEY",
            "cluster-test-encryption-key-0123456789",
        )
        .env(
            "FORGE_JWT_SECRET",
            "cluster-test-jwt-secret-0123456789abcdef",
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let mut instances = Vec::new();
    for i in 0..n {
        let port = crate::harness::free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_forge-server"))
            .env("FORGE_BIND", format!("127.0.0.1:{port}"))
            .env("FORGE_CONFIG", &config_path)
            .env("DATABASE_URL", &database_url)
            .env("FORGE_DATA_DIR", dir.join(format!("instance-{i}")))
            .env(
                "FORGE_ENCRYPTION_KEY",
                "cluster-test-encryption-key-0123456789",
            )
            .env(
                "FORGE_JWT_SECRET",
                "cluster-test-jwt-secret-0123456789abcdef",
            )
            .env("REDIS_URL", REDIS)
            .env("FORGE_ALLOW_PRIVATE_UPSTREAMS", "true")
            .env("FORGE_WORKERS", "1")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        instances.push(Instance {
            child,
            base: format!("http://127.0.0.1:{port}"),
        });
    }
    let c = client();
    for instance in &instances {
        let started = Instant::now();
        loop {
            if let Ok(resp) = c
                .get(format!("{}/health/ready", instance.base))
                .send()
                .await
                && resp.status().is_success()
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "instance never came up"
            );
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Cluster {
        instances,
        database_url,
        dir,
    }
}

fn config(oa: &forge_testkit::FakeOpenAi, prefix: &str, limits: &str) -> String {
    format!(
        "[limits]\nredis_prefix = \"{prefix}\"\n\n{}[[keys]]\nname = \"tests\"\nkey = \"sha256:{}\"\nlimits = {limits}\n\n[models.m]\ndeployments = [{{ provider = \"oa\", model = \"gpt-4o-mini\" }}]\n",
        openai_provider("oa", oa),
        key_digest(),
    )
}

async fn chat_at(c: &Client, base: &str, body: &Value) -> Reply {
    read(
        c.post(format!("{base}/v1/chat/completions"))
            .insert_header(("authorization", format!("Bearer {KEY}")))
            .send_json(body)
            .await
            .unwrap(),
    )
    .await
}

async fn rpm_holds_across(n: usize) {
    let oa = openai();
    let cluster = cluster(n, &config(&oa, &unique("forge-test-rl"), "{ rpm = 100 }")).await;
    let c = client();
    let body = chat_body("m", false);
    let bases: Vec<&str> = cluster.instances.iter().map(|i| i.base.as_str()).collect();
    let mut admitted = 0;
    for batch in 0..50 {
        let replies =
            join_all((0..20).map(|i| chat_at(&c, bases[(batch * 20 + i) % n], &body))).await;
        for reply in replies {
            match reply.status {
                200 => admitted += 1,
                429 => assert!(reply.header("retry-after").is_some()),
                other => panic!("unexpected {other}: {}", reply.text),
            }
        }
    }
    // 1,000 requests well inside one minute: the shared window admits 100 (± 2%).
    assert!(
        (98..=102).contains(&admitted),
        "{admitted} of 1000 admitted by {n} instances"
    );
}

#[actix_rt::test]
async fn an_rpm_limit_holds_across_two_instances() {
    rpm_holds_across(2).await;
}

#[actix_rt::test]
async fn an_rpm_limit_holds_across_four_instances() {
    rpm_holds_across(4).await;
}

#[actix_rt::test]
async fn a_budget_holds_across_instances_under_concurrency() {
    let oa = openai();
    let body =
        json!({"model": "m", "max_tokens": 50, "messages": [{"role": "user", "content": "hello"}]});
    let reserve = (serde_json::to_vec(&body).unwrap().len() as i64 + 3) / 4 + 50;
    let limits = format!(
        "{{ budgets = [{{ period = \"day\", max_tokens = {} }}] }}",
        reserve * 10
    );
    let cluster = cluster(4, &config(&oa, &unique("forge-test-budget"), &limits)).await;
    oa.set_fault(
        forge_testkit::Fault::DelayHeaders(200),
        forge_testkit::FaultMode::Always,
    );
    let c = client();
    let bases: Vec<&str> = cluster.instances.iter().map(|i| i.base.as_str()).collect();
    let replies = join_all((0..200).map(|i| chat_at(&c, bases[i % 4], &body))).await;
    let admitted = replies.iter().filter(|r| r.status == 200).count();
    assert!((1..=10).contains(&admitted), "{admitted} of 200 admitted");
    assert!(replies.iter().all(|r| r.status == 200 || r.status == 429));
}

#[actix_rt::test]
async fn a_revoked_key_stops_working_on_every_instance() {
    let oa = openai();
    let cluster = cluster(2, &config(&oa, &unique("forge-test-inv"), "{}")).await;
    let c = client();
    let (one, two) = (&cluster.instances[0].base, &cluster.instances[1].base);
    // A registered user with a provider key and a Forge key, made through instance one.
    let reg = post_json(
        &c,
        &format!("{one}/v1/auth/register"),
        None,
        &json!({"username": "rev", "email": "rev@example.com", "password": "correct-horse-battery"}),
    )
    .await;
    assert_eq!(reg.status, 200, "{}", reg.text);
    let token = read(
        c.post(format!("{one}/v1/auth/token"))
            .send_form(&[("username", "rev"), ("password", "correct-horse-battery")])
            .await
            .unwrap(),
    )
    .await;
    let jwt = token.body["access_token"].as_str().unwrap().to_owned();
    let added = post_json(
        &c,
        &format!("{one}/v1/provider-keys"),
        Some(&jwt),
        &json!({"provider_name": "openai", "api_key": "sk-fake-upstream-key-0001", "base_url": oa.base_url()}),
    )
    .await;
    assert!(added.status < 300, "{}", added.text);
    let created = post_json(
        &c,
        &format!("{one}/v1/api-keys"),
        Some(&jwt),
        &json!({"name": "k"}),
    )
    .await;
    let key = created.body["key"].as_str().unwrap().to_owned();
    let key_id = created.body["id"].as_i64().unwrap();
    let call = |base: String| {
        let c = c.clone();
        let key = key.clone();
        async move {
            read(
                c.post(format!("{base}/v1/chat/completions"))
                    .insert_header(("authorization", format!("Bearer {key}")))
                    .send_json(&chat_body("openai/gpt-4o-mini", false))
                    .await
                    .unwrap(),
            )
            .await
            .status
        }
    };
    // Both instances have the key cached now.
    assert_eq!(call(one.clone()).await, 200);
    assert_eq!(call(two.clone()).await, 200);
    let revoked = crate::harness::send_json(
        &c,
        "DELETE",
        &format!("{one}/v1/api-keys/{key_id}"),
        Some(&jwt),
        &json!(null),
    )
    .await;
    assert!(revoked.status < 300, "{}", revoked.text);
    let at = Instant::now();
    // The documented bound with Redis up is the pub/sub round trip; allow one second.
    loop {
        if call(two.clone()).await == 401 {
            break;
        }
        assert!(
            at.elapsed() < Duration::from_secs(1),
            "instance two still serves the revoked key"
        );
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(call(one.clone()).await, 401);
    let _ = get(&c, &format!("{two}/health"), None).await;
}
