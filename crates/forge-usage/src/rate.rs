//! A token price as an integer, so prices and costs never pass through binary floating point
//! more than once (when a TOML float is read).

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use forge_core::usage_record::NANOS_PER_UNIT;

/// The highest accepted price, per million tokens, in currency units: far above any real
/// price, low enough that `tokens × rate` can never overflow a `u128`.
const MAX_UNITS_PER_MILLION: u64 = 1_000_000;

/// A price in billionths of a currency unit per million tokens.
///
/// Written in TOML as currency units per million tokens, like price lists are: a float
/// (`2.5`), an integer (`15`) or a decimal string (`"0.0375"`, read exactly, up to 9
/// decimals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Rate(u64);

impl Rate {
    pub const ZERO: Rate = Rate(0);

    pub fn from_nanos_per_million(nanos: u64) -> Option<Rate> {
        (nanos <= MAX_UNITS_PER_MILLION * NANOS_PER_UNIT as u64).then_some(Rate(nanos))
    }

    /// Whole currency units per million tokens, e.g. `Rate::units(15)`.
    pub fn units(units: u64) -> Option<Rate> {
        units
            .checked_mul(NANOS_PER_UNIT as u64)
            .and_then(Rate::from_nanos_per_million)
    }

    pub fn nanos_per_million(self) -> u64 {
        self.0
    }

    /// Parses a non-negative decimal such as `2.50` exactly.
    pub fn parse_decimal(text: &str) -> Option<Rate> {
        let text = text.trim();
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty() && frac.is_empty()
            || frac.len() > 9
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let whole: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let mut frac_nanos: u64 = if frac.is_empty() {
            0
        } else {
            frac.parse().ok()?
        };
        for _ in frac.len()..9 {
            frac_nanos *= 10;
        }
        whole
            .checked_mul(NANOS_PER_UNIT as u64)?
            .checked_add(frac_nanos)
            .and_then(Rate::from_nanos_per_million)
    }

    fn from_f64(units: f64) -> Option<Rate> {
        if !units.is_finite() || units < 0.0 || units > MAX_UNITS_PER_MILLION as f64 {
            return None;
        }
        // In range and non-negative, so the cast is exact after rounding.
        Rate::from_nanos_per_million((units * NANOS_PER_UNIT as f64).round() as u64)
    }
}

/// Renders as a decimal in currency units per million tokens, trailing zeros trimmed.
impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = NANOS_PER_UNIT as u64;
        let (whole, frac) = (self.0 / unit, self.0 % unit);
        if frac == 0 {
            return write!(f, "{whole}");
        }
        let digits = format!("{frac:09}");
        write!(f, "{whole}.{}", digits.trim_end_matches('0'))
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.0 as f64 / NANOS_PER_UNIT as f64)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RateVisitor)
    }
}

struct RateVisitor;

const EXPECTED: &str = "a price per million tokens between 0 and 1000000, e.g. 2.5 or \"0.0375\"";

impl Visitor<'_> for RateVisitor {
    type Value = Rate;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTED)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Rate, E> {
        Rate::from_f64(v).ok_or_else(|| E::invalid_value(de::Unexpected::Float(v), &EXPECTED))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Rate, E> {
        u64::try_from(v)
            .ok()
            .and_then(Rate::units)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Signed(v), &EXPECTED))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Rate, E> {
        Rate::units(v).ok_or_else(|| E::invalid_value(de::Unexpected::Unsigned(v), &EXPECTED))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Rate, E> {
        Rate::parse_decimal(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &EXPECTED))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn decimals_parse_exactly() {
        assert_eq!(Rate::parse_decimal("2.50").unwrap().0, 2_500_000_000);
        assert_eq!(Rate::parse_decimal("0.0375").unwrap().0, 37_500_000);
        assert_eq!(Rate::parse_decimal(".5").unwrap().0, 500_000_000);
        assert_eq!(Rate::parse_decimal("15").unwrap().0, 15_000_000_000);
        assert_eq!(Rate::parse_decimal("0.000000001").unwrap().0, 1);
        for bad in [
            "",
            ".",
            "-1",
            "1e3",
            "0.0000000001",
            "1.2.3",
            "abc",
            "2000000",
        ] {
            assert_eq!(Rate::parse_decimal(bad), None, "{bad}");
        }
    }

    #[test]
    fn floats_round_to_the_nearest_nano() {
        assert_eq!(Rate::from_f64(0.075).unwrap().0, 75_000_000);
        assert_eq!(Rate::from_f64(0.1).unwrap().0, 100_000_000);
        assert_eq!(Rate::from_f64(18.75).unwrap().0, 18_750_000_000);
        assert_eq!(Rate::from_f64(-0.5), None);
        assert_eq!(Rate::from_f64(f64::NAN), None);
    }

    #[test]
    fn display_trims_zeros() {
        assert_eq!(Rate::parse_decimal("2.50").unwrap().to_string(), "2.5");
        assert_eq!(Rate::units(60).unwrap().to_string(), "60");
        assert_eq!(Rate::parse_decimal("0.005").unwrap().to_string(), "0.005");
    }

    #[test]
    fn toml_accepts_floats_integers_and_strings() {
        #[derive(Deserialize)]
        struct T {
            a: Rate,
            b: Rate,
            c: Rate,
        }
        let t: T = toml::from_str("a = 0.15\nb = 60\nc = \"0.0375\"").unwrap();
        assert_eq!(
            (t.a.0, t.b.0, t.c.0),
            (150_000_000, 60_000_000_000, 37_500_000)
        );
        assert!(toml::from_str::<T>("a = -1\nb = 1\nc = 1").is_err());
    }
}
