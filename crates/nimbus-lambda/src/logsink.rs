//! Function output on its way to CloudWatch Logs: instances write lines synchronously from
//! their pipe readers; one task batches them per stream into the log writer.

use std::collections::BTreeMap;
use std::sync::Arc;

use nimbus_core::effects::{LogEvent, LogWriter};
use nimbus_runtime::LogSink;
use tokio::sync::mpsc;

/// Lines taken per batch; the writer commits each batch in one group commit.
const BATCH: usize = 5000;
/// After the first line of a batch, how long to gather more. Every write is an fsync'd
/// commit, so a busy function's lines are written a few times a second rather than once per
/// invocation; CloudWatch Logs itself shows lines seconds after they are written.
const GATHER_FOR: std::time::Duration = std::time::Duration::from_millis(100);

/// A line and where it goes.
struct Line {
    target: Arc<LogTarget>,
    stream: String,
    event: LogEvent,
}

/// The account, region and group of one function.
pub(crate) struct LogTarget {
    pub account: String,
    pub region: String,
    pub group: String,
}

/// The sink handed to one function's instances.
pub(crate) struct FunctionLogSink {
    target: Arc<LogTarget>,
    lines: mpsc::UnboundedSender<Line>,
}

impl LogSink for FunctionLogSink {
    fn write(&self, stream: &str, timestamp_ms: i64, message: String) {
        let _ = self.lines.send(Line {
            target: Arc::clone(&self.target),
            stream: stream.to_owned(),
            event: LogEvent {
                timestamp_ms,
                message,
            },
        });
    }
}

/// Owns the channel and the forwarding task.
pub(crate) struct LogForwarder {
    lines: mpsc::UnboundedSender<Line>,
}

impl LogForwarder {
    /// Starts forwarding to `writer`; without one, lines are dropped.
    pub fn start(writer: Option<Arc<dyn LogWriter>>) -> LogForwarder {
        let (lines, mut rx) = mpsc::unbounded_channel::<Line>();
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                tokio::time::sleep(GATHER_FOR).await;
                while batch.len() < BATCH {
                    match rx.try_recv() {
                        Ok(line) => batch.push(line),
                        Err(_) => break,
                    }
                }
                let Some(writer) = &writer else {
                    batch.clear();
                    continue;
                };
                let mut streams: BTreeMap<(usize, String), (Arc<LogTarget>, Vec<LogEvent>)> =
                    BTreeMap::new();
                for line in batch.drain(..) {
                    let key = (Arc::as_ptr(&line.target) as usize, line.stream);
                    streams
                        .entry(key)
                        .or_insert_with(|| (Arc::clone(&line.target), Vec::new()))
                        .1
                        .push(line.event);
                }
                // Together, so that every stream's lines share one commit.
                let appends = streams.into_iter().map(|((_, stream), (target, events))| {
                    let writer = Arc::clone(writer);
                    async move {
                        let appended = writer
                            .append_log_events(
                                &target.account,
                                &target.region,
                                &target.group,
                                &stream,
                                events,
                            )
                            .await;
                        if let Err(err) = appended {
                            tracing::warn!(%err, group = target.group, "function log lines lost");
                        }
                    }
                });
                futures_util::future::join_all(appends).await;
            }
        });
        LogForwarder { lines }
    }

    pub fn sink(&self, target: LogTarget) -> FunctionLogSink {
        FunctionLogSink {
            target: Arc::new(target),
            lines: self.lines.clone(),
        }
    }
}
