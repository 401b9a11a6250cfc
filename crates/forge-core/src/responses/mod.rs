//! OpenAI's Responses API (`POST /v1/responses`): wire types, converters to and from the
//! canonical form, and the streaming encoder.
//!
//! OpenAI-kind upstreams get Responses requests natively; these converters serve the other
//! upstreams by translation. The Responses API keeps conversation state on the server
//! (`previous_response_id`); translated upstreams have none, so the caller stores the
//! canonical conversation of each response (`conversation_after`) and passes it back as
//! `history` on a follow-up turn.

pub mod convert;
pub mod ids;
pub mod item;
pub mod request;
pub mod response;
pub mod stream;
pub mod stream_encode;

pub use convert::{
    StoredResponse, conversation_after, request_to_canonical, response_from_canonical,
};
pub use ids::{item_id, new_response_id};
pub use item::*;
pub use request::*;
pub use response::*;
pub use stream::*;
pub use stream_encode::StreamEncoder;

/// Unknown fields, kept verbatim.
pub type Extra = serde_json::Map<String, serde_json::Value>;
