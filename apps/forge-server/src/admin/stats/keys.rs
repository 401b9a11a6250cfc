//! How a Forge key is named in statistics: its name if it has one, else its mask (spec §3.2).
//! Only a digest of each key is stored, so the mask is built from the kept display suffix.

use std::collections::HashMap;

use forge_core::mask::mask_forge_key_suffix;
use forge_storage::ForgeKey;

/// Labels of one user's live keys. Deleted keys are no longer listed by the store, so their
/// past usage shows under a placeholder naming the key id.
pub struct KeyLabels(HashMap<i64, String>);

impl KeyLabels {
    pub fn new(keys: &[ForgeKey]) -> Self {
        KeyLabels(keys.iter().map(|k| (k.id, label(k))).collect())
    }

    pub fn empty() -> Self {
        KeyLabels(HashMap::new())
    }

    pub fn extend(&mut self, keys: &[ForgeKey]) {
        self.0.extend(keys.iter().map(|k| (k.id, label(k))));
    }

    /// The label of a record's caller: a Forge key, else a static forge.toml key's name.
    pub fn of(&self, forge_key_id: Option<i64>, gateway_key: Option<&str>) -> String {
        match (forge_key_id, gateway_key) {
            (Some(id), _) => self
                .0
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("(deleted key {id})")),
            (None, Some(name)) => name.to_owned(),
            (None, None) => "-".to_owned(),
        }
    }
}

/// Ids of the keys whose name or mask contains `needle`, ignoring case.
pub fn matching(keys: &[ForgeKey], needle: &str) -> Vec<i64> {
    let needle = needle.to_lowercase();
    keys.iter()
        .filter(|k| {
            k.name
                .as_deref()
                .is_some_and(|n| n.to_lowercase().contains(&needle))
                || mask_forge_key_suffix(&k.key_suffix)
                    .to_lowercase()
                    .contains(&needle)
        })
        .map(|k| k.id)
        .collect()
}

fn label(key: &ForgeKey) -> String {
    match key.name.as_deref().filter(|n| !n.is_empty()) {
        Some(name) => name.to_owned(),
        None => mask_forge_key_suffix(&key.key_suffix),
    }
}
