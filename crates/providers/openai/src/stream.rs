//! One chat-completions stream decoded into canonical events; `data: [DONE]` is its proper
//! end.

use forge_core::Error;
use forge_core::adapter::StreamDecoder;
use forge_core::canonical::StreamEvent;
use forge_core::sse::SseEvent;

use crate::OpenAiAdapter;

pub struct ChatStream {
    adapter: OpenAiAdapter,
    complete: bool,
}

impl ChatStream {
    pub fn new(adapter: OpenAiAdapter) -> Self {
        ChatStream {
            adapter,
            complete: false,
        }
    }
}

impl StreamDecoder for ChatStream {
    fn decode(&mut self, ev: &SseEvent) -> Result<Vec<StreamEvent>, Error> {
        if ev.is_done() {
            self.complete = true;
        }
        self.adapter.parse_stream_event(ev)
    }

    fn complete(&self) -> bool {
        self.complete
    }
}
