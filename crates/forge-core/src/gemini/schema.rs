//! JSON Schema -> the OpenAPI subset Gemini accepts in `parameters` and `responseSchema`.
//!
//! Gemini rejects the whole request on a keyword it does not know (`additionalProperties`,
//! `$schema`, `$ref`, …), so the cleaner keeps an allow-list, inlines local `$ref`s, turns
//! `["t","null"]` types into `nullable` and `oneOf`/`const` into `anyOf`/`enum`.

use serde_json::{Map, Value};

/// Keywords of Google's `Schema` object.
const ALLOWED: [&str; 22] = [
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
    "items",
    "minimum",
    "maximum",
];

/// String formats Gemini accepts; others (`uri`, `email`, …) are dropped.
const FORMATS: [&str; 6] = ["enum", "date-time", "int32", "int64", "float", "double"];

/// `$ref` chains deeper than this (recursive schemas) become a plain object.
const MAX_REF_DEPTH: usize = 8;

/// The cleaned schema; never fails, unknown shapes degrade to what Gemini accepts.
pub fn clean_schema(schema: &Value) -> Value {
    let defs = collect_defs(schema);
    clean(schema, &defs, 0)
}

fn collect_defs(root: &Value) -> Map<String, Value> {
    let mut defs = Map::new();
    for key in ["$defs", "definitions"] {
        if let Some(Value::Object(map)) = root.get(key) {
            for (name, def) in map {
                defs.insert(format!("#/{key}/{name}"), def.clone());
            }
        }
    }
    defs
}

fn clean(schema: &Value, defs: &Map<String, Value>, depth: usize) -> Value {
    let Value::Object(obj) = schema else {
        // `true` / `false` schemas and junk: accept anything.
        return Value::Object(Map::new());
    };
    if let Some(Value::String(reference)) = obj.get("$ref") {
        return match defs.get(reference) {
            Some(target) if depth < MAX_REF_DEPTH => {
                let mut resolved = clean(target, defs, depth + 1);
                if let (Value::Object(out), Some(Value::String(d))) =
                    (&mut resolved, obj.get("description"))
                {
                    out.insert("description".to_owned(), Value::String(d.clone()));
                }
                resolved
            }
            _ => Value::Object(Map::from_iter([(
                "type".to_owned(),
                Value::String("object".to_owned()),
            )])),
        };
    }
    // A single-element `allOf` is how Pydantic attaches a description to a `$ref`.
    if let Some(Value::Array(all)) = obj.get("allOf")
        && all.len() == 1
    {
        let mut merged = obj.clone();
        merged.remove("allOf");
        let mut inner = clean(&all[0], defs, depth);
        if let Value::Object(inner_obj) = &mut inner {
            for (k, v) in clean(&Value::Object(merged), defs, depth)
                .as_object()
                .into_iter()
                .flatten()
            {
                inner_obj.insert(k.clone(), v.clone());
            }
        }
        return inner;
    }

    let mut out = Map::new();
    for (key, value) in obj {
        match key.as_str() {
            "type" => clean_type(value, &mut out),
            "properties" => {
                if let Value::Object(props) = value {
                    let cleaned: Map<String, Value> = props
                        .iter()
                        .map(|(name, prop)| (name.clone(), clean(prop, defs, depth)))
                        .collect();
                    out.insert(key.clone(), Value::Object(cleaned));
                }
            }
            "items" => {
                // Tuple-style `items: [..]` has no equivalent; the first schema is the best guess.
                let item = match value {
                    Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
                    other => other.clone(),
                };
                out.insert(key.clone(), clean(&item, defs, depth));
            }
            "anyOf" | "oneOf" => {
                if let Value::Array(options) = value {
                    add_any_of(options, defs, depth, &mut out);
                }
            }
            "const" => {
                out.insert("enum".to_owned(), Value::Array(vec![value.clone()]));
            }
            "format" if value.as_str().is_some_and(|f| FORMATS.contains(&f)) => {
                out.insert(key.clone(), value.clone());
            }
            "format" => {}
            "examples" => {
                if let Some(first) = value.as_array().and_then(|a| a.first()) {
                    out.entry("example").or_insert_with(|| first.clone());
                }
            }
            k if ALLOWED.contains(&k) => {
                out.entry(key.clone()).or_insert_with(|| value.clone());
            }
            _ => {}
        }
    }
    fix_enum(&mut out);
    fix_required(&mut out);
    Value::Object(out)
}

/// `"type": ["string", "null"]` -> `"type": "string", "nullable": true`; several non-null
/// types become an `anyOf`.
fn clean_type(value: &Value, out: &mut Map<String, Value>) {
    match value {
        Value::String(t) if t == "null" => {
            out.insert("nullable".to_owned(), Value::Bool(true));
        }
        Value::String(_) => {
            out.insert("type".to_owned(), value.clone());
        }
        Value::Array(types) => {
            let named: Vec<&Value> = types
                .iter()
                .filter(|t| t.as_str() != Some("null"))
                .collect();
            if named.len() < types.len() {
                out.insert("nullable".to_owned(), Value::Bool(true));
            }
            match named.as_slice() {
                [] => {}
                [one] => {
                    out.insert("type".to_owned(), (*one).clone());
                }
                many => {
                    let options = many
                        .iter()
                        .map(|t| Value::Object(Map::from_iter([("type".to_owned(), (*t).clone())])))
                        .collect();
                    out.insert("anyOf".to_owned(), Value::Array(options));
                }
            }
        }
        _ => {}
    }
}

fn add_any_of(
    options: &[Value],
    defs: &Map<String, Value>,
    depth: usize,
    out: &mut Map<String, Value>,
) {
    let mut cleaned = Vec::new();
    for option in options {
        if option.get("type").and_then(Value::as_str) == Some("null")
            && option.as_object().is_some_and(|o| o.len() == 1)
        {
            out.insert("nullable".to_owned(), Value::Bool(true));
        } else {
            cleaned.push(clean(option, defs, depth));
        }
    }
    match cleaned.len() {
        0 => {}
        // `anyOf: [X, null]` is just a nullable X.
        1 => {
            if let Some(Value::Object(only)) = cleaned.pop() {
                for (k, v) in only {
                    out.entry(k).or_insert(v);
                }
            }
        }
        _ => {
            out.insert("anyOf".to_owned(), Value::Array(cleaned));
        }
    }
}

/// Gemini enums are strings only: keep string enums (typing them), drop others.
fn fix_enum(out: &mut Map<String, Value>) {
    let Some(Value::Array(values)) = out.get("enum") else {
        return;
    };
    if values.iter().all(Value::is_string) {
        out.entry("type")
            .or_insert_with(|| Value::String("string".to_owned()));
        if out.get("type").and_then(Value::as_str) != Some("string") {
            out.remove("enum");
        }
    } else {
        out.remove("enum");
    }
}

/// `required` may only name declared properties.
fn fix_required(out: &mut Map<String, Value>) {
    let declared: Vec<String> = match out.get("properties") {
        Some(Value::Object(props)) => props.keys().cloned().collect(),
        _ => Vec::new(),
    };
    if let Some(Value::Array(required)) = out.get_mut("required") {
        required.retain(|r| r.as_str().is_some_and(|r| declared.iter().any(|d| d == r)));
        if required.is_empty() {
            out.remove("required");
        }
    }
}

/// Whether a cleaned object schema declares no properties; Gemini rejects an `OBJECT`
/// parameter schema with empty `properties`, so such declarations omit `parameters`.
pub fn is_empty_object(schema: &Value) -> bool {
    let Value::Object(obj) = schema else {
        return true;
    };
    let no_props = match obj.get("properties") {
        None => true,
        Some(Value::Object(p)) => p.is_empty(),
        Some(_) => true,
    };
    no_props
        && obj
            .get("type")
            .and_then(Value::as_str)
            .is_none_or(|t| t == "object")
        && !obj.contains_key("anyOf")
}

/// Google's OpenAPI `Schema` (`parameters`, `responseSchema`) -> JSON Schema for other
/// dialects: types are upper case there (`OBJECT`, `STRING`), which JSON Schema validators
/// (Anthropic's, OpenAI's strict mode) reject, and `nullable` becomes a `null` type.
pub fn openapi_to_json_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = Map::new();
            let nullable = map.get("nullable") == Some(&Value::Bool(true));
            for (key, value) in map {
                let converted = match key.as_str() {
                    "nullable" => continue,
                    "type" => match value.as_str() {
                        Some(t) if nullable => Value::Array(vec![
                            Value::String(t.to_ascii_lowercase()),
                            Value::String("null".to_owned()),
                        ]),
                        Some(t) => Value::String(t.to_ascii_lowercase()),
                        None => value.clone(),
                    },
                    "properties" => match value {
                        Value::Object(props) => Value::Object(
                            props
                                .iter()
                                .map(|(k, v)| (k.clone(), openapi_to_json_schema(v)))
                                .collect(),
                        ),
                        other => other.clone(),
                    },
                    "items" => openapi_to_json_schema(value),
                    "anyOf" => match value {
                        Value::Array(list) => {
                            Value::Array(list.iter().map(openapi_to_json_schema).collect())
                        }
                        other => other.clone(),
                    },
                    _ => value.clone(),
                };
                out.insert(key.clone(), converted);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn gemini_schema_strips_unknown_keywords() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "city": {"type": "string", "description": "City", "format": "uri", "minLength": 1},
                "when": {"type": "string", "format": "date-time"},
                "tags": {"type": "array", "items": {"type": "string", "additionalProperties": false}, "uniqueItems": true}
            },
            "required": ["city", "ghost"],
            "strict": true
        });
        assert_eq!(
            clean_schema(&schema),
            json!({
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City", "minLength": 1},
                    "when": {"type": "string", "format": "date-time"},
                    "tags": {"type": "array", "items": {"type": "string"}}
                },
                "required": ["city"]
            })
        );
    }

    #[test]
    fn gemini_schema_nullable_and_unions() {
        assert_eq!(
            clean_schema(&json!({"type": ["string", "null"]})),
            json!({"type": "string", "nullable": true})
        );
        assert_eq!(
            clean_schema(&json!({"type": ["string", "integer"]})),
            json!({"anyOf": [{"type": "string"}, {"type": "integer"}]})
        );
        assert_eq!(
            clean_schema(
                &json!({"anyOf": [{"type": "integer"}, {"type": "null"}], "description": "n"})
            ),
            json!({"type": "integer", "nullable": true, "description": "n"})
        );
        assert_eq!(
            clean_schema(
                &json!({"oneOf": [{"type": "integer"}, {"type": "string", "const": "x"}]})
            ),
            json!({"anyOf": [{"type": "integer"}, {"type": "string", "enum": ["x"]}]})
        );
    }

    #[test]
    fn gemini_schema_enums() {
        assert_eq!(
            clean_schema(&json!({"enum": ["a", "b"]})),
            json!({"type": "string", "enum": ["a", "b"]})
        );
        assert_eq!(
            clean_schema(&json!({"type": "integer", "enum": [1, 2]})),
            json!({"type": "integer"})
        );
        assert_eq!(
            clean_schema(&json!({"const": "only"})),
            json!({"type": "string", "enum": ["only"]})
        );
    }

    #[test]
    fn gemini_schema_inlines_refs() {
        let schema = json!({
            "type": "object",
            "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "number"}}, "title": "Point"}},
            "properties": {
                "p": {"$ref": "#/$defs/Point"},
                "q": {"allOf": [{"$ref": "#/$defs/Point"}], "description": "second"},
                "r": {"$ref": "#/$defs/Missing"}
            }
        });
        assert_eq!(
            clean_schema(&schema),
            json!({
                "type": "object",
                "properties": {
                    "p": {"type": "object", "properties": {"x": {"type": "number"}}, "title": "Point"},
                    "q": {"type": "object", "properties": {"x": {"type": "number"}}, "title": "Point", "description": "second"},
                    "r": {"type": "object"}
                }
            })
        );
    }

    #[test]
    fn gemini_schema_recursive_refs_terminate() {
        let schema = json!({
            "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}},
            "$ref": "#/$defs/Node"
        });
        let cleaned = clean_schema(&schema);
        let mut depth = 0;
        let mut cur = &cleaned;
        while let Some(next) = cur.get("properties").and_then(|p| p.get("next")) {
            depth += 1;
            cur = next;
        }
        assert_eq!(depth, MAX_REF_DEPTH);
        assert_eq!(cur, &json!({"type": "object"}));
    }

    #[test]
    fn openapi_schemas_become_json_schema() {
        let schema = json!({"type": "OBJECT", "properties": {
            "answer": {"type": "STRING", "nullable": true, "description": "d"},
            "tags": {"type": "ARRAY", "items": {"type": "STRING"}},
            "either": {"anyOf": [{"type": "INTEGER"}, {"type": "BOOLEAN"}]},
        }, "required": ["answer"]});
        assert_eq!(
            openapi_to_json_schema(&schema),
            json!({"type": "object", "properties": {
                "answer": {"type": ["string", "null"], "description": "d"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "either": {"anyOf": [{"type": "integer"}, {"type": "boolean"}]},
            }, "required": ["answer"]})
        );
        assert_eq!(openapi_to_json_schema(&json!(true)), json!(true));
    }

    #[test]
    fn gemini_schema_junk_never_panics() {
        assert_eq!(clean_schema(&json!(true)), json!({}));
        assert_eq!(
            clean_schema(&json!({"type": 5, "items": [], "anyOf": "x"})),
            json!({"items": {}})
        );
        assert!(is_empty_object(
            &json!({"type": "object", "properties": {}})
        ));
        assert!(is_empty_object(&json!({})));
        assert!(!is_empty_object(
            &json!({"type": "object", "properties": {"a": {}}})
        ));
        assert!(!is_empty_object(&json!({"type": "string"})));
    }
}
