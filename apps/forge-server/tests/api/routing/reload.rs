//! Hot reload: a new table applies within a second under load; a broken file changes nothing.

use std::cell::Cell;
use std::time::{Duration, Instant};

use super::common::*;
use crate::harness::{TestServer, client};

#[actix_rt::test]
async fn a_new_table_applies_under_load_and_a_broken_one_is_ignored() {
    let a = openai();
    let b = openai();
    let only_a = format!(
        "{}{}{}[models.m]\nstrategy = \"weighted\"\ndeployments = [{{ provider = \"a\", model = \"gpt-4o-mini\" }}]\n",
        openai_provider("a", &a),
        openai_provider("b", &b),
        static_key(),
    );
    let server = TestServer::start_with_config(&only_a).await;
    let c = client();
    let stop = Cell::new(false);
    let failures = Cell::new(0usize);
    let served = Cell::new(0usize);
    let load = async {
        while !stop.get() {
            for reply in chats(&c, &server, "m", 8, 8).await {
                served.set(served.get() + 1);
                if reply.status != 200 {
                    failures.set(failures.get() + 1);
                }
            }
        }
    };
    let change = async {
        actix_rt::time::sleep(Duration::from_millis(300)).await;
        // New deployments and weights (everything to B) and a new model, in one write.
        let changed = format!(
            "{}{}{}[models.m]\nstrategy = \"weighted\"\ndeployments = [{{ provider = \"b\", model = \"gpt-4o-mini\", weight = 3 }}]\n\n[models.added]\ndeployments = [{{ provider = \"b\", model = \"gpt-4o\" }}]\n",
            openai_provider("a", &a),
            openai_provider("b", &b),
            static_key(),
        );
        server.write_config(&changed);
        let written = Instant::now();
        let applied = loop {
            let reply = chat(&c, &server, &chat_body("added", false), &[]).await;
            if reply.status == 200 {
                break written.elapsed();
            }
            assert_eq!(reply.status, 404, "{}", reply.text);
            assert!(
                written.elapsed() < Duration::from_secs(3),
                "the new table never applied"
            );
            actix_rt::time::sleep(Duration::from_millis(20)).await;
        };
        // Let some load run on the new table, then stop it.
        actix_rt::time::sleep(Duration::from_millis(200)).await;
        stop.set(true);
        applied
    };
    let ((), applied) = futures_util::future::join(load, change).await;
    assert!(applied < Duration::from_secs(1), "took {applied:?}");
    assert_eq!(
        failures.get(),
        0,
        "{} of {} failed",
        failures.get(),
        served.get()
    );
    assert!(b.request_count() > 1, "the new weights never applied");

    // A broken file: logged and ignored, the table in force keeps serving.
    a.clear_requests();
    server.write_config("[[providers]]\nname = \"a\"\nkind = \"carrier-pigeon\"\n");
    actix_rt::time::sleep(Duration::from_millis(600)).await;
    let reply = chat(&c, &server, &chat_body("added", false), &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let replies = chats(&c, &server, "m", 10, 2).await;
    assert!(
        replies
            .iter()
            .all(|r| r.header("x-forge-provider") == Some("b"))
    );
    assert_eq!(a.request_count(), 0);
}
