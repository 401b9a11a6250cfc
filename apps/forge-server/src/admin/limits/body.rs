//! The wire shape of limits: what a PUT sends and every answer returns. Costs travel in
//! currency units as decimal text (`"5.00"`), read exactly; the store keeps billionths.

use chrono::NaiveDateTime;
use forge_core::usage_record::NANOS_PER_UNIT;
use forge_storage::{BudgetLimit, BudgetPeriod, LimitValues};
use serde::de::{self, IgnoredAny};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, Type};

use crate::error::ApiError;
use crate::limits::rules::LimitRules;

/// A PUT body: the scope's limits as a whole; a field left out is unlimited.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsBody {
    pub rpm: Option<i64>,
    pub tpm: Option<i64>,
    pub concurrency: Option<i64>,
    #[serde(default)]
    pub budgets: Vec<BudgetBody>,
    // Fields of the answer, accepted so a GET can be edited and sent back as it is.
    /// Ignored (a field of the answer).
    #[serde(default, rename = "scope")]
    #[schema(value_type = Option<String>)]
    _scope: Option<IgnoredAny>,
    /// Ignored (a field of the answer).
    #[serde(default, rename = "source")]
    #[schema(value_type = Option<String>)]
    _source: Option<IgnoredAny>,
    /// Ignored (a field of the answer).
    #[serde(default, rename = "updated_at")]
    #[schema(value_type = Option<String>)]
    _updated_at: Option<IgnoredAny>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetBody {
    #[schema(schema_with = period_schema)]
    pub period: BudgetPeriod,
    /// Currency units as decimal text (`"5.00"`); a JSON number is read too.
    #[serde(default, deserialize_with = "cost")]
    #[schema(value_type = Option<String>, example = "5.00")]
    pub max_cost: Option<i64>,
    pub max_tokens: Option<i64>,
}

/// The calendar span (UTC) a budget counts over.
fn period_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["day", "month", "total"]))
}

/// Whose settings an answer shows: stored for this scope, forge.toml's default, or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Key,
    User,
    Config,
    None,
}

/// Every answer: the scope's limits, costs in currency units.
#[derive(Debug, Serialize, ToSchema)]
pub struct LimitsView {
    /// `key:{id}` or `user:{id}`.
    pub scope: String,
    pub source: Source,
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    pub concurrency: Option<u64>,
    pub budgets: Vec<BudgetView>,
    /// When stored settings were last set (UTC, no offset); null otherwise.
    #[schema(value_type = Option<String>)]
    pub updated_at: Option<NaiveDateTime>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BudgetView {
    #[schema(schema_with = period_schema)]
    pub period: &'static str,
    /// Currency units as decimal text.
    pub max_cost: Option<String>,
    pub max_tokens: Option<i64>,
}

impl LimitsView {
    pub fn new(scope: String, source: Source, rules: Option<&LimitRules>) -> LimitsView {
        let rules = rules.cloned().unwrap_or_default();
        LimitsView {
            scope,
            source,
            rpm: rules.rates.rpm,
            tpm: rules.rates.tpm,
            concurrency: rules.rates.concurrency,
            budgets: rules
                .budgets
                .iter()
                .map(|b| BudgetView {
                    period: b.period.as_str(),
                    max_cost: b.max_cost_nanos.map(money),
                    max_tokens: b.max_tokens,
                })
                .collect(),
            updated_at: None,
        }
    }
}

impl LimitsBody {
    /// Checks every field, reporting all problems at once in pydantic's list shape.
    pub fn validate(self) -> Result<LimitValues, ApiError> {
        let mut errors = Vec::new();
        for (name, value) in [
            ("rpm", self.rpm),
            ("tpm", self.tpm),
            ("concurrency", self.concurrency),
        ] {
            if value.is_some_and(|n| n < 1) {
                errors.push(error(
                    json!(["body", name]),
                    "must be at least 1 (leave it out for no limit)",
                    "greater_than_equal",
                ));
            }
        }
        let mut seen = Vec::new();
        for (i, b) in self.budgets.iter().enumerate() {
            let at = |field: &str| json!(["body", "budgets", i, field]);
            if seen.contains(&b.period) {
                errors.push(error(at("period"), "one budget per period", "value_error"));
            }
            seen.push(b.period);
            if b.max_cost.is_none() && b.max_tokens.is_none() {
                errors.push(error(
                    json!(["body", "budgets", i]),
                    "a budget needs max_cost, max_tokens or both",
                    "missing",
                ));
            }
            if b.max_cost == Some(0) {
                errors.push(error(at("max_cost"), "must be more than 0", "greater_than"));
            }
            if b.max_tokens.is_some_and(|n| n < 1) {
                errors.push(error(
                    at("max_tokens"),
                    "must be at least 1",
                    "greater_than_equal",
                ));
            }
        }
        if !errors.is_empty() {
            return Err(validation(errors));
        }
        Ok(LimitValues {
            rpm: self.rpm,
            tpm: self.tpm,
            concurrency: self.concurrency,
            budgets: self
                .budgets
                .into_iter()
                .map(|b| BudgetLimit {
                    period: b.period,
                    max_cost_nanos: b.max_cost,
                    max_tokens: b.max_tokens,
                })
                .collect(),
        })
    }
}

/// One entry of a 422 `detail` list.
pub fn error(loc: Value, msg: impl Into<String>, kind: &str) -> Value {
    json!({ "type": kind, "loc": loc, "msg": msg.into(), "input": Value::Null })
}

pub fn validation(errors: Vec<Value>) -> ApiError {
    ApiError {
        status: actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
        detail: Value::Array(errors),
        bearer_challenge: false,
    }
}

/// Currency units with at least two decimals (`5.00`, `0.25`, `0.00042`), exactly.
pub fn money(nanos: i64) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let unit = NANOS_PER_UNIT.unsigned_abs();
    let abs = nanos.unsigned_abs();
    let digits = format!("{:09}", abs % unit);
    let trimmed = digits.trim_end_matches('0');
    let frac = if trimmed.len() < 2 {
        &digits[..2]
    } else {
        trimmed
    };
    format!("{sign}{}.{frac}", abs / unit)
}

const COST_EXPECTED: &str = "an amount in currency units such as \"5.00\" (up to 9 decimals)";

/// `"5.00"`, `5` or `5.0` as billionths; decimal text is read exactly.
fn cost<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    let nanos = match &value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) => parse_units(text),
        Some(Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
            (Some(whole), _) => whole.checked_mul(NANOS_PER_UNIT.unsigned_abs()),
            (None, Some(f)) if (0.0..9.2e9).contains(&f) => {
                Some((f * NANOS_PER_UNIT as f64).round() as u64)
            }
            _ => None,
        },
        Some(_) => None,
    };
    nanos
        .and_then(|n| i64::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| de::Error::custom(format!("max_cost must be {COST_EXPECTED}")))
}

fn parse_units(text: &str) -> Option<u64> {
    let text = text.trim();
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && frac.is_empty() || frac.len() > 9 || !digits(whole) || !digits(frac) {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac_nanos: u64 = format!("{frac:0<9}").parse().ok()?;
    whole
        .checked_mul(NANOS_PER_UNIT.unsigned_abs())?
        .checked_add(frac_nanos)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn body(v: Value) -> Result<LimitsBody, serde_json::Error> {
        serde_json::from_value(v)
    }

    #[test]
    fn money_keeps_two_decimals_and_exact_digits() {
        assert_eq!(money(5_000_000_000), "5.00");
        assert_eq!(money(250_000_000), "0.25");
        assert_eq!(money(500_000_000), "0.50");
        assert_eq!(money(420_000), "0.00042");
        assert_eq!(money(1), "0.000000001");
        assert_eq!(money(0), "0.00");
    }

    #[test]
    fn costs_read_as_text_or_numbers() {
        let cost_of = |v: Value| {
            body(json!({"budgets": [{"period": "day", "max_cost": v}]}))
                .map(|b| b.budgets[0].max_cost)
        };
        assert_eq!(cost_of(json!("5.00")).unwrap(), Some(5_000_000_000));
        assert_eq!(cost_of(json!(".5")).unwrap(), Some(500_000_000));
        assert_eq!(cost_of(json!("0.000000001")).unwrap(), Some(1));
        assert_eq!(cost_of(json!(5)).unwrap(), Some(5_000_000_000));
        assert_eq!(cost_of(json!(0.25)).unwrap(), Some(250_000_000));
        assert_eq!(cost_of(Value::Null).unwrap(), None);
        for bad in [
            json!("-1"),
            json!("1.0000000001"),
            json!("abc"),
            json!(""),
            json!(-1),
            json!("99999999999999"),
            json!(true),
        ] {
            let err = cost_of(bad.clone()).unwrap_err().to_string();
            assert!(err.contains("max_cost must be"), "{bad}: {err}");
        }
    }

    #[test]
    fn answers_can_be_sent_back_but_typos_cannot() {
        let answer = json!({"scope": "key:1", "source": "key", "rpm": 2, "tpm": null,
            "concurrency": null, "budgets": [], "updated_at": null});
        assert_eq!(body(answer).unwrap().rpm, Some(2));
        assert!(body(json!({"rpn": 2})).is_err());
        assert!(body(json!({"budgets": [{"period": "week", "max_tokens": 1}]})).is_err());
    }

    #[test]
    fn validation_lists_every_problem() {
        let b = body(json!({"rpm": 0, "concurrency": -1, "budgets": [
            {"period": "day", "max_tokens": 10},
            {"period": "day"},
            {"period": "month", "max_cost": "0", "max_tokens": 0},
        ]}))
        .unwrap();
        let err = b.validate().unwrap_err();
        assert_eq!(err.status.as_u16(), 422);
        let locs: Vec<String> = err
            .detail
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["loc"].to_string())
            .collect();
        assert_eq!(
            locs,
            [
                r#"["body","rpm"]"#,
                r#"["body","concurrency"]"#,
                r#"["body","budgets",1,"period"]"#,
                r#"["body","budgets",1]"#,
                r#"["body","budgets",2,"max_cost"]"#,
                r#"["body","budgets",2,"max_tokens"]"#,
            ]
        );
    }

    #[test]
    fn a_valid_body_becomes_stored_values() {
        let b = body(json!({"tpm": 1000, "budgets": [{"period": "total", "max_cost": "1.5"}]}))
            .unwrap();
        assert_eq!(
            b.validate().unwrap(),
            LimitValues {
                rpm: None,
                tpm: Some(1000),
                concurrency: None,
                budgets: vec![BudgetLimit {
                    period: BudgetPeriod::Total,
                    max_cost_nanos: Some(1_500_000_000),
                    max_tokens: None,
                }],
            }
        );
    }
}
