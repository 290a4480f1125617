//! Function URLs: their configuration, and serving HTTP requests with the payload 2.0 event.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use nimbus_core::effects::{FunctionUrlHandler, FunctionUrlRequest, FunctionUrlResponse};
use nimbus_core::{BoxFuture, RequestContext, ServiceError};
use nimbus_store::{TxError, params};
use serde_json::{Value, json};

use crate::functions::{encode, load_function, now_iso};
use crate::invoke::{InvokeMode, InvokeRequest};
use crate::record::{UrlConfig, function_arn};
use crate::{Lambda, errors};

/// What a URL change sets; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct UrlChange {
    pub auth_type: Option<String>,
    pub invoke_mode: Option<String>,
    pub cors: Option<Value>,
}

fn url_not_found(ctx: &RequestContext, name: &str) -> ServiceError {
    nimbus_model::lambda::errors::resource_not_found_exception(format!(
        "The resource you requested does not exist. (Function URL of {})",
        function_arn(ctx, name)
    ))
}

fn check_modes(change: &UrlChange) -> Result<(), ServiceError> {
    if let Some(auth) = change.auth_type.as_deref()
        && !matches!(auth, "NONE" | "AWS_IAM")
    {
        return Err(errors::invalid(format!(
            "1 validation error detected: Value '{auth}' at 'authType' failed to satisfy constraint: Member must satisfy enum value set: [NONE, AWS_IAM]"
        )));
    }
    if let Some(mode) = change.invoke_mode.as_deref()
        && !matches!(mode, "BUFFERED" | "RESPONSE_STREAM")
    {
        return Err(errors::invalid(format!(
            "1 validation error detected: Value '{mode}' at 'invokeMode' failed to satisfy constraint: Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]"
        )));
    }
    Ok(())
}

impl Lambda {
    /// The URL a client should request for `id`: the path form on the nimbus endpoint, which
    /// works without any DNS setup.
    pub fn function_url(&self, ctx: &RequestContext, id: &str) -> String {
        format!("{}/_nimbus/function-url/{id}/", ctx.base_url)
    }

    /// Creates (`create`) or changes a function's URL.
    pub async fn put_url(
        &self,
        ctx: &RequestContext,
        name: &str,
        change: UrlChange,
        create: bool,
    ) -> Result<UrlConfig, ServiceError> {
        check_modes(&change)?;
        let (account, region, name_owned) =
            (ctx.account_id.clone(), ctx.region.clone(), name.to_owned());
        let arn = function_arn(ctx, name);
        let now = now_iso(self);
        let new_id = uuid::Uuid::new_v4().simple().to_string();
        let not_found = url_not_found(ctx, name);
        let config = self.db
            .write(move |tx| {
                let Some(mut function) = load_function(tx, &account, &region, &name_owned)? else {
                    return Err(TxError::Abort(errors::function_not_found(&arn)));
                };
                let config = match (function.record.url.take(), create) {
                    (Some(_), true) => {
                        return Err(TxError::Abort(
                            nimbus_model::lambda::errors::resource_conflict_exception(format!(
                                "Failed to create function url config for [functionArn = {arn}]. Error message:  FunctionUrlConfig exists for this Lambda function"
                            )),
                        ));
                    }
                    (None, false) => return Err(TxError::Abort(not_found)),
                    (None, true) => {
                        tx.execute(
                            "INSERT INTO lambda_url_ids (url_id, account, region, name) VALUES (?1, ?2, ?3, ?4)",
                            &params![&new_id, &account, &region, &name_owned],
                        )?;
                        UrlConfig {
                            id: new_id,
                            auth_type: change.auth_type.unwrap_or_else(|| "NONE".into()),
                            invoke_mode: change.invoke_mode.unwrap_or_else(|| "BUFFERED".into()),
                            cors: change.cors,
                            created: now.clone(),
                            last_modified: now,
                        }
                    }
                    (Some(mut config), false) => {
                        if let Some(auth) = change.auth_type {
                            config.auth_type = auth;
                        }
                        if let Some(mode) = change.invoke_mode {
                            config.invoke_mode = mode;
                        }
                        if change.cors.is_some() {
                            config.cors = change.cors;
                        }
                        config.last_modified = now;
                        config
                    }
                };
                function.record.url = Some(config.clone());
                tx.execute(
                    "UPDATE lambda_functions SET record = ?4 WHERE account = ?1 AND region = ?2 AND name = ?3",
                    &params![&account, &region, &name_owned, encode(&function.record)],
                )?;
                Ok(config)
            })
            .await?;
        self.forget(ctx, name);
        Ok(config)
    }

    /// A function's URL configuration.
    pub fn get_url(&self, ctx: &RequestContext, name: &str) -> Result<UrlConfig, ServiceError> {
        self.get_function(ctx, name)?
            .record
            .url
            .ok_or_else(|| url_not_found(ctx, name))
    }

    pub async fn delete_url(&self, ctx: &RequestContext, name: &str) -> Result<(), ServiceError> {
        let config = self.get_url(ctx, name)?;
        self.update_function(ctx, name, None, None, |f| {
            f.record.url = None;
            Ok(())
        })
        .await?;
        self.db
            .write(move |tx| {
                tx.execute(
                    "DELETE FROM lambda_url_ids WHERE url_id = ?1",
                    &params![&config.id],
                )?;
                Ok(())
            })
            .await
    }

    /// The account, region and function a URL id belongs to.
    fn url_owner(&self, id: &str) -> Result<Option<(String, String, String)>, ServiceError> {
        self.db.read(|tx| {
            tx.query_one(
                "SELECT account, region, name FROM lambda_url_ids WHERE url_id = ?1",
                &params![id],
            )?
            .map(|row| Ok((row.string(0)?, row.string(1)?, row.string(2)?)))
            .transpose()
        })
    }
}

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
            let Ok(Some((account, region, name))) = self.0.url_owner(&url_id) else {
                return plain(404, "Not Found");
            };
            let base = self.0.endpoint.get().cloned().unwrap_or_default();
            let ctx = RequestContext::internal(&account, &region, &base);
            let Ok(config) = self.0.get_url(&ctx, &name) else {
                return plain(404, "Not Found");
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
            let payload = event(&url_id, &region, &request, self.0.clock.now_ms());
            let invoke = InvokeRequest {
                function: name,
                qualifier: None,
                payload: payload.to_string().into(),
                mode: InvokeMode::RequestResponse,
                want_log: false,
                client_context: None,
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
