//! Function URL traffic: `/_nimbus/function-url/<id>/…` on the nimbus endpoint (reachable
//! without special DNS) and `<id>.lambda-url.<region>.localhost` by host.

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use nimbus_core::effects::{FunctionUrlHandler, FunctionUrlRequest};

use crate::edge::{BodyError, HttpResponse, read_body};

/// The path prefix of the path form.
pub const PATH_PREFIX: &str = "/_nimbus/function-url/";

/// The URL id and the path below the URL's root, when the request is for a function URL.
pub fn match_request(path: &str, headers: &HeaderMap) -> Option<(String, String)> {
    if let Some(rest) = path.strip_prefix(PATH_PREFIX) {
        let (id, below) = rest.split_once('/').unwrap_or((rest, ""));
        return valid_id(id).then(|| (id.to_owned(), format!("/{below}")));
    }
    let host = headers.get(http::header::HOST)?.to_str().ok()?;
    let host = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let (id, rest) = host.split_once(".lambda-url.")?;
    let is_local = rest.ends_with(".localhost") || rest.ends_with(".on.aws");
    (is_local && valid_id(id)).then(|| (id.to_owned(), path.to_owned()))
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric())
}

pub async fn serve(
    handler: &dyn FunctionUrlHandler,
    id: &str,
    path: String,
    req: Request<Incoming>,
    limit: usize,
) -> HttpResponse {
    let (parts, body) = req.into_parts();
    let body = match read_body(body, &parts.headers, limit).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            return plain(StatusCode::PAYLOAD_TOO_LARGE, "Request Too Long");
        }
        Err(BodyError::Broken) => return plain(StatusCode::BAD_REQUEST, "Bad Request"),
    };
    let headers = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let request = FunctionUrlRequest {
        method: parts.method.as_str().to_owned(),
        path,
        query: parts.uri.query().map(str::to_owned),
        headers,
        body: body.to_vec(),
        source_ip: "127.0.0.1".to_owned(),
    };
    let answer = handler.handle(id, request).await;
    let mut response = Response::new(Full::new(Bytes::from(answer.body)));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::try_from(name.as_str()),
            http::HeaderValue::from_str(&value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

fn plain(status: StatusCode, text: &'static str) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_and_host_forms() {
        let none = HeaderMap::new();
        assert_eq!(
            match_request("/_nimbus/function-url/abc123/x/y", &none),
            Some(("abc123".into(), "/x/y".into()))
        );
        assert_eq!(
            match_request("/_nimbus/function-url/abc123", &none),
            Some(("abc123".into(), "/".into()))
        );
        assert_eq!(match_request("/_nimbus/function-url/a.b/", &none), None);
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::HOST,
            http::HeaderValue::from_static("abc123.lambda-url.us-east-1.localhost:4566"),
        );
        assert_eq!(
            match_request("/p", &headers),
            Some(("abc123".into(), "/p".into()))
        );
        headers.insert(
            http::header::HOST,
            http::HeaderValue::from_static("localhost:4566"),
        );
        assert_eq!(match_request("/p", &headers), None);
    }
}
