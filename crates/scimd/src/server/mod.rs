//! The HTTP/1 server: scimd's own accept loop, so that every connection gets the protections a
//! public endpoint needs and `axum::serve` does not set: a deadline for a request's headers (a
//! slow-loris client is cut off, and so is a connection idle between requests), caps on header
//! size and count (431), caps on open connections overall and per client address, the client
//! address for throttling, and a graceful shutdown that finishes the requests in flight.

mod lenient;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use lenient::LenientStream;
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// What one connection may hold and how long it may dawdle.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Time to send a request's headers, counted from the first byte or, on a kept-alive
    /// connection, from the end of the previous response.
    pub header_timeout: Duration,
    /// Bytes of request line and headers together.
    pub max_header_bytes: usize,
    pub max_headers: usize,
    pub max_connections: usize,
    pub max_connections_per_address: usize,
    /// How long shutdown waits for requests in flight before closing their connections.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(20),
            max_header_bytes: 32 * 1024,
            max_headers: 100,
            max_connections: 4096,
            max_connections_per_address: 512,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then lets the requests in flight
/// finish (for at most `limits.shutdown_grace`).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(limits.max_header_bytes)
        .max_headers(limits.max_headers);
    let graceful = GracefulShutdown::new();
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = AddressSlots::new(limits.max_connections_per_address);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = accept(&listener, &open) => accepted,
        };
        let Some((stream, address, permit)) = accepted else {
            continue;
        };
        // Over its share, an address's new connection is closed unanswered.
        let Some(slot) = per_address.take(address.ip()) else {
            tracing::debug!(%address, "connection refused: too many from this address");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = app
            .clone()
            .map_request(move |request: axum::http::Request<Incoming>| {
                let mut request = request.map(axum::body::Body::new);
                request.extensions_mut().insert(ConnectInfo(address));
                request
            });
        let connection = http.serve_connection(
            TokioIo::new(LenientStream::new(stream)),
            TowerToHyperService::new(service),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::trace!(%address, %error, "connection ended with an error");
            }
            drop((permit, slot));
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "requests still in flight after {:?}; closing them",
            limits.shutdown_grace
        );
    }
}

/// The next connection once there is room for it; `None` after a failed accept (a client that
/// hung up early, or the process out of file descriptors, which is waited out).
async fn accept(
    listener: &TcpListener,
    open: &Arc<Semaphore>,
) -> Option<(
    tokio::net::TcpStream,
    SocketAddr,
    tokio::sync::OwnedSemaphorePermit,
)> {
    let permit = Arc::clone(open).acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((stream, address)) => Some((stream, address, permit)),
        Err(error) => {
            if !is_per_connection(&error) {
                tracing::error!(%error, "accept failed; retrying in one second");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            None
        }
    }
}

fn is_per_connection(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        error.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// Open connections per client address.
#[derive(Debug, Clone)]
struct AddressSlots {
    max: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl AddressSlots {
    fn new(max: usize) -> Self {
        Self {
            max,
            open: Arc::default(),
        }
    }

    fn take(&self, address: IpAddr) -> Option<AddressSlot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(address).or_default();
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            slots: self.clone(),
            address,
        })
    }
}

/// One open connection of an address, given back when dropped.
#[derive(Debug)]
struct AddressSlot {
    slots: AddressSlots,
    address: IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self
            .slots
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_slots_back_when_connections_close() {
        let slots = AddressSlots::new(2);
        let address: IpAddr = [127, 0, 0, 1].into();
        let first = slots.take(address).unwrap();
        let _second = slots.take(address).unwrap();
        assert!(slots.take(address).is_none(), "a third is over the cap");
        assert!(
            slots.take([127, 0, 0, 2].into()).is_some(),
            "others unaffected"
        );
        drop(first);
        assert!(slots.take(address).is_some());
    }
}
