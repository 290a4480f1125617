//! Finding, starting and stopping the nimbus release binary, and reading its memory use.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::time::timeout;

use crate::http_client::Endpoint;

const READY_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// `$CARGO_TARGET_DIR/release/nimbus`, else the `nimbus` beside this benchmark's own release
/// executable (built into the same target directory), else `target/release/nimbus` in the
/// workspace.
pub fn locate_release_binary() -> Result<PathBuf> {
    let workspace_root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut candidates = Vec::new();
    if let Some(target_dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let target_dir = PathBuf::from(target_dir);
        let target_dir = if target_dir.is_relative() {
            workspace_root.join(target_dir)
        } else {
            target_dir
        };
        candidates.push(target_dir.join("release/nimbus"));
    }
    // Only a release directory: a debug server would measure the wrong thing.
    if let Some(dir) = std::env::current_exe()
        .ok()
        .as_deref()
        .and_then(Path::parent)
        .filter(|dir| dir.ends_with("release"))
    {
        candidates.push(dir.join("nimbus"));
    }
    candidates.push(workspace_root.join("target/release/nimbus"));
    candidates.push(PathBuf::from("target/release/nimbus"));
    candidates
        .iter()
        .find(|path| path.is_file())
        .cloned()
        .ok_or_else(|| {
            anyhow!(
                "no release build of nimbus found (looked at {}); build it first with \
                 `cargo build --release -p nimbus`",
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

/// The URL of a `listening on http://…` line.
pub fn parse_listening_line(line: &str) -> Option<&str> {
    let (_, rest) = line.split_once("listening on ")?;
    let url = rest.split_whitespace().next()?;
    url.starts_with("http://").then_some(url)
}

/// A running `nimbus serve`. Dropping it kills the process.
pub struct ServerProcess {
    child: Child,
    pub pid: u32,
    pub endpoint: Endpoint,
    pub spawned_at: Instant,
}

impl ServerProcess {
    /// Starts `nimbus serve --port 0 --data-dir DIR` and waits for its listening line.
    /// Server logs (stderr) go to `log_path`.
    pub async fn start(binary: &Path, data_dir: &Path, log_path: &Path) -> Result<Self> {
        let log = File::options()
            .create(true)
            .append(true)
            .open(log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        let spawned_at = Instant::now();
        let mut child = Command::new(binary)
            .arg("serve")
            .arg("--port")
            .arg("0")
            .arg("--data-dir")
            .arg(data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let pid = child.id().ok_or_else(|| anyhow!("nimbus exited at once"))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let url = timeout(READY_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = parse_listening_line(&line) {
                    return Ok(url.to_string());
                }
            }
            bail!("nimbus closed its output without a `listening on` line (see server.log)")
        })
        .await
        .map_err(|_| anyhow!("nimbus printed no `listening on` line within {READY_TIMEOUT:?}"))??;
        // Keep reading stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self {
            child,
            pid,
            endpoint: Endpoint::from_url(&url)?,
            spawned_at,
        })
    }

    /// SIGTERM, then wait for the exit (SIGKILL after a timeout).
    pub async fn stop(mut self) -> Result<()> {
        let signalled = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status()
            .await
            .map(|status| status.success())
            .unwrap_or(false);
        if !signalled {
            self.child.start_kill()?;
        }
        match timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(status) => {
                status?;
                Ok(())
            }
            Err(_) => {
                self.child.start_kill()?;
                self.child.wait().await?;
                bail!("nimbus did not stop within {STOP_TIMEOUT:?} of SIGTERM; killed it")
            }
        }
    }

    pub fn memory(&self) -> Result<ProcessMemory> {
        ProcessMemory::read(self.pid)
    }
}

/// Resident memory from `/proc/<pid>/status`, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessMemory {
    pub resident_kib: u64,
    pub peak_resident_kib: u64,
}

impl ProcessMemory {
    pub fn read(pid: u32) -> Result<Self> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .with_context(|| format!("reading /proc/{pid}/status"))?;
        Self::parse(&status).ok_or_else(|| anyhow!("no VmRSS in /proc/{pid}/status"))
    }

    pub fn parse(status: &str) -> Option<Self> {
        let field = |name: &str| -> Option<u64> {
            status.lines().find_map(|line| {
                let rest = line.strip_prefix(name)?.strip_prefix(':')?;
                rest.split_whitespace().next()?.parse().ok()
            })
        };
        let resident_kib = field("VmRSS")?;
        Some(Self {
            resident_kib,
            peak_resident_kib: field("VmHWM").unwrap_or(resident_kib),
        })
    }

    pub fn resident_mib(&self) -> f64 {
        self.resident_kib as f64 / 1024.0
    }

    pub fn peak_resident_mib(&self) -> f64 {
        self.peak_resident_kib as f64 / 1024.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_lines() {
        assert_eq!(
            parse_listening_line("nimbus 0.1.0 listening on http://127.0.0.1:46439"),
            Some("http://127.0.0.1:46439")
        );
        assert_eq!(
            parse_listening_line("listening on http://[::1]:4566 and more"),
            Some("http://[::1]:4566")
        );
        assert_eq!(parse_listening_line("listening on 127.0.0.1:1"), None);
        assert_eq!(parse_listening_line("starting"), None);
    }

    #[test]
    fn memory_from_proc_status() {
        let status = "Name:\tnimbus\nVmHWM:\t   20480 kB\nVmRSS:\t    9864 kB\nThreads:\t3\n";
        let memory = ProcessMemory::parse(status).unwrap();
        assert_eq!(memory.resident_kib, 9864);
        assert_eq!(memory.peak_resident_kib, 20480);
        assert_eq!(memory.peak_resident_mib(), 20.0);
        assert_eq!(ProcessMemory::parse("Name:\tx\n"), None);
    }

    #[test]
    fn own_memory_is_readable() {
        let memory = ProcessMemory::read(std::process::id()).unwrap();
        assert!(memory.resident_kib > 0);
    }
}
