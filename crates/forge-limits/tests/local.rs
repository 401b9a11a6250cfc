#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The in-process limiter through its public API, with explicit time throughout.

use std::sync::Arc;

use forge_limits::headers::rate_limit_headers;
use forge_limits::period::{DAY_MS, days_from_civil};
use forge_limits::{
    BudgetSpec, LimitKind, LimitSpec, LocalLimiter, Period, Reservation, Scope, Usage,
};

fn utc(y: i64, m: u32, d: u32, h: u64, min: u64) -> u64 {
    u64::try_from(days_from_civil(y, m, d)).unwrap() * DAY_MS + h * 3_600_000 + min * 60_000
}

const T0: u64 = 1_750_000_000_000;

fn key() -> Scope {
    Scope::ForgeKey(1)
}

fn rpm(n: u64) -> LimitSpec {
    LimitSpec {
        rpm: Some(n),
        ..LimitSpec::default()
    }
}

fn reserve(tokens: u64) -> Reservation {
    Reservation {
        tokens,
        budget_tokens: i64::try_from(tokens).unwrap(),
        ..Reservation::default()
    }
}

#[test]
fn rpm_100_admits_exactly_100_of_1000_burst_requests() {
    let l = LocalLimiter::new();
    let limits = [(key(), rpm(100))];
    let admitted = (0..1000)
        .filter(|_| l.admit(T0, &limits, &[], Reservation::default()).is_ok())
        .count();
    assert_eq!(admitted, 100);
    let r = l
        .admit(T0 + 30_000, &limits, &[], Reservation::default())
        .unwrap_err();
    assert_eq!(
        (r.kind, r.scope.clone(), r.retry_after_secs()),
        (LimitKind::RequestsPerMinute, key(), Some(30))
    );
    assert!(
        l.admit(T0 + 60_000, &limits, &[], Reservation::default())
            .is_ok()
    );
}

#[test]
fn refusal_by_the_third_scope_leaves_the_first_two_untouched() {
    let l = LocalLimiter::new();
    let user = Scope::User(2);
    let dep = Scope::Deployment("azure-eu".into());
    let limits = [
        (key(), rpm(10)),
        (
            user.clone(),
            LimitSpec {
                tpm: Some(1_000),
                ..LimitSpec::default()
            },
        ),
        (
            dep.clone(),
            LimitSpec {
                concurrency: Some(1),
                ..LimitSpec::default()
            },
        ),
    ];
    let budgets = [(
        key(),
        BudgetSpec {
            period: Period::Day,
            max_cost_nanos: Some(1_000),
            max_tokens: None,
        },
    )];
    let res = Reservation {
        tokens: 100,
        cost_nanos: 10,
        ..Reservation::default()
    };
    let _held = l.admit(T0, &limits[2..], &[], res).unwrap();
    let before = l.snapshot(T0, &limits[..2]);

    let r = l.admit(T0, &limits, &budgets, res).unwrap_err();
    assert_eq!(
        (r.scope.clone(), r.kind, r.limit, r.used),
        (dep, LimitKind::Concurrency, 1, 1)
    );
    assert_eq!(r.retry_after_secs(), Some(1));
    assert_eq!(l.snapshot(T0, &limits[..2]), before);
    assert_eq!(before.requests.unwrap().remaining, 10);
    assert_eq!(before.tokens.unwrap().remaining, 1_000);
    assert_eq!(l.budget_used(T0, &key(), Period::Day), (0, 0));
}

#[test]
fn concurrent_reservations_against_a_budget_for_10_requests_admit_exactly_10() {
    let l = Arc::new(LocalLimiter::new());
    let budgets = [(
        Scope::User(5),
        BudgetSpec {
            period: Period::Month,
            max_cost_nanos: Some(10_000),
            max_tokens: Some(1_000),
        },
    )];
    let res = Reservation {
        tokens: 40,
        budget_tokens: 100,
        cost_nanos: 900,
        ..Reservation::default()
    };
    let tickets: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    (0..25)
                        .filter_map(|_| l.admit(T0, &[], &budgets, res).ok())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(tickets.len(), 10);
    assert_eq!(
        l.budget_used(T0, &Scope::User(5), Period::Month),
        (9_000, 1_000)
    );
    let r = l.admit(T0, &[], &budgets, res).unwrap_err();
    assert_eq!(r.kind, LimitKind::TokenBudget(Period::Month));

    // Settling with the real (smaller) figures frees room for more.
    for t in tickets {
        l.finish(
            T0 + 1,
            t,
            Usage {
                tokens: 50,
                cost_nanos: 450,
            },
        );
    }
    assert_eq!(
        l.budget_used(T0, &Scope::User(5), Period::Month),
        (4_500, 500)
    );
    let more = (0..100)
        .filter(|_| l.admit(T0 + 2, &[], &budgets, res).is_ok())
        .count();
    assert_eq!(more, 5);
}

#[test]
fn tpm_reserve_then_settle_and_streaming() {
    let l = LocalLimiter::new();
    let limits = [(
        key(),
        LimitSpec {
            tpm: Some(1_000),
            ..LimitSpec::default()
        },
    )];
    let mut a = l.admit(T0, &limits, &[], reserve(600)).unwrap();
    assert!(l.admit(T0, &limits, &[], reserve(500)).is_err());
    // The request used 200 tokens, not 600: the rest goes back at once.
    l.settle(
        T0 + 500,
        &mut a,
        Usage {
            tokens: 200,
            cost_nanos: 0,
        },
    );
    l.settle(
        T0 + 600,
        &mut a,
        Usage {
            tokens: 200,
            cost_nanos: 0,
        },
    ); // idempotent
    let mut b = l.admit(T0 + 1_000, &limits, &[], reserve(500)).unwrap();
    assert_eq!(b.snapshot().tokens.unwrap().remaining, 300);
    // Streaming output counts as it arrives and can push the window over its limit.
    for i in 0..10 {
        l.add_tokens(T0 + 2_000 + i * 100, &mut b, 60);
    }
    let r = l.admit(T0 + 3_000, &limits, &[], reserve(0)).unwrap_err();
    assert_eq!((r.kind, r.used), (LimitKind::TokensPerMinute, 1_300));
    // 200 (T0) + 500 (T0+1s) must leave before a zero-token request fits under 1000 again.
    assert_eq!(r.retry_after_ms, Some(61_000 - 3_000));
    l.finish(
        T0 + 3_000,
        b,
        Usage {
            tokens: 1_100,
            cost_nanos: 0,
        },
    );
    assert_eq!(l.snapshot(T0 + 3_000, &limits).tokens.unwrap().remaining, 0);
    let r = l
        .admit(T0 + 3_000, &limits, &[], reserve(2_000))
        .unwrap_err();
    assert_eq!(r.retry_after_ms, None);
}

#[test]
fn concurrency_slots_are_released_or_expire() {
    let l = LocalLimiter::new();
    let limits = [(
        key(),
        LimitSpec {
            concurrency: Some(2),
            ..LimitSpec::default()
        },
    )];
    let res = Reservation {
        lease_ms: 5_000,
        ..Reservation::default()
    };
    let a = l.admit(T0, &limits, &[], res).unwrap();
    let _b = l.admit(T0, &limits, &[], res).unwrap();
    assert_eq!(
        l.admit(T0, &limits, &[], res).unwrap_err().kind,
        LimitKind::Concurrency
    );
    l.release(a);
    let _c = l.admit(T0 + 1, &limits, &[], res).unwrap();
    assert!(l.admit(T0 + 4_999, &limits, &[], res).is_err());
    // _b's lease ran out; _c's still runs.
    let _d = l.admit(T0 + 5_000, &limits, &[], res).unwrap();
    assert!(l.admit(T0 + 5_000, &limits, &[], res).is_err());
}

#[test]
fn budgets_roll_over_at_utc_midnight_and_on_the_first() {
    let l = LocalLimiter::new();
    let s = Scope::GatewayKey("ci".into());
    let day = [(
        s.clone(),
        BudgetSpec {
            period: Period::Day,
            max_cost_nanos: Some(100),
            max_tokens: None,
        },
    )];
    let month = [(
        s.clone(),
        BudgetSpec {
            period: Period::Month,
            max_cost_nanos: None,
            max_tokens: Some(10),
        },
    )];
    let cost = |c| Reservation {
        cost_nanos: c,
        ..Reservation::default()
    };

    let late = utc(2024, 2, 29, 23, 59);
    let t = l.admit(late, &[], &day, cost(100)).unwrap();
    let r = l.admit(late, &[], &day, cost(1)).unwrap_err();
    assert_eq!(r.kind, LimitKind::SpendBudget(Period::Day));
    assert_eq!(r.retry_after_secs(), Some(60));
    let midnight = utc(2024, 3, 1, 0, 0);
    assert!(l.admit(midnight - 1, &[], &day, cost(1)).is_err());
    let _ = l.admit(midnight, &[], &day, cost(30)).unwrap();
    // Yesterday's reservation settles after midnight: the closed day is not reopened and the
    // new day is not charged for it.
    l.finish(
        midnight + 5,
        t,
        Usage {
            tokens: 0,
            cost_nanos: 250,
        },
    );
    assert_eq!(l.budget_used(midnight + 5, &s, Period::Day), (30, 0));

    let _ = l
        .admit(utc(2024, 3, 31, 12, 0), &[], &month, reserve(10))
        .unwrap();
    let r = l
        .admit(utc(2024, 3, 31, 23, 59), &[], &month, reserve(1))
        .unwrap_err();
    assert_eq!(
        (r.kind, r.retry_after_secs()),
        (LimitKind::TokenBudget(Period::Month), Some(60))
    );
    assert!(
        l.admit(utc(2024, 4, 1, 0, 0), &[], &month, reserve(10))
            .is_ok()
    );

    let total = [(
        s.clone(),
        BudgetSpec {
            period: Period::Total,
            max_cost_nanos: Some(5),
            max_tokens: None,
        },
    )];
    let _ = l
        .admit(utc(2024, 1, 1, 0, 0), &[], &total, cost(5))
        .unwrap();
    let r = l
        .admit(utc(2030, 1, 1, 0, 0), &[], &total, cost(0))
        .unwrap_err();
    assert_eq!(r.retry_after_ms, None);
}

#[test]
fn ticket_snapshot_gives_openai_headers_for_the_tightest_scope() {
    let l = LocalLimiter::new();
    let limits = [
        (
            key(),
            LimitSpec {
                rpm: Some(100),
                tpm: Some(10_000),
                concurrency: None,
            },
        ),
        (
            Scope::Model("gpt-4o".into()),
            LimitSpec {
                rpm: Some(3),
                tpm: None,
                concurrency: Some(10),
            },
        ),
    ];
    let t = l.admit(T0 + 400, &limits, &[], reserve(1_000)).unwrap();
    let h = rate_limit_headers(&t.snapshot());
    let get = |name: &str| h.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str());
    assert_eq!(get("x-ratelimit-limit-requests"), Some("3"));
    assert_eq!(get("x-ratelimit-remaining-requests"), Some("2"));
    assert_eq!(get("x-ratelimit-reset-requests"), Some("59.6s"));
    assert_eq!(get("x-ratelimit-limit-tokens"), Some("10000"));
    assert_eq!(get("x-ratelimit-remaining-tokens"), Some("9000"));
    assert_eq!(get("x-ratelimit-reset-tokens"), Some("59.6s"));
}

#[test]
fn duplicate_scopes_are_checked_once_with_the_stricter_limit() {
    let l = LocalLimiter::new();
    let limits = [(key(), rpm(5)), (key(), rpm(3))];
    let admitted = (0..10)
        .filter(|_| l.admit(T0, &limits, &[], Reservation::default()).is_ok())
        .count();
    assert_eq!(admitted, 3);
}

#[test]
fn sweep_forgets_idle_scopes_and_ended_periods() {
    let l = LocalLimiter::new();
    let limits = [(key(), rpm(1))];
    let day = [(
        key(),
        BudgetSpec {
            period: Period::Day,
            max_cost_nanos: Some(1),
            max_tokens: None,
        },
    )];
    let t = l
        .admit(
            T0,
            &limits,
            &day,
            Reservation {
                cost_nanos: 1,
                ..Reservation::default()
            },
        )
        .unwrap();
    l.release(t);
    l.sweep(T0 + 59_000);
    assert!(
        l.admit(T0 + 59_000, &limits, &[], Reservation::default())
            .is_err()
    );
    l.sweep(T0 + 2 * DAY_MS);
    assert!(
        l.admit(
            T0 + 2 * DAY_MS,
            &limits,
            &day,
            Reservation {
                cost_nanos: 1,
                ..Reservation::default()
            }
        )
        .is_ok()
    );
}
