//! A settled attempt's log waiting in the sink's queue, and the redaction it gets there: the
//! flusher masks secrets and cuts bodies off the request path. Separate from `capture` (which
//! decides what is logged and hands entries to the sink) so that the sink imports only this.

use std::sync::Arc;

use bytes::Bytes;
use forge_storage::RequestLog;
use zeroize::Zeroizing;

use crate::logs::redact::Policy;

/// What redacting a request's logs needs: its body, the credentials it presented and
/// forge.toml holds, and the policy in force when it was admitted.
pub struct Redaction {
    pub(crate) request: Bytes,
    pub(crate) secrets: Vec<Zeroizing<String>>,
    pub(crate) policy: Policy,
}

/// A settled attempt's log, bodies not yet redacted.
pub struct Pending {
    pub(crate) log: RequestLog,
    /// What redaction needs of the request, shared by all its attempts.
    pub(crate) redaction: Arc<Redaction>,
    /// The provider credential the attempt used, masked in both bodies.
    pub(crate) secret: zeroize::Zeroizing<String>,
    pub(crate) response: Option<Bytes>,
}

/// Shorter values are not masked: masking them would mangle ordinary text.
const MIN_SECRET_LEN: usize = 8;

pub(crate) fn add_secret(found: &mut Vec<Zeroizing<String>>, value: &str) {
    let value = value.trim();
    if value.len() >= MIN_SECRET_LEN && !found.iter().any(|f| f.as_str() == value) {
        found.push(Zeroizing::new(value.to_owned()));
    }
}

impl Pending {
    /// The stored row: both bodies redacted, then cut to size.
    pub fn into_log(self) -> RequestLog {
        let plan = &self.redaction;
        let mut secrets = plan.secrets.clone();
        add_secret(&mut secrets, &self.secret);
        let (request, cut_request) = plan.policy.apply(&plan.request, &secrets);
        let response = self.response.map(|body| plan.policy.apply(&body, &secrets));
        let cut_response = response.as_ref().is_some_and(|(_, cut)| *cut);
        RequestLog {
            request_body: request,
            response_body: response.map(|(text, _)| text),
            truncated: cut_request || cut_response,
            ..self.log
        }
    }

    /// Bytes held in memory while queued.
    pub fn weight(&self) -> usize {
        self.redaction.request.len() + self.response.as_ref().map_or(0, Bytes::len)
    }
}
