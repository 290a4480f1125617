//! What the platform reports: REPORT lines, exit reasons, error bodies, memory readings.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

use bytes::Bytes;

/// The figures of one REPORT line.
pub(crate) struct Platform<'a> {
    pub request_id: &'a str,
    pub duration: Duration,
    pub memory_mb: u32,
    pub max_memory_mb: u64,
    pub init_duration: Option<Duration>,
}

impl Platform<'_> {
    /// Billed duration: rounded up to the millisecond, at least one.
    pub fn billed_ms(&self) -> u64 {
        (self.duration.as_secs_f64() * 1000.0).ceil().max(1.0) as u64
    }

    /// AWS's text format: tab separated, Init Duration last and only on a cold start.
    pub fn report_line(&self) -> String {
        let ms = self.duration.as_secs_f64() * 1000.0;
        let mut line = format!(
            "REPORT RequestId: {}\tDuration: {ms:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB\t",
            self.request_id,
            self.billed_ms(),
            self.memory_mb,
            self.max_memory_mb,
        );
        if let Some(init) = self.init_duration {
            line.push_str(&format!(
                "Init Duration: {:.2} ms\t",
                init.as_secs_f64() * 1000.0
            ));
        }
        line
    }
}

/// The timestamp AWS puts in platform lines (`2024-01-01T00:00:00.000Z`).
pub(crate) fn timestamp() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// `exit status 1` or `signal: killed`, as AWS words it.
pub(crate) fn exit_reason(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(9)) => "signal: killed".into(),
        (None, Some(signal)) => format!("signal: {signal}"),
        (None, None) => "exited".into(),
    }
}

/// AWS's error JSON.
pub(crate) fn error_json(error_type: &str, message: &str) -> Bytes {
    serde_json::json!({ "errorType": error_type, "errorMessage": message })
        .to_string()
        .into()
}

fn status_field_kb(pid: i32, field: &str) -> u64 {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return 0;
    };
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The instance's peak resident memory (its main process), in MB, rounded up.
pub(crate) fn peak_memory_mb(pid: i32) -> u64 {
    status_field_kb(pid, "VmHWM:").div_ceil(1024)
}

/// The resident memory of a process and all its descendants, in kB. Resident memory, never
/// address space: V8 reserves far more address space than it uses.
pub(crate) fn tree_rss_kb(pid: i32) -> u64 {
    let mut total = 0;
    let mut pending = vec![pid];
    let mut seen = 0;
    while let Some(pid) = pending.pop() {
        seen += 1;
        if seen > 4096 {
            break;
        }
        total += status_field_kb(pid, "VmRSS:");
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            if let Ok(children) = std::fs::read_to_string(task.path().join("children")) {
                pending.extend(
                    children
                        .split_whitespace()
                        .filter_map(|c| c.parse::<i32>().ok()),
                );
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_line_has_aws_fields() {
        let line = Platform {
            request_id: "abc",
            duration: Duration::from_micros(1500),
            memory_mb: 128,
            max_memory_mb: 40,
            init_duration: Some(Duration::from_millis(20)),
        }
        .report_line();
        assert_eq!(
            line,
            "REPORT RequestId: abc\tDuration: 1.50 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\tInit Duration: 20.00 ms\t"
        );
    }

    #[test]
    fn own_process_memory_is_visible() {
        let pid = i32::try_from(std::process::id()).unwrap_or(1);
        assert!(tree_rss_kb(pid) > 0);
    }
}
