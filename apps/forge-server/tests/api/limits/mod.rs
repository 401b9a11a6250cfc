//! Limits and budgets: in one process, and across several processes sharing Redis.

mod admin;
mod in_process;
mod instances;
