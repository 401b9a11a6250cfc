//! The price table: the versioned file embedded in the binary, plus operator overrides.

use std::collections::BTreeMap;

use forge_core::canonical::Usage;
use serde::Deserialize;

use crate::config::PriceOverride;
use crate::error::{PriceError, check_currency};
use crate::model_name::{family_of, variants};
use crate::price::{LongContext, Price, Rates, cost_of};
use crate::rate::Rate;
use crate::source::PriceSource;
use crate::units::UnitPrices;

/// `data/prices.toml`, the list prices this build ships with.
pub const EMBEDDED_PRICES: &str = include_str!("../data/prices.toml");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceTable {
    version: String,
    currency: String,
    /// family → model → price; keys are lowercase.
    families: BTreeMap<String, BTreeMap<String, Price>>,
    /// In merge order; a later entry for the same provider and model replaced the earlier.
    overrides: Vec<Override>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Override {
    provider: Option<String>,
    model: String,
    price: Price,
}

/// A priced attempt, ready for `UsageRecord::{cost_nanos, currency, price_source}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priced {
    /// `None` when no price matched.
    pub cost_nanos: Option<i64>,
    pub currency: String,
    pub source: PriceSource,
}

impl PriceTable {
    /// The table compiled into this build. Fails only if the shipped file is broken, which
    /// the crate's tests rule out.
    pub fn embedded() -> Result<PriceTable, PriceError> {
        PriceTable::from_toml(EMBEDDED_PRICES)
    }

    pub fn from_toml(text: &str) -> Result<PriceTable, PriceError> {
        let file: TableFile = toml::from_str(text).map_err(|e| PriceError::Parse(e.to_string()))?;
        if file.version.trim().is_empty() {
            return Err(PriceError::Invalid("the table has an empty version".into()));
        }
        check_currency(&file.currency)?;
        let mut families = BTreeMap::new();
        for (family, models) in file.families {
            let models = models
                .into_iter()
                .map(|(model, entry)| {
                    let price = entry.to_price(&model, &file.currency)?;
                    Ok((model.to_ascii_lowercase(), price))
                })
                .collect::<Result<BTreeMap<String, Price>, PriceError>>()?;
            families.insert(family.to_ascii_lowercase(), models);
        }
        Ok(PriceTable {
            version: file.version,
            currency: file.currency,
            families,
            overrides: Vec::new(),
        })
    }

    /// Adds operator overrides; each replaces an earlier one for the same provider and model.
    /// Nothing is merged when one of them is invalid.
    pub fn merge(&mut self, overrides: &[PriceOverride]) -> Result<(), PriceError> {
        for o in overrides {
            o.validate()?;
        }
        for o in overrides {
            let entry = Override {
                provider: o.provider.as_deref().map(|p| p.trim().to_ascii_lowercase()),
                model: o.model.trim().to_ascii_lowercase(),
                price: o.to_price(&self.currency),
            };
            self.overrides
                .retain(|e| !(e.provider == entry.provider && e.model == entry.model));
            self.overrides.push(entry);
        }
        Ok(())
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    /// The table's currency, also the default of overrides and of unpriced records.
    pub fn currency(&self) -> &str {
        &self.currency
    }

    /// Every table entry as (family, model, price), sorted.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str, &Price)> {
        self.families.iter().flat_map(|(family, models)| {
            models
                .iter()
                .map(move |(model, price)| (family.as_str(), model.as_str(), price))
        })
    }

    /// The price of `model` as served by `provider`.
    ///
    /// Overrides win over the table. Within each, the most specific spelling of the model
    /// wins (exact, then without `models/` or a `vendor/` prefix, then without a date or
    /// `-latest` suffix). The table is searched in the provider's family (`azure` counts as
    /// `openai`, `google`/`vertex` as `gemini`), then in the family a `vendor/` prefix
    /// names, then across all families, where only an unambiguous match counts: so an
    /// OpenAI-compatible provider with any name still finds `deepseek-chat`.
    pub fn lookup(&self, provider: &str, model: &str) -> Option<(&Price, PriceSource)> {
        let (names, hint) = variants(model);
        let provider = provider.trim().to_ascii_lowercase();
        let family = family_of(&provider).map(str::to_owned).or_else(|| {
            self.families
                .contains_key(&provider)
                .then(|| provider.clone())
        });

        if let Some(price) = self.lookup_override(&names, &provider, family.as_deref()) {
            return Some((price, PriceSource::Config));
        }
        let table = || PriceSource::Table(self.version.clone());
        let families = [family.as_deref(), hint];
        for (i, family) in families.iter().enumerate() {
            let Some(family) = family else { continue };
            if families[..i].contains(&Some(family)) {
                continue;
            }
            let Some(models) = self.families.get(*family) else {
                continue;
            };
            if let Some(price) = names.iter().find_map(|n| models.get(n)) {
                return Some((price, table()));
            }
        }
        for name in &names {
            let mut found = self.families.values().filter_map(|models| models.get(name));
            if let Some(first) = found.next() {
                // Two families selling the same name at different prices: refuse to guess.
                return found.all(|p| p == first).then(|| (first, table()));
            }
        }
        None
    }

    fn lookup_override(
        &self,
        names: &[String],
        provider: &str,
        family: Option<&str>,
    ) -> Option<&Price> {
        // `provider = "openai"` covers every provider of the openai family (Azure too);
        // `provider = "azure"` covers only providers named `azure`.
        let same_provider = |o: &str| o == provider || family == Some(o);
        names.iter().find_map(|name| {
            let for_model = || self.overrides.iter().filter(move |o| &o.model == name);
            for_model()
                .find(|o| o.provider.as_deref().is_some_and(same_provider))
                .or_else(|| for_model().find(|o| o.provider.is_none()))
                .map(|o| &o.price)
        })
    }

    /// Looks the model up and prices `usage`: the values a usage record stores.
    pub fn price_usage(&self, provider: &str, model: &str, usage: &Usage) -> Priced {
        match self.lookup(provider, model) {
            Some((price, source)) => Priced {
                cost_nanos: cost_of(price, usage, None),
                currency: price.currency.clone(),
                source,
            },
            None => Priced {
                cost_nanos: None,
                currency: self.currency.clone(),
                source: PriceSource::Unknown,
            },
        }
    }
}

#[derive(Deserialize)]
struct TableFile {
    version: String,
    currency: String,
    /// Every other top-level key is a family table: `[openai]`, `[anthropic]`, …
    #[serde(flatten)]
    families: BTreeMap<String, BTreeMap<String, Entry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    /// With `output`, required unless the model is priced only per unit.
    input: Option<Rate>,
    cached_input: Option<Rate>,
    cache_write: Option<Rate>,
    output: Option<Rate>,
    reasoning: Option<Rate>,
    long_context: Option<LongEntry>,
    #[serde(flatten)]
    units: UnitPrices,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LongEntry {
    above_input_tokens: u64,
    input: Rate,
    cached_input: Option<Rate>,
    cache_write: Option<Rate>,
    output: Rate,
    reasoning: Option<Rate>,
}

impl Entry {
    fn to_price(&self, model: &str, currency: &str) -> Result<Price, PriceError> {
        let units = (!self.units.is_empty()).then(|| self.units.clone());
        let per_token = match (self.input, self.output) {
            (Some(_), Some(_)) => true,
            (None, None) if units.is_some() && self.long_context.is_none() => false,
            _ => {
                return Err(PriceError::Invalid(format!(
                    "{model}: `input` and `output` are both required, unless the model is priced only per unit (per_image, per_minute, per_million_characters)"
                )));
            }
        };
        Ok(Price {
            currency: currency.to_owned(),
            rates: Rates {
                input: self.input.unwrap_or(Rate::ZERO),
                cached_input: self.cached_input,
                cache_write: self.cache_write,
                output: self.output.unwrap_or(Rate::ZERO),
                reasoning: self.reasoning,
            },
            long_context: self.long_context.as_ref().map(|l| LongContext {
                above_input_tokens: l.above_input_tokens,
                rates: Rates {
                    input: l.input,
                    cached_input: l.cached_input,
                    cache_write: l.cache_write,
                    output: l.output,
                    reasoning: l.reasoning,
                },
            }),
            per_token,
            units,
        })
    }
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
