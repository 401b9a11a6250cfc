//! Response and output item ids.
//!
//! The core has no randomness: the caller supplies a random suffix for the response id, and
//! item ids are derived from the response id and the item's output index, so they are
//! unique within the gateway and the same in the stream and in the stored response.

const RESPONSE_PREFIX: &str = "resp_";

/// `resp_<suffix>`; `suffix` should be random and URL-safe (e.g. 24+ alphanumerics).
pub fn new_response_id(suffix: &str) -> String {
    format!("{RESPONSE_PREFIX}{suffix}")
}

/// The id of output item `output_index`, e.g. `msg_<suffix>_0`, where `prefix` is `msg`,
/// `fc` or `rs` as OpenAI uses them.
pub fn item_id(prefix: &str, response_id: &str, output_index: usize) -> String {
    let suffix = response_id
        .strip_prefix(RESPONSE_PREFIX)
        .unwrap_or(response_id);
    format!("{prefix}_{suffix}_{output_index}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_ids_are_derived() {
        let id = new_response_id("abc123");
        assert_eq!(id, "resp_abc123");
        assert_eq!(item_id("msg", &id, 0), "msg_abc123_0");
        assert_eq!(item_id("fc", &id, 3), "fc_abc123_3");
        assert_eq!(item_id("rs", "other", 1), "rs_other_1");
    }
}
