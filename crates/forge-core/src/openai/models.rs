//! `GET /v1/models`.

use serde::{Deserialize, Serialize};

use super::Extra;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelList {
    #[serde(default = "list_object")]
    pub object: String,
    pub data: Vec<Model>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl ModelList {
    pub fn new(data: Vec<Model>) -> Self {
        ModelList {
            object: list_object(),
            data,
            extra: Extra::new(),
        }
    }
}

fn list_object() -> String {
    "list".to_owned()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub id: String,
    #[serde(default = "model_object")]
    pub object: String,
    /// Several hosts omit it; 0 then.
    #[serde(default)]
    pub created: u64,
    #[serde(default)]
    pub owned_by: String,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Model {
    pub fn new(id: impl Into<String>, owned_by: impl Into<String>, created: u64) -> Self {
        Model {
            id: id.into(),
            object: model_object(),
            created,
            owned_by: owned_by.into(),
            extra: Extra::new(),
        }
    }
}

fn model_object() -> String {
    "model".to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn list_shape_and_lenient_parse() {
        let mut m = Model::new("openai/gpt-4o", "openai", 0);
        m.extra.insert("display_name".into(), json!("gpt-4o"));
        let list = serde_json::to_value(ModelList::new(vec![m])).unwrap();
        assert_eq!(
            list,
            json!({"object": "list", "data": [{"id": "openai/gpt-4o", "object": "model", "created": 0, "owned_by": "openai", "display_name": "gpt-4o"}]})
        );
        let parsed: ModelList = serde_json::from_value(json!({"data": [{"id": "x"}]})).unwrap();
        assert_eq!(parsed.data[0].object, "model");
        assert_eq!(parsed.data[0].created, 0);
    }
}
