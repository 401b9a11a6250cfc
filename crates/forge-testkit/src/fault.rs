//! Failures the fake upstream produces on demand.
//!
//! A fault is armed from the test through [`crate::FakeOpenAi::set_fault`] and is taken by the
//! next requests to any endpoint (Azure's included), or set for one request with the
//! [`FAULT_HEADER`] header (which wins over an armed fault and does not consume it).
//! Stream faults ([`Fault::DropMidStream`], [`Fault::HangMidStream`], [`Fault::ChunkDelay`])
//! only change streamed answers; a non-stream request that takes one is answered normally.

use std::time::Duration;

/// Request header that sets a fault for that request only (used by the Python tests).
///
/// Values: `status=503`, `status=429;retry_after=2`, `hang_headers`, `delay_headers_ms=200`,
/// `drop_after=2`, `hang_after=1`, `chunk_delay_ms=50`.
pub const FAULT_HEADER: &str = "x-fake-fault";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status instead. `body` is sent verbatim as JSON when given, else an
    /// OpenAI-style error body for the status; `retry_after` (seconds) sets `retry-after`.
    Status {
        status: u16,
        body: Option<String>,
        retry_after: Option<u64>,
    },
    /// Never send response headers (until the client gives up or the server is dropped).
    HangBeforeHeaders,
    /// Wait this many milliseconds before sending response headers.
    DelayHeaders(u64),
    /// Send this many SSE events, then close the connection without finishing the body.
    DropMidStream { after_chunks: usize },
    /// Send this many SSE events, then stall forever with the connection open.
    HangMidStream { after_chunks: usize },
    /// Wait this many milliseconds between SSE events.
    ChunkDelay(u64),
}

/// How many requests an armed fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultMode {
    Once,
    Times(usize),
    Always,
    /// `fail` of every `of` requests, spread evenly (Bresenham), indefinitely: a deployment
    /// that fails a share of its calls.
    Share {
        fail: u32,
        of: u32,
    },
}

impl Fault {
    /// A `Status` fault with the default OpenAI-style body and no `retry-after`.
    pub fn status(status: u16) -> Fault {
        Fault::Status {
            status,
            body: None,
            retry_after: None,
        }
    }

    /// Parses an [`FAULT_HEADER`] value.
    pub fn from_header(value: &str) -> Result<Fault, String> {
        let mut fault: Option<Fault> = None;
        let mut retry_after: Option<u64> = None;
        for part in value.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, val) = match part.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (part, None),
            };
            let number = || -> Result<u64, String> {
                val.ok_or_else(|| format!("`{key}` needs a value"))?
                    .parse::<u64>()
                    .map_err(|_| format!("`{key}` needs a non-negative integer"))
            };
            let next = match key {
                "retry_after" => {
                    retry_after = Some(number()?);
                    continue;
                }
                "status" => {
                    let status = u16::try_from(number()?)
                        .ok()
                        .filter(|s| (100..=999).contains(s))
                        .ok_or_else(|| "`status` must be an HTTP status code".to_owned())?;
                    Fault::status(status)
                }
                "hang_headers" => Fault::HangBeforeHeaders,
                "delay_headers_ms" => Fault::DelayHeaders(number()?),
                "drop_after" => Fault::DropMidStream {
                    after_chunks: to_usize(number()?),
                },
                "hang_after" => Fault::HangMidStream {
                    after_chunks: to_usize(number()?),
                },
                "chunk_delay_ms" => Fault::ChunkDelay(number()?),
                other => return Err(format!("unknown fault `{other}`")),
            };
            if fault.replace(next).is_some() {
                return Err("only one fault per request".to_owned());
            }
        }
        match (fault, retry_after) {
            (Some(Fault::Status { status, body, .. }), retry_after) => Ok(Fault::Status {
                status,
                body,
                retry_after,
            }),
            (Some(_), Some(_)) => Err("`retry_after` only goes with `status`".to_owned()),
            (Some(f), None) => Ok(f),
            (None, _) => Err("no fault named".to_owned()),
        }
    }

    pub(crate) fn chunk_delay(&self) -> Option<Duration> {
        match self {
            Fault::ChunkDelay(ms) => Some(Duration::from_millis(*ms)),
            _ => None,
        }
    }
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// An armed fault and how many more requests take it (`None` = always).
#[derive(Debug, Clone)]
pub(crate) struct ArmedFault {
    fault: Fault,
    remaining: Option<usize>,
    /// `(fail, of, requests seen)` for [`FaultMode::Share`].
    share: Option<(u64, u64, u64)>,
}

impl ArmedFault {
    pub(crate) fn new(fault: Fault, mode: FaultMode) -> Option<ArmedFault> {
        let remaining = match mode {
            FaultMode::Once => Some(1),
            FaultMode::Times(0) => return None,
            FaultMode::Times(n) => Some(n),
            FaultMode::Always => None,
            FaultMode::Share { fail: 0, .. } | FaultMode::Share { of: 0, .. } => return None,
            FaultMode::Share { fail, of } => {
                return Some(ArmedFault {
                    fault,
                    remaining: None,
                    share: Some((u64::from(fail.min(of)), u64::from(of), 0)),
                });
            }
        };
        Some(ArmedFault {
            fault,
            remaining,
            share: None,
        })
    }

    /// Takes the fault for one request (`None`: this request is served normally); returns
    /// whether it stays armed afterwards.
    pub(crate) fn take(&mut self) -> (Option<Fault>, bool) {
        if let Some((fail, of, seen)) = &mut self.share {
            let i = *seen;
            *seen += 1;
            let hit = (i + 1) * *fail / *of > i * *fail / *of;
            return (hit.then(|| self.fault.clone()), true);
        }
        let keep = match &mut self.remaining {
            None => true,
            Some(n) => {
                *n = n.saturating_sub(1);
                *n > 0
            }
        };
        (Some(self.fault.clone()), keep)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_header_values() {
        assert_eq!(Fault::from_header("status=503"), Ok(Fault::status(503)));
        assert_eq!(
            Fault::from_header("status=429; retry_after=2"),
            Ok(Fault::Status {
                status: 429,
                body: None,
                retry_after: Some(2)
            })
        );
        assert_eq!(
            Fault::from_header("drop_after=2"),
            Ok(Fault::DropMidStream { after_chunks: 2 })
        );
        assert_eq!(
            Fault::from_header("hang_after=1"),
            Ok(Fault::HangMidStream { after_chunks: 1 })
        );
        assert_eq!(
            Fault::from_header("chunk_delay_ms=50"),
            Ok(Fault::ChunkDelay(50))
        );
        assert_eq!(
            Fault::from_header("hang_headers"),
            Ok(Fault::HangBeforeHeaders)
        );
        assert_eq!(
            Fault::from_header("delay_headers_ms=10"),
            Ok(Fault::DelayHeaders(10))
        );
    }

    #[test]
    fn rejects_bad_header_values() {
        for bad in [
            "",
            "status",
            "status=abc",
            "status=70000",
            "explode",
            "drop_after=1;hang_after=1",
            "drop_after=1;retry_after=2",
        ] {
            assert!(Fault::from_header(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn modes_count_down() {
        assert!(ArmedFault::new(Fault::HangBeforeHeaders, FaultMode::Times(0)).is_none());
        let mut once = ArmedFault::new(Fault::HangBeforeHeaders, FaultMode::Once).unwrap();
        assert!(!once.take().1);
        let mut twice = ArmedFault::new(Fault::HangBeforeHeaders, FaultMode::Times(2)).unwrap();
        assert!(twice.take().1);
        assert!(!twice.take().1);
        let mut always = ArmedFault::new(Fault::HangBeforeHeaders, FaultMode::Always).unwrap();
        for _ in 0..5 {
            assert!(always.take().1);
        }
        let mut share =
            ArmedFault::new(Fault::status(500), FaultMode::Share { fail: 3, of: 10 }).unwrap();
        let hits: Vec<bool> = (0..100).map(|_| share.take().0.is_some()).collect();
        assert_eq!(hits.iter().filter(|h| **h).count(), 30);
        // Spread out: never more than one fault in a row at 30%.
        assert!(!hits.windows(2).any(|w| w[0] && w[1]));
    }
}
