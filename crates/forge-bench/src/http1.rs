//! Just enough HTTP/1.1 for the bench tools: finding the end of a head, reading a few headers,
//! and chunked transfer coding. Both sides of every exchange are our own tools or well-behaved
//! servers, so this is deliberately small rather than general.

/// Offset just past the blank line that ends the head, if the head is complete.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// The value of the first header named `name` (ASCII case-insensitive), trimmed.
pub fn header<'a>(head: &'a [u8], name: &str) -> Option<&'a [u8]> {
    head.split(|&c| c == b'\n').skip(1).find_map(|line| {
        let colon = line.iter().position(|&c| c == b':')?;
        let (key, value) = line.split_at(colon);
        key.trim_ascii()
            .eq_ignore_ascii_case(name.as_bytes())
            .then(|| value[1..].trim_ascii())
    })
}

pub fn content_length(head: &[u8]) -> Option<usize> {
    std::str::from_utf8(header(head, "content-length")?)
        .ok()?
        .parse()
        .ok()
}

/// Whether the peer asked to close the connection after this message.
pub fn wants_close(head: &[u8]) -> bool {
    header(head, "connection").is_some_and(|v| v.eq_ignore_ascii_case(b"close"))
}

pub fn is_chunked(head: &[u8]) -> bool {
    header(head, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case(b"chunked"))
}

/// The status code of a response head.
pub fn status(head: &[u8]) -> Option<u16> {
    let line = head.split(|&c| c == b'\r').next()?;
    let code = line.split(|&c| c == b' ').nth(1)?;
    std::str::from_utf8(code).ok()?.parse().ok()
}

/// Appends `data` as one chunk of a chunked body.
pub fn push_chunk(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// Decodes a complete chunked body; `None` if it is malformed or incomplete.
pub fn decode_chunked(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len());
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&body[..line_end]).ok()?;
        let size_text = size_text.split(';').next()?.trim();
        let size = usize::from_str_radix(size_text, 16).ok()?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if body.len() < size + 2 || &body[size..size + 2] != b"\r\n" {
            return None;
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const HEAD: &[u8] = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\nConnection: Close\r\n\r\n";

    #[test]
    fn reads_heads() {
        assert_eq!(head_end(HEAD), Some(HEAD.len()));
        assert_eq!(head_end(&HEAD[..HEAD.len() - 1]), None);
        assert_eq!(content_length(HEAD), Some(12));
        assert!(wants_close(HEAD));
        assert!(!is_chunked(HEAD));
        assert_eq!(header(HEAD, "HOST"), Some(&b"x"[..]));
        assert_eq!(header(HEAD, "missing"), None);
        assert_eq!(status(b"HTTP/1.1 404 Not Found\r\n\r\n"), Some(404));
    }

    #[test]
    fn chunked_round_trip() {
        let mut body = Vec::new();
        push_chunk(&mut body, b"data: 1\n\n");
        push_chunk(&mut body, b"data: [DONE]\n\n");
        body.extend_from_slice(LAST_CHUNK);
        assert_eq!(
            decode_chunked(&body).unwrap(),
            b"data: 1\n\ndata: [DONE]\n\n"
        );
        assert_eq!(decode_chunked(&body[..body.len() - 5]), None);
        assert_eq!(decode_chunked(b"zz\r\n"), None);
    }
}
