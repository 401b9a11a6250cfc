//! `multipart/form-data` bodies (RFC 7578), read only as far as the gateway needs: the text
//! fields it routes by (`model`, `stream`), whether a file field is present, and a copy of
//! the body with one text field's value replaced (`model` becomes the upstream's name).
//! File contents are never parsed or copied apart from that one splice.

use std::ops::Range;

use crate::error::Error;

/// A parsed form: where each part's value lies in the body.
#[derive(Debug)]
pub struct Form<'a> {
    body: &'a [u8],
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    /// The value's bytes within the body.
    pub value: Range<usize>,
}

/// The `boundary` parameter of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<&str> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"'))
            .filter(|b| !b.is_empty() && b.len() <= 70)
    })
}

fn bad(message: &str) -> Error {
    Error::invalid(format!("invalid multipart/form-data body: {message}"))
}

impl<'a> Form<'a> {
    /// Parses `body` sent with `content_type`; a body that is not a well-formed form is the
    /// client's error.
    pub fn parse(body: &'a [u8], content_type: &str) -> Result<Form<'a>, Error> {
        let boundary = boundary(content_type)
            .ok_or_else(|| bad("the content type is not multipart/form-data with a boundary"))?;
        let delimiter = [b"--", boundary.as_bytes()].concat();
        // The first delimiter may start the body; every later one follows a CRLF.
        let mut at = if body.starts_with(&delimiter) {
            0
        } else {
            find(body, &[b"\r\n", delimiter.as_slice()].concat(), 0)
                .ok_or_else(|| bad("no boundary line"))?
                + 2
        };
        let next_delimiter = [b"\r\n", delimiter.as_slice()].concat();
        let mut parts = Vec::new();
        loop {
            let after = at + delimiter.len();
            let rest = body.get(after..).ok_or_else(|| bad("truncated"))?;
            if rest.starts_with(b"--") {
                break;
            }
            let line_end = find(body, b"\r\n", after).ok_or_else(|| bad("truncated part"))?;
            let headers_start = line_end + 2;
            let headers_end = find(body, b"\r\n\r\n", headers_start)
                .ok_or_else(|| bad("a part without headers"))?;
            let head = std::str::from_utf8(&body[headers_start..headers_end])
                .map_err(|_| bad("part headers are not UTF-8"))?;
            let (name, filename) = disposition(head)?;
            let value_start = headers_end + 4;
            let value_end = find(body, &next_delimiter, value_start)
                .ok_or_else(|| bad("a part without its closing boundary"))?;
            parts.push(Part {
                name,
                filename,
                value: value_start..value_end,
            });
            if parts.len() > 1000 {
                return Err(bad("more than 1000 parts"));
            }
            at = value_end + 2;
        }
        Ok(Form { body, parts })
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The one field named `name`, as text; an error when there are several (or it is a
    /// file), since upstreams differ on which of several they read.
    pub fn single_text(&self, name: &str) -> Result<Option<&'a str>, Error> {
        let mut found = self.parts.iter().filter(|p| p.name == name);
        let Some(part) = found.next() else {
            return Ok(None);
        };
        if found.next().is_some() || part.filename.is_some() {
            return Err(bad(&format!("`{name}` must be one text field")));
        }
        std::str::from_utf8(&self.body[part.value.clone()])
            .map(Some)
            .map_err(|_| bad(&format!("`{name}` is not UTF-8 text")))
    }

    /// The first text (non-file) field named `name`.
    pub fn text(&self, name: &str) -> Option<&'a str> {
        let part = self
            .parts
            .iter()
            .find(|p| p.name == name && p.filename.is_none())?;
        std::str::from_utf8(&self.body[part.value.clone()]).ok()
    }

    /// Whether a file field named `name` (or `name[]`) is present.
    pub fn has_file(&self, name: &str) -> bool {
        self.parts.iter().any(|p| {
            p.filename.is_some() && (p.name == name || p.name.strip_suffix("[]") == Some(name))
        })
    }

    /// The body with the first text field `name` holding `value` instead; everything else
    /// (boundaries, files, other fields) byte for byte.
    pub fn with_text(&self, name: &str, value: &str) -> Option<Vec<u8>> {
        let part = self
            .parts
            .iter()
            .find(|p| p.name == name && p.filename.is_none())?;
        let mut out = Vec::with_capacity(self.body.len() + value.len());
        out.extend_from_slice(&self.body[..part.value.start]);
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(&self.body[part.value.end..]);
        Some(out)
    }
}

/// `name` and `filename` of a part's `Content-Disposition: form-data` header.
fn disposition(head: &str) -> Result<(String, Option<String>), Error> {
    let value = head
        .split("\r\n")
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case("content-disposition")
                .then_some(value)
        })
        .ok_or_else(|| bad("a part without Content-Disposition"))?;
    let params = split_params(value);
    let mut params = params.iter();
    if !params
        .next()
        .is_some_and(|kind| kind.trim().eq_ignore_ascii_case("form-data"))
    {
        return Err(bad("a part that is not form-data"));
    }
    let mut name = None;
    let mut filename = None;
    for param in params {
        let Some((key, raw)) = param.split_once('=') else {
            continue;
        };
        let value = unquote(raw.trim());
        match key.trim().to_ascii_lowercase().as_str() {
            "name" => name = Some(value),
            "filename" => filename = Some(value),
            _ => {}
        }
    }
    Ok((name.ok_or_else(|| bad("a part without a name"))?, filename))
}

/// A header value's `;`-separated parameters, a `;` inside a quoted string kept.
fn split_params(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                out.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&value[start..]);
    out
}

/// A token, or a quoted string with its `\` escapes resolved.
fn unquote(raw: &str) -> String {
    let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
        return raw.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// The first `needle` in `haystack` at or after `from`.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut at = from;
    while let Some(offset) = haystack.get(at..)?.iter().position(|&b| b == first) {
        let start = at + offset;
        if haystack.get(start..start + needle.len())? == needle {
            return Some(start);
        }
        at = start + 1;
    }
    None
}

#[cfg(test)]
mod tests;
