#![allow(clippy::unwrap_used)]

use super::*;

fn r(units: &str) -> Rate {
    Rate::parse_decimal(units).unwrap()
}

fn price(input: &str, cached: Option<&str>, write: Option<&str>, output: &str) -> Price {
    Price {
        currency: "USD".into(),
        rates: Rates {
            input: r(input),
            cached_input: cached.map(r),
            cache_write: write.map(r),
            output: r(output),
            reasoning: None,
        },
        long_context: None,
        per_token: true,
        units: None,
    }
}

fn usage(input: u64, cached: u64, write: u64, output: u64, reasoning: u64) -> Usage {
    Usage {
        input_tokens: input,
        output_tokens: output,
        cached_input_tokens: cached,
        cache_write_tokens: write,
        reasoning_tokens: reasoning,
    }
}

#[test]
fn uncached_gpt_4o() {
    // 1000 × $2.50/M + 500 × $10/M = $0.0025 + $0.005 = $0.0075.
    let p = price("2.50", Some("1.25"), None, "10");
    assert_eq!(cost(&p, &usage(1000, 0, 0, 500, 0)), 7_500_000);
}

#[test]
fn cached_read_is_part_of_input() {
    // 600 uncached × $2.50/M = 1_500_000 nanos; 400 cached × $1.25/M = 500_000;
    // 500 out × $10/M = 5_000_000. Total 7_000_000.
    let p = price("2.50", Some("1.25"), None, "10");
    assert_eq!(cost(&p, &usage(1000, 400, 0, 500, 0)), 7_000_000);
}

#[test]
fn missing_cached_rate_bills_cached_tokens_as_input() {
    let p = price("2.50", None, None, "10");
    assert_eq!(cost(&p, &usage(1000, 400, 0, 500, 0)), 7_500_000);
}

#[test]
fn anthropic_cache_write_and_read() {
    // Claude Sonnet: $3 in, $3.75 write, $0.30 read, $15 out. Anthropic reported
    // input_tokens=100, cache_creation=2000, cache_read=10000; canonical input = 12100.
    // 100 × 3 = 300 µ$ → 300_000 nanos; 2000 × 3.75 = 7_500_000; 10000 × 0.30 = 3_000_000;
    // 200 out × 15 = 3_000_000. Total 13_800_000 nanos.
    let p = price("3", Some("0.30"), Some("3.75"), "15");
    assert_eq!(cost(&p, &usage(12_100, 10_000, 2_000, 200, 0)), 13_800_000);
}

#[test]
fn reasoning_is_billed_as_output_unless_repriced() {
    // o3: 100 in × $2 = 200_000 nanos; 1000 out (800 of them reasoning) × $8 = 8_000_000.
    let mut p = price("2", Some("0.5"), None, "8");
    let u = usage(100, 0, 0, 1000, 800);
    assert_eq!(cost(&p, &u), 8_200_000);
    // With reasoning at $3.50/M: 200 × 8 = 1_600_000; 800 × 3.5 = 2_800_000; + 200_000.
    p.rates.reasoning = Some(r("3.5"));
    assert_eq!(cost(&p, &u), 4_600_000);
}

#[test]
fn rounds_half_up_once_on_the_total() {
    // $1/M is 1000 nanos a token, so $0.0375/M is 37.5 and $0.0125/M is 12.5 nanos a token.
    let p = price("0.0375", Some("0.0125"), None, "0.4");
    assert_eq!(cost(&p, &usage(1, 0, 0, 0, 0)), 38);
    assert_eq!(cost(&p, &usage(1, 1, 0, 0, 0)), 13);
    // 37.5 + 12.5 = 50 exactly: rounding each term first would give 51.
    assert_eq!(cost(&p, &usage(2, 1, 0, 0, 0)), 50);
    // 0.1 nanos a token: 4 tokens round down, 5 round up.
    let tiny = price("0.0001", None, None, "0");
    assert_eq!(cost(&tiny, &usage(4, 0, 0, 0, 0)), 0);
    assert_eq!(cost(&tiny, &usage(5, 0, 0, 0, 0)), 1);
}

#[test]
fn inconsistent_counts_are_clamped() {
    let p = price("2", Some("1"), Some("4"), "8");
    // Cached beyond input: all 100 input tokens are cached reads, nothing negative.
    assert_eq!(cost(&p, &usage(100, 500, 50, 0, 0)), 100_000);
    // Reasoning beyond output: all output is reasoning, billed once at the output rate.
    assert_eq!(cost(&p, &usage(0, 0, 0, 10, 99)), 80_000);
}

#[test]
fn long_context_tier_switches_on_total_input() {
    let mut p = price("1.25", Some("0.125"), None, "10");
    p.long_context = Some(LongContext {
        above_input_tokens: 200_000,
        rates: price("2.5", Some("0.25"), None, "15").rates,
    });
    // At the threshold: 200_000 × 1.25 = 250_000_000 nanos.
    assert_eq!(cost(&p, &usage(200_000, 0, 0, 0, 0)), 250_000_000);
    // Above it, the whole request uses the long tier: 200_001 × 2.5 = 500_002_500; 100 × 15.
    assert_eq!(
        cost(&p, &usage(200_001, 0, 0, 100, 0)),
        500_002_500 + 1_500_000
    );
}

#[test]
fn huge_counts_saturate() {
    let p = price("1000000", None, None, "1000000");
    assert_eq!(cost(&p, &usage(u64::MAX, 0, 0, u64::MAX, 0)), i64::MAX);
}

#[test]
fn record_counts_convert() {
    let record = UsageRecord {
        id: "a".into(),
        request_id: "r".into(),
        started_at_ms: 0,
        user_id: None,
        forge_key_id: None,
        gateway_key: None,
        provider_key_id: None,
        deployment: None,
        provider: "openai".into(),
        requested_model: "gpt-4o".into(),
        upstream_model: "gpt-4o".into(),
        endpoint: "chat/completions".into(),
        dialect: "openai".into(),
        input_tokens: 10,
        cached_read_tokens: 4,
        cache_write_tokens: -1,
        output_tokens: 7,
        reasoning_tokens: 2,
        cost_nanos: None,
        currency: "USD".into(),
        price_source: "unknown".into(),
        status: 200,
        error_class: None,
        streamed: false,
        estimated: false,
        ttft_ms: None,
        duration_ms: 1,
        client_disconnected: false,
    };
    assert_eq!(usage_of(&record), usage(10, 4, 0, 7, 2));
}

#[test]
fn tokens_win_then_units_then_per_token_prices() {
    use crate::units::{UnitPrices, Units};
    let images = Units::Images {
        count: 2,
        size: Some("1024x1024".into()),
        quality: None,
    };
    let dalle = Price {
        per_token: false,
        units: Some(toml::from_str(r#"per_image = { "1024x1024" = 0.04 }"#).unwrap()),
        ..price("0", None, None, "0")
    };
    assert_eq!(
        cost_of(&dalle, &usage(0, 0, 0, 0, 0), Some(&images)),
        Some(80_000_000)
    );
    // Priced per unit only: without units (or with tokens) there is no price, not a free one.
    assert_eq!(cost_of(&dalle, &usage(0, 0, 0, 0, 0), None), None);
    assert_eq!(cost_of(&dalle, &usage(10, 0, 0, 0, 0), None), None);
    // A token-priced model that reported tokens is priced by them, units or not.
    let gpt_image = price("5", None, None, "40");
    assert_eq!(
        cost_of(&gpt_image, &usage(0, 0, 0, 1000, 0), Some(&images)),
        Some(40_000_000)
    );
    // Both kinds of price, no tokens reported: the units.
    let tts = Price {
        units: Some(UnitPrices {
            per_million_characters: Some(r("15")),
            ..UnitPrices::default()
        }),
        ..price("1", None, None, "1")
    };
    assert_eq!(
        cost_of(&tts, &usage(0, 0, 0, 0, 0), Some(&Units::Characters(2_000))),
        Some(30_000_000)
    );
    assert_eq!(cost_of(&tts, &usage(0, 0, 0, 0, 0), None), Some(0));
}
