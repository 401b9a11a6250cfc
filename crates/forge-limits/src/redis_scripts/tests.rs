#![allow(clippy::unwrap_used)]

use super::*;

fn plan() -> AdmitPlan {
    AdmitPlan::new(
        &[
            (
                Scope::ForgeKey(1),
                LimitSpec {
                    rpm: Some(10),
                    tpm: Some(1000),
                    concurrency: Some(2),
                },
            ),
            (
                Scope::Model("m:x".into()),
                LimitSpec {
                    rpm: None,
                    tpm: Some(500),
                    concurrency: None,
                },
            ),
        ],
        &[(
            Scope::User(9),
            BudgetSpec {
                period: Period::Month,
                max_cost_nanos: Some(5_000),
                max_tokens: None,
            },
        )],
        Reservation {
            tokens: 100,
            budget_tokens: 300,
            cost_nanos: 40,
            lease_ms: 30_000,
        },
        "req-1",
    )
}

#[test]
fn admit_args_follow_the_documented_layout() {
    let (keys, argv) = admit_args(&KeySpace::default(), &plan(), Some(1_700_000_000_123));
    assert_eq!(
        keys,
        [
            "forge:rl:key:1:req",
            "forge:rl:key:1:tok",
            "forge:rl:key:1:conc",
            "forge:rl:model:m%3Ax:req",
            "forge:rl:model:m%3Ax:tok",
            "forge:rl:model:m%3Ax:conc",
            "forge:rl:user:9:budget:month",
        ]
    );
    assert_eq!(
        argv,
        [
            "1700000000123",
            "req-1",
            "30000",
            "100",
            "300",
            "40",
            "2",
            "1", //
            "10",
            "1000",
            "2", //
            "-1",
            "500",
            "-1", //
            "1",
            "5000",
            "-1",
        ]
    );
    let (_, argv) = admit_args(&KeySpace::new("{forge}:rl"), &plan(), None);
    assert_eq!(argv[0], "0");
}

#[test]
fn admitted_reply_becomes_a_ticket_with_tightest_gauges() {
    let p = plan();
    let reply = [
        1,
        1_700_000_000_123,
        3,
        60_000,
        400,
        60_000,
        -1,
        -1,
        450,
        59_000,
        24_306,
    ];
    let ticket = parse_admit_reply(&p, &reply).unwrap().unwrap();
    assert_eq!(ticket.admitted_ms(), 1_700_000_000_123);
    assert_eq!(ticket.lease_id(), "req-1");
    let s = ticket.snapshot();
    assert_eq!(
        s.requests,
        Some(Gauge {
            limit: 10,
            remaining: 7,
            reset_ms: 60_000
        })
    );
    assert_eq!(
        s.tokens,
        Some(Gauge {
            limit: 500,
            remaining: 50,
            reset_ms: 59_000
        })
    );
    assert_eq!(ticket.budgets[0].period_id, 24_306);
    assert_eq!(
        ticket.leased_scopes().collect::<Vec<_>>(),
        [&Scope::ForgeKey(1)]
    );
}

#[test]
fn refusal_reply_names_scope_kind_and_retry() {
    let p = plan();
    let gauges = [10, 30_000, 400, 60_000, -1, -1, 0, 0];
    let mut reply = vec![0, 5, 1, 1, 10, 10, 1, 12_345];
    reply.extend(gauges);
    let r = parse_admit_reply(&p, &reply).unwrap().unwrap_err();
    assert_eq!(
        (r.scope.clone(), r.kind),
        (Scope::ForgeKey(1), LimitKind::RequestsPerMinute)
    );
    assert_eq!(
        (r.limit, r.used, r.requested, r.retry_after_secs()),
        (10, 10, 1, Some(13))
    );
    assert_eq!(r.snapshot.requests.unwrap().remaining, 0);

    let mut reply = vec![0, 5, 1, 4, 5_000, 4_990, 40, -1];
    reply.extend(gauges);
    let r = parse_admit_reply(&p, &reply).unwrap().unwrap_err();
    assert_eq!(
        (r.scope, r.kind, r.retry_after_ms),
        (Scope::User(9), LimitKind::SpendBudget(Period::Month), None)
    );
}

#[test]
fn malformed_replies_are_errors() {
    let p = plan();
    for reply in [
        vec![],
        vec![1],
        vec![2, 0],
        vec![1, 0, 1, 2, 3],
        vec![1, 0, 3, 0, 0, 0, -1, -1, 0, 0],
        vec![0, 0, 9, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0],
        vec![0, 0, 1, 7, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0],
        vec![0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0],
    ] {
        assert!(parse_admit_reply(&p, &reply).is_err(), "{reply:?}");
    }
}

#[test]
fn settle_stream_and_release_args() {
    let p = plan();
    let reply = [
        1, 1_000_000, 1, 60_000, 100, 60_000, -1, -1, 100, 60_000, 24_306,
    ];
    let mut t = parse_admit_reply(&p, &reply).unwrap().unwrap();
    let ks = KeySpace::default();

    let (keys, argv) = add_tokens_args(&ks, &mut t, Some(2_000_000), 25);
    assert_eq!(keys, ["forge:rl:key:1:tok", "forge:rl:model:m%3Ax:tok"]);
    assert_eq!(argv, ["2000000", "1000000", "25", "0", "2", "0", "0", "0"]);

    let (keys, argv) = settle_args(
        &ks,
        &mut t,
        None,
        Usage {
            tokens: 60,
            cost_nanos: 55,
        },
    );
    assert_eq!(keys.last().unwrap(), "forge:rl:user:9:budget:month");
    // 125 counted, 60 used: give back 65 of the 100 reserved; budgets true up from 300 / 40.
    assert_eq!(
        argv,
        ["0", "1000000", "0", "65", "2", "1", "15", "-240", "24306"]
    );

    let (keys, argv) = release_args(&ks, &t);
    assert_eq!(
        (keys, argv),
        (
            vec!["forge:rl:key:1:conc".to_owned()],
            vec!["req-1".to_owned()]
        )
    );
}

#[test]
fn scripts_are_assembled_with_their_helpers() {
    assert!(
        ADMIT_SCRIPT.contains("local function load_window")
            && ADMIT_SCRIPT.contains("return deny(")
    );
    assert!(SETTLE_SCRIPT.contains("local function clock") && SETTLE_SCRIPT.contains("HINCRBY"));
    assert!(RELEASE_SCRIPT.contains("ZREM"));
}
