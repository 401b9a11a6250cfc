//! Prices an operator writes in forge.toml: `[[prices]]` overrides of the table, and a
//! price on a single deployment. Both are in the table's units (currency per 1M tokens).

use serde::{Deserialize, Serialize};

use crate::error::{PriceError, check_currency};
use crate::price::{Price, Rates};
use crate::rate::Rate;
use crate::units::UnitPrices;

/// A price without a model, e.g. a deployment's `price = { input = 1.0, output = 2.0 }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceSpec {
    pub input: Rate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input: Option<Rate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<Rate>,
    /// Required even when it is zero (embeddings), so no price is free by omission.
    pub output: Rate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<Rate>,
    /// Defaults to the table's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

impl PriceSpec {
    pub fn validate(&self) -> Result<(), PriceError> {
        self.currency.as_deref().map_or(Ok(()), check_currency)
    }

    pub fn to_price(&self, default_currency: &str) -> Price {
        Price {
            currency: self
                .currency
                .clone()
                .unwrap_or_else(|| default_currency.to_owned()),
            rates: Rates {
                input: self.input,
                cached_input: self.cached_input,
                cache_write: self.cache_write,
                output: self.output,
                reasoning: self.reasoning,
            },
            long_context: None,
            per_token: true,
            units: None,
        }
    }
}

/// One `[[prices]]` entry: it wins over the table for `model` (and its dated or prefixed
/// spellings), for every provider or only the one named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceOverride {
    /// A provider name (`my-azure`), or a table family (`openai`) for all its providers;
    /// `None` for any provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    pub model: String,
    /// With `output`, required unless the model is priced only per unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Rate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input: Option<Rate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<Rate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Rate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<Rate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// `per_image`, `per_minute`, `per_million_characters`, as in the table.
    #[serde(flatten)]
    pub units: UnitPrices,
}

impl PriceOverride {
    /// The price this override sets, in `default_currency` unless it names its own.
    pub fn to_price(&self, default_currency: &str) -> Price {
        let per_token = self.input.is_some() && self.output.is_some();
        Price {
            currency: self
                .currency
                .clone()
                .unwrap_or_else(|| default_currency.to_owned()),
            rates: Rates {
                input: self.input.unwrap_or(Rate::ZERO),
                cached_input: self.cached_input,
                cache_write: self.cache_write,
                output: self.output.unwrap_or(Rate::ZERO),
                reasoning: self.reasoning,
            },
            long_context: None,
            per_token,
            units: (!self.units.is_empty()).then(|| self.units.clone()),
        }
    }

    pub fn validate(&self) -> Result<(), PriceError> {
        if self.model.trim().is_empty() {
            return Err(PriceError::Invalid("an override has an empty model".into()));
        }
        if self
            .provider
            .as_deref()
            .is_some_and(|p| p.trim().is_empty())
        {
            return Err(PriceError::Invalid(format!(
                "the override for {:?} has an empty provider",
                self.model
            )));
        }
        match (self.input, self.output) {
            (Some(_), Some(_)) => {}
            (None, None) if !self.units.is_empty() => {}
            _ => {
                return Err(PriceError::Invalid(format!(
                    "the override for {:?} needs `input` and `output`, unless it prices the model only per unit (per_image, per_minute, per_million_characters)",
                    self.model
                )));
            }
        }
        self.currency.as_deref().map_or(Ok(()), check_currency)
    }
}
