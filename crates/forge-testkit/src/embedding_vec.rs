//! Deterministic fake embeddings: the same text always gives the same unit vector.

/// A unit-length vector of `dims` values derived from `text` by FNV-1a, so tests can
/// recompute the exact vector the fake upstream returned.
pub fn fake_embedding(text: &str, dims: usize) -> Vec<f32> {
    let raw: Vec<f32> = (0..dims)
        .map(|i| {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in text.bytes().chain((i as u64).to_le_bytes()) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
            // 2001 steps in [-1, 1].
            ((h % 2001) as f32 / 1000.0) - 1.0
        })
        .collect();
    let norm = raw.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm == 0.0 {
        return raw;
    }
    raw.into_iter().map(|v| v / norm).collect()
}

/// `encoding_format: "base64"`: the little-endian f32 bytes, base64-encoded (what the OpenAI
/// Python SDK asks for by default and decodes).
pub(crate) fn to_base64(vector: &[f32]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes: Vec<u8> = vector.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let b = [
            group[0],
            group.get(1).copied().unwrap_or(0),
            group.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= group.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_stable_unit_vectors() {
        let a = fake_embedding("hello", 8);
        assert_eq!(a, fake_embedding("hello", 8));
        assert_ne!(a, fake_embedding("world", 8));
        let norm: f32 = a.iter().map(|v| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-4);
    }

    #[test]
    fn base64_matches_known_values() {
        assert_eq!(to_base64(&[1.0]), "AACAPw==");
        assert_eq!(to_base64(&[0.0, 1.0]), "AAAAAAAAgD8=");
        assert_eq!(to_base64(&[]), "");
    }
}
