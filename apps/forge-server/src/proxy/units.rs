//! What an image or speech request will be billed by when its model is priced per unit
//! (DALL-E per image by size and quality, speech per character): read from the request, since
//! these answers report no usage. Whisper's audio seconds come from its answer (`as_sent.rs`).

use forge_core::json::RawObject;
use forge_core::multipart::Form;
use forge_provider_openai::Endpoint;
use forge_usage::Units;

/// The units of a JSON request to `endpoint`.
pub fn of_json(endpoint: Endpoint, object: &RawObject<'_>) -> Option<Units> {
    let text = |key: &str| object.get_str(key).ok().flatten();
    match endpoint {
        Endpoint::ImagesGenerations => Some(Units::Images {
            count: object
                .get("n")
                .and_then(|raw| raw.get().trim().parse::<u64>().ok())
                .unwrap_or(1),
            size: text("size"),
            quality: text("quality"),
        }),
        Endpoint::AudioSpeech => Some(Units::Characters(
            text("input").map_or(0, |input| input.chars().count() as u64),
        )),
        _ => None,
    }
}

/// The units of a multipart request to `endpoint` (image edits and variations).
pub fn of_form(endpoint: Endpoint, form: &Form<'_>) -> Option<Units> {
    let text = |key: &str| form.single_text(key).ok().flatten();
    match endpoint {
        Endpoint::ImagesEdits | Endpoint::ImagesVariations => Some(Units::Images {
            count: text("n")
                .and_then(|n| n.trim().parse::<u64>().ok())
                .unwrap_or(1),
            size: text("size").map(str::to_owned),
            quality: text("quality").map(str::to_owned),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn image_and_speech_requests_carry_their_units() {
        let body = br#"{"model": "dall-e-3", "prompt": "x", "n": 2, "size": "1024x1792", "quality": "hd"}"#;
        let object = RawObject::parse(body).unwrap();
        assert_eq!(
            of_json(Endpoint::ImagesGenerations, &object),
            Some(Units::Images {
                count: 2,
                size: Some("1024x1792".into()),
                quality: Some("hd".into())
            })
        );
        let speech = RawObject::parse(
            r#"{"model": "tts-1", "input": "héllo", "voice": "alloy"}"#.as_bytes(),
        )
        .unwrap();
        assert_eq!(
            of_json(Endpoint::AudioSpeech, &speech),
            Some(Units::Characters(5))
        );
        let bare =
            RawObject::parse(br#"{"model": "dall-e-2", "prompt": "x", "n": "two"}"#).unwrap();
        assert_eq!(
            of_json(Endpoint::ImagesGenerations, &bare),
            Some(Units::Images {
                count: 1,
                size: None,
                quality: None
            })
        );
        assert_eq!(of_json(Endpoint::ChatCompletions, &bare), None);
    }
}
