//! UTC calendar arithmetic for budget periods, from Unix milliseconds alone.
//!
//! A period is named by an integer id that only grows: days since the epoch for `Day`,
//! `year * 12 + month0` for `Month`, `0` for `Total`. Comparing ids is how both the local
//! limiter and the Lua scripts detect rollover, so this must match `lua/admit.lua` exactly
//! (the algorithms are Howard Hinnant's `civil_from_days` / `days_from_civil`).

use crate::spec::Period;

pub const DAY_MS: u64 = 86_400_000;

/// The id of the period containing `now_ms`.
pub fn period_id(period: Period, now_ms: u64) -> i64 {
    let days = days_since_epoch(now_ms);
    match period {
        Period::Day => days,
        Period::Month => {
            let (y, m, _) = civil_from_days(days);
            y * 12 + i64::from(m) - 1
        }
        Period::Total => 0,
    }
}

/// When the period with this id ends (Unix ms); `None` for `Total`, which never does.
pub fn period_end_ms(period: Period, id: i64) -> Option<u64> {
    let end_day = match period {
        Period::Day => id + 1,
        Period::Month => {
            let next = id + 1;
            let (y, m0) = (next.div_euclid(12), next.rem_euclid(12));
            // m0 is in 0..12, so the cast is lossless.
            days_from_civil(y, m0 as u32 + 1, 1)
        }
        Period::Total => return None,
    };
    Some(u64::try_from(end_day).unwrap_or(0).saturating_mul(DAY_MS))
}

fn days_since_epoch(now_ms: u64) -> i64 {
    i64::try_from(now_ms / DAY_MS).unwrap_or(i64::MAX)
}

/// (year, month 1..=12, day 1..=31) of a day count since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    // m is in 1..=12 and d in 1..=31 by construction.
    (y, m as u32, d as u32)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1..=12).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix ms of a UTC civil time, for readable tests.
#[cfg(test)]
pub(crate) fn utc(y: i64, m: u32, d: u32, h: u64, min: u64) -> u64 {
    let days = u64::try_from(days_from_civil(y, m, d)).unwrap_or(0);
    days * DAY_MS + h * 3_600_000 + min * 60_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_over_centuries() {
        for days in (-800_000..800_000).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        assert_eq!(
            days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28),
            2
        );
    }

    #[test]
    fn day_rolls_at_utc_midnight() {
        let before = utc(2025, 12, 31, 23, 59) + 59_999;
        let after = utc(2026, 1, 1, 0, 0);
        assert_eq!(after - before, 1);
        assert_eq!(
            period_id(Period::Day, after),
            period_id(Period::Day, before) + 1
        );
        let id = period_id(Period::Day, before);
        assert_eq!(period_end_ms(Period::Day, id), Some(after));
    }

    #[test]
    fn month_rolls_on_the_first_including_leap_february() {
        let feb = period_id(Period::Month, utc(2024, 2, 29, 23, 59));
        let mar = period_id(Period::Month, utc(2024, 3, 1, 0, 0));
        assert_eq!(mar, feb + 1);
        assert_eq!(feb, 2024 * 12 + 1);
        assert_eq!(
            period_end_ms(Period::Month, feb),
            Some(utc(2024, 3, 1, 0, 0))
        );
        let dec = period_id(Period::Month, utc(2025, 12, 15, 12, 0));
        assert_eq!(
            period_end_ms(Period::Month, dec),
            Some(utc(2026, 1, 1, 0, 0))
        );
        assert_eq!(period_id(Period::Total, utc(2025, 12, 15, 12, 0)), 0);
        assert_eq!(period_end_ms(Period::Total, 0), None);
    }
}
