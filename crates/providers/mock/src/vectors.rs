//! Embeddings: deterministic unit vectors derived from each input's hash, as floats or as the
//! base64 of little-endian `f32`s (the `openai` SDKs ask for base64 by default).

use serde_json::Value;

use forge_core::embeddings::{Embeddings, openai_answer};

use crate::{Answer, tokens_of};

/// `text-embedding-3-small`'s size, unless the request sets `dimensions`.
const DEFAULT_DIMENSIONS: usize = 1536;
const MAX_DIMENSIONS: usize = 4096;
/// OpenAI's own cap on inputs per request.
const MAX_INPUTS: usize = 2048;
/// Numbers in one answer at most (about 20 MB of JSON), whatever the inputs and dimensions.
const MAX_VALUES: usize = 2 * 1024 * 1024;

pub fn embeddings(request: &Value) -> Answer {
    let model = request["model"].as_str().unwrap_or("mock");
    let inputs: Vec<String> = match &request["input"] {
        Value::String(s) => vec![s.clone()],
        // A list of strings, or token arrays (one input), or a list of token arrays.
        Value::Array(items) if items.iter().all(Value::is_number) => {
            vec![request["input"].to_string()]
        }
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
            .collect(),
        _ => {
            return Answer::error(400, "'input' is required", "invalid_input");
        }
    };
    let dimensions = request["dimensions"]
        .as_u64()
        .and_then(|d| usize::try_from(d).ok())
        .unwrap_or(DEFAULT_DIMENSIONS)
        .clamp(1, MAX_DIMENSIONS);
    if inputs.len() > MAX_INPUTS || inputs.len().saturating_mul(dimensions) > MAX_VALUES {
        return Answer::error(
            400,
            &format!("at most {MAX_INPUTS} inputs and {MAX_VALUES} numbers per request"),
            "too_many_inputs",
        );
    }
    let base64 = request["encoding_format"].as_str() == Some("base64");
    let embeddings = Embeddings {
        vectors: inputs
            .iter()
            .map(|input| vector(input, dimensions))
            .collect(),
        input_tokens: inputs.iter().map(|input| tokens_of(input).max(1)).sum(),
    };
    Answer::json(200, &openai_answer(model, &embeddings, base64))
}

/// A unit vector seeded by the text (xorshift64 from its FNV-1a hash).
fn vector(text: &str, dimensions: usize) -> Vec<f32> {
    let mut state = fnv1a(text.as_bytes()) | 1;
    let mut v: Vec<f32> = (0..dimensions)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Top 24 bits to [-1, 1).
            ((state >> 40) as f32 / (1u64 << 23) as f32) - 1.0
        })
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// 64-bit FNV-1a.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_unit_length_and_deterministic() {
        let a = vector("hello", 64);
        assert_eq!(a, vector("hello", 64));
        assert_ne!(a, vector("hello!", 64));
        let norm: f32 = a.iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-4, "{norm}");
    }
}
