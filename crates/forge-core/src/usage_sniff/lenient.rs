//! Field types that accept any JSON value.
//!
//! Usage accounting must not lose a whole event (and its token counts) because one field
//! a provider or compatible host sends has an unexpected type: a value of the wrong type
//! reads as absent instead of failing the parse. Strings borrow from the input when they
//! contain no escapes, so most events are read without allocating.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Visitor methods that read a value of another type as `Default` (absent), draining
/// arrays and objects so the parse continues after them.
macro_rules! ignore_visit {
    (bool) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
    (numbers) => {
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
    (str) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
    (null) => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
    (seq) => {
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            IgnoredAny.visit_seq(seq)?;
            Ok(Default::default())
        }
    };
    (map) => {
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            IgnoredAny.visit_map(map)?;
            Ok(Default::default())
        }
    };
    ($($kind:tt),+) => {
        $(ignore_visit!($kind);)+
    };
}

/// A string; anything else is absent.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Text<'a>(pub Option<Cow<'a, str>>);

impl Text<'_> {
    pub fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or_default()
    }
}

struct TextVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
    type Value = Text<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Borrowed(v))))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_owned()))))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v))))
    }

    ignore_visit!(bool, numbers, null, seq, map);
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor(PhantomData))
    }
}

/// A token count: a non-negative integer (or an integral float, or a numeric string, as
/// some hosts send); anything else is absent.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Count(pub Option<u64>);

impl Count {
    pub fn get(self) -> u64 {
        self.0.unwrap_or(0)
    }
}

struct CountVisitor;

impl<'de> Visitor<'de> for CountVisitor {
    type Value = Count;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Count(Some(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Count(u64::try_from(v).ok()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // `as` saturates, so a huge float cannot wrap.
        Ok(Count((v.is_finite() && v >= 0.0).then_some(v as u64)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Count(v.trim().parse().ok()))
    }

    ignore_visit!(bool, null, seq, map);
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CountVisitor)
    }
}

/// An object read as `T`; anything else is absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Obj<T>(pub Option<T>);

impl<T> Default for Obj<T> {
    fn default() -> Self {
        Obj(None)
    }
}

struct ObjVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjVisitor<T> {
    type Value = Obj<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| Obj(Some(t)))
    }

    ignore_visit!(bool, numbers, str, null, seq);
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ObjVisitor(PhantomData))
    }
}

/// The objects of an array, each read as `T`; other elements, and a non-array, are
/// skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct List<T>(pub Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

struct ListVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
    type Value = List<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Obj(item)) = seq.next_element::<Obj<T>>()? {
            items.extend(item);
        }
        Ok(List(items))
    }

    ignore_visit!(bool, numbers, str, null, map);
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ListVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Probe<'a> {
        #[serde(borrow)]
        s: Text<'a>,
        n: Count,
        o: Obj<Inner>,
        l: List<Inner>,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default)]
    struct Inner {
        n: Count,
    }

    #[test]
    fn strings_borrow_unless_escaped() {
        let p: Probe = serde_json::from_str(r#"{"s": "plain"}"#).unwrap();
        assert!(matches!(p.s.0, Some(Cow::Borrowed("plain"))));
        let p: Probe = serde_json::from_str(r#"{"s": "a\nb"}"#).unwrap();
        assert_eq!(p.s.as_str(), "a\nb");
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Outer<'a> {
        #[serde(borrow)]
        inner: Obj<Probe<'a>>,
        #[serde(borrow)]
        items: List<Probe<'a>>,
    }

    #[test]
    fn nested_strings_borrow_too() {
        let o: Outer =
            serde_json::from_str(r#"{"inner": {"s": "a"}, "items": [{"s": "b"}]}"#).unwrap();
        assert!(matches!(o.inner.0.unwrap().s.0, Some(Cow::Borrowed("a"))));
        assert!(matches!(o.items.0[0].s.0, Some(Cow::Borrowed("b"))));
    }

    #[test]
    fn wrong_types_read_as_absent() {
        let p: Probe = serde_json::from_str(
            r#"{"s": [1, {"x": 2}], "n": {"deep": [1]}, "o": "str", "l": {"n": 1}, "z": 1}"#,
        )
        .unwrap();
        assert_eq!(p.s.0, None);
        assert_eq!(p.n.0, None);
        assert_eq!(p.o.0, None);
        assert!(p.l.0.is_empty());
        let p: Probe =
            serde_json::from_str(r#"{"s": 5, "n": "12", "o": null, "l": null}"#).unwrap();
        assert_eq!((p.s.0, p.n.0), (None, Some(12)));
    }

    #[test]
    fn counts() {
        for (json, want) in [
            ("7", Some(7)),
            ("-3", None),
            ("7.0", Some(7)),
            ("1e300", Some(u64::MAX)),
            ("-0.5", None),
            ("true", None),
            ("null", None),
            ("\" 42 \"", Some(42)),
            ("\"x\"", None),
            ("18446744073709551615", Some(u64::MAX)),
        ] {
            let c: Count = serde_json::from_str(json).unwrap();
            assert_eq!(c.0, want, "{json}");
        }
    }

    #[test]
    fn lists_skip_non_objects() {
        let p: Probe =
            serde_json::from_str(r#"{"l": [null, {"n": 1}, 3, [], {"n": "x"}], "o": {"n": 2}}"#)
                .unwrap();
        assert_eq!(
            p.l.0,
            vec![Inner { n: Count(Some(1)) }, Inner { n: Count(None) }]
        );
        assert_eq!(p.o.0, Some(Inner { n: Count(Some(2)) }));
    }
}
