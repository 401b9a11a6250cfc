//! Requests in flight per scope, as leases that expire.
//!
//! A plain counter leaks a slot forever when a handler forgets to release (a panic, a
//! dropped future); a lease with a deadline frees itself. The Redis scripts keep the same
//! thing as a sorted set of lease id → deadline, so a crashed gateway replica cannot pin a
//! scope at its limit either.

use std::collections::HashMap;

use crate::window::fits;

#[derive(Debug, Clone, Default)]
pub struct Leases {
    deadlines: HashMap<String, u64>,
}

impl Leases {
    /// Forgets leases whose deadline has passed (`deadline <= now`, as `ZREMRANGEBYSCORE`).
    pub fn purge(&mut self, now_ms: u64) {
        self.deadlines.retain(|_, &mut deadline| deadline > now_ms);
    }

    pub fn held(&self) -> u64 {
        self.deadlines.len() as u64
    }

    pub fn has_room(&self, limit: u64) -> bool {
        fits(self.held(), 1, limit)
    }

    pub fn acquire(&mut self, lease_id: &str, now_ms: u64, lease_ms: u64) {
        self.deadlines
            .insert(lease_id.to_owned(), now_ms.saturating_add(lease_ms));
    }

    pub fn release(&mut self, lease_id: &str) {
        self.deadlines.remove(lease_id);
    }

    pub fn is_empty(&self) -> bool {
        self.deadlines.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_fill_release_and_expire() {
        let mut l = Leases::default();
        l.acquire("a", 0, 1_000);
        l.acquire("b", 0, 5_000);
        assert!(!l.has_room(2));
        l.release("a");
        assert!(l.has_room(2));
        l.acquire("c", 100, 900);
        l.purge(999);
        assert_eq!(l.held(), 2);
        l.purge(1_000);
        assert_eq!(l.held(), 1);
        assert!(!l.has_room(0));
    }
}
