//! The public API end to end: embedded table, operator overrides, costs of real usage shapes.
#![allow(clippy::unwrap_used)]

use forge_core::canonical::Usage;
use forge_usage::{PriceOverride, PriceSource, PriceTable, cost};

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
fn openai_chat_with_cache_hit() {
    let table = PriceTable::embedded().unwrap();
    let (price, source) = table.lookup("openai", "gpt-4o-mini-2024-07-18").unwrap();
    assert_eq!(source.to_string(), "table:2026-12-07.2");
    // 10_000 in (8_000 cached), 1_000 out at $0.15 / $0.075 / $0.60 per M:
    // 2_000 × 150 + 8_000 × 75 + 1_000 × 600 = 300_000 + 600_000 + 600_000 nanos.
    assert_eq!(cost(price, &usage(10_000, 8_000, 0, 1_000, 0)), 1_500_000);
}

#[test]
fn anthropic_usage_after_canonical_normalisation() {
    let table = PriceTable::embedded().unwrap();
    let (price, _) = table
        .lookup("anthropic", "claude-sonnet-4-5-20250929")
        .unwrap();
    // Anthropic said input 50, cache_creation 1_000, cache_read 4_000, output 300; the
    // adapter makes input 5_050. 50 × 3_000 + 1_000 × 3_750 + 4_000 × 300 + 300 × 15_000.
    let expected = 150_000 + 3_750_000 + 1_200_000 + 4_500_000;
    assert_eq!(cost(price, &usage(5_050, 4_000, 1_000, 300, 0)), expected);
}

#[test]
fn gemini_thinking_is_output_and_long_prompts_cost_more() {
    let table = PriceTable::embedded().unwrap();
    let (price, _) = table.lookup("gemini", "models/gemini-2.5-pro").unwrap();
    // 1_000 in, 2_000 out of which 1_500 thoughts: all output at $10/M.
    assert_eq!(
        cost(price, &usage(1_000, 0, 0, 2_000, 1_500)),
        1_250_000 + 20_000_000
    );
    // 300_000 in, 100 out: long tier at $2.50 / $15.
    assert_eq!(
        cost(price, &usage(300_000, 0, 0, 100, 0)),
        750_000_000 + 1_500_000
    );
}

#[test]
fn deepseek_through_an_openai_compatible_provider() {
    let table = PriceTable::embedded().unwrap();
    let priced = table.price_usage(
        "my-deepseek",
        "deepseek-reasoner",
        &usage(1_000_000, 0, 0, 0, 0),
    );
    assert_eq!(priced.cost_nanos, Some(280_000_000));
    assert_eq!(priced.currency, "USD");
}

#[test]
fn operator_overrides_from_config() {
    #[derive(serde::Deserialize)]
    struct ForgeToml {
        #[serde(default)]
        prices: Vec<PriceOverride>,
    }
    let config: ForgeToml = toml::from_str(
        r#"
        [[prices]]
        provider = "azure-eu"
        model = "gpt-4o"
        input = "2.75"
        cached_input = "1.375"
        output = 11
        "#,
    )
    .unwrap();
    let mut table = PriceTable::embedded().unwrap();
    table.merge(&config.prices).unwrap();
    let priced = table.price_usage("azure-eu", "gpt-4o", &usage(1_000, 0, 0, 1_000, 0));
    assert_eq!(priced.source, PriceSource::Config);
    assert_eq!(priced.cost_nanos, Some(2_750_000 + 11_000_000));
    let other = table.price_usage("openai", "gpt-4o", &usage(1_000, 0, 0, 1_000, 0));
    assert_eq!(other.cost_nanos, Some(2_500_000 + 10_000_000));
}

#[test]
fn unknown_models_have_no_cost() {
    let table = PriceTable::embedded().unwrap();
    let priced = table.price_usage("azure", "prod-deployment-7", &usage(10, 0, 0, 10, 0));
    assert_eq!(priced.cost_nanos, None);
    assert_eq!(priced.source.to_string(), "unknown");
}
