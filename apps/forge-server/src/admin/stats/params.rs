//! Query parameters arrive as text and are checked here, so each rejection is a 422 naming
//! its own parameter (`loc: ["query", name]`), as FastAPI's would.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use crate::error::ApiError;

fn invalid(field: &str, msg: impl Into<String>, kind: &str) -> ApiError {
    ApiError::validation(&["query", field], msg, kind)
}

/// Treats an empty value as absent, as upstream's `if provider:` does.
pub fn present(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// Upstream declares these with `min_length=1`: an empty value is an error, not "no filter".
pub fn non_empty(value: Option<String>, field: &str) -> Result<Option<String>, ApiError> {
    match value {
        Some(v) if v.is_empty() => Err(invalid(
            field,
            "String should have at least 1 character",
            "string_too_short",
        )),
        other => Ok(other),
    }
}

pub fn int(value: Option<&str>, field: &str, default: i64, min: i64) -> Result<i64, ApiError> {
    let Some(text) = value else {
        return Ok(default);
    };
    let n: i64 = text.trim().parse().map_err(|_| {
        invalid(
            field,
            "Input should be a valid integer, unable to parse string as an integer",
            "int_parsing",
        )
    })?;
    if n < min {
        return Err(invalid(
            field,
            format!("Input should be greater than or equal to {min}"),
            "greater_than_equal",
        ));
    }
    Ok(n)
}

pub fn date(value: &str, field: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| {
        invalid(
            field,
            "Input should be a valid date in the format YYYY-MM-DD",
            "date_from_datetime_parsing",
        )
    })
}

/// An instant, and whether it was given as a bare date (callers that take inclusive days
/// move such an upper bound to the next midnight).
#[derive(Debug)]
pub struct Instant {
    pub at: DateTime<Utc>,
    pub bare_date: bool,
}

/// RFC 3339, or a naive date-time (taken as UTC: upstream crashes on those), or a bare date
/// (its midnight, UTC).
pub fn instant(value: &str, field: &str) -> Result<Instant, ApiError> {
    let text = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(Instant {
            at: t.with_timezone(&Utc),
            bare_date: false,
        });
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(Instant {
                at: t.and_utc(),
                bare_date: false,
            });
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(Instant {
            at: d.and_time(NaiveTime::MIN).and_utc(),
            bare_date: true,
        });
    }
    Err(invalid(
        field,
        "Input should be a valid datetime (RFC 3339, e.g. 2025-06-01T12:00:00Z) or date (YYYY-MM-DD)",
        "datetime_parsing",
    ))
}

/// Midnight UTC starting `day`, in Unix milliseconds.
pub fn day_start_ms(day: NaiveDate) -> i64 {
    day.and_time(NaiveTime::MIN).and_utc().timestamp_millis()
}

/// Midnight UTC ending `day` (the next day's start): the exclusive bound of an inclusive day.
pub fn day_end_ms(day: NaiveDate) -> i64 {
    day_start_ms(day) + Duration::days(1).num_milliseconds()
}

/// The time windows of the `span` parameters, upstream's lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    Day,
    Week,
    Month,
    Year,
    All,
}

impl Span {
    /// Parses `value` (default `week`) among `allowed`; anything else is a 422 listing them.
    pub fn parse(value: Option<&str>, allowed: &[Span]) -> Result<Span, ApiError> {
        let Some(text) = value else {
            return Ok(Span::Week);
        };
        allowed
            .iter()
            .copied()
            .find(|s| s.name() == text)
            .ok_or_else(|| {
                let names: Vec<String> =
                    allowed.iter().map(|s| format!("'{}'", s.name())).collect();
                let list = match names.split_last() {
                    Some((last, rest)) if !rest.is_empty() => {
                        format!("{} or {last}", rest.join(", "))
                    }
                    _ => names.join(""),
                };
                invalid("span", format!("Input should be {list}"), "enum")
            })
    }

    fn name(self) -> &'static str {
        match self {
            Span::Day => "day",
            Span::Week => "week",
            Span::Month => "month",
            Span::Year => "year",
            Span::All => "all",
        }
    }

    /// Where the window starts, counted back from `now`; `None` for all time.
    pub fn start_ms(self, now: DateTime<Utc>) -> Option<i64> {
        let back = match self {
            Span::Day => Duration::days(1),
            Span::Week => Duration::weeks(1),
            Span::Month => Duration::days(30),
            Span::Year => Duration::days(365),
            Span::All => return None,
        };
        Some((now - back).timestamp_millis())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn instants_accept_offsets_naive_times_and_dates() {
        let z = instant("2025-06-01T12:00:00Z", "from").unwrap();
        assert_eq!(z.at.timestamp(), 1_748_779_200);
        assert!(!z.bare_date);
        let off = instant("2025-06-01T14:00:00+02:00", "from").unwrap();
        assert_eq!(off.at, z.at);
        let naive = instant("2025-06-01T12:00:00.5", "from").unwrap();
        assert_eq!(naive.at.timestamp_millis(), z.at.timestamp_millis() + 500);
        let day = instant("2025-06-01", "from").unwrap();
        assert!(day.bare_date);
        assert_eq!(day.at.timestamp(), 1_748_736_000);
        let err = instant("yesterday", "to").unwrap_err();
        assert_eq!(err.status.as_u16(), 422);
        assert_eq!(err.detail[0]["loc"], serde_json::json!(["query", "to"]));
    }

    #[test]
    fn spans_parse_and_reject_with_the_allowed_list() {
        let three = [Span::Day, Span::Week, Span::Month];
        assert_eq!(Span::parse(None, &three).unwrap(), Span::Week);
        assert_eq!(Span::parse(Some("day"), &three).unwrap(), Span::Day);
        let err = Span::parse(Some("year"), &three).unwrap_err();
        assert_eq!(err.status.as_u16(), 422);
        assert_eq!(
            err.detail[0]["msg"],
            "Input should be 'day', 'week' or 'month'"
        );
        assert_eq!(err.detail[0]["loc"], serde_json::json!(["query", "span"]));
    }

    #[test]
    fn ints_have_a_floor() {
        assert_eq!(int(None, "page_size", 10, 1).unwrap(), 10);
        assert_eq!(int(Some("3"), "page_size", 10, 1).unwrap(), 3);
        assert_eq!(
            int(Some("0"), "page_size", 10, 1).unwrap_err().detail[0]["type"],
            "greater_than_equal"
        );
        assert_eq!(
            int(Some("x"), "page_size", 10, 1).unwrap_err().detail[0]["type"],
            "int_parsing"
        );
    }

    #[test]
    fn inclusive_days_end_at_the_next_midnight() {
        let d = date("2025-06-01", "end_date").unwrap();
        assert_eq!(day_end_ms(d) - day_start_ms(d), 86_400_000);
        assert!(date("06/01/2025", "end_date").is_err());
    }
}
