//! `nimbus`: the command line and composition root.

mod cli;
mod compose;
mod logging;
mod logs_cmd;
mod settings;

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use nimbus_core::Clock;
use nimbus_server::auth::{Authenticator, IssuedKeys, Keyring};
use nimbus_server::{ServerBuilder, ServerConfig, ServerMetrics};
use tokio::sync::watch;

use cli::{Cli, Command};
use settings::Settings;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Request handling allocates and frees many small buffers across threads; mimalloc's
/// per-thread free lists cost a fraction of glibc malloc's locking and consolidation. Built
/// without transparent huge pages, which would count whole 2 MiB pages in an idle server's RSS.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Command::Serve(args) => args,
        Command::Logs(args) => return run_logs(args),
    };
    let env: HashMap<String, String> = std::env::vars().collect();
    let settings = match Settings::resolve(args, &env) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("nimbus: {err:#}");
            return ExitCode::from(2);
        }
    };
    if let Err(err) = logging::init(settings.log_format, &settings.log_level) {
        eprintln!("nimbus: {err:#}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("nimbus: starting the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("nimbus: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `nimbus logs`: a client of a running server, on a small runtime of its own.
fn run_logs(args: cli::LogsArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("nimbus: starting the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(logs_cmd::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("nimbus: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> Result<()> {
    let clock = Clock::new(settings.clock);
    let (stop, shutdown) = watch::channel(false);
    let metrics = ServerMetrics::default();
    let composition = compose::compose(&settings, &clock, &metrics, shutdown.clone()).await?;

    let keys: Keyring = settings.access_keys.iter().cloned().collect();
    let issued = IssuedKeys::new(composition.issued_credentials.clone(), clock.clone());
    let config = ServerConfig {
        host: settings.host.clone(),
        port: settings.port,
        default_account: settings.account.clone(),
        default_region: settings.region.clone(),
        hostname: settings.hostname.clone(),
        auth: Authenticator::new(settings.auth, keys).with_issued_keys(issued),
        ..ServerConfig::default()
    };
    let mut builder = ServerBuilder::new(config, clock, shutdown)
        .metrics(metrics)
        .version(VERSION)
        .function_urls(composition.function_urls.clone());
    for (service, model) in &composition.services {
        builder = builder.service(service.clone(), model);
    }
    for (prefix, page) in &composition.admin_pages {
        builder = builder.admin_get(prefix, page.clone());
    }
    let server = builder
        .bind()
        .await
        .with_context(|| format!("listening on {}:{}", settings.host, settings.port))?;
    let Some(first) = server.local_addrs().first().copied() else {
        anyhow::bail!("no listener was bound");
    };
    tracing::info!(addrs = ?server.local_addrs(), "listening");
    composition.set_endpoint(&format!("http://{first}"));
    // The one line on stdout: tests and scripts wait for it.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "nimbus {VERSION} listening on http://{first}")?;
    stdout.flush()?;
    drop(stdout);

    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested");
        let _ = stop.send(true);
    });
    server.run().await?;
    composition.close().await;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(err) => {
            tracing::warn!(%err, "SIGTERM handler unavailable; Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
