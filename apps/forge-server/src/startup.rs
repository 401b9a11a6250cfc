//! The listening socket is bound before anything slow happens (database migrations, the
//! first connection), and until the real server takes it over, a one-worker placeholder
//! answers on it: `/health` (the process is alive), `/health/ready` 503 with the reason
//! `migrating` (so an orchestrator holds traffic back rather than seeing connections
//! refused), and everything else 503 with `Retry-After`. Holding the socket from the start
//! also means a port already in use fails at once, before migrations run.

use std::net::{SocketAddr, TcpListener};

use actix_web::dev::{Server, ServerHandle};
use actix_web::http::KeepAlive;
use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::json;

/// Connections queued while no worker accepts (as actix's own `bind`).
const BACKLOG: u32 = 1024;

/// Binds `addr` the way actix does (address reuse, a deep backlog).
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)?.into_std()
}

/// The placeholder serving on a clone of the listener until [`Starting::finish`].
pub struct Starting {
    handle: ServerHandle,
}

impl Starting {
    /// Starts answering on `listener` (a clone; the caller keeps the original for the real
    /// server).
    pub fn serve(listener: TcpListener) -> std::io::Result<Starting> {
        let server: Server = HttpServer::new(|| {
            App::new()
                .route("/health", web::get().to(alive))
                .route("/health/ready", web::get().to(not_ready))
                .default_service(web::to(unavailable))
        })
        .workers(1)
        // Each answer closes its connection, so no client stays on the placeholder.
        .keep_alive(KeepAlive::Disabled)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
        let handle = server.handle();
        actix_rt::spawn(server);
        Ok(Starting { handle })
    }

    /// Stops the placeholder; the real server's workers take the socket's queued
    /// connections when it runs.
    pub async fn finish(self) {
        self.handle.stop(false).await;
    }
}

/// A start-up that failed stops the placeholder too.
impl Drop for Starting {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

async fn alive() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "healthy", "service": "forge" }))
}

async fn not_ready() -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .insert_header(("retry-after", "1"))
        .json(json!({ "status": "not_ready", "reason": "migrating" }))
}

/// Readable by admin clients (`detail`) and OpenAI-style clients (`error`) alike.
async fn unavailable() -> HttpResponse {
    const MESSAGE: &str = "Forge is starting (database migrations are running); retry shortly";
    HttpResponse::ServiceUnavailable()
        .insert_header(("retry-after", "1"))
        .json(json!({
            "detail": MESSAGE,
            "error": { "message": MESSAGE, "type": "service_unavailable", "code": "starting" },
        }))
}
