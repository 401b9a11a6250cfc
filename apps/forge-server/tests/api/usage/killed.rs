//! A process killed with SIGKILL loses no usage record: every answered request is recorded
//! once after a restart on the same data directory (the write-ahead file is replayed).

use std::time::{Duration, Instant};

use futures_util::future::join_all;

use super::process::{spawn, stored, wait_up};
use crate::harness::{client, read};
use crate::routing::common::{KEY, chat_body, key_digest, openai, openai_provider};

#[actix_rt::test]
async fn no_answered_request_is_lost_to_sigkill() {
    let oa = openai();
    let dir = crate::harness::scratch_dir();
    let config = dir.join("forge.toml");
    std::fs::write(
        &config,
        format!(
            "{}[[keys]]\nname = \"tests\"\nkey = \"sha256:{}\"\n\n[models.m]\ndeployments = [{{ provider = \"oa\", model = \"gpt-4o-mini\" }}]\n",
            openai_provider("oa", &oa),
            key_digest()
        ),
    )
    .unwrap();
    let port = crate::harness::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let c = client();
    let body = chat_body("m", false);
    let mut answered = 0;
    // Killed right after the last answer, most records are still waiting for their batch. A
    // flush landing in that millisecond would leave nothing to prove: then once more.
    for round in 0.. {
        assert!(round < 3, "every kill came after a flush");
        let mut child = spawn(&dir, &config, port, &[]);
        wait_up(&base).await;
        for _ in 0..30 {
            let replies = join_all((0..20).map(|_| async {
                read(
                    c.post(format!("{base}/v1/chat/completions"))
                        .insert_header(("authorization", format!("Bearer {KEY}")))
                        .send_json(&body)
                        .await
                        .unwrap(),
                )
                .await
            }))
            .await;
            answered += replies.iter().filter(|r| r.status == 200).count();
        }
        child.kill().unwrap();
        child.wait().unwrap();
        if stored(&dir).await < answered {
            break;
        }
    }

    let mut child = spawn(&dir, &config, port, &[]);
    wait_up(&base).await;
    let started = Instant::now();
    let mut now = stored(&dir).await;
    while now < answered && started.elapsed() < Duration::from_secs(20) {
        actix_rt::time::sleep(Duration::from_millis(200)).await;
        now = stored(&dir).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(now, answered, "every answered request recorded once");
    let _ = std::fs::remove_dir_all(&dir);
}
