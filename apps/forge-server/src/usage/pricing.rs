//! Prices for usage records: the embedded table with forge.toml's `[[prices]]` overrides,
//! swapped whole when the file is reloaded. A model with no price is recorded with cost
//! `None` and source `unknown`, and counted: never a silent zero.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use forge_core::canonical::Usage;
use forge_usage::{Price, PriceOverride, PriceSource, PriceTable, Units, cost, cost_of};

pub struct Pricing {
    table: ArcSwap<PriceTable>,
    /// Records settled without a price (a metric for operators).
    pub unpriced: AtomicU64,
}

/// The three price fields of a usage record.
pub struct Priced {
    pub cost_nanos: Option<i64>,
    pub currency: String,
    pub source: String,
}

/// A model's price as found in one table: `None` when it has none.
type Found = Option<(Price, PriceSource)>;

/// Lookups already made on this worker thread, per table (a lookup normalises the model
/// name through several spellings: ~6,000 instructions, against ~100 for a hit here). No
/// lock: each worker keeps its own. Bounded: cleared when it grows past `MEMO_MODELS`.
#[derive(Default)]
struct Memo {
    table: Option<Arc<PriceTable>>,
    /// provider → model → what the table holds.
    found: HashMap<String, HashMap<String, Found>>,
    models: usize,
}

const MEMO_MODELS: usize = 4096;

thread_local! {
    static MEMO: RefCell<Memo> = RefCell::new(Memo::default());
}

impl Pricing {
    pub fn new(overrides: &[PriceOverride]) -> Result<Pricing, String> {
        Ok(Pricing {
            table: ArcSwap::from_pointee(table_with(overrides)?),
            unpriced: AtomicU64::new(0),
        })
    }

    /// Applies a reloaded configuration's overrides.
    pub fn reload(&self, overrides: &[PriceOverride]) -> Result<(), String> {
        self.table.store(Arc::new(table_with(overrides)?));
        Ok(())
    }

    /// A cost estimate for admission (not a settled record: nothing is counted).
    pub fn estimate(&self, provider: &str, model: &str, usage: &Usage) -> Option<i64> {
        self.with_price(provider, model, |found, _| {
            found.as_ref().map(|(price, _)| cost(price, usage))
        })
    }

    /// The price fields of a record with `usage` and, for a successful attempt, `units`.
    pub fn price(
        &self,
        provider: &str,
        model: &str,
        usage: &Usage,
        units: Option<&Units>,
    ) -> Priced {
        let priced = self.with_price(provider, model, |found, table| {
            let cost = found.as_ref().and_then(|(p, _)| cost_of(p, usage, units));
            match (found, cost) {
                (Some((price, source)), Some(cost)) => Priced {
                    cost_nanos: Some(cost),
                    currency: price.currency.clone(),
                    source: source.to_string(),
                },
                _ => Priced {
                    cost_nanos: None,
                    currency: table.currency().to_owned(),
                    source: PriceSource::Unknown.to_string(),
                },
            }
        });
        if priced.cost_nanos.is_none() && (usage.total_tokens() > 0 || units.is_some()) {
            self.unpriced.fetch_add(1, Ordering::Relaxed);
        }
        priced
    }

    /// The price of `units` alone (the tokens are unknown), when the model has one.
    pub fn price_units(&self, provider: &str, model: &str, units: &Units) -> Option<Priced> {
        self.with_price(provider, model, |found, _| {
            let (price, source) = found.as_ref()?;
            let units_price = price.units.as_ref()?;
            Some(Priced {
                cost_nanos: Some(units_price.cost(units)?),
                currency: price.currency.clone(),
                source: source.to_string(),
            })
        })
    }

    /// Runs `f` on the model's price in the current table, looked up once per thread.
    fn with_price<T>(
        &self,
        provider: &str,
        model: &str,
        f: impl FnOnce(&Found, &PriceTable) -> T,
    ) -> T {
        let table = self.table.load_full();
        MEMO.with_borrow_mut(|memo| {
            if !memo.table.as_ref().is_some_and(|t| Arc::ptr_eq(t, &table))
                || memo.models >= MEMO_MODELS
            {
                memo.table = Some(table.clone());
                memo.found.clear();
                memo.models = 0;
            }
            if let Some(found) = memo.found.get(provider).and_then(|m| m.get(model)) {
                return f(found, &table);
            }
            let found = table
                .lookup(provider, model)
                .map(|(price, source)| (price.clone(), source));
            let out = f(&found, &table);
            memo.models += 1;
            memo.found
                .entry(provider.to_owned())
                .or_default()
                .insert(model.to_owned(), found);
            out
        })
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
