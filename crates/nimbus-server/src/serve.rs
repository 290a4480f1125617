//! Accept loops and connection lifetimes: keep-alive HTTP/1.1, stop accepting on the shutdown
//! signal, then give open connections the drain deadline to finish their current request.

use std::io;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use crate::EdgeState;

pub async fn run(
    listeners: Vec<TcpListener>,
    state: Arc<EdgeState>,
    shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    // Every connection task holds a sender; `recv` returns `None` once all are gone.
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    let mut accept_loops = Vec::with_capacity(listeners.len());
    for listener in listeners {
        accept_loops.push(tokio::spawn(accept_loop(
            listener,
            Arc::clone(&state),
            shutdown.clone(),
            alive_tx.clone(),
        )));
    }
    drop(alive_tx);
    for accept_loop in accept_loops {
        // A panicking accept loop is a bug; the others keep running until shutdown.
        if let Err(err) = accept_loop.await {
            tracing::error!(%err, "accept loop failed");
        }
    }
    let drain = state.config.drain_timeout;
    tracing::info!(?drain, "listeners closed; draining in-flight requests");
    if tokio::time::timeout(drain, alive_rx.recv()).await.is_err() {
        tracing::warn!(
            ?drain,
            "drain deadline passed; closing remaining connections"
        );
    }
    Ok(())
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<EdgeState>,
    mut shutdown: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped(&mut shutdown) => return,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(err) => {
                // Usually EMFILE or a reset before accept; back off briefly instead of spinning.
                tracing::warn!(%err, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        // Small request/response pairs: send them now rather than waiting for more bytes.
        let _ = stream.set_nodelay(true);
        let local_port = stream.local_addr().map_or(0, |a| a.port());
        let state = Arc::clone(&state);
        let shutdown = shutdown.clone();
        let alive = alive.clone();
        tokio::spawn(async move {
            serve_connection(stream, local_port, state, shutdown).await;
            tracing::trace!(%peer, "connection closed");
            drop(alive);
        });
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    local_port: u16,
    state: Arc<EdgeState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let service = service_fn(move |req| crate::edge::handle(Arc::clone(&state), local_port, req));
    let conn = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = stopped(&mut shutdown) => {
            // Finish the request in progress (if any), then close; idle connections close now.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(err) = result {
        tracing::debug!(%err, "connection error");
    }
}

/// Resolves once shutdown is requested (or the signal's sender is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // The guard returned by `wait_for` must not live across later awaits.
    let _ = shutdown.wait_for(|stop| *stop).await.map(|_| ());
}
