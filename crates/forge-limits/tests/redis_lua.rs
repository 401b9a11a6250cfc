#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The Lua scripts against a real Redis (127.0.0.1:6379, through `redis-cli`), and against the
//! local limiter: the same scenario must produce the same admissions, refusals and gauges.
//! Skipped, with a message, when `redis-cli` or the server is missing.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use forge_limits::period::{DAY_MS, days_from_civil};
use forge_limits::redis_scripts::{
    ADMIT_SCRIPT, AdmitPlan, KeySpace, RELEASE_SCRIPT, SETTLE_SCRIPT, ScriptArgs, add_tokens_args,
    admit_args, parse_admit_reply, release_args, settle_args,
};
use forge_limits::{
    BudgetSpec, LimitKind, LimitSpec, LocalLimiter, Period, RateSnapshot, Rejection, Reservation,
    Scope, Ticket, Usage,
};

/// A connection through `redis-cli`, with the scripts loaded and every key under one prefix
/// deleted on drop.
struct Redis {
    prefix: String,
    admit: String,
    settle: String,
    release: String,
}

fn cli(args: &[&str]) -> Result<String, String> {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", "6379"])
        .args(args)
        .output()
        .map_err(|e| format!("redis-cli: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success()
        || text.starts_with("ERR")
        || text.starts_with("NOSCRIPT")
        || text.contains("Could not connect")
    {
        return Err(format!("{text}{}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(text)
}

impl Redis {
    fn connect(test: &str) -> Option<Redis> {
        match cli(&["PING"]) {
            Ok(pong) if pong.trim() == "PONG" => {}
            other => {
                eprintln!("SKIPPED {test}: no Redis at 127.0.0.1:6379 via redis-cli ({other:?})");
                return None;
            }
        }
        let load = |script: &str| cli(&["SCRIPT", "LOAD", script]).unwrap().trim().to_owned();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        Some(Redis {
            prefix: format!("forge-limits-test:{}:{test}:{nanos}", std::process::id()),
            admit: load(ADMIT_SCRIPT),
            settle: load(SETTLE_SCRIPT),
            release: load(RELEASE_SCRIPT),
        })
    }

    fn keys(&self) -> KeySpace {
        KeySpace::new(self.prefix.clone())
    }

    fn evalsha(&self, sha: &str, (keys, argv): ScriptArgs) -> Vec<i64> {
        let numkeys = keys.len().to_string();
        let mut args = vec!["EVALSHA", sha, numkeys.as_str()];
        args.extend(keys.iter().map(String::as_str));
        args.extend(argv.iter().map(String::as_str));
        let out = cli(&args).unwrap_or_else(|e| panic!("script failed: {e}"));
        out.lines()
            .map(|l| {
                l.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("not an integer: {out}"))
            })
            .collect()
    }

    fn admit(&self, plan: &AdmitPlan, now: Option<u64>) -> Result<Ticket, Rejection> {
        let reply = self.evalsha(&self.admit, admit_args(&self.keys(), plan, now));
        parse_admit_reply(plan, &reply).unwrap()
    }

    fn settle(&self, t: &mut Ticket, now: u64, usage: Usage) {
        self.evalsha(&self.settle, settle_args(&self.keys(), t, Some(now), usage));
    }

    fn stream(&self, t: &mut Ticket, now: u64, n: u64) {
        self.evalsha(&self.settle, add_tokens_args(&self.keys(), t, Some(now), n));
    }

    fn release(&self, t: &Ticket) {
        let args = release_args(&self.keys(), t);
        if !args.0.is_empty() {
            self.evalsha(&self.release, args);
        }
    }

    fn cmd(&self, args: &[&str]) -> String {
        cli(args).unwrap().trim().to_owned()
    }

    fn pttl(&self, key: &str) -> i64 {
        self.cmd(&["PTTL", key]).parse().unwrap()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let pattern = format!("{}:*", self.prefix);
        if let Ok(keys) = cli(&["--scan", "--pattern", &pattern]) {
            for key in keys.lines().filter(|k| !k.is_empty()) {
                let _ = cli(&["DEL", key]);
            }
        }
    }
}

fn utc(y: i64, m: u32, d: u32, h: u64, min: u64) -> u64 {
    u64::try_from(days_from_civil(y, m, d)).unwrap() * DAY_MS + h * 3_600_000 + min * 60_000
}

const T0: u64 = 1_750_000_000_000;

#[test]
fn rpm_100_admits_exactly_100_of_1000_burst_requests() {
    let Some(r) = Redis::connect("burst") else {
        return;
    };
    let limits = [(
        Scope::ForgeKey(1),
        LimitSpec {
            rpm: Some(100),
            ..LimitSpec::default()
        },
    )];
    let mut admitted = 0;
    let mut last = None;
    for i in 0..1000 {
        let plan = AdmitPlan::new(&limits, &[], Reservation::default(), format!("r{i}"));
        match r.admit(&plan, Some(T0)) {
            Ok(_) => admitted += 1,
            Err(rej) => last = Some(rej),
        }
    }
    assert_eq!(admitted, 100);
    let rej = last.unwrap();
    assert_eq!(
        (rej.kind, rej.limit, rej.used, rej.retry_after_secs()),
        (LimitKind::RequestsPerMinute, 100, 100, Some(60))
    );
    assert_eq!(rej.snapshot.requests.unwrap().remaining, 0);
}

#[test]
fn keys_follow_the_documented_layout_and_carry_ttls() {
    let Some(r) = Redis::connect("layout") else {
        return;
    };
    let ks = r.keys();
    let scope = Scope::Model("gpt-4o:eu".into());
    let limits = [(
        scope.clone(),
        LimitSpec {
            rpm: Some(10),
            tpm: Some(1_000),
            concurrency: Some(2),
        },
    )];
    let budgets = [
        (
            scope.clone(),
            BudgetSpec {
                period: Period::Day,
                max_cost_nanos: Some(1_000),
                max_tokens: None,
            },
        ),
        (
            scope.clone(),
            BudgetSpec {
                period: Period::Total,
                max_cost_nanos: None,
                max_tokens: Some(1_000),
            },
        ),
    ];
    let now = utc(2025, 6, 1, 23, 0);
    let res = Reservation {
        tokens: 100,
        budget_tokens: 100,
        cost_nanos: 10,
        lease_ms: 30_000,
    };
    let mut t = r
        .admit(
            &AdmitPlan::new(&limits, &budgets, res, "lease-a"),
            Some(now),
        )
        .unwrap();

    assert_eq!(
        ks.requests(&scope),
        format!("{}:model:gpt-4o%3Aeu:req", r.prefix)
    );
    let bucket = (now / 1000).to_string();
    assert_eq!(r.cmd(&["HGET", &ks.requests(&scope), &bucket]), "1");
    assert_eq!(r.cmd(&["HGET", &ks.tokens(&scope), &bucket]), "100");
    assert_eq!(
        r.cmd(&["ZSCORE", &ks.concurrency(&scope), "lease-a"]),
        (now + 30_000).to_string()
    );
    assert_eq!(
        r.cmd(&["HGET", &ks.budget(&scope, Period::Day), "cost"]),
        "10"
    );
    assert_eq!(
        r.cmd(&["HGET", &ks.budget(&scope, Period::Total), "tokens"]),
        "100"
    );

    for key in [ks.requests(&scope), ks.tokens(&scope)] {
        assert!((59_000..=61_000).contains(&r.pttl(&key)), "{key}");
    }
    assert!((29_000..=30_000).contains(&r.pttl(&ks.concurrency(&scope))));
    // Relative to the script's clock: an hour to midnight.
    assert!((3_599_000..=3_600_000).contains(&r.pttl(&ks.budget(&scope, Period::Day))));
    assert_eq!(r.pttl(&ks.budget(&scope, Period::Total)), -1);

    // Settle gives back unused tokens and trues budgets up; release frees the lease.
    r.settle(
        &mut t,
        now + 1_500,
        Usage {
            tokens: 40,
            cost_nanos: 7,
        },
    );
    assert_eq!(r.cmd(&["HGET", &ks.tokens(&scope), &bucket]), "40");
    assert_eq!(
        r.cmd(&["HGET", &ks.budget(&scope, Period::Day), "cost"]),
        "7"
    );
    assert_eq!(
        r.cmd(&["HGET", &ks.budget(&scope, Period::Total), "tokens"]),
        "40"
    );
    r.release(&t);
    assert_eq!(r.cmd(&["ZCARD", &ks.concurrency(&scope)]), "0");

    // A minute later the dead buckets are dropped by the next admission.
    let later = now + 61_000;
    let _ = r
        .admit(&AdmitPlan::new(&limits, &[], res, "lease-b"), Some(later))
        .unwrap();
    assert_eq!(r.cmd(&["HLEN", &ks.requests(&scope)]), "1");
    assert_eq!(r.cmd(&["HGET", &ks.requests(&scope), &bucket]), "");
}

#[test]
fn redis_clock_is_used_when_no_time_is_passed() {
    let Some(r) = Redis::connect("clock") else {
        return;
    };
    let limits = [(
        Scope::User(1),
        LimitSpec {
            rpm: Some(5),
            ..LimitSpec::default()
        },
    )];
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let t = r
        .admit(
            &AdmitPlan::new(&limits, &[], Reservation::default(), "x"),
            None,
        )
        .unwrap();
    assert!(
        t.admitted_ms().abs_diff(before) < 5_000,
        "{} vs {before}",
        t.admitted_ms()
    );
    assert_eq!(t.snapshot().requests.unwrap().remaining, 4);
}

/// A tiny deterministic generator, so a failing scenario replays exactly.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

#[test]
fn lua_and_local_limiter_agree_on_long_scenarios() {
    for seed in [42, 7, 1234] {
        let Some(r) = Redis::connect(&format!("agree{seed}")) else {
            return;
        };
        scenario(&r, seed);
    }
}

/// Random admissions, streams, settles and releases over two minutes either side of a month's
/// last midnight, applied to both backends; every admission must come out the same.
fn scenario(r: &Redis, seed: u64) {
    let local = LocalLimiter::new();
    let scopes = [
        (
            Scope::ForgeKey(1),
            LimitSpec {
                rpm: Some(12),
                tpm: Some(9_000),
                concurrency: Some(4),
            },
        ),
        (
            Scope::User(2),
            LimitSpec {
                rpm: None,
                tpm: Some(8_000),
                concurrency: None,
            },
        ),
        (
            Scope::Model("m".into()),
            LimitSpec {
                rpm: Some(10),
                tpm: None,
                concurrency: None,
            },
        ),
        (
            Scope::Deployment("d:1".into()),
            LimitSpec {
                rpm: None,
                tpm: None,
                concurrency: Some(2),
            },
        ),
    ];
    let budgets = [
        (
            Scope::ForgeKey(1),
            BudgetSpec {
                period: Period::Day,
                max_cost_nanos: Some(25_000),
                max_tokens: Some(30_000),
            },
        ),
        (
            Scope::User(2),
            BudgetSpec {
                period: Period::Month,
                max_cost_nanos: None,
                max_tokens: Some(40_000),
            },
        ),
        (
            Scope::User(2),
            BudgetSpec {
                period: Period::Total,
                max_cost_nanos: Some(70_000),
                max_tokens: None,
            },
        ),
    ];
    // Starts two minutes before midnight at the end of a month, so day and month roll over.
    let midnight = utc(2025, 7, 1, 0, 0);
    let mut now = midnight - 2 * 60_000;
    let mut rng = Lcg(seed);
    let mut held: Vec<(Ticket, Ticket)> = Vec::new();
    let (mut admits, mut refusals) = (0, 0);

    for step in 0..500 {
        now += rng.next(1_500);
        // Keep Redis's relative TTLs from expiring in real time before the scenario's midnight.
        if now < midnight && now + 2_000 >= midnight {
            now = midnight;
        }
        match rng.next(10) {
            0..=4 => {
                let limits: Vec<_> = scopes.iter().filter(|_| rng.next(4) > 0).cloned().collect();
                let chosen: Vec<_> = budgets
                    .iter()
                    .filter(|_| rng.next(3) > 0)
                    .cloned()
                    .collect();
                let tokens = rng.next(900);
                let res = Reservation {
                    tokens,
                    budget_tokens: (tokens + rng.next(600)) as i64,
                    cost_nanos: (tokens * 3) as i64,
                    lease_ms: 20_000 + rng.next(40_000),
                };
                let a = local.admit(now, &limits, &chosen, res);
                let b = r.admit(
                    &AdmitPlan::new(&limits, &chosen, res, format!("s{step}")),
                    Some(now),
                );
                let view = |x: &Result<Ticket, Rejection>| {
                    x.as_ref().map(Ticket::snapshot).map_err(Clone::clone)
                };
                let (va, vb): (Result<RateSnapshot, Rejection>, _) = (view(&a), view(&b));
                assert_eq!(va, vb, "seed {seed} step {step} at {now}");
                match (a, b) {
                    (Ok(a), Ok(b)) => {
                        assert_eq!(a.admitted_ms(), b.admitted_ms());
                        held.push((a, b));
                        admits += 1;
                    }
                    _ => refusals += 1,
                }
            }
            5 | 6 if !held.is_empty() => {
                let i = rng.next(held.len() as u64) as usize;
                let n = rng.next(200);
                let (a, b) = &mut held[i];
                local.add_tokens(now, a, n);
                r.stream(b, now, n);
            }
            7..=9 if !held.is_empty() => {
                let i = rng.next(held.len() as u64) as usize;
                let (mut a, mut b) = held.swap_remove(i);
                let tokens = rng.next(1_500);
                let usage = Usage {
                    tokens,
                    cost_nanos: (tokens * 3) as i64,
                };
                local.settle(now, &mut a, usage);
                r.settle(&mut b, now, usage);
                if rng.next(5) > 0 {
                    local.release(a);
                    r.release(&b);
                }
            }
            _ => {}
        }
    }
    assert!(
        now > midnight + 60_000,
        "scenario should cross midnight: {now}"
    );
    assert!(
        admits > 30 && refusals > 30,
        "weak scenario {seed}: {admits} admitted, {refusals} refused"
    );
}
