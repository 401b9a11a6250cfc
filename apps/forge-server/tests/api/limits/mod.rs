//! Limits and budgets: in one process, and across several processes sharing Redis.

mod in_process;
mod instances;
