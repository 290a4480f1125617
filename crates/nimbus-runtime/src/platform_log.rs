//! The platform's own lines around each invocation, in the function's log format: AWS's
//! text `START` / `END` / `REPORT` lines, or with the JSON format the `platform.start`,
//! `platform.runtimeDone` and `platform.report` records, filtered by the system log level.

use std::time::Duration;

use serde_json::Value;

use crate::Outcome;
use crate::report::{self, Platform};

/// Detail levels of the platform's JSON records (`SystemLogLevel`), least detailed last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SystemLogLevel {
    Debug,
    Info,
    Warn,
}

impl SystemLogLevel {
    /// The level AWS's name gives (`DEBUG`, `INFO`, `WARN`); `None` for anything else.
    pub fn parse(name: &str) -> Option<SystemLogLevel> {
        match name {
            "DEBUG" => Some(SystemLogLevel::Debug),
            "INFO" => Some(SystemLogLevel::Info),
            "WARN" => Some(SystemLogLevel::Warn),
            _ => None,
        }
    }
}

/// How a function's platform lines are written (`LoggingConfig.LogFormat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    /// JSON records at or above the level are written.
    Json(SystemLogLevel),
}

/// What one invocation's closing lines report.
pub(crate) struct Closing<'a> {
    pub platform: Platform<'a>,
    pub outcome: &'a Outcome,
}

/// AWS's record `status` and `errorType` for how an invocation ended.
fn status(outcome: &Outcome) -> (&'static str, Option<String>) {
    let body_type = |body: &[u8]| {
        serde_json::from_slice::<Value>(body).ok().and_then(|v| {
            v.get("errorType")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
    };
    match outcome {
        Outcome::Success(_) => ("success", None),
        Outcome::FunctionError(body) => ("error", body_type(body)),
        Outcome::InitError(body) => ("error", body_type(body)),
        Outcome::Timeout(_) => ("timeout", Some("Sandbox.Timedout".into())),
        Outcome::Crashed(_) => ("failure", Some("Runtime.ExitError".into())),
        Outcome::OutOfMemory => ("error", Some("Runtime.OutOfMemory".into())),
    }
}

/// A JSON object written with its fields in the order given (AWS's order), which
/// `serde_json`'s sorted maps would not keep.
#[derive(Default)]
struct Object(String);

impl Object {
    fn field(self, name: &str, value: impl Into<Value>) -> Self {
        self.raw(name, &value.into().to_string())
    }

    fn raw(mut self, name: &str, json: &str) -> Self {
        self.0.push(if self.0.is_empty() { '{' } else { ',' });
        self.0.push_str(&Value::from(name).to_string());
        self.0.push(':');
        self.0.push_str(json);
        self
    }

    fn finish(mut self) -> String {
        if self.0.is_empty() {
            self.0.push('{');
        }
        self.0.push('}');
        self.0
    }
}

fn record(kind: &str, record: Object) -> String {
    Object::default()
        .field("time", report::timestamp())
        .field("type", kind)
        .raw("record", &record.finish())
        .finish()
}

fn millis(duration: Duration) -> f64 {
    // Two decimals, as the text REPORT line prints them.
    (duration.as_secs_f64() * 100_000.0).round() / 100.0
}

impl LogFormat {
    fn writes(self, level: SystemLogLevel) -> bool {
        match self {
            LogFormat::Text => true,
            LogFormat::Json(threshold) => level >= threshold,
        }
    }

    /// The line that opens an invocation, if the format writes one.
    pub(crate) fn start(self, request_id: &str, version: &str) -> Option<String> {
        match self {
            LogFormat::Text => Some(format!("START RequestId: {request_id} Version: {version}")),
            LogFormat::Json(_) => self.writes(SystemLogLevel::Info).then(|| {
                let start = Object::default()
                    .field("requestId", request_id)
                    .field("version", version);
                record("platform.start", start)
            }),
        }
    }

    /// A timed-out invocation's own line; the JSON format reports it in `platform.report`.
    pub(crate) fn timed_out(self, request_id: &str, after: Duration) -> Option<String> {
        match self {
            LogFormat::Text => Some(format!(
                "{} {request_id} Task timed out after {:.2} seconds",
                report::timestamp(),
                after.as_secs_f64()
            )),
            LogFormat::Json(_) => None,
        }
    }

    /// The lines that close an invocation (END and REPORT, or their JSON records).
    pub(crate) fn closing(self, closing: &Closing<'_>) -> Vec<String> {
        let platform = &closing.platform;
        let request_id = platform.request_id;
        if self == LogFormat::Text {
            return vec![
                format!("END RequestId: {request_id}"),
                platform.report_line(),
            ];
        }
        let (status, error_type) = status(closing.outcome);
        let mut lines = Vec::new();
        if self.writes(SystemLogLevel::Debug) {
            let produced = match closing.outcome {
                Outcome::Success(body) => body.len(),
                _ => 0,
            };
            let metrics = Object::default()
                .field("durationMs", millis(platform.duration))
                .field("producedBytes", produced);
            let mut done = Object::default()
                .field("requestId", request_id)
                .field("status", status)
                .raw("metrics", &metrics.finish());
            if let Some(error_type) = &error_type {
                done = done.field("errorType", error_type.as_str());
            }
            lines.push(record("platform.runtimeDone", done));
        }
        if self.writes(SystemLogLevel::Info) {
            let mut metrics = Object::default()
                .field("durationMs", millis(platform.duration))
                .field("billedDurationMs", platform.billed_ms())
                .field("memorySizeMB", platform.memory_mb)
                .field("maxMemoryUsedMB", platform.max_memory_mb);
            if let Some(init) = platform.init_duration {
                metrics = metrics.field("initDurationMs", millis(init));
            }
            let mut report = Object::default()
                .field("requestId", request_id)
                .raw("metrics", &metrics.finish())
                .field("status", status);
            if let Some(error_type) = error_type {
                report = report.field("errorType", error_type);
            }
            lines.push(record("platform.report", report));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn closing(outcome: &Outcome) -> Closing<'_> {
        Closing {
            platform: Platform {
                request_id: "abc",
                duration: Duration::from_micros(1500),
                memory_mb: 128,
                max_memory_mb: 40,
                init_duration: Some(Duration::from_millis(20)),
            },
            outcome,
        }
    }

    fn parse(line: &str) -> Value {
        serde_json::from_str(line).unwrap_or(Value::Null)
    }

    #[test]
    fn text_format_keeps_aws_lines() {
        let outcome = Outcome::Success("1".into());
        let lines = LogFormat::Text.closing(&closing(&outcome));
        assert_eq!(lines[0], "END RequestId: abc");
        assert!(lines[1].starts_with("REPORT RequestId: abc\tDuration: 1.50 ms"));
        assert_eq!(
            LogFormat::Text.start("abc", "$LATEST").as_deref(),
            Some("START RequestId: abc Version: $LATEST")
        );
    }

    #[test]
    fn json_report_has_the_documented_record() {
        let outcome = Outcome::Success("1".into());
        let lines = LogFormat::Json(SystemLogLevel::Info).closing(&closing(&outcome));
        assert_eq!(lines.len(), 1, "runtimeDone is a DEBUG record");
        assert!(lines[0].starts_with(r#"{"time":""#), "AWS's field order");
        let report = parse(&lines[0]);
        assert_eq!(report["type"], "platform.report");
        assert!(report["time"].as_str().is_some_and(|t| t.ends_with('Z')));
        assert_eq!(
            report["record"],
            json!({
                "requestId": "abc",
                "metrics": {"durationMs": 1.5, "billedDurationMs": 2, "memorySizeMB": 128,
                            "maxMemoryUsedMB": 40, "initDurationMs": 20.0},
                "status": "success"
            })
        );
        let start = parse(
            &LogFormat::Json(SystemLogLevel::Info)
                .start("abc", "3")
                .unwrap_or_default(),
        );
        assert_eq!(start["record"], json!({"requestId": "abc", "version": "3"}));
    }

    #[test]
    fn levels_filter_and_failures_are_typed() {
        let outcome = Outcome::Timeout(Duration::from_secs(3));
        let debug = LogFormat::Json(SystemLogLevel::Debug).closing(&closing(&outcome));
        let done = parse(&debug[0]);
        assert_eq!(done["type"], "platform.runtimeDone");
        assert_eq!(done["record"]["status"], "timeout");
        assert_eq!(parse(&debug[1])["record"]["errorType"], "Sandbox.Timedout");
        let warn = LogFormat::Json(SystemLogLevel::Warn);
        assert!(warn.closing(&closing(&outcome)).is_empty());
        assert!(warn.start("abc", "$LATEST").is_none());
        assert!(warn.timed_out("abc", Duration::from_secs(3)).is_none());
    }
}
