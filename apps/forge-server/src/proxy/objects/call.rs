//! What an object call is: a kind of object (file, batch), an operation on it, and the
//! upstream path that operation reaches under the provider's base URL.

use actix_web::HttpRequest;
use actix_web::http::Method;
use forge_core::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Batch,
}

impl Kind {
    /// What the store calls it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Batch => "batch",
        }
    }

    /// The collection's path, and what usage records and metrics call the endpoint.
    pub fn collection(self) -> &'static str {
        match self {
            Kind::File => "files",
            Kind::Batch => "batches",
        }
    }

    /// As OpenAI's "No such File object" names it.
    fn title(self) -> &'static str {
        match self {
            Kind::File => "File",
            Kind::Batch => "Batch",
        }
    }

    pub fn no_such(self, id: &str) -> Error {
        Error::NotFound(format!("No such {} object: {id}", self.title()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Create,
    List,
    Retrieve,
    Delete,
    /// A file's bytes.
    Content,
    /// A batch's cancellation.
    Cancel,
}

impl Op {
    /// The operation a routed request asks for (the routes admit only these shapes).
    pub fn of(req: &HttpRequest) -> Op {
        let pattern = req.match_pattern().unwrap_or_default();
        let has_id = pattern.contains("{id}");
        match (req.method(), has_id) {
            (&Method::POST, false) => Op::Create,
            (_, false) => Op::List,
            (&Method::DELETE, true) => Op::Delete,
            (_, true) if pattern.ends_with("/content") => Op::Content,
            (_, true) if pattern.ends_with("/cancel") => Op::Cancel,
            (_, true) => Op::Retrieve,
        }
    }

    /// The upstream path (no leading slash) for `id`, with the caller's query on listings.
    pub fn path(self, kind: Kind, id: Option<&str>, query: &str) -> String {
        let collection = kind.collection();
        let id = id.unwrap_or_default();
        match self {
            Op::Create => collection.to_owned(),
            Op::List if query.is_empty() => collection.to_owned(),
            Op::List => format!("{collection}?{query}"),
            Op::Retrieve | Op::Delete => format!("{collection}/{id}"),
            Op::Content => format!("{collection}/{id}/content"),
            Op::Cancel => format!("{collection}/{id}/cancel"),
        }
    }
}

/// Whether `id` can be an upstream object id: ids are opaque but plain (`file-abc`,
/// `batch_123`); anything else is no object Forge recorded.
pub fn plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 256
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        && id != "."
        && id != ".."
}
