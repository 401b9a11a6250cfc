//! A top-level JSON object whose values stay raw.
//!
//! The proxy reads `model` / `stream` and rewrites `model` without parsing or re-serialising
//! the messages, so whatever the client sent inside them reaches the upstream unchanged.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::Error;

#[derive(Debug, Clone)]
enum Slot<'a> {
    Borrowed(&'a RawValue),
    Owned(Box<RawValue>),
}

impl Slot<'_> {
    fn raw(&self) -> &RawValue {
        match self {
            Slot::Borrowed(raw) => raw,
            Slot::Owned(raw) => raw,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RawObject<'a> {
    /// Keys borrow from the body unless they hold an escape.
    entries: Vec<(Cow<'a, str>, Slot<'a>)>,
}

/// A key borrowed from the input where it can be (serde's `Cow` always copies).
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        de.deserialize_str(KeyVisitor)
    }
}

/// Up to this many keys, duplicates are found by a scan (cheaper than hashing them).
const SCAN_KEYS: usize = 32;

struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = Vec<(Cow<'de, str>, &'de RawValue)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some((Key(key), value)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
            out.push((key, value));
        }
        Ok(out)
    }
}

fn parse_error(detail: impl fmt::Display) -> Error {
    Error::invalid(format!(
        "We could not parse the JSON body of your request: {detail}. The body must be a JSON object."
    ))
}

impl<'a> RawObject<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let pairs = de.deserialize_map(EntriesVisitor).map_err(parse_error)?;
        de.end().map_err(parse_error)?;
        // Duplicate keys: the last value wins, as in serde_json. A few keys are compared
        // directly; more go through an index, since a scan per key is quadratic in a
        // client-chosen key count.
        let mut entries: Vec<(Cow<'a, str>, Slot<'a>)> = Vec::with_capacity(pairs.len());
        if pairs.len() <= SCAN_KEYS {
            for (key, value) in pairs {
                match entries.iter_mut().find(|(k, _)| *k == key) {
                    Some(entry) => entry.1 = Slot::Borrowed(value),
                    None => entries.push((key, Slot::Borrowed(value))),
                }
            }
            return Ok(RawObject { entries });
        }
        let mut index: HashMap<Cow<'a, str>, usize> = HashMap::with_capacity(pairs.len());
        for (key, value) in pairs {
            match index.get(&key).and_then(|&at| entries.get_mut(at)) {
                Some(entry) => entry.1 = Slot::Borrowed(value),
                None => {
                    index.insert(key.clone(), entries.len());
                    entries.push((key, Slot::Borrowed(value)));
                }
            }
        }
        Ok(RawObject { entries })
    }

    pub fn get(&self, key: &str) -> Option<&RawValue> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, slot)| slot.raw())
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Keys in document order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_ref())
    }

    /// A string value; `null` and absence are `None`, any other type is the client's error.
    pub fn get_str(&self, key: &str) -> Result<Option<String>, Error> {
        self.get_typed(key, "a string")
    }

    pub fn get_bool(&self, key: &str) -> Result<Option<bool>, Error> {
        self.get_typed(key, "a boolean")
    }

    fn get_typed<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
        expected: &str,
    ) -> Result<Option<T>, Error> {
        let Some(raw) = self.get(key) else {
            return Ok(None);
        };
        serde_json::from_str::<Option<T>>(raw.get()).map_err(|_| Error::InvalidRequest {
            message: format!("Invalid type for `{key}`: expected {expected}."),
            param: Some(key.to_owned()),
        })
    }

    /// Replaces the value of `key`, or appends it.
    pub fn set_str(&mut self, key: &str, value: &str) {
        // Serialising a string cannot fail; the `if let` only avoids a panic path.
        if let Ok(raw) = serde_json::value::to_raw_value(value) {
            self.set_raw(key, raw);
        }
    }

    pub fn set_raw(&mut self, key: &str, value: Box<RawValue>) {
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = Slot::Owned(value),
            None => self
                .entries
                .push((Cow::Owned(key.to_owned()), Slot::Owned(value))),
        }
    }

    pub fn remove(&mut self, key: &str) {
        self.entries.retain(|(k, _)| k != key);
    }

    /// The object again, every value byte-for-byte as parsed or set.
    pub fn to_vec(&self) -> Vec<u8> {
        let size: usize = self
            .entries
            .iter()
            .map(|(k, v)| k.len() + v.raw().get().len() + 4)
            .sum();
        let mut out = Vec::with_capacity(size + 2);
        out.push(b'{');
        for (i, (key, slot)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            // Writing a string into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut out, key);
            out.push(b':');
            out.extend_from_slice(slot.raw().get().as_bytes());
        }
        out.push(b'}');
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    #[test]
    fn reads_and_rewrites_model_only() {
        let body = br#"{ "model" : "openai/gpt-4o", "messages":[{"role":"user","content":"h\u00e9 1.0e3"}], "stream": true, "n": 1.50 }"#;
        let mut obj = RawObject::parse(body).unwrap();
        assert_eq!(
            obj.get_str("model").unwrap().as_deref(),
            Some("openai/gpt-4o")
        );
        assert_eq!(obj.get_bool("stream").unwrap(), Some(true));
        obj.set_str("model", "gpt-4o");
        let out = String::from_utf8(obj.to_vec()).unwrap();
        assert_eq!(
            out,
            r#"{"model":"gpt-4o","messages":[{"role":"user","content":"h\u00e9 1.0e3"}],"stream":true,"n":1.50}"#
        );
    }

    #[test]
    fn set_remove_and_append() {
        let mut obj = RawObject::parse(br#"{"a":1,"b":null}"#).unwrap();
        assert_eq!(obj.get_str("b").unwrap(), None);
        assert_eq!(obj.get_str("zz").unwrap(), None);
        obj.set_str("c", "q\"uote");
        obj.remove("a");
        obj.set_raw("b", RawValue::from_string("[1, 2]".into()).unwrap());
        assert_eq!(obj.to_vec(), br#"{"b":[1, 2],"c":"q\"uote"}"#);
        assert!(obj.contains_key("c"));
        assert_eq!(obj.keys().collect::<Vec<_>>(), ["b", "c"]);
    }

    #[test]
    fn type_errors_name_the_param() {
        let obj = RawObject::parse(br#"{"model":5,"stream":"yes"}"#).unwrap();
        match obj.get_str("model") {
            Err(Error::InvalidRequest { param, .. }) => assert_eq!(param.as_deref(), Some("model")),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            obj.get_bool("stream"),
            Err(Error::InvalidRequest { param: Some(p), .. }) if p == "stream"
        ));
    }

    #[test]
    fn rejects_non_objects_and_garbage() {
        for body in [
            &b"[1,2]"[..],
            b"\"x\"",
            b"",
            b"{",
            b"{\"a\":1} x",
            b"{\"a\":}",
            b"null",
        ] {
            match RawObject::parse(body) {
                Err(Error::InvalidRequest { message, .. }) => {
                    assert!(
                        message.starts_with("We could not parse the JSON body of your request: "),
                        "{message}"
                    );
                }
                other => panic!("{:?} gave {other:?}", String::from_utf8_lossy(body)),
            }
        }
    }

    #[test]
    fn duplicate_keys_last_wins() {
        let obj = RawObject::parse(br#"{"model":"a","x":1,"model":"b"}"#).unwrap();
        assert_eq!(obj.get_str("model").unwrap().as_deref(), Some("b"));
        let reparsed: Value = serde_json::from_slice(&obj.to_vec()).unwrap();
        assert_eq!(reparsed, json!({"model":"b","x":1}));
    }

    #[test]
    fn many_keys_parse_in_linear_time() {
        // 200k distinct keys: a per-key scan for duplicates would take minutes here.
        let n = 200_000;
        let mut body = String::from("{");
        for i in 0..n {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&format!("\"k{i}\":0"));
        }
        body.push_str(",\"k7\":1}");
        let started = std::time::Instant::now();
        let obj = RawObject::parse(body.as_bytes()).unwrap();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(obj.keys().count(), n);
        assert_eq!(obj.get("k7").unwrap().get(), "1");
        assert_eq!(obj.keys().nth(7), Some("k7"));
    }

    #[test]
    fn escaped_keys() {
        let obj = RawObject::parse(br#"{"mo\u0064el":"a"}"#).unwrap();
        assert_eq!(obj.get_str("model").unwrap().as_deref(), Some("a"));
        assert_eq!(obj.to_vec(), br#"{"model":"a"}"#);
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            (-1.0e9f64..1.0e9).prop_map(|f| json!(f)),
            ".*".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(".*", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn round_trip_is_semantically_equal(
            map in prop::collection::btree_map(".*", arb_json(), 0..8),
            pretty in any::<bool>(),
        ) {
            let value = Value::Object(map.into_iter().collect());
            let text = if pretty {
                serde_json::to_vec_pretty(&value).unwrap()
            } else {
                serde_json::to_vec(&value).unwrap()
            };
            // Compare against the text as parsed, not `value`: serde_json's default float
            // parsing is not exactly round-trip, and that is not what is under test.
            let expected: Value = serde_json::from_slice(&text).unwrap();
            let obj = RawObject::parse(&text).unwrap();
            let back: Value = serde_json::from_slice(&obj.to_vec()).unwrap();
            prop_assert_eq!(back, expected);
        }

        #[test]
        fn never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = RawObject::parse(&bytes);
        }
    }
}
