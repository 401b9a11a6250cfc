//! The handle a test holds: starts the server on its own thread, stops it on drop.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpServer, web};

use crate::config::FakeOpenAiConfig;
use crate::fault::{ArmedFault, Fault, FaultMode};
use crate::record::RecordedRequest;
use crate::routes;
use crate::state::{OpenConnection, Shared};

/// Largest request body accepted; far above anything a test sends.
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// A running fake OpenAI upstream on 127.0.0.1. Dropping it stops the server: hung requests
/// are cut and its thread exits.
pub struct FakeOpenAi {
    shared: Arc<Shared>,
    addr: SocketAddr,
    handle: ServerHandle,
    stopped: mpsc::Receiver<()>,
}

impl FakeOpenAi {
    /// Starts on an ephemeral port and returns once the socket is listening. Needs no runtime
    /// from the caller (it runs its own actix `System` on its own thread, one worker).
    ///
    /// # Panics
    /// When 127.0.0.1 cannot be bound or a thread cannot be spawned: a broken test machine,
    /// which a test should report loudly. Use [`FakeOpenAi::try_start`] to handle it.
    #[allow(
        clippy::expect_used,
        reason = "test fixture; failure means a broken machine"
    )]
    pub fn start(cfg: FakeOpenAiConfig) -> FakeOpenAi {
        FakeOpenAi::try_start(cfg, 0).expect("fake OpenAI upstream could not start on 127.0.0.1")
    }

    /// Like [`FakeOpenAi::start`] on a chosen port (0 for an ephemeral one).
    pub fn try_start(cfg: FakeOpenAiConfig, port: u16) -> io::Result<FakeOpenAi> {
        let shared = Arc::new(Shared::new(cfg));
        let (ready_tx, ready_rx) = mpsc::channel::<io::Result<(SocketAddr, ServerHandle)>>();
        let (stopped_tx, stopped_rx) = mpsc::channel::<()>();
        let server_shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("fake-openai-upstream".to_owned())
            .spawn(move || {
                let system = actix_rt::System::new();
                system.block_on(async move {
                    match serve(server_shared, port) {
                        Ok((addr, running)) => {
                            let _ = ready_tx.send(Ok((addr, running.handle())));
                            let _ = running.await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
                let _ = stopped_tx.send(());
            })?;
        let (addr, handle) = ready_rx.recv().map_err(|_| {
            io::Error::other("fake OpenAI upstream thread ended before it was listening")
        })??;
        Ok(FakeOpenAi {
            shared,
            addr,
            handle,
            stopped: stopped_rx,
        })
    }

    /// `http://127.0.0.1:PORT/v1`, what an OpenAI client takes as its base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The key the server accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// Arms a fault for the next requests (replacing any armed one).
    pub fn set_fault(&self, fault: Fault, mode: FaultMode) {
        self.shared.arm(ArmedFault::new(fault, mode));
    }

    pub fn clear_fault(&self) {
        self.shared.arm(None);
    }

    /// Replaces the reply template (`{model}` is substituted; `None` restores the default).
    pub fn set_reply(&self, reply: Option<String>) {
        self.shared.set_reply(reply);
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    pub fn last_request(&self) -> Option<RecordedRequest> {
        self.shared.requests().pop()
    }

    pub fn request_count(&self) -> usize {
        self.shared.request_count()
    }

    pub fn clear_requests(&self) {
        self.shared.clear_requests();
    }

    /// Requests whose response (including a streamed body) is not finished yet. Drops to zero
    /// when a client hangs up on a hanging or slow answer.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight()
    }

    /// TCP connections currently open (idle keep-alive connections included).
    pub fn open_connections(&self) -> usize {
        self.shared.open_connections()
    }
}

/// Binds and starts the server; must run inside the thread's actix `System`.
fn serve(shared: Arc<Shared>, port: u16) -> io::Result<(SocketAddr, Server)> {
    let data = web::Data::from(Arc::clone(&shared));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(BODY_LIMIT))
            .configure(routes::configure)
    })
    .workers(1)
    // Tests own this process's signals; SIGTERM kills the binary outright.
    .disable_signals()
    .shutdown_timeout(0)
    // A client that hangs up cancels its request here, as it would at a real upstream, so
    // tests can see (via `in_flight`) that the gateway dropped its upstream call.
    .h1_allow_half_closed(false)
    .on_connect(move |_, extensions| {
        extensions.insert(OpenConnection::new(Arc::clone(&shared)));
    })
    .bind(("127.0.0.1", port))?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| io::Error::other("bound no address"))?;
    Ok((addr, server.run()))
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        // `stop` sends the command at once; the returned future only reports completion.
        drop(self.handle.stop(false));
        let _ = self.stopped.recv_timeout(Duration::from_secs(5));
    }
}
