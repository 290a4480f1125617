//! `nimbus logs <function> [--follow]`: prints a function's CloudWatch Logs from a running
//! nimbus, polling FilterLogEvents as log followers do.

use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::cli::LogsArgs;

/// How often `--follow` asks for new events.
const POLL_EVERY: Duration = Duration::from_millis(500);

/// `host:port` and the path prefix of an `http://` endpoint.
fn authority(endpoint: &str) -> Result<String> {
    let rest = endpoint
        .strip_prefix("http://")
        .context("the endpoint must be an http:// URL")?;
    let host = rest.split('/').next().unwrap_or(rest);
    if host.is_empty() {
        bail!("the endpoint names no host");
    }
    Ok(if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:80")
    })
}

/// One awsJson 1.1 call; returns the status and the decoded body.
async fn call(
    authority: &str,
    region: &str,
    operation: &str,
    input: &Value,
) -> Result<(u16, Value)> {
    let body = input.to_string();
    let mut stream = TcpStream::connect(authority)
        .await
        .with_context(|| format!("connecting to nimbus at {authority}"))?;
    // The credential scope carries the region; signatures are not checked unless nimbus
    // runs with strict authentication.
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: Logs_20140328.{operation}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20240101/{region}/logs/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("malformed HTTP response")?;
    let head = String::from_utf8_lossy(&response[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("malformed HTTP status line")?;
    let value = serde_json::from_slice(&response[split + 4..]).unwrap_or(Value::Null);
    Ok((status, value))
}

/// Parses `10m`, `2h`, `30s`, `1d` into milliseconds.
fn parse_since(text: &str) -> Result<i64> {
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number
        .parse()
        .with_context(|| format!("bad --since value {text:?}"))?;
    let unit_ms = match unit {
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => bail!("--since takes a number with s, m, h or d, e.g. 10m"),
    };
    Ok(n * unit_ms)
}

pub async fn run(args: LogsArgs) -> Result<()> {
    let authority = authority(&args.endpoint)?;
    let group = format!("/aws/lambda/{}", args.function);
    let now = chrono::Utc::now().timestamp_millis();
    let mut start = now - parse_since(&args.since)?;
    // Events at the newest timestamp seen, so the next poll (which starts there) skips them.
    let mut seen_at_start: HashSet<String> = HashSet::new();
    let mut stdout = std::io::stdout();
    loop {
        let mut token: Option<String> = None;
        loop {
            let mut input = json!({ "logGroupName": group, "startTime": start });
            if let Some(t) = &token {
                input["nextToken"] = json!(t);
            }
            let (status, body) = call(&authority, &args.region, "FilterLogEvents", &input).await?;
            if status == 400
                && body["__type"]
                    .as_str()
                    .is_some_and(|t| t.ends_with("ResourceNotFoundException"))
            {
                if !args.follow {
                    eprintln!(
                        "no logs for {} yet (log group {group} does not exist)",
                        args.function
                    );
                    return Ok(());
                }
                break;
            }
            if status != 200 {
                bail!("FilterLogEvents failed with HTTP {status}: {body}");
            }
            for event in body["events"].as_array().into_iter().flatten() {
                let id = event["eventId"].as_str().unwrap_or_default().to_owned();
                let ts = event["timestamp"].as_i64().unwrap_or(start);
                if ts == start && seen_at_start.contains(&id) {
                    continue;
                }
                if ts > start {
                    start = ts;
                    seen_at_start.clear();
                }
                seen_at_start.insert(id);
                let message = event["message"].as_str().unwrap_or_default();
                let stream = event["logStreamName"].as_str().unwrap_or_default();
                if args.show_stream {
                    writeln!(stdout, "{stream} {message}")?;
                } else {
                    writeln!(stdout, "{message}")?;
                }
            }
            stdout.flush()?;
            token = body["nextToken"].as_str().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        if !args.follow {
            return Ok(());
        }
        tokio::select! {
            () = tokio::time::sleep(POLL_EVERY) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_durations() {
        assert_eq!(
            authority("http://localhost:4566").ok(),
            Some("localhost:4566".into())
        );
        assert_eq!(authority("http://example").ok(), Some("example:80".into()));
        assert!(authority("https://x").is_err());
        assert_eq!(parse_since("10m").ok(), Some(600_000));
        assert_eq!(parse_since("1d").ok(), Some(86_400_000));
        assert!(parse_since("ten").is_err());
    }
}
