//! Serving function URLs: HTTP requests become payload 2.0 events (configurations are in
//! `url_configs`).

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use nimbus_core::effects::{FunctionUrlHandler, FunctionUrlRequest, FunctionUrlResponse};
use nimbus_core::{BoxFuture, RequestContext};
use serde_json::{Value, json};

use crate::Lambda;
use crate::invoke::{InvokeMode, InvokeRequest};

/// The payload 2.0 event of a function URL request.
fn event(id: &str, region: &str, request: &FunctionUrlRequest, now_ms: i64) -> Value {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies = Vec::new();
    for (name, value) in &request.headers {
        if name == "cookie" {
            cookies.extend(value.split(';').map(|c| c.trim().to_owned()));
            continue;
        }
        headers
            .entry(name.clone())
            .and_modify(|v| {
                v.push(',');
                v.push_str(value);
            })
            .or_insert_with(|| value.clone());
    }
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    for pair in request
        .query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| percent_decode(&s.replace('+', " "));
        query
            .entry(decode(k))
            .and_modify(|old| {
                old.push(',');
                old.push_str(&decode(v));
            })
            .or_insert_with(|| decode(v));
    }
    let (body, is_base64) = match std::str::from_utf8(&request.body) {
        _ if request.body.is_empty() => (Value::Null, false),
        Ok(text) => (Value::String(text.to_owned()), false),
        Err(_) => (Value::String(STANDARD.encode(&request.body)), true),
    };
    let time = chrono::DateTime::from_timestamp_millis(now_ms)
        .unwrap_or_default()
        .format("%d/%b/%Y:%H:%M:%S +0000")
        .to_string();
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.path,
        "rawQueryString": request.query.clone().unwrap_or_default(),
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": id,
            "domainName": format!("{id}.lambda-url.{region}.on.aws"),
            "domainPrefix": id,
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent").cloned().unwrap_or_default(),
            },
            "requestId": nimbus_core::ids::uuid(),
            "routeKey": "$default",
            "stage": "$default",
            "time": time,
            "timeEpoch": now_ms,
        },
        "isBase64Encoded": is_base64,
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = json!(query);
    }
    if !body.is_null() {
        event["body"] = body;
    }
    event
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Turns what the function returned into the HTTP response, as function URLs do: a JSON
/// object with `statusCode` is a response description; anything else is a 200 JSON body.
fn http_response(payload: &[u8]) -> FunctionUrlResponse {
    let parsed: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
    let Some(spec) = parsed.as_object().filter(|o| o.contains_key("statusCode")) else {
        return FunctionUrlResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: payload.to_vec(),
        };
    };
    let status = spec
        .get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(200);
    let mut headers: Vec<(String, String)> = spec
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            (
                k.to_ascii_lowercase(),
                v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            )
        })
        .collect();
    for cookie in spec
        .get("cookies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(c) = cookie.as_str() {
            headers.push(("set-cookie".into(), c.to_owned()));
        }
    }
    if !headers.iter().any(|(k, _)| k == "content-type") {
        headers.push(("content-type".into(), "application/json".into()));
    }
    let text = match spec.get("body") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let body = if spec.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        STANDARD.decode(text.as_bytes()).unwrap_or_default()
    } else {
        text.into_bytes()
    };
    FunctionUrlResponse {
        status,
        headers,
        body,
    }
}

fn plain(status: u16, message: &str) -> FunctionUrlResponse {
    FunctionUrlResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: json!({ "Message": message }).to_string().into_bytes(),
    }
}

/// Lambda serving its function URLs for the edge.
pub struct LambdaUrls(pub Arc<Lambda>);

impl FunctionUrlHandler for LambdaUrls {
    fn handle(
        &self,
        url_id: &str,
        request: FunctionUrlRequest,
    ) -> BoxFuture<'_, FunctionUrlResponse> {
        let url_id = url_id.to_owned();
        Box::pin(async move {
            let Ok(Some(owner)) = self.0.url_owner(&url_id) else {
                return plain(404, "Not Found");
            };
            let (region, name, alias) = (&owner.region, owner.name.clone(), owner.alias.clone());
            let base = self.0.endpoint.get().cloned().unwrap_or_default();
            let ctx = RequestContext::internal(&owner.account, region, &base);
            // The URL may have been deleted since (and another made, under a new id).
            let config = match self.0.get_url(&ctx, &name, alias.as_deref()) {
                Ok(config) if config.id == url_id => config,
                _ => return plain(404, "Not Found"),
            };
            // AWS_IAM URLs take only signed requests. Signatures themselves are checked by
            // the edge's authentication mode, which does not cover this data-plane path, so
            // nimbus asks for the signature's presence only.
            let signed = request
                .headers
                .iter()
                .any(|(k, v)| k == "authorization" && v.starts_with("AWS4-HMAC-SHA256"));
            if config.auth_type == "AWS_IAM" && !signed {
                return plain(403, "Forbidden");
            }
            let payload = event(&url_id, region, &request, self.0.clock.now_ms());
            // An alias's URL runs the version the alias picks, as invoking the alias does.
            let invoke = InvokeRequest {
                function: name,
                qualifier: alias,
                payload: payload.to_string().into(),
                mode: InvokeMode::RequestResponse,
                want_log: false,
                client_context: None,
                request_id: None,
            };
            match self.0.invoke(&ctx, invoke).await {
                Ok(output) if output.function_error.is_none() => http_response(&output.payload),
                Ok(_) => plain(502, "Internal Server Error"),
                Err(err) if err.status == 429 => plain(429, "Too Many Requests"),
                Err(_) => plain(502, "Internal Server Error"),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_follow_the_function_url_rules() {
        let plain_json = http_response(b"{\"a\":1}");
        assert_eq!(plain_json.status, 200);
        assert_eq!(plain_json.body, b"{\"a\":1}");
        let described = http_response(
            br#"{"statusCode":201,"headers":{"X-A":"b"},"body":"aGk=","isBase64Encoded":true,"cookies":["c=1"]}"#,
        );
        assert_eq!(described.status, 201);
        assert_eq!(described.body, b"hi");
        assert!(described.headers.contains(&("x-a".into(), "b".into())));
        assert!(
            described
                .headers
                .contains(&("set-cookie".into(), "c=1".into()))
        );
    }

    #[test]
    fn event_has_payload_2_shape() {
        let request = FunctionUrlRequest {
            method: "POST".into(),
            path: "/a/b".into(),
            query: Some("x=1&x=2&y=hello%20there".into()),
            headers: vec![
                ("cookie".into(), "s=1; t=2".into()),
                ("x-h".into(), "v".into()),
            ],
            body: b"payload".to_vec(),
            source_ip: "127.0.0.1".into(),
        };
        let e = event("abc", "us-east-1", &request, 0);
        assert_eq!(e["rawPath"], "/a/b");
        assert_eq!(e["queryStringParameters"]["x"], "1,2");
        assert_eq!(e["queryStringParameters"]["y"], "hello there");
        assert_eq!(e["cookies"], json!(["s=1", "t=2"]));
        assert_eq!(e["requestContext"]["http"]["method"], "POST");
        assert_eq!(e["body"], "payload");
        assert_eq!(e["isBase64Encoded"], false);
    }
}
