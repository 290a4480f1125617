//! `nimbus-bench sqs|sns|lambda|esm|lambda-async|dynamodb [--quick]`: starts the nimbus release binary on a temporary data
//! directory, measures SQS against a reference handler on the same HTTP stack (or SNS fan-out
//! against SQS SendMessage), prints a Markdown table and writes it to
//! `bench/results/<suite>-latest.md`.

mod commit_metrics;
mod disk;
mod dynamodb;
mod esm;
mod function_code;
mod http_client;
mod lambda;
mod lambda_async;
mod load;
mod report;
mod server_process;
mod sns;
mod sns_suite;
mod sqs;
mod stats;
mod suite;
mod summary;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};

const USAGE: &str = "usage: nimbus-bench sqs|sns|lambda|esm|lambda-async|dynamodb [--quick]

  sqs       measure SQS on a fresh nimbus (build it first: cargo build --release -p nimbus)
  sns       measure SNS → SQS fan-out, with SQS SendMessage as the reference
  lambda    measure warm invokes and cold starts of echo functions
  esm       measure SQS → function through an event source mapping, with SQS receive+delete as the reference
  lambda-async  measure asynchronous invokes of the Rust echo function: accepted and processed
  dynamodb  measure PutItem, GetItem, Query and a hot counter against the ping reference
  --quick   1 s per load figure and fewer stored messages for the loaded RSS figure";

#[derive(Debug, PartialEq, Eq)]
struct Arguments {
    suite: &'static str,
    quick: bool,
}

fn parse_arguments(arguments: &[String]) -> Result<Arguments> {
    let mut suite = None;
    let mut quick = false;
    for argument in arguments {
        match argument.as_str() {
            "--quick" => quick = true,
            "sqs" if suite.is_none() => suite = Some("sqs"),
            "sns" if suite.is_none() => suite = Some("sns"),
            "lambda" if suite.is_none() => suite = Some("lambda"),
            "esm" if suite.is_none() => suite = Some("esm"),
            "lambda-async" if suite.is_none() => suite = Some("lambda-async"),
            "dynamodb" if suite.is_none() => suite = Some("dynamodb"),
            other => bail!("unexpected argument `{other}`\n\n{USAGE}"),
        }
    }
    let Some(suite) = suite else {
        bail!("name the benchmark to run\n\n{USAGE}");
    };
    Ok(Arguments { suite, quick })
}

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    if arguments.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let outcome = parse_arguments(&arguments).and_then(|arguments| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(async {
                match arguments.suite {
                    "sns" => run_sns(arguments.quick).await,
                    "lambda" => run_lambda(arguments.quick).await,
                    "esm" => run_esm(arguments.quick).await,
                    "lambda-async" => run_lambda_async(arguments.quick).await,
                    "dynamodb" => run_dynamodb(arguments.quick).await,
                    _ => run_sqs(arguments.quick).await,
                }
            })
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints a suite's report and keeps it as `bench/results/<suite>-latest.md`.
fn keep_report(suite: &str, document: &str) -> Result<()> {
    println!("{document}");
    let results = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("results");
    std::fs::create_dir_all(&results)?;
    std::fs::write(results.join(format!("{suite}-latest.md")), document)?;
    eprintln!("written to bench/results/{suite}-latest.md");
    Ok(())
}

async fn run_sqs(quick: bool) -> Result<()> {
    let binary = server_binary()?;
    let settings = suite::Settings::new(quick);
    let cores = suite::core_count();
    eprintln!(
        "measuring {} ({} s per load figure) on {cores} cores…",
        suite::relative_to_workspace(&binary),
        settings.run_duration.as_secs_f64()
    );
    let measured = suite::run(binary, &settings).await?;
    let header = vec![
        format!(
            "Date: {} UTC; nimbus binary: {}",
            chrono::Utc::now().format("%Y-%m-%d %H:%M"),
            suite::relative_to_workspace(&measured.binary)
        ),
        format!(
            "Machine: {cores} cores, shared by the load generator and the server (both run here)"
        ),
        format!("Data directory filesystem: {}", measured.filesystem),
        format!(
            "Mode: {} ({} s per load figure); store commits are fsync'd (durable data directory)",
            if quick { "--quick" } else { "full" },
            settings.run_duration.as_secs_f64()
        ),
    ];
    let document = summary::document(&header, &measured, &settings);
    keep_report("sqs", &document)
}

async fn run_sns(quick: bool) -> Result<()> {
    let binary = server_binary()?;
    eprintln!(
        "measuring SNS fan-out with {}…",
        suite::relative_to_workspace(&binary)
    );
    let document = sns_suite::run(binary, quick).await?;
    keep_report("sns", &document)
}

async fn run_lambda(quick: bool) -> Result<()> {
    let binary = server_binary()?;
    let cores = suite::core_count();
    let body = lambda::run(&binary, quick).await?;
    let document = format!(
        "# nimbus Lambda benchmark\n\nDate: {} UTC; nimbus binary: {}; {cores} cores shared by the load generator, the server and the functions; {}\n\nThe reference (ping) is `GET /_nimbus/ping` on the same server and HTTP stack, measured just before each invoke run at the same concurrency.\n\n{body}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M"),
        suite::relative_to_workspace(&binary),
        if quick {
            "--quick (1 s per figure)"
        } else {
            "5 s per figure"
        },
    );
    keep_report("lambda", &document)
}

async fn run_esm(quick: bool) -> Result<()> {
    let binary = server_binary()?;
    let cores = suite::core_count();
    let body = esm::run(&binary, quick).await?;
    let document = format!(
        "# nimbus event source mapping benchmark\n\nDate: {} UTC; nimbus binary: {}; {cores} cores shared by the load generator, the server and the functions; {}\n\n{body}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M"),
        suite::relative_to_workspace(&binary),
        if quick { "--quick" } else { "full run" },
    );
    keep_report("esm", &document)
}

async fn run_lambda_async(quick: bool) -> Result<()> {
    let binary = server_binary()?;
    let cores = suite::core_count();
    let body = lambda_async::run(&binary, quick).await?;
    let document = format!(
        "# nimbus Lambda asynchronous invocation benchmark\n\nDate: {} UTC; nimbus binary: {}; {cores} cores shared by the load generator, the server and the function instances; {}; store commits are fsync'd\n\n{body}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M"),
        suite::relative_to_workspace(&binary),
        if quick {
            "--quick (1 s per reference figure, 5,000 events)"
        } else {
            "5 s per reference figure, 30,000 events"
        },
    );
    keep_report("lambda-async", &document)
}

async fn run_dynamodb(quick: bool) -> Result<()> {
    let binary = server_binary()?;
    let cores = suite::core_count();
    let body = dynamodb::run(&binary, quick).await?;
    let document = format!(
        "# nimbus DynamoDB benchmark\n\nDate: {} UTC; nimbus binary: {}; {cores} cores shared by the load generator and the server; store commits fsync'd (durable data directory); {}\n\nThe reference (ping) is `GET /_nimbus/ping` on the same server and HTTP stack, measured just before each figure at the same concurrency.\n\n{body}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M"),
        suite::relative_to_workspace(&binary),
        if quick {
            "--quick (1 s per figure, 100,000-item Query table)"
        } else {
            "5 s per figure"
        },
    );
    keep_report("dynamodb", &document)
}

/// `NIMBUS_BENCH_BINARY` overrides where the server binary is taken from.
fn server_binary() -> Result<PathBuf> {
    match std::env::var_os("NIMBUS_BENCH_BINARY") {
        Some(path) => {
            let path = PathBuf::from(path);
            if !path.is_file() {
                bail!("NIMBUS_BENCH_BINARY names no file: {}", path.display());
            }
            Ok(path)
        }
        None => server_process::locate_release_binary(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Arguments> {
        parse_arguments(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn arguments() {
        let sqs = |quick| Arguments {
            suite: "sqs",
            quick,
        };
        assert_eq!(args(&["sqs"]).unwrap(), sqs(false));
        assert_eq!(args(&["sqs", "--quick"]).unwrap(), sqs(true));
        assert_eq!(args(&["--quick", "sqs"]).unwrap(), sqs(true));
        assert_eq!(
            args(&["sns"]).unwrap(),
            Arguments {
                suite: "sns",
                quick: false
            }
        );
        assert_eq!(args(&["lambda"]).unwrap().suite, "lambda");
        assert_eq!(args(&["esm", "--quick"]).unwrap().suite, "esm");
        assert_eq!(args(&["lambda-async"]).unwrap().suite, "lambda-async");
        assert!(args(&[]).is_err());
        assert!(args(&["sqs", "sqs"]).is_err());
        assert!(args(&["sqs", "sns"]).is_err());
        assert!(args(&["sns", "lambda"]).is_err());
    }
}
