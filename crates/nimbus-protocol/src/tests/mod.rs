//! Protocol tables. Each case is a wire request or a canonical value and what AWS (or the
//! AWS SDK parsers) expect on the other side.

// Tables of tuples are the point here.
#![allow(clippy::type_complexity)]

mod cbor;
mod errors;
mod garbage;
mod identify;
mod json;
mod query;
mod rest_json;

use http::{HeaderMap, HeaderValue, Method};
use nimbus_model::ServiceModel;

pub(crate) static SERVICES: &[&ServiceModel] = &[
    &nimbus_model::sqs::SERVICE,
    &nimbus_model::sts::SERVICE,
    &nimbus_model::iam::SERVICE,
];

/// An owned request for building [`crate::WireRequest`]s in tables.
pub(crate) struct Req {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Req {
    pub fn post(path: &str, headers: &[(&'static str, &str)], body: &[u8]) -> Req {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        Req {
            method: Method::POST,
            path: path.into(),
            query: None,
            headers: map,
            body: body.into(),
        }
    }

    pub fn json(target: &str, body: &str) -> Req {
        Req::post(
            "/",
            &[
                ("x-amz-target", target),
                ("content-type", "application/x-amz-json-1.0"),
            ],
            body.as_bytes(),
        )
    }

    pub fn form(body: &str) -> Req {
        Req::post(
            "/",
            &[(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            body.as_bytes(),
        )
    }

    pub fn wire(&self) -> crate::WireRequest<'_> {
        crate::WireRequest {
            method: &self.method,
            path: &self.path,
            query: self.query.as_deref(),
            headers: &self.headers,
            body: &self.body,
        }
    }
}

pub(crate) fn header<'a>(resp: &'a crate::WireResponse, name: &str) -> Option<&'a str> {
    resp.headers
        .iter()
        .find(|(k, _)| k.as_str() == name)
        .and_then(|(_, v)| v.to_str().ok())
}

pub(crate) fn text(resp: &crate::WireResponse) -> &str {
    std::str::from_utf8(&resp.body).unwrap()
}
