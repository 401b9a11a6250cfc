//! One `streamGenerateContent` stream decoded into canonical events. Google sends whole
//! candidates per event and marks the end with a `finishReason`; an `{"error":…}` event is the
//! upstream failing mid-stream.

use forge_core::Error;
use forge_core::adapter::StreamDecoder;
use forge_core::canonical::StreamEvent;
use forge_core::gemini::stream_decode;
use forge_core::sse::SseEvent;

use crate::GeminiAdapter;

pub struct GenerateStream {
    adapter: GeminiAdapter,
    decoder: stream_decode::StreamDecoder,
    complete: bool,
}

impl GenerateStream {
    pub fn new(adapter: GeminiAdapter, model: &str, created: u64) -> Self {
        GenerateStream {
            adapter,
            decoder: stream_decode::StreamDecoder::new(model, created),
            complete: false,
        }
    }
}

impl StreamDecoder for GenerateStream {
    fn decode(&mut self, ev: &SseEvent) -> Result<Vec<StreamEvent>, Error> {
        let events = self.adapter.parse_stream_event(&mut self.decoder, ev)?;
        if events
            .iter()
            .any(|e| matches!(e, StreamEvent::Finish { .. }))
        {
            self.complete = true;
        }
        Ok(events)
    }

    fn finish(&mut self) -> Vec<StreamEvent> {
        self.decoder.finish()
    }

    fn complete(&self) -> bool {
        self.complete
    }
}
