//! The running server every fake is built on: its own thread and actix `System`, stopped on
//! drop. The fakes differ only in their routes and in the `base_url` they advertise.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpServer, web};

use crate::state::{OpenConnection, Shared};

/// Largest request body accepted; far above anything a test sends.
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// Registers one fake's routes (and its 404 fallback).
pub(crate) type Routes = fn(&mut web::ServiceConfig);

pub(crate) struct ServerCore {
    pub(crate) shared: Arc<Shared>,
    pub(crate) addr: SocketAddr,
    handle: ServerHandle,
    stopped: mpsc::Receiver<()>,
}

impl ServerCore {
    /// Starts on `port` (0 for an ephemeral one) and returns once the socket is listening.
    pub(crate) fn try_start(
        shared: Shared,
        port: u16,
        thread_name: &str,
        routes: Routes,
    ) -> io::Result<ServerCore> {
        let shared = Arc::new(shared);
        let (ready_tx, ready_rx) = mpsc::channel::<io::Result<(SocketAddr, ServerHandle)>>();
        let (stopped_tx, stopped_rx) = mpsc::channel::<()>();
        let server_shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name(thread_name.to_owned())
            .spawn(move || {
                let system = actix_rt::System::new();
                system.block_on(async move {
                    match serve(server_shared, port, routes) {
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
            io::Error::other("fake upstream thread ended before it was listening")
        })??;
        Ok(ServerCore {
            shared,
            addr,
            handle,
            stopped: stopped_rx,
        })
    }
}

/// Binds and starts the server; must run inside the thread's actix `System`.
fn serve(shared: Arc<Shared>, port: u16, routes: Routes) -> io::Result<(SocketAddr, Server)> {
    let data = web::Data::from(Arc::clone(&shared));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(BODY_LIMIT))
            .configure(routes)
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

impl Drop for ServerCore {
    fn drop(&mut self) {
        // `stop` sends the command at once; the returned future only reports completion.
        drop(self.handle.stop(false));
        let _ = self.stopped.recv_timeout(Duration::from_secs(5));
    }
}

/// The methods every fake's handle has, delegating to its `core: ServerCore`, so the three
/// handles cannot drift apart.
macro_rules! fake_handle_methods {
    () => {
        pub fn addr(&self) -> std::net::SocketAddr {
            self.core.addr
        }

        /// The key the server accepts.
        pub fn api_key(&self) -> &str {
            &self.core.shared.api_key
        }

        /// Arms a fault for the next requests (replacing any armed one).
        pub fn set_fault(&self, fault: $crate::Fault, mode: $crate::FaultMode) {
            self.core
                .shared
                .arm($crate::fault::ArmedFault::new(fault, mode));
        }

        pub fn clear_fault(&self) {
            self.core.shared.arm(None);
        }

        /// Replaces the reply template (`{model}` is substituted; `None` restores the default).
        pub fn set_reply(&self, reply: Option<String>) {
            self.core.shared.set_reply(reply);
        }

        /// Every request received so far, oldest first.
        pub fn requests(&self) -> Vec<$crate::RecordedRequest> {
            self.core.shared.requests()
        }

        pub fn last_request(&self) -> Option<$crate::RecordedRequest> {
            self.core.shared.requests().pop()
        }

        pub fn request_count(&self) -> usize {
            self.core.shared.request_count()
        }

        pub fn clear_requests(&self) {
            self.core.shared.clear_requests();
        }

        /// Requests whose response (including a streamed body) is not finished yet. Drops to
        /// zero when a client hangs up on a hanging or slow answer.
        pub fn in_flight(&self) -> usize {
            self.core.shared.in_flight()
        }

        /// TCP connections currently open (idle keep-alive connections included).
        pub fn open_connections(&self) -> usize {
            self.core.shared.open_connections()
        }
    };
}

pub(crate) use fake_handle_methods;
