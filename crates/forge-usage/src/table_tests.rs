#![allow(clippy::unwrap_used, clippy::panic)]

use super::*;

fn table() -> PriceTable {
    PriceTable::embedded().unwrap()
}

fn input_rate(t: &PriceTable, provider: &str, model: &str) -> Option<String> {
    t.lookup(provider, model)
        .map(|(p, _)| p.rates.input.to_string())
}

#[test]
fn embedded_table_loads() {
    let t = table();
    assert_eq!(t.version(), "2026-12-07.2");
    assert_eq!(t.currency(), "USD");
    assert!(t.entries().count() > 50);
    assert!(t.entries().all(|(_, _, p)| p.currency == "USD"));
}

#[test]
fn required_models_are_priced() {
    let t = table();
    for (family, model) in [
        ("openai", "gpt-4o"),
        ("openai", "gpt-4o-mini"),
        ("openai", "gpt-4.1"),
        ("openai", "gpt-4.1-mini"),
        ("openai", "gpt-4.1-nano"),
        ("openai", "o1"),
        ("openai", "o3"),
        ("openai", "o3-mini"),
        ("openai", "o4-mini"),
        ("openai", "gpt-5"),
        ("openai", "gpt-5-mini"),
        ("openai", "gpt-5-nano"),
        ("openai", "text-embedding-3-small"),
        ("openai", "text-embedding-3-large"),
        ("anthropic", "claude-opus-4-1"),
        ("anthropic", "claude-opus-4"),
        ("anthropic", "claude-sonnet-4-5"),
        ("anthropic", "claude-sonnet-4"),
        ("anthropic", "claude-3-7-sonnet"),
        ("anthropic", "claude-3-5-haiku"),
        ("anthropic", "claude-haiku-4-5"),
        ("gemini", "gemini-2.5-pro"),
        ("gemini", "gemini-2.5-flash"),
        ("gemini", "gemini-2.5-flash-lite"),
        ("gemini", "gemini-2.0-flash"),
        ("deepseek", "deepseek-chat"),
        ("deepseek", "deepseek-reasoner"),
        ("groq", "llama-3.3-70b-versatile"),
        ("groq", "llama-3.1-8b-instant"),
    ] {
        let (_, source) = t.lookup(family, model).unwrap_or_else(|| panic!("{model}"));
        assert_eq!(source, PriceSource::Table("2026-12-07.2".into()));
    }
}

#[test]
fn anthropic_cache_prices_follow_the_multipliers() {
    // cache_write = 1.25 × input and cache read = 0.1 × input, for every Claude entry but
    // Claude 3 Haiku, whose list prices ($0.30 write, $0.03 read) are rounded.
    let t = table();
    for (family, model, p) in t.entries() {
        if family != "anthropic" || model == "claude-3-haiku" {
            continue;
        }
        for rates in std::iter::once(&p.rates).chain(p.long_context.as_ref().map(|l| &l.rates)) {
            let input = rates.input.nanos_per_million();
            let write = rates.cache_write.unwrap().nanos_per_million();
            let read = rates.cached_input.unwrap().nanos_per_million();
            assert_eq!(write * 4, input * 5, "{model} cache_write");
            assert_eq!(read * 10, input, "{model} cached_input");
        }
    }
}

#[test]
fn spellings_of_one_model() {
    let t = table();
    for (provider, model, input) in [
        ("openai", "gpt-4o-2024-08-06", "2.5"),
        ("openai", "gpt-4o-2024-05-13", "5"),
        ("openai", "GPT-4o", "2.5"),
        ("anthropic", "claude-3-5-haiku-20241022", "0.8"),
        ("anthropic", "claude-3-7-sonnet-latest", "3"),
        ("vertex", "claude-sonnet-4@20250514", "3"),
        ("gemini", "models/gemini-2.5-flash", "0.3"),
        ("gemini", "gemini-2.0-flash-001", "0.1"),
        ("openrouter", "openai/gpt-4o", "2.5"),
        ("openrouter", "anthropic/claude-3.5-sonnet", "3"),
        ("openrouter", "anthropic/claude-opus-4.1", "15"),
        ("openrouter", "google/gemini-2.5-pro", "1.25"),
        (
            "bedrock",
            "us.anthropic.claude-3-5-haiku-20241022-v1:0",
            "0.8",
        ),
        ("mistral", "mistral-small-latest", "0.1"),
        ("mistral", "mistral-large-2411", "2"),
        ("mistral", "mistral-large-latest", "0.5"),
    ] {
        assert_eq!(
            input_rate(&t, provider, model).as_deref(),
            Some(input),
            "{provider} {model}"
        );
    }
}

#[test]
fn unknown_provider_matches_across_families() {
    let t = table();
    assert_eq!(
        input_rate(&t, "my-azure-eastus", "gpt-4o").as_deref(),
        Some("2.5")
    );
    assert_eq!(
        input_rate(&t, "azure", "gpt-4.1-mini").as_deref(),
        Some("0.4")
    );
    // An OpenAI-compatible provider configured for DeepSeek.
    assert_eq!(
        input_rate(&t, "openai", "deepseek-chat").as_deref(),
        Some("0.28")
    );
    assert_eq!(t.lookup("azure", "my-deployment-name"), None);
    assert_eq!(t.lookup("openai", "gpt-99"), None);
}

#[test]
fn ambiguous_cross_family_names_are_unknown() {
    let mut t = PriceTable::from_toml(
        r#"
        version = "t1"
        currency = "USD"
        [a]
        "m" = { input = 1, output = 2 }
        "same" = { input = 1, output = 2 }
        [b]
        "m" = { input = 3, output = 4 }
        "same" = { input = 1, output = 2 }
        "#,
    )
    .unwrap();
    assert_eq!(t.lookup("other", "m"), None);
    assert_eq!(input_rate(&t, "a", "m").as_deref(), Some("1"));
    assert_eq!(input_rate(&t, "b", "m").as_deref(), Some("3"));
    assert_eq!(input_rate(&t, "other", "same").as_deref(), Some("1"));
    // An override resolves the ambiguity.
    t.merge(&[override_for(None, "m", "9")]).unwrap();
    assert_eq!(t.lookup("other", "m").unwrap().1, PriceSource::Config);
}

fn override_for(provider: Option<&str>, model: &str, input: &str) -> PriceOverride {
    PriceOverride {
        provider: provider.map(str::to_owned),
        model: model.to_owned(),
        input: Some(Rate::parse_decimal(input).unwrap()),
        cached_input: None,
        cache_write: None,
        output: Some(Rate::units(1).unwrap()),
        reasoning: None,
        currency: None,
        units: Default::default(),
    }
}

#[test]
fn overrides_win_and_later_ones_replace_earlier() {
    let mut t = table();
    t.merge(&[
        override_for(None, "gpt-4o", "1"),
        override_for(Some("azure"), "gpt-4o", "2"),
        override_for(Some("my-azure"), "gpt-4o", "3"),
    ])
    .unwrap();
    let (p, source) = t.lookup("openai", "gpt-4o-2024-08-06").unwrap();
    assert_eq!(
        (p.rates.input.to_string(), source),
        ("1".into(), PriceSource::Config)
    );
    // A provider override is for that provider only...
    assert_eq!(input_rate(&t, "azure", "gpt-4o").as_deref(), Some("2"));
    // ...and a family override covers the family's providers (`azure` is openai).
    t.merge(&[override_for(Some("openai"), "gpt-4.1", "5")])
        .unwrap();
    assert_eq!(input_rate(&t, "azure", "gpt-4.1").as_deref(), Some("5"));
    assert_eq!(input_rate(&t, "my-proxy", "gpt-4.1").as_deref(), Some("2"));
    assert_eq!(input_rate(&t, "my-azure", "gpt-4o").as_deref(), Some("3"));
    assert_eq!(input_rate(&t, "other", "gpt-4o").as_deref(), Some("1"));
    // Unrelated models still come from the table.
    assert_eq!(
        t.lookup("openai", "gpt-4o-mini").unwrap().1,
        PriceSource::Table("2026-12-07.2".into())
    );

    t.merge(&[override_for(None, "gpt-4o", "7")]).unwrap();
    assert_eq!(input_rate(&t, "other", "gpt-4o").as_deref(), Some("7"));
}

#[test]
fn overrides_add_models_and_currencies() {
    let mut t = table();
    let mut o = override_for(Some("local"), "my-finetune", "0.5");
    o.currency = Some("EUR".into());
    t.merge(&[o]).unwrap();
    let usage = Usage {
        input_tokens: 2_000_000,
        ..Usage::default()
    };
    let priced = t.price_usage("local", "my-finetune", &usage);
    assert_eq!(
        priced,
        Priced {
            cost_nanos: Some(1_000_000_000),
            currency: "EUR".into(),
            source: PriceSource::Config
        }
    );
    assert_eq!(t.lookup("elsewhere", "my-finetune"), None);
}

#[test]
fn invalid_overrides_are_rejected_whole() {
    let mut t = table();
    let mut bad = override_for(None, "x", "1");
    bad.currency = Some("usd".into());
    let good = override_for(None, "y", "1");
    assert!(matches!(t.merge(&[good, bad]), Err(PriceError::Invalid(_))));
    assert_eq!(t.lookup("p", "y"), None);
    assert!(t.merge(&[override_for(None, " ", "1")]).is_err());
}

#[test]
fn overrides_deserialize_from_forge_toml() {
    #[derive(Deserialize)]
    struct Config {
        prices: Vec<PriceOverride>,
    }
    let config: Config = toml::from_str(
        r#"
        [[prices]]
        model = "gpt-4o"
        input = 2.0
        cached_input = "1.0"
        output = 8

        [[prices]]
        provider = "groq"
        model = "qwen3-32b"
        input = 0.29
        output = 0.59
        currency = "USD"
        "#,
    )
    .unwrap();
    assert_eq!(config.prices.len(), 2);
    assert_eq!(config.prices[0].cached_input, Rate::units(1));
    assert_eq!(config.prices[1].provider.as_deref(), Some("groq"));
    let typo = toml::from_str::<Config>("[[prices]]\nmodel = \"m\"\ninput = 1\noutptu = 2\n");
    assert!(typo.is_err());
    // Parsed, then refused by validation (forge.toml's check names the entry).
    let no_output = toml::from_str::<Config>("[[prices]]\nmodel = \"m\"\ninput = 1\n").unwrap();
    assert!(no_output.prices[0].validate().is_err());
}

#[test]
fn unknown_model_prices_as_unknown_not_zero() {
    let t = table();
    let priced = t.price_usage("openai", "gpt-unknown", &Usage::default());
    assert_eq!(priced.cost_nanos, None);
    assert_eq!(priced.source.to_string(), "unknown");
    assert_eq!(priced.currency, "USD");
}

#[test]
fn malformed_tables_are_errors() {
    assert!(matches!(
        PriceTable::from_toml("version = \"v\""),
        Err(PriceError::Parse(_))
    ));
    let bad_field =
        "version = \"v\"\ncurrency = \"USD\"\n[a]\nm = { input = 1, output = 1, extra = 1 }";
    assert!(matches!(
        PriceTable::from_toml(bad_field),
        Err(PriceError::Parse(_))
    ));
    let bad_currency = "version = \"v\"\ncurrency = \"dollars\"\n";
    assert!(matches!(
        PriceTable::from_toml(bad_currency),
        Err(PriceError::Invalid(_))
    ));
}

#[test]
fn per_unit_entries_parse_and_typos_do_not() {
    use crate::units::Units;
    let t = table();
    let (dalle, _) = t.lookup("openai", "dall-e-3").unwrap();
    assert!(!dalle.per_token);
    let hd = Units::Images {
        count: 1,
        size: Some("1792x1024".into()),
        quality: Some("hd".into()),
    };
    assert_eq!(
        crate::cost_of(dalle, &Usage::default(), Some(&hd)),
        Some(120_000_000)
    );
    let (whisper, _) = t.lookup("openai", "whisper-1").unwrap();
    assert_eq!(
        crate::cost_of(
            whisper,
            &Usage::default(),
            Some(&Units::AudioMillis(60_000))
        ),
        Some(6_000_000)
    );
    let base = "version = \"v\"\ncurrency = \"USD\"\n[openai]\n";
    for bad in [
        "\"m\" = { input = 1, outptu = 2 }",
        "\"m\" = { input = 1 }",
        "\"m\" = { per_image = { \"default\" = 0.1 }, per_second = 1 }",
        "\"m\" = { }",
    ] {
        assert!(
            PriceTable::from_toml(&format!("{base}{bad}")).is_err(),
            "{bad}"
        );
    }
    assert!(PriceTable::from_toml(&format!("{base}\"m\" = {{ per_minute = 0.01 }}")).is_ok());
}

#[test]
fn overrides_may_price_per_unit() {
    use crate::units::Units;
    let mut t = table();
    let toml_text = r#"model = "dall-e-3"
per_image = { "default" = 0.05 }
"#;
    let o: PriceOverride = toml::from_str(toml_text).unwrap();
    t.merge(&[o]).unwrap();
    let (price, source) = t.lookup("openai", "dall-e-3").unwrap();
    assert_eq!(source, PriceSource::Config);
    let one = Units::Images {
        count: 1,
        size: None,
        quality: None,
    };
    assert_eq!(
        crate::cost_of(price, &Usage::default(), Some(&one)),
        Some(50_000_000)
    );
    let half: Result<PriceOverride, _> = toml::from_str("model = \"m\"\ninput = 1\n");
    assert!(t.merge(&[half.unwrap()]).is_err(), "input without output");
    assert!(
        toml::from_str::<PriceOverride>("model = \"m\"\ninput = 1\noutput = 1\nper_second = 2\n")
            .is_err()
    );
}
