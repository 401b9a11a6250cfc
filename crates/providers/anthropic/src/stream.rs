//! One Messages stream decoded into canonical events; `message_stop` is its proper end.

use forge_core::Error;
use forge_core::adapter::StreamDecoder;
use forge_core::anthropic::stream_decode;
use forge_core::canonical::StreamEvent;
use forge_core::sse::SseEvent;

pub struct MessagesStream {
    decoder: stream_decode::StreamDecoder,
    complete: bool,
}

impl MessagesStream {
    pub fn new(provider: &str, created: u64) -> Self {
        MessagesStream {
            decoder: stream_decode::StreamDecoder::with_created(created).provider(provider),
            complete: false,
        }
    }
}

impl StreamDecoder for MessagesStream {
    fn decode(&mut self, ev: &SseEvent) -> Result<Vec<StreamEvent>, Error> {
        if ev.event.as_deref() == Some("message_stop") {
            self.complete = true;
        }
        self.decoder.push(ev)
    }

    fn complete(&self) -> bool {
        self.complete
    }
}
