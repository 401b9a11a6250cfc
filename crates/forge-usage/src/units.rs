//! Prices per unit that is not a token: DALL-E images (per image, by size and quality),
//! Whisper audio (per minute, billed by the second) and text-to-speech (per million
//! characters). A model's entry in the table may carry them beside, or instead of, token
//! rates; an attempt that reports tokens is priced by its tokens, one that produced units its
//! model has a unit price for is priced by those.
//!
//! Amounts use [`Rate`]'s exact decimal (9 places) as currency units per image, per minute and
//! per million characters.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::rate::Rate;

/// What an attempt produced that is billed by the unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Units {
    /// Images of one size and quality (`n` of an image request).
    Images {
        count: u64,
        /// `1024x1024`, ...; `None`: the model's default size.
        size: Option<String>,
        /// `standard`, `hd`, ...; `None`: the default quality.
        quality: Option<String>,
    },
    /// Audio, in milliseconds, as the upstream reported its duration.
    AudioMillis(u64),
    /// Characters of text turned into speech.
    Characters(u64),
}

/// A model's unit prices, as written in the table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitPrices {
    /// Per image, keyed `quality/size` (`hd/1024x1792`) then `size` (`1024x1024`); a request
    /// without a size is looked up as size `default` (`hd/default`, `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_image: Option<BTreeMap<String, Rate>>,
    /// Per minute of audio, billed by the millisecond.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_minute: Option<Rate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_million_characters: Option<Rate>,
}

impl UnitPrices {
    pub fn is_empty(&self) -> bool {
        self.per_image.as_ref().is_none_or(BTreeMap::is_empty)
            && self.per_minute.is_none()
            && self.per_million_characters.is_none()
    }

    /// The cost of `units` in billionths of a currency unit, rounded half up; `None` when
    /// this model has no price for that kind of unit (or that image size).
    pub fn cost(&self, units: &Units) -> Option<i64> {
        let nanos = |r: &Rate| u128::from(r.nanos_per_million());
        let scaled = match units {
            Units::Images {
                count,
                size,
                quality,
            } => {
                let table = self.per_image.as_ref()?;
                let size = size
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .unwrap_or("default");
                let quality = quality.as_deref().map(str::trim).filter(|q| !q.is_empty());
                let keys = [
                    quality.map(|q| format!("{q}/{size}")),
                    Some(size.to_owned()),
                ];
                let price = keys
                    .iter()
                    .flatten()
                    .find_map(|k| table.get(&k.to_ascii_lowercase()))?;
                u128::from(*count) * nanos(price)
            }
            Units::AudioMillis(ms) => {
                let per_minute = nanos(self.per_minute.as_ref()?);
                (u128::from(*ms) * per_minute + 30_000) / 60_000
            }
            Units::Characters(chars) => {
                let per_million = nanos(self.per_million_characters.as_ref()?);
                (u128::from(*chars) * per_million + 500_000) / 1_000_000
            }
        };
        Some(i64::try_from(scaled).unwrap_or(i64::MAX))
    }
}

/// Audio seconds an answer reports, in milliseconds: Whisper's `usage` of type `duration`
/// (`{"type": "duration", "seconds": 3}`) or a verbose transcription's `duration`.
pub fn audio_millis(body: &[u8]) -> Option<u64> {
    #[derive(Deserialize)]
    struct Answer {
        usage: Option<DurationUsage>,
        duration: Option<f64>,
    }
    #[derive(Deserialize)]
    struct DurationUsage {
        #[serde(rename = "type")]
        kind: Option<String>,
        seconds: Option<f64>,
    }
    let answer: Answer = serde_json::from_slice(body).ok()?;
    let seconds = answer
        .usage
        .filter(|u| u.kind.as_deref() == Some("duration"))
        .and_then(|u| u.seconds)
        .or(answer.duration)?;
    (0.0..1e9)
        .contains(&seconds)
        .then(|| (seconds * 1000.0).round() as u64)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn dalle3() -> UnitPrices {
        toml::from_str(
            r#"per_image = { "1024x1024" = 0.04, "1024x1792" = 0.08, "hd/1024x1024" = 0.08, "hd/1024x1792" = 0.12 }"#,
        )
        .unwrap()
    }

    fn images(count: u64, size: Option<&str>, quality: Option<&str>) -> Units {
        Units::Images {
            count,
            size: size.map(str::to_owned),
            quality: quality.map(str::to_owned),
        }
    }

    #[test]
    fn images_are_priced_by_quality_then_size() {
        let p = dalle3();
        assert_eq!(
            p.cost(&images(2, Some("1024x1024"), None)),
            Some(80_000_000)
        );
        assert_eq!(
            p.cost(&images(1, Some("1024x1792"), Some("standard"))),
            Some(80_000_000)
        );
        assert_eq!(
            p.cost(&images(1, Some("1024x1792"), Some("HD"))),
            Some(120_000_000)
        );
        // No size and no default: not priced (never as free); nor an unknown size.
        assert_eq!(p.cost(&images(1, None, None)), None);
        assert_eq!(p.cost(&images(1, Some("256x256"), None)), None);
        let with_default: UnitPrices =
            toml::from_str(r#"per_image = { "default" = 0.02, "hd/default" = 0.03 }"#).unwrap();
        assert_eq!(with_default.cost(&images(3, None, None)), Some(60_000_000));
        assert_eq!(
            with_default.cost(&images(1, Some(""), Some("hd"))),
            Some(30_000_000)
        );
        assert_eq!(p.cost(&Units::Characters(10)), None);
    }

    #[test]
    fn audio_and_characters_round_half_up_once() {
        let whisper: UnitPrices = toml::from_str("per_minute = 0.006").unwrap();
        // 90 s at $0.006/min = $0.009.
        assert_eq!(whisper.cost(&Units::AudioMillis(90_000)), Some(9_000_000));
        assert_eq!(whisper.cost(&Units::AudioMillis(1)), Some(100));
        let tts: UnitPrices = toml::from_str("per_million_characters = 15").unwrap();
        assert_eq!(tts.cost(&Units::Characters(1_000)), Some(15_000_000));
        assert_eq!(tts.cost(&Units::Characters(1)), Some(15_000));
        assert!(UnitPrices::default().is_empty() && !tts.is_empty());
    }

    #[test]
    fn durations_come_from_whisper_answers() {
        assert_eq!(
            audio_millis(br#"{"text": "hi", "usage": {"type": "duration", "seconds": 3}}"#),
            Some(3_000)
        );
        assert_eq!(
            audio_millis(br#"{"task": "transcribe", "duration": 2.95, "text": "hi"}"#),
            Some(2_950)
        );
        assert_eq!(
            audio_millis(br#"{"text": "hi", "usage": {"type": "tokens", "input_tokens": 3}}"#),
            None
        );
        assert_eq!(audio_millis(br#"{"duration": -1}"#), None);
        assert_eq!(audio_millis(b"plain text"), None);
    }
}
