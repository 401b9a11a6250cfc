//! `GET /v1/logs/export` (JWT): request logs as JSON Lines, oldest first, streamed page by
//! page so an export of any size holds one page in memory. Users export their own; admins
//! may name a user (`user_id`), a static key (`gateway_key`) or everyone (`all=true`).

use actix_web::{HttpResponse, web};
use bytes::Bytes;
use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, Utc};
use forge_storage::{LogCursor, LogFilter, RequestLog, Store};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::admin::Deferred;
use crate::auth::jwt::CurrentUser;
use crate::error::ApiError;
use crate::state::AppState;

/// Logs read per database round trip.
const PAGE: i64 = 200;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// A date or an RFC 3339 time, inclusive.
    from: Option<String>,
    /// A date (that whole day included) or an RFC 3339 time.
    to: Option<String>,
    #[param(value_type = Option<i64>)]
    key_id: Option<String>,
    /// Another user's logs (admins only).
    #[param(value_type = Option<i64>)]
    user_id: Option<String>,
    /// A static forge.toml key's logs (admins only).
    gateway_key: Option<String>,
    /// `true`: everyone's logs (admins only).
    #[param(value_type = Option<bool>)]
    all: Option<String>,
}

/// One exported line.
#[derive(Serialize, ToSchema)]
#[schema(as = LogLine)]
struct Line<'a> {
    id: &'a str,
    request_id: &'a str,
    started_at: String,
    user_id: Option<i64>,
    key_id: Option<i64>,
    gateway_key: Option<&'a str>,
    provider: &'a str,
    model: &'a str,
    upstream_model: &'a str,
    endpoint: &'a str,
    status: u16,
    streamed: bool,
    truncated: bool,
    request_body: &'a str,
    response_body: Option<&'a str>,
}

impl<'a> From<&'a RequestLog> for Line<'a> {
    fn from(log: &'a RequestLog) -> Self {
        Line {
            id: &log.id,
            request_id: &log.request_id,
            started_at: DateTime::<Utc>::from_timestamp_millis(log.started_at_ms)
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
                .unwrap_or_default(),
            user_id: log.user_id,
            key_id: log.forge_key_id,
            gateway_key: log.gateway_key.as_deref(),
            provider: &log.provider,
            model: &log.model,
            upstream_model: &log.upstream_model,
            endpoint: &log.endpoint,
            status: log.status,
            streamed: log.streamed,
            truncated: log.truncated,
            request_body: &log.request_body,
            response_body: log.response_body.as_deref(),
        }
    }
}

#[utoipa::path(get, path = "/v1/logs/export", tag = "Logs", operation_id = "export_logs",
    params(ExportQuery),
    responses(
        (status = 200, description = "JSON Lines, one `LogLine` object a line, oldest first",
            content_type = "application/x-ndjson", body = Line),
        (status = 403, description = "Other users' logs asked for by a non-admin", body = crate::openapi::errors::AdminError),
    ),
    security(("jwt" = [])))]
pub async fn export(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    query: Deferred<web::Query<ExportQuery>>,
) -> Result<HttpResponse, ApiError> {
    let filter = filter_for(user.id, user.is_admin, query?.into_inner())?;
    // The first page is read before answering, so a database error is still a clean 5xx.
    let first = state.store.request_logs(&filter, None, PAGE).await?;
    let export = Export {
        store: state.store.clone(),
        filter,
        page: Some(first),
        after: None,
        done: false,
    };
    Ok(HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .streaming(futures_util::stream::unfold(export, Export::next)))
}

struct Export {
    store: Store,
    filter: LogFilter,
    /// A page read but not yet sent.
    page: Option<Vec<RequestLog>>,
    after: Option<LogCursor>,
    done: bool,
}

impl Export {
    async fn next(mut self) -> Option<(Result<Bytes, std::io::Error>, Export)> {
        let page = match self.page.take() {
            Some(page) => page,
            None if self.done => return None,
            None => match self
                .store
                .request_logs(&self.filter, self.after.as_ref(), PAGE)
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(error = %e, "request log export failed mid-stream");
                    self.done = true;
                    return Some((Err(std::io::Error::other("export failed")), self));
                }
            },
        };
        if page.is_empty() {
            return None;
        }
        self.done = page.len() < PAGE as usize;
        self.after = page.last().map(RequestLog::cursor);
        let mut out = Vec::with_capacity(page.iter().map(|l| l.request_body.len() + 512).sum());
        for log in &page {
            if serde_json::to_writer(&mut out, &Line::from(log)).is_ok() {
                out.push(b'\n');
            }
        }
        Some((Ok(Bytes::from(out)), self))
    }
}

fn invalid(field: &str, msg: &str, kind: &str) -> ApiError {
    ApiError::validation(&["query", field], msg, kind)
}

fn present(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn id_param(value: Option<String>, field: &str) -> Result<Option<i64>, ApiError> {
    present(value)
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                invalid(
                    field,
                    "Input should be a valid integer, unable to parse string as an integer",
                    "int_parsing",
                )
            })
        })
        .transpose()
}

/// RFC 3339, or a bare date (UTC midnight; as an upper bound, the whole day is included).
fn instant_ms(value: Option<String>, field: &str, end: bool) -> Result<Option<i64>, ApiError> {
    let Some(text) = present(value) else {
        return Ok(None);
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(&text) {
        return Ok(Some(t.timestamp_millis()));
    }
    let day = NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| {
        invalid(
            field,
            "Input should be a valid datetime (RFC 3339, e.g. 2025-06-01T12:00:00Z) or date (YYYY-MM-DD)",
            "datetime_parsing",
        )
    })?;
    let day = if end {
        day.succ_opt().unwrap_or(day)
    } else {
        day
    };
    Ok(Some(
        day.and_time(NaiveTime::MIN).and_utc().timestamp_millis(),
    ))
}

fn flag(value: Option<String>, field: &str) -> Result<bool, ApiError> {
    match present(value)
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(_) => Err(invalid(
            field,
            "Input should be a valid boolean",
            "bool_parsing",
        )),
    }
}

/// Who may see what: a user only their own logs; an admin their own by default, or any
/// user's, a static key's, or everyone's.
fn filter_for(caller: i64, is_admin: bool, q: ExportQuery) -> Result<LogFilter, ApiError> {
    let all = flag(q.all, "all")?;
    let user_id = id_param(q.user_id, "user_id")?;
    let gateway_key = present(q.gateway_key);
    let from_ms = instant_ms(q.from, "from", false)?;
    let to_ms = instant_ms(q.to, "to", true)?;
    if let (Some(f), Some(t)) = (from_ms, to_ms)
        && f > t
    {
        return Err(invalid("to", "to must not be before from", "value_error"));
    }
    let user_filter = if is_admin {
        if all || gateway_key.is_some() {
            user_id
        } else {
            Some(user_id.unwrap_or(caller))
        }
    } else {
        if all || gateway_key.is_some() || user_id.is_some_and(|id| id != caller) {
            return Err(ApiError::forbidden(
                "Not authorized to export other users' logs",
            ));
        }
        Some(caller)
    };
    Ok(LogFilter {
        user_id: user_filter,
        forge_key_id: id_param(q.key_id, "key_id")?,
        gateway_key,
        from_ms,
        to_ms,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> ExportQuery {
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        };
        ExportQuery {
            from: get("from"),
            to: get("to"),
            key_id: get("key_id"),
            user_id: get("user_id"),
            gateway_key: get("gateway_key"),
            all: get("all"),
        }
    }

    #[test]
    fn users_get_their_own_and_admins_choose() {
        let alice = |q| filter_for(2, false, q);
        assert_eq!(alice(query(&[])).unwrap().user_id, Some(2));
        for bad in [
            [("all", "true")],
            [("user_id", "3")],
            [("gateway_key", "k")],
        ] {
            assert_eq!(alice(query(&bad)).unwrap_err().status, 403);
        }
        let admin = |q| filter_for(1, true, q);
        assert_eq!(admin(query(&[])).unwrap().user_id, Some(1));
        assert_eq!(admin(query(&[("all", "true")])).unwrap().user_id, None);
        let one = admin(query(&[("user_id", "3"), ("key_id", "9")])).unwrap();
        assert_eq!((one.user_id, one.forge_key_id), (Some(3), Some(9)));
        let gw = admin(query(&[("gateway_key", "team")])).unwrap();
        assert_eq!(
            (gw.user_id, gw.gateway_key.as_deref()),
            (None, Some("team"))
        );
    }

    #[test]
    fn times_and_flags_are_checked() {
        let admin = |q| filter_for(1, true, q);
        let f = admin(query(&[("from", "2025-06-01"), ("to", "2025-06-01")])).unwrap();
        assert_eq!(f.from_ms, Some(1_748_736_000_000));
        assert_eq!(f.to_ms, Some(1_748_736_000_000 + 86_400_000));
        let f = admin(query(&[("from", "2025-06-01T12:00:00+02:00")])).unwrap();
        assert_eq!(f.from_ms, Some(1_748_772_000_000));
        for bad in [("from", "yesterday"), ("all", "maybe"), ("key_id", "x")] {
            assert_eq!(admin(query(&[bad])).unwrap_err().status, 422);
        }
        let backwards = query(&[("from", "2025-06-02"), ("to", "2025-06-01T00:00:00Z")]);
        assert_eq!(admin(backwards).unwrap_err().status, 422);
    }
}
