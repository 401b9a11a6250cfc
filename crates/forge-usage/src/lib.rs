//! Usage accounting for the Forge gateway, without I/O: the versioned price table, the cost
//! of an attempt in billionths of a currency unit, and token counting for prompts an
//! upstream did not report.
//!
//! Conventions (shared with `forge_core::canonical::Usage` and `UsageRecord`): input tokens
//! include cache reads and cache writes; output tokens include reasoning. See [`price`].

pub mod config;
pub mod error;
pub mod model_name;
pub mod price;
pub mod rate;
pub mod source;
pub mod table;
pub mod tokens;
pub mod units;

mod chunks;

pub use config::{PriceOverride, PriceSpec};
pub use error::PriceError;
pub use price::{LongContext, Price, Rates, cost, cost_of, usage_of};
pub use rate::Rate;
pub use source::PriceSource;
pub use table::{EMBEDDED_PRICES, PriceTable, Priced};
pub use tokens::{count_chat, count_text};
pub use units::{UnitPrices, Units};
