//! Listings cut to the caller's own objects. An upstream page may hold few of them (an
//! account shared by many callers, or objects made outside Forge), so Forge reads further
//! upstream pages (`after` the last id it saw) until the client's `limit` is met, the upstream
//! has no more, or [`MAX_PAGES`] were read: SDK auto-pagination then walks the caller's
//! objects whole instead of stopping at an empty page.

use bytes::Bytes;
use serde_json::{Value, json};

use super::call::Kind;

/// Upstream pages read for one listing call at most.
pub const MAX_PAGES: usize = 10;

/// One upstream page, cut.
pub struct Page {
    pub kept: Vec<Value>,
    /// The upstream's last id on the page (the cursor for its next page).
    pub upstream_last: Option<String>,
    pub has_more: bool,
}

/// The caller's objects of an upstream page; `None` when the page cannot be read.
pub fn cut(body: &[u8], owned: &[String]) -> Option<Page> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let data = value.get("data")?.as_array()?;
    let id = |item: &Value| item.get("id").and_then(Value::as_str).map(str::to_owned);
    Some(Page {
        upstream_last: data.last().and_then(id),
        kept: data
            .iter()
            .filter(|item| id(item).is_some_and(|id| owned.contains(&id)))
            .cloned()
            .collect(),
        has_more: value.get("has_more").and_then(Value::as_bool) == Some(true),
    })
}

/// The client's `limit`, else OpenAI's default for the collection.
pub fn limit_of(query: &str, kind: Kind) -> usize {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "limit")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(match kind {
            Kind::File => 10_000,
            Kind::Batch => 20,
        })
}

/// `query` with `after` set to `cursor`.
pub fn after(query: &str, cursor: &str) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if k != "after" {
            out.append_pair(&k, &v);
        }
    }
    out.append_pair("after", cursor);
    out.finish()
}

/// The listing the client gets: at most `limit` objects, `has_more` when more may follow.
pub fn render(mut kept: Vec<Value>, limit: usize, upstream_more: bool) -> Bytes {
    let has_more = upstream_more || kept.len() > limit;
    kept.truncate(limit);
    let first = kept.first().and_then(|v| v.get("id")).cloned();
    let last = kept.last().and_then(|v| v.get("id")).cloned();
    Bytes::from(
        json!({ "object": "list", "data": kept, "first_id": first, "last_id": last, "has_more": has_more })
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn pages_are_cut_and_cursors_kept() {
        let body = br#"{"object": "list", "data": [{"id": "a"}, {"id": "b"}, {"id": "c"}], "has_more": true}"#;
        let page = cut(body, &["c".to_owned(), "z".to_owned()]).unwrap();
        assert_eq!(
            (
                page.kept.len(),
                page.upstream_last.as_deref(),
                page.has_more
            ),
            (1, Some("c"), true)
        );
        assert!(cut(b"not json", &[]).is_none());
        assert!(cut(br#"{"object": "list"}"#, &[]).is_none());
        assert_eq!(limit_of("purpose=batch&limit=5", Kind::File), 5);
        assert_eq!(limit_of("", Kind::Batch), 20);
        assert_eq!(after("limit=2&after=x", "file-9"), "limit=2&after=file-9");
        let listed: Value = serde_json::from_slice(&render(
            vec![json!({"id": "a"}), json!({"id": "b"})],
            1,
            false,
        ))
        .unwrap();
        assert_eq!(
            (listed["last_id"].as_str(), listed["has_more"].as_bool()),
            (Some("a"), Some(true))
        );
    }
}
