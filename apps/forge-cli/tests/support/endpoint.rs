//! A fake for one Forge endpoint at a time: it answers the login form, turns away requests
//! without the session's JWT, and hands the rest to the test's own `answer`, keeping the path
//! and query of every request so a test can check what the CLI sent.

use std::sync::{Arc, Mutex};

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::{TOKEN, serve};

struct State {
    targets: Mutex<Vec<String>>,
    answer: fn(&HttpRequest) -> HttpResponse,
}

pub struct FakeEndpoint {
    pub url: String,
    state: Arc<State>,
}

impl FakeEndpoint {
    pub fn start(answer: fn(&HttpRequest) -> HttpResponse) -> Self {
        let state = Arc::new(State {
            targets: Mutex::new(Vec::new()),
            answer,
        });
        Self {
            url: serve(state.clone(), handle),
            state,
        }
    }

    /// Path and query of every request so far, oldest first.
    pub fn targets(&self) -> Vec<String> {
        self.state.targets.lock().unwrap().clone()
    }

    pub fn last(&self) -> String {
        self.targets().pop().expect("no request was made")
    }
}

async fn handle(req: HttpRequest, state: web::Data<State>) -> HttpResponse {
    state.targets.lock().unwrap().push(req.uri().to_string());
    if req.path() == "/v1/auth/token" {
        return HttpResponse::Ok().json(json!({"access_token": TOKEN, "token_type": "bearer"}));
    }
    let authorized = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        == Some(format!("Bearer {TOKEN}").as_str());
    if !authorized {
        return HttpResponse::Unauthorized().json(json!({"detail": "Not authenticated"}));
    }
    (state.answer)(&req)
}
