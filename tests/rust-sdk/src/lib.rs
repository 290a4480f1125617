//! The spawned `nimbus serve` that the end-to-end tests in `tests/` drive with the AWS SDK for
//! Rust.
//!
//! The binary is not built here: it is taken from `$NIMBUS_BIN`, else
//! `$CARGO_TARGET_DIR/debug/nimbus`, else `<repo>/target/debug/nimbus`; only when none exists is
//! `cargo build -p nimbus` run, once per test process.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{OnceLock, mpsc};
use std::time::Duration;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn binary_candidates() -> Vec<PathBuf> {
    let root = repo_root();
    let absolute = |p: PathBuf| if p.is_absolute() { p } else { root.join(p) };
    let mut out = Vec::new();
    if let Some(bin) = std::env::var_os("NIMBUS_BIN").filter(|v| !v.is_empty()) {
        out.push(absolute(PathBuf::from(bin)));
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        out.push(absolute(PathBuf::from(dir)).join("debug/nimbus"));
    }
    out.push(root.join("target/debug/nimbus"));
    out
}

/// The nimbus binary; builds it (once) only when no candidate exists.
fn nimbus_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(found) = binary_candidates().into_iter().find(|p| p.is_file()) {
            return found;
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "nimbus"])
            .current_dir(repo_root())
            .status()
            .expect("run cargo build -p nimbus");
        assert!(status.success(), "cargo build -p nimbus failed: {status}");
        binary_candidates()
            .into_iter()
            .find(|p| p.is_file())
            .expect("nimbus binary after cargo build -p nimbus")
    })
}

/// A running `nimbus serve`; the child is killed when this is dropped.
pub struct Nimbus {
    child: Child,
    endpoint: String,
}

impl Nimbus {
    /// Spawns `nimbus serve` on port 0, in memory, with the test clock, and waits until it
    /// prints its address.
    #[must_use]
    pub fn start() -> Nimbus {
        let mut child = Command::new(nimbus_bin())
            .args(["serve", "--port", "0", "--in-memory", "--clock", "test"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn nimbus");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent && let Some(url) = listening_url(&line) {
                    let _ = tx.send(url.to_owned());
                    sent = true;
                }
                // Keep draining so the server never writes into a closed pipe.
            }
        });
        // Build the guard before waiting so a timeout still kills the child.
        let mut nimbus = Nimbus {
            child,
            endpoint: String::new(),
        };
        nimbus.endpoint = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("`listening on http://…` within 30 s");
        nimbus
    }

    /// The `http://host:port` the server listens on.
    #[must_use]
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl Drop for Nimbus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `http://…` address in a `… listening on http://host:port` line.
fn listening_url(line: &str) -> Option<&str> {
    let rest = line.split("listening on ").nth(1)?;
    let url = rest.split_whitespace().next()?;
    url.starts_with("http://").then_some(url)
}

#[cfg(test)]
mod tests {
    use super::listening_url;

    #[test]
    fn ready_line_parsing() {
        assert_eq!(
            listening_url("nimbus 0.1.0 listening on http://127.0.0.1:4566"),
            Some("http://127.0.0.1:4566")
        );
        assert_eq!(listening_url("nimbus 0.1.0 starting"), None);
    }
}
