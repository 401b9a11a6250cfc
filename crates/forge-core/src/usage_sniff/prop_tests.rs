#![allow(clippy::unwrap_used, clippy::panic)]
//! The sniffer sees raw upstream bytes: whatever arrives, it must not panic, and the
//! substring prefilter must never change what it reports.

use proptest::prelude::*;

use super::test_support::*;
use super::*;

fn dialect() -> impl Strategy<Value = SniffDialect> {
    prop::sample::select(DIALECTS.to_vec())
}

/// Cuts `s` at the given fractions of its length (adjusted to char boundaries).
fn split(s: &str, cuts: &[f64]) -> Vec<String> {
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|f| {
            let mut p = ((s.len() as f64) * f) as usize;
            while !s.is_char_boundary(p) {
                p -= 1;
            }
            p
        })
        .collect();
    points.push(0);
    points.push(s.len());
    points.sort_unstable();
    points
        .windows(2)
        .map(|w| s[w[0]..w[1]].to_owned())
        .collect()
}

proptest! {
    #[test]
    fn arbitrary_strings(d in dialect(), events in prop::collection::vec(".{0,200}", 0..8)) {
        let (s, _) = sniff(d, &events);
        prop_assert!(s.output_text().len() <= OUTPUT_TEXT_CAP);
        for e in &events {
            let _ = usage_from_body(d, e.as_bytes());
        }
    }

    #[test]
    fn arbitrary_bytes_as_bodies(d in dialect(), body in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = usage_from_body(d, &body);
    }

    /// Real events cut into pieces, as a confused framing would deliver them.
    #[test]
    fn random_splits_of_real_events(
        d in dialect(),
        cuts in prop::collection::vec(0.0..1.0f64, 0..12),
    ) {
        let joined = corpus(d).join("\n");
        let pieces = split(&joined, &cuts);
        sniff(d, &pieces);
    }

    /// Real events with a span deleted or replaced: many still parse, with fields lost,
    /// renamed or retyped; the prefilter must agree with a full parse on each.
    #[test]
    fn mutated_real_events(
        d in dialect(),
        pick in any::<prop::sample::Index>(),
        at in 0.0..1.0f64,
        len in 0usize..12,
        insert in prop::sample::select(vec![
            "", "\"", "\\u0075", "null", "[]", "{}", "1", "-1", "\"x\"", ",", ":", "usage",
            "\"usage\":{\"input_tokens\":3}", "\\", "é",
        ]),
    ) {
        let events = corpus(d);
        let ev = pick.get(&events);
        let cut = split(ev, &[at]);
        let (head, tail) = (cut[0].as_str(), cut.get(1).map_or("", String::as_str));
        let mut skip = len.min(tail.len());
        while !tail.is_char_boundary(skip) {
            skip -= 1;
        }
        let mutated = format!("{head}{insert}{}", &tail[skip..]);
        sniff(d, &[mutated.as_str()]);
        let _ = usage_from_body(d, mutated.as_bytes());
    }
}

#[test]
fn real_events_one_by_one_and_all_together() {
    for d in DIALECTS {
        let events = corpus(d);
        for ev in &events {
            sniff(d, &[ev]);
            let _ = usage_from_body(d, ev.as_bytes());
        }
        let (s, _) = sniff(d, &events);
        assert!(s.usage().is_some(), "{d:?}");
    }
}

#[test]
fn a_huge_stream_is_capped() {
    let piece = "é".repeat(100_000);
    let event =
        serde_json::json!({"choices": [{"index": 0, "delta": {"content": piece}}]}).to_string();
    let mut s = StreamSniffer::new(SniffDialect::OpenAiChat);
    for _ in 0..8 {
        s.observe(&event);
    }
    assert!(s.output_text().len() <= OUTPUT_TEXT_CAP);
    assert_eq!(
        s.output_text().len() + s.output_overflow_bytes(),
        8 * 200_000
    );
    assert!(s.output_text().chars().all(|c| c == 'é'));
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    for d in DIALECTS {
        for key in [
            "usage",
            "choices",
            "delta",
            "content_block",
            "candidates",
            "response",
            "x",
        ] {
            let ev = format!(r#"{{"type": "response.completed", "{key}": {deep}}}"#);
            sniff(d, &[ev.as_str()]);
            let _ = usage_from_body(d, ev.as_bytes());
        }
        sniff(d, &[deep.as_str()]);
    }
}
