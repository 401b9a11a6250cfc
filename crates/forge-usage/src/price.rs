//! What one model costs, and the cost of one attempt's usage.
//!
//! Token convention (the one `forge_core::canonical::Usage` and `UsageRecord` use):
//! - `input_tokens` counts every prompt token, cache reads and cache writes included, as
//!   OpenAI's `prompt_tokens` and Gemini's `promptTokenCount` do. Anthropic reports them
//!   apart; its adapter (`usage_to_canonical`) adds them back before anything is priced.
//! - `output_tokens` counts every generated token, reasoning included, as OpenAI's
//!   `completion_tokens` does (Gemini's thoughts are added in by its adapter).
//!   `reasoning_tokens` is the part of `output_tokens` that was reasoning; it is billed at
//!   the output price unless the price has its own `reasoning` rate, which re-prices that
//!   part only. Nothing is ever billed twice.

use forge_core::canonical::Usage;
use forge_core::usage_record::UsageRecord;

use crate::rate::Rate;
use crate::units::{UnitPrices, Units};

/// Prices per million tokens of one tier. A missing cache or reasoning rate means those
/// tokens are billed like the plain input or output they are part of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    pub input: Rate,
    /// Cache reads.
    pub cached_input: Option<Rate>,
    pub cache_write: Option<Rate>,
    pub output: Rate,
    pub reasoning: Option<Rate>,
}

/// A dearer tier for long prompts (Gemini Pro, Claude Sonnet with 1M context): it applies
/// to the whole request once `input_tokens` exceeds `above_input_tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongContext {
    pub above_input_tokens: u64,
    pub rates: Rates,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Price {
    /// ISO 4217 code, e.g. `USD`.
    pub currency: String,
    pub rates: Rates,
    pub long_context: Option<LongContext>,
    /// `false` for a model priced only per unit (DALL-E): its tokens are never priced, so
    /// a token count cannot make it look free.
    pub per_token: bool,
    /// Prices per image, audio minute or character (`units.rs`).
    pub units: Option<UnitPrices>,
}

impl Price {
    /// The rates that apply to a request with this many input tokens.
    pub fn rates_for(&self, input_tokens: u64) -> &Rates {
        match &self.long_context {
            Some(long) if input_tokens > long.above_input_tokens => &long.rates,
            _ => &self.rates,
        }
    }
}

const TOKENS_PER_MILLION: u128 = 1_000_000;

/// The cost of `usage` in billionths of `price.currency`, rounded half up once, on the total.
///
/// Cached and cache-write counts larger than the input (and reasoning larger than the
/// output) are clamped, so malformed upstream usage can never make a cost negative or
/// bill a token twice. Saturates at `i64::MAX`.
pub fn cost(price: &Price, usage: &Usage) -> i64 {
    let rates = price.rates_for(usage.input_tokens);
    let input = u128::from(usage.input_tokens);
    let cached = u128::from(usage.cached_input_tokens).min(input);
    let written = u128::from(usage.cache_write_tokens).min(input - cached);
    let uncached = input - cached - written;
    let output = u128::from(usage.output_tokens);
    let reasoning = u128::from(usage.reasoning_tokens).min(output);
    let answer = output - reasoning;

    let rate = |r: Rate| u128::from(r.nanos_per_million());
    let input_rate = rate(rates.input);
    let output_rate = rate(rates.output);
    // Each product is below 2^64 × 2^50, so neither it nor the five-term sum can overflow.
    let scaled = uncached * input_rate
        + cached * rates.cached_input.map_or(input_rate, rate)
        + written * rates.cache_write.map_or(input_rate, rate)
        + answer * output_rate
        + reasoning * rates.reasoning.map_or(output_rate, rate);
    let nanos = (scaled + TOKENS_PER_MILLION / 2) / TOKENS_PER_MILLION;
    i64::try_from(nanos).unwrap_or(i64::MAX)
}

/// The cost of an attempt that reported `usage` and produced `units`: by its tokens when it
/// reported any, else by its units when the model has a price for them, else by its tokens
/// when the model is priced per token; `None` when none of these applies.
pub fn cost_of(price: &Price, usage: &Usage, units: Option<&Units>) -> Option<i64> {
    let by_units = || units.and_then(|u| price.units.as_ref()?.cost(u));
    if usage.total_tokens() > 0 && price.per_token {
        return Some(cost(price, usage));
    }
    by_units().or_else(|| price.per_token.then(|| cost(price, usage)))
}

/// The token counts of a stored record, for re-pricing it; negative counts read as zero.
pub fn usage_of(record: &UsageRecord) -> Usage {
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    Usage {
        input_tokens: count(record.input_tokens),
        output_tokens: count(record.output_tokens),
        cached_input_tokens: count(record.cached_read_tokens),
        cache_write_tokens: count(record.cache_write_tokens),
        reasoning_tokens: count(record.reasoning_tokens),
    }
}

#[cfg(test)]
#[path = "price_tests.rs"]
mod tests;
