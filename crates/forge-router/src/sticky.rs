//! Session stickiness: a session keeps going to the deployment that last served it.
//!
//! A binding only reorders candidates (the bound deployment first, when it is usable); it
//! never removes the others, so a cooled deployment simply loses the session to the next one.

use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
struct Binding {
    deployment: String,
    last_seen: Instant,
}

#[derive(Debug, Clone)]
pub struct Sessions {
    ttl: Duration,
    capacity: usize,
    bindings: HashMap<String, Binding>,
}

impl Sessions {
    pub fn new(ttl: Duration, capacity: usize) -> Sessions {
        Sessions {
            ttl,
            capacity: capacity.max(1),
            bindings: HashMap::new(),
        }
    }

    /// The deployment id bound to `session`, if the binding is still fresh.
    pub fn get(&self, session: &str, now: Instant) -> Option<&str> {
        self.bindings
            .get(session)
            .filter(|b| now.saturating_duration_since(b.last_seen) < self.ttl)
            .map(|b| b.deployment.as_str())
    }

    /// Binds (or refreshes) `session` to the deployment that just served it.
    pub fn bind(&mut self, session: &str, deployment: &str, now: Instant) {
        if !self.bindings.contains_key(session) && self.bindings.len() >= self.capacity {
            self.evict(now);
        }
        let binding = self
            .bindings
            .entry(session.to_owned())
            .or_insert_with(|| Binding {
                deployment: deployment.to_owned(),
                last_seen: now,
            });
        if binding.deployment != deployment {
            binding.deployment = deployment.to_owned();
        }
        binding.last_seen = now;
    }

    /// Drops a binding (admin); true if there was one.
    pub fn remove(&mut self, session: &str) -> bool {
        self.bindings.remove(session).is_some()
    }

    pub fn len(&self) -> usize {
        self.bindings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }

    /// Makes room: expired bindings first, else the least recently seen one.
    fn evict(&mut self, now: Instant) {
        let ttl = self.ttl;
        self.bindings
            .retain(|_, b| now.saturating_duration_since(b.last_seen) < ttl);
        if self.bindings.len() >= self.capacity
            && let Some(oldest) = self
                .bindings
                .iter()
                .min_by_key(|(_, b)| b.last_seen)
                .map(|(k, _)| k.clone())
        {
            self.bindings.remove(&oldest);
        }
    }
}
