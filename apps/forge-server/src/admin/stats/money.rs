//! Costs leave the server in currency units, converted from the stored billionths.

use forge_core::usage_record::NANOS_PER_UNIT;

/// Exact decimal text, trailing zeros trimmed (`420000` → `"0.00042"`, `0` → `"0"`), as
/// upstream's normalized `Decimal` reads, but never in exponent form (`"1E+1"` is upstream's
/// accident, and plain digits parse everywhere the exponent form does).
pub fn decimal(nanos: i64) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let abs = nanos.unsigned_abs();
    let unit = NANOS_PER_UNIT.unsigned_abs();
    let whole = abs / unit;
    let frac = abs % unit;
    if frac == 0 {
        return format!("{sign}{whole}");
    }
    let digits = format!("{frac:09}");
    format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
}

/// For the one field upstream typed as a float (`/v1/stats/` `cost`).
pub fn units(nanos: i64) -> f64 {
    nanos as f64 / NANOS_PER_UNIT as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact_and_trimmed() {
        assert_eq!(decimal(0), "0");
        assert_eq!(decimal(420_000), "0.00042");
        assert_eq!(decimal(1), "0.000000001");
        assert_eq!(decimal(10_000_000_000), "10");
        assert_eq!(decimal(12_500_000_000), "12.5");
        assert_eq!(decimal(-1_500_000_000), "-1.5");
        assert_eq!(decimal(i64::MIN), "-9223372036.854775808");
    }

    #[test]
    fn units_are_currency_units() {
        assert!((units(420_000) - 0.00042).abs() < 1e-15);
        assert_eq!(units(0), 0.0);
    }
}
