//! The Runtime API (2018-06-01) of one instance: one listener on 127.0.0.1 per instance,
//! because `/next` carries no identity of the function or the instance asking.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::Invocation;

/// Responses above this are refused (AWS's synchronous payload limit, with headroom).
const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024 + 1024;

/// What the runtime told us.
#[derive(Debug)]
pub(crate) enum RuntimeEvent {
    /// The runtime asked for work: initialization is over.
    Ready,
    Response {
        request_id: String,
        body: Bytes,
    },
    Error {
        request_id: String,
        body: Bytes,
    },
    InitError {
        body: Bytes,
    },
}

struct Shared {
    /// Invocations handed over by the instance owner; `/next` waits here.
    next: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    events: mpsc::UnboundedSender<RuntimeEvent>,
    /// The request id in progress: answers for any other id are refused.
    current: Mutex<Option<String>>,
}

/// A running Runtime API endpoint.
pub(crate) struct RuntimeApi {
    pub port: u16,
    pub invocations: mpsc::Sender<Invocation>,
    pub events: mpsc::UnboundedReceiver<RuntimeEvent>,
    task: JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<RuntimeApi> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let (invocations, next) = mpsc::channel(1);
        let (events_tx, events) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            next: tokio::sync::Mutex::new(next),
            events: events_tx,
            current: Mutex::new(None),
        });
        let task = tokio::spawn(accept(listener, shared));
        Ok(RuntimeApi {
            port,
            invocations,
            events,
            task,
        })
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        connections.spawn(async move {
            let service = service_fn(move |req| route(Arc::clone(&shared), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        // Reap finished connection tasks so the set does not grow.
        while connections.try_join_next().is_some() {}
    }
}

type Reply = Response<Full<Bytes>>;

async fn route(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Reply, Infallible> {
    let path = req
        .uri()
        .path()
        .trim_start_matches("/2018-06-01")
        .to_owned();
    let method = req.method().clone();
    let reply = match (method, path.as_str()) {
        (Method::GET, "/runtime/invocation/next") => next(&shared).await,
        (Method::POST, "/runtime/init/error") => {
            let body = read(req).await;
            let _ = shared.events.send(RuntimeEvent::InitError { body });
            accepted()
        }
        (Method::POST, p) if p.starts_with("/runtime/invocation/") => {
            let rest = &p["/runtime/invocation/".len()..];
            match rest.rsplit_once('/') {
                Some((id, kind @ ("response" | "error"))) => {
                    answer(&shared, id.to_owned(), kind == "error", req).await
                }
                _ => not_found(),
            }
        }
        (Method::GET, "/ping") => json(StatusCode::OK, "{\"status\":\"OK\"}"),
        _ => not_found(),
    };
    Ok(reply)
}

async fn next(shared: &Shared) -> Reply {
    let _ = shared.events.send(RuntimeEvent::Ready);
    // Never time out: the runtime waits here between invocations, as on AWS.
    let Some(inv) = shared.next.lock().await.recv().await else {
        return json(StatusCode::GONE, "{\"errorType\":\"ShuttingDown\"}");
    };
    *shared.current.lock() = Some(inv.request_id.clone());
    let deadline = inv.deadline_ms;
    let mut builder = Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("lambda-runtime-aws-request-id", &inv.request_id)
        .header("lambda-runtime-deadline-ms", deadline.to_string())
        .header("lambda-runtime-invoked-function-arn", &inv.function_arn)
        .header("lambda-runtime-trace-id", &inv.trace_id);
    if let Some(cc) = &inv.client_context {
        builder = builder.header("lambda-runtime-client-context", cc);
    }
    builder
        .body(Full::new(inv.payload))
        .unwrap_or_else(|_| json(StatusCode::INTERNAL_SERVER_ERROR, "{}"))
}

async fn answer(shared: &Shared, id: String, is_error: bool, req: Request<Incoming>) -> Reply {
    let known = shared.current.lock().as_deref() == Some(id.as_str());
    if !known {
        return json(
            StatusCode::BAD_REQUEST,
            "{\"errorType\":\"InvalidRequestID\",\"errorMessage\":\"Invalid request ID\"}",
        );
    }
    let Ok(collected) = Limited::new(req.into_body(), MAX_RESPONSE_BYTES)
        .collect()
        .await
    else {
        return json(
            StatusCode::PAYLOAD_TOO_LARGE,
            "{\"errorType\":\"RequestEntityTooLarge\",\"errorMessage\":\"Response payload too large\"}",
        );
    };
    *shared.current.lock() = None;
    let body = collected.to_bytes();
    let event = if is_error {
        RuntimeEvent::Error {
            request_id: id,
            body,
        }
    } else {
        RuntimeEvent::Response {
            request_id: id,
            body,
        }
    };
    let _ = shared.events.send(event);
    accepted()
}

async fn read(req: Request<Incoming>) -> Bytes {
    Limited::new(req.into_body(), MAX_RESPONSE_BYTES)
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default()
}

fn accepted() -> Reply {
    json(StatusCode::ACCEPTED, "{\"status\":\"OK\"}")
}

fn not_found() -> Reply {
    json(
        StatusCode::NOT_FOUND,
        "{\"errorType\":\"NotFound\",\"errorMessage\":\"Unknown Runtime API path\"}",
    )
}

fn json(status: StatusCode, body: &'static str) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
