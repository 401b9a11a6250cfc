//! One admission's ticket, shared by the attempts that serve the request (and the streams
//! that outlive it). Each settled attempt adds its real tokens and cost; the ticket is trued
//! up to the running totals, and released (concurrency slots freed) when the last holder
//! drops it.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use forge_limits::headers::rate_limit_headers;
use forge_limits::{Ticket, Usage};

use crate::limits::{Issuer, Limits};

pub struct Charge {
    limits: Arc<Limits>,
    issuer: Issuer,
    ticket: RefCell<Option<Ticket>>,
    tokens: Cell<u64>,
    cost_nanos: Cell<i64>,
}

impl Charge {
    pub fn new(limits: Arc<Limits>, issuer: Issuer, ticket: Ticket) -> Charge {
        Charge {
            limits,
            issuer,
            ticket: RefCell::new(Some(ticket)),
            tokens: Cell::new(0),
            cost_nanos: Cell::new(0),
        }
    }

    /// Adds one settled attempt's real figures.
    pub fn add(&self, tokens: u64, cost_nanos: i64) {
        self.tokens.set(self.tokens.get().saturating_add(tokens));
        self.cost_nanos
            .set(self.cost_nanos.get().saturating_add(cost_nanos.max(0)));
        if let Some(ticket) = self.ticket.borrow_mut().as_mut() {
            let usage = Usage {
                tokens: self.tokens.get(),
                cost_nanos: self.cost_nanos.get(),
            };
            self.limits.settle(self.issuer, ticket, usage);
        }
    }

    /// Counts streamed output against TPM now (before the request settles).
    pub fn stream_tokens(&self, tokens: u64) {
        if let Some(ticket) = self.ticket.borrow_mut().as_mut() {
            self.limits.add_tokens(self.issuer, ticket, tokens);
        }
    }

    /// OpenAI-style `x-ratelimit-*` headers as of admission.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        self.ticket
            .borrow()
            .as_ref()
            .map(|t| rate_limit_headers(&t.snapshot()))
            .unwrap_or_default()
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.get_mut().take() {
            self.limits.release(self.issuer, ticket);
        }
    }
}
