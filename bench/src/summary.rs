//! Turns the measurements into the summary table, the per-run table and the notes.

use std::fmt::Write;
use std::time::Duration;

use crate::report::{Row, Target, format_count, format_number, render_table};
use crate::stats::{median, millis};
use crate::suite::{
    MeasuredRun, Measurements, RECEIVE_CONCURRENCY, REFILL_FEEDERS, STARTUP_MIN_STORED, Settings,
};

const MIB: &str = "MiB";
const MS: &str = "ms";

fn run_at(runs: &[MeasuredRun], concurrency: usize) -> Option<&MeasuredRun> {
    runs.iter().find(|run| run.load.concurrency == concurrency)
}

fn rate(run: Option<&MeasuredRun>) -> Option<f64> {
    run.map(|run| run.load.iterations_per_second())
}

fn message_rate(run: Option<&MeasuredRun>) -> Option<f64> {
    run.map(|run| run.load.messages_per_second())
}

fn p50_ms(run: Option<&MeasuredRun>) -> Option<f64> {
    run.and_then(|run| run.load.latencies.p50()).map(millis)
}

fn p99_ms(run: Option<&MeasuredRun>) -> Option<f64> {
    run.and_then(|run| run.load.latencies.p99()).map(millis)
}

fn median_ms(samples: &[Duration]) -> Option<f64> {
    median(samples).map(millis)
}

pub fn summary_rows(measured: &Measurements, settings: &Settings) -> Vec<Row> {
    let mut rows = Vec::new();
    let ping = |c| run_at(&measured.ping, c);
    for c in [1, 16, 64] {
        rows.push(Row::new(
            format!("Reference GET /_nimbus/ping, c={c}"),
            rate(ping(c)),
            "req/s",
        ));
    }
    for c in [1, 16, 64] {
        let mut row = Row::new(
            format!("SendMessage (256 B), c={c}"),
            rate(run_at(&measured.send, c)),
            "req/s",
        )
        .compared_to(format!("ping c={c}"), rate(ping(c)));
        if c == 64 {
            row = row.target(Target::RatioAtLeast(0.5), "≥ 0.5× reference");
        }
        rows.push(row);
    }
    rows.push(
        Row::new(
            "SendMessage p99, c=16",
            p99_ms(run_at(&measured.send, 16)),
            MS,
        )
        .compared_to("ping p99 c=16", p99_ms(ping(16)))
        .target(Target::AtMost(5.0), "≤ 5 ms"),
    );
    for c in [1, 16, 64] {
        rows.push(
            Row::new(
                format!("SendMessageBatch (10 × 256 B), c={c}"),
                message_rate(run_at(&measured.send_batch, c)),
                "msg/s",
            )
            .compared_to_in(format!("ping c={c}"), rate(ping(c)), "req/s"),
        );
    }
    for run in &measured.receive_delete {
        rows.push(
            Row::new(
                format!(
                    "Receive(10)+DeleteMessageBatch, c={RECEIVE_CONCURRENCY}, depth {}",
                    format_count(run.depth)
                ),
                Some(run.run.load.messages_per_second()),
                "msg/s",
            )
            .compared_to_in(
                format!("ping c={RECEIVE_CONCURRENCY}"),
                rate(ping(RECEIVE_CONCURRENCY)),
                "req/s",
            )
            .target(Target::AtLeast(20_000.0), "≥ 20,000 msg/s"),
        );
    }
    let long_poll = measured.long_poll.as_ref();
    let wake = |percent| {
        long_poll
            .and_then(|result| result.wake_latencies.percentile(percent))
            .map(millis)
    };
    rows.push(
        Row::new("Long-poll wake-up p50", wake(50.0), MS)
            .compared_to("ping p50 c=1", p50_ms(ping(1)))
            .target(Target::AtMost(1.0), "≤ 1 ms"),
    );
    rows.push(
        Row::new("Long-poll wake-up p99", wake(99.0), MS)
            .compared_to("ping p99 c=1", p99_ms(ping(1))),
    );
    let stored_text = measured
        .stored_at_startup
        .map(|n| format!("{} messages", format_count(n)))
        .unwrap_or_else(|| format!("≥ {} messages", format_count(STARTUP_MIN_STORED)));
    rows.push(
        Row::new(
            format!("Startup to first SQS answer, store with {stored_text} (median)"),
            median_ms(&measured.startup_loaded),
            MS,
        )
        .compared_to("empty store", median_ms(&measured.startup_empty))
        .target(Target::AtMost(100.0), "≤ 100 ms"),
    );
    let idle_mib = measured.idle_memory.map(|m| m.resident_mib());
    rows.push(
        Row::new("Idle RSS (fresh empty server)", idle_mib, MIB)
            .target(Target::AtMost(30.0), "≤ 30 MB"),
    );
    let (loaded_mib, loaded_figure, loaded_target) = match measured.loaded_memory {
        Some((memory, stored)) => (
            Some(memory.resident_mib()),
            format!("RSS with {} messages stored", format_count(stored)),
            stored >= 1_000_000,
        ),
        None => (
            None,
            format!(
                "RSS with {} messages stored",
                format_count(settings.loaded_rss_messages)
            ),
            settings.loaded_rss_messages >= 1_000_000,
        ),
    };
    let mut loaded_row = Row::new(loaded_figure, loaded_mib, MIB).compared_to("idle", idle_mib);
    loaded_row = if loaded_target {
        loaded_row.target(Target::AtMost(150.0), "≤ 150 MB with 1,000,000")
    } else {
        loaded_row.note("fewer than 1,000,000 stored: target not judged")
    };
    rows.push(loaded_row);
    rows.push(Row::new(
        "Peak RSS during the run (VmHWM)",
        measured
            .loaded_memory
            .map(|(memory, _)| memory.peak_resident_mib()),
        MIB,
    ));
    let fdatasync = measured.fdatasync.as_ref();
    let fdatasync_p50 = fdatasync.and_then(|s| s.p50()).map(millis);
    rows.push(Row::new(
        "Raw fdatasync (4 KiB write + sync) p50",
        fdatasync_p50,
        MS,
    ));
    rows.push(Row::new(
        "Raw fdatasync (4 KiB write + sync) p99",
        fdatasync.and_then(|s| s.p99()).map(millis),
        MS,
    ));
    let send_commits = send_commit_activity(measured);
    rows.push(
        Row::new(
            "Average commit duration during the send runs",
            send_commits.and_then(|a| a.average_commit_millis()),
            MS,
        )
        .compared_to("raw fdatasync p50", fdatasync_p50),
    );
    rows.push(Row::new(
        "Average commit batch size during the send runs",
        send_commits.and_then(|a| a.average_batch_size()),
        "writes/commit",
    ));
    rows.push(Row::new(
        "Fsyncs per commit during the send runs",
        send_commits.and_then(|a| a.fsyncs_per_commit()),
        "",
    ));
    rows
}

fn send_commit_activity(measured: &Measurements) -> Option<crate::commit_metrics::CommitActivity> {
    measured
        .send
        .iter()
        .chain(&measured.send_batch)
        .filter_map(|run| run.commits)
        .reduce(|total, next| total.combine(&next))
}

/// One line per closed-loop run.
pub fn runs_table(measured: &Measurements) -> String {
    let mut out = String::from(
        "| Run | Requests/s | Messages/s | p50 ms | p99 ms | max ms | Errors | Commits | Writes/commit | Commits/request |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let runs = measured
        .ping
        .iter()
        .chain(&measured.send)
        .chain(&measured.send_batch)
        .chain(measured.receive_delete.iter().map(|r| &r.run));
    let show = |value: Option<f64>| value.map_or("—".to_string(), format_number);
    for run in runs {
        let load = &run.load;
        let requests_per_iteration = if run.label.starts_with("Receive") {
            2.0
        } else {
            1.0
        };
        let requests_per_second = load.iterations_per_second() * requests_per_iteration;
        let commits = run.commits.map(|a| a.commits);
        let commits_per_request = commits.and_then(|c| {
            let requests = load.iterations as f64 * requests_per_iteration;
            (requests > 0.0).then(|| c / requests)
        });
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            run.label,
            format_number(requests_per_second),
            show((load.messages > 0).then(|| load.messages_per_second())),
            show(load.latencies.p50().map(millis)),
            show(load.latencies.p99().map(millis)),
            show(load.latencies.max().map(millis)),
            load.errors,
            show(commits),
            show(run.commits.and_then(|a| a.average_batch_size())),
            show(commits_per_request),
        );
    }
    out
}

/// Method notes that explain how each figure was obtained in this run.
pub fn notes(measured: &Measurements, settings: &Settings) -> Vec<String> {
    let mut notes = vec![
        format!(
            "Each load figure is a closed loop: N connections (HTTP/1.1 keep-alive), each sending \
             its next request when the previous one is answered, for {} s. Latency is measured \
             per request (Receive+Delete: per receive-and-delete pair).",
            settings.run_duration.as_secs_f64()
        ),
        "The reference is `GET /_nimbus/ping`, a trivial handler on the same HTTP stack, \
         measured in the same run at the same concurrency."
            .to_string(),
        format!(
            "Receive+Delete: the queue is filled with SendMessageBatch at concurrency 64, then \
             {REFILL_FEEDERS} feeder connections send back (SendMessageBatch) as many messages \
             as the consumers delete, so the depth holds during the run; the feeders' load is \
             part of the run."
        ),
        "Long-poll wake-up: a ReceiveMessage with WaitTimeSeconds=20 waits on an empty queue for \
         10 ms, then one SendMessage is sent on another connection; the figure runs from that \
         send's 200 to the waiting receive's return."
            .to_string(),
        "Startup: from spawning the process to the first successful SQS answer (GetQueueUrl on \
         the loaded store, ListQueues on the empty one), including reading the `listening on` \
         line; median of the repeats. Commits are counted from `/_nimbus/metrics`."
            .to_string(),
    ];
    for run in &measured.receive_delete {
        notes.push(format!(
            "Depth {}: consumers deleted {} messages ({} receives came back empty), feeders sent \
             back {}; {} messages stored after the run.",
            format_count(run.depth),
            format_count(run.run.load.messages),
            format_count(run.run.load.empty_receives),
            format_count(run.refilled),
            run.depth_after.map_or("unknown".to_string(), format_count)
        ));
    }
    if let Some(long_poll) = &measured.long_poll {
        notes.push(format!(
            "Long-poll: {} rounds; in {} the receive returned before the sender read its 200 \
             (counted as 0 ms).",
            long_poll.wake_latencies.len(),
            long_poll.returned_before_send_answer
        ));
    }
    if !measured.startup_loaded.is_empty() {
        notes.push(format!(
            "Startup samples (ms): loaded {}; empty {}.",
            join_millis(&measured.startup_loaded),
            join_millis(&measured.startup_empty)
        ));
    }
    if settings.quick {
        notes.push(format!(
            "Quick run: {} s per load figure and RSS measured with {} stored messages instead of \
             1,000,000.",
            settings.run_duration.as_secs_f64(),
            format_count(settings.loaded_rss_messages)
        ));
    }
    for failure in &measured.failures {
        notes.push(format!("Not measured — {failure}"));
    }
    notes
}

fn join_millis(samples: &[Duration]) -> String {
    samples
        .iter()
        .map(|s| format!("{:.1}", millis(*s)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The whole Markdown document: header, summary, runs, notes.
pub fn document(header: &[String], measured: &Measurements, settings: &Settings) -> String {
    let mut out = String::from("# nimbus SQS benchmark\n\n");
    for line in header {
        let _ = writeln!(out, "- {line}");
    }
    out.push('\n');
    out.push_str(&render_table(&summary_rows(measured, settings)));
    out.push_str("\n## Runs\n\n");
    out.push_str(&runs_table(measured));
    out.push_str("\n## How these were measured\n\n");
    for note in notes(measured, settings) {
        let _ = writeln!(out, "- {note}");
    }
    out
}
