//! Prices for usage records: the embedded table with forge.toml's `[[prices]]` overrides,
//! swapped whole when the file is reloaded. A model with no price is recorded with cost
//! `None` and source `unknown`, and counted: never a silent zero.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use forge_core::canonical::Usage;
use forge_usage::{PriceOverride, PriceTable};

pub struct Pricing {
    table: RwLock<Arc<PriceTable>>,
    /// Records settled without a price (a metric for operators).
    pub unpriced: AtomicU64,
}

/// The three price fields of a usage record.
pub struct Priced {
    pub cost_nanos: Option<i64>,
    pub currency: String,
    pub source: String,
}

impl Pricing {
    pub fn new(overrides: &[PriceOverride]) -> Result<Pricing, String> {
        Ok(Pricing {
            table: RwLock::new(Arc::new(table_with(overrides)?)),
            unpriced: AtomicU64::new(0),
        })
    }

    /// Applies a reloaded configuration's overrides.
    pub fn reload(&self, overrides: &[PriceOverride]) -> Result<(), String> {
        let table = Arc::new(table_with(overrides)?);
        *self.table.write().unwrap_or_else(PoisonError::into_inner) = table;
        Ok(())
    }

    /// A cost estimate for admission (not a settled record: nothing is counted).
    pub fn estimate(&self, provider: &str, model: &str, usage: &Usage) -> Option<i64> {
        let table = self
            .table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        table.price_usage(provider, model, usage).cost_nanos
    }

    pub fn price(&self, provider: &str, model: &str, usage: &Usage) -> Priced {
        let table = self
            .table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let priced = table.price_usage(provider, model, usage);
        if priced.cost_nanos.is_none() && usage.total_tokens() > 0 {
            self.unpriced.fetch_add(1, Ordering::Relaxed);
        }
        Priced {
            cost_nanos: priced.cost_nanos,
            currency: priced.currency,
            source: priced.source.to_string(),
        }
    }
}

fn table_with(overrides: &[PriceOverride]) -> Result<PriceTable, String> {
    let mut table = PriceTable::embedded().map_err(|e| e.to_string())?;
    table.merge(overrides).map_err(|e| e.to_string())?;
    Ok(table)
}

/// Output tokens of text Forge saw delivered (when the upstream reported none).
pub fn count_output(model: &str, text: &str) -> u64 {
    forge_usage::tokens::count_text(model, text).0
}
