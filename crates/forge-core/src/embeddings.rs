//! Embeddings between dialects, for upstreams with an embeddings API of their own (Cohere's
//! `/v2/embed`): OpenAI's request read into texts, and vectors rendered as OpenAI's answer,
//! as floats or as the base64 of little-endian `f32`s when the client asked (the `openai`
//! SDKs do by default).

use serde_json::{Map, Value, json};

use crate::Error;

/// An OpenAI embeddings request, read.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingsRequest {
    pub model: String,
    /// One per input, in order.
    pub texts: Vec<String>,
    pub dimensions: Option<u64>,
    /// `encoding_format: "base64"`.
    pub base64: bool,
    /// Fields OpenAI's request does not have, for an upstream that takes them (Cohere's
    /// `input_type`).
    pub extra: Map<String, Value>,
}

/// Vectors in input order, and what the upstream billed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Embeddings {
    pub vectors: Vec<Vec<f32>>,
    pub input_tokens: u64,
}

const OPENAI_FIELDS: [&str; 5] = ["model", "input", "dimensions", "encoding_format", "user"];

impl EmbeddingsRequest {
    /// Reads OpenAI's body. Token-array inputs are text only OpenAI-compatible hosts read:
    /// another upstream gets a 400 saying so.
    pub fn from_openai(body: &[u8]) -> Result<EmbeddingsRequest, Error> {
        let value: Map<String, Value> = serde_json::from_slice(body)
            .map_err(|e| Error::invalid(format!("the request body is not a JSON object: {e}")))?;
        let bad = |message: &str, param: &str| Error::InvalidRequest {
            message: message.to_owned(),
            param: Some(param.to_owned()),
        };
        let texts = match value.get("input") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    bad(
                        "`input` must be a string or a list of strings for this provider (token arrays are for OpenAI-compatible hosts)",
                        "input",
                    )
                })?,
            _ => return Err(bad("`input` must be a non-empty string or list of strings", "input")),
        };
        let base64 = match value.get("encoding_format").and_then(Value::as_str) {
            None | Some("float") => false,
            Some("base64") => true,
            Some(_) => {
                return Err(bad(
                    "`encoding_format` must be `float` or `base64`",
                    "encoding_format",
                ));
            }
        };
        Ok(EmbeddingsRequest {
            model: value
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            texts,
            dimensions: value.get("dimensions").and_then(Value::as_u64),
            base64,
            extra: value
                .into_iter()
                .filter(|(k, _)| !OPENAI_FIELDS.contains(&k.as_str()))
                .collect(),
        })
    }
}

/// OpenAI's answer for `embeddings` of `model`.
pub fn openai_answer(model: &str, embeddings: &Embeddings, base64: bool) -> Value {
    let data: Vec<Value> = embeddings
        .vectors
        .iter()
        .enumerate()
        .map(|(index, vector)| {
            let embedding = if base64 {
                let bytes: Vec<u8> = vector.iter().flat_map(|f| f.to_le_bytes()).collect();
                Value::String(encode_base64(&bytes))
            } else {
                json!(vector)
            };
            json!({ "object": "embedding", "index": index, "embedding": embedding })
        })
        .collect();
    json!({
        "object": "list", "data": data, "model": model,
        "usage": { "prompt_tokens": embeddings.input_tokens, "total_tokens": embeddings.input_tokens },
    })
}

/// Standard base64 with padding.
pub fn encode_base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let b = [
            group[0],
            *group.get(1).unwrap_or(&0),
            *group.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= group.len() {
                out.push(char::from(ALPHABET[(n >> shift & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        assert_eq!(encode_base64(b""), "");
        assert_eq!(encode_base64(b"f"), "Zg==");
        assert_eq!(encode_base64(b"fo"), "Zm8=");
        assert_eq!(encode_base64(b"foo"), "Zm9v");
        assert_eq!(encode_base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(encode_base64(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn openai_requests_read_and_answers_render() {
        let req = EmbeddingsRequest::from_openai(
            br#"{"model": "m", "input": ["a", "b"], "encoding_format": "base64", "input_type": "search_query"}"#,
        )
        .unwrap();
        assert_eq!((req.texts.len(), req.base64), (2, true));
        assert_eq!(req.extra["input_type"], "search_query");
        assert!(EmbeddingsRequest::from_openai(br#"{"model": "m", "input": [[1, 2]]}"#).is_err());
        assert!(EmbeddingsRequest::from_openai(br#"{"model": "m", "input": []}"#).is_err());
        let answer = openai_answer(
            "m",
            &Embeddings {
                vectors: vec![vec![1.0], vec![0.5]],
                input_tokens: 3,
            },
            true,
        );
        assert_eq!(
            answer["data"][0]["embedding"],
            encode_base64(&1.0f32.to_le_bytes())
        );
        assert_eq!(answer["usage"]["prompt_tokens"], 3);
        assert_eq!(
            openai_answer("m", &Embeddings::default(), false)["data"],
            json!([])
        );
    }
}
