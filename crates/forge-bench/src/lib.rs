//! forge-bench: what `scripts/bench/run` drives, and the criterion micro-benchmarks of the hot
//! path (`benches/hot_path.rs`). Nothing here is used by Forge itself.
//!
//! - `bench-upstream`: a fake OpenAI-compatible upstream on raw HTTP/1.1 over tokio, so that it
//!   costs a small fraction of what any gateway in front of it costs (it must never be the
//!   bottleneck). What it answers is chosen by the request's model name ([`behaviour`]).
//! - `bench-stream`: a streaming probe measuring time to first event and total time, and
//!   holding many slow streams open at once for the memory scenario.

pub mod args;
pub mod behaviour;
pub mod bodies;
pub mod http1;
