//! The AWS SDK that Lambda's managed runtimes carry: boto3 for Python, the JavaScript SDK v3
//! for Node. Functions find it without bundling it. nimbus installs a pinned version once per
//! Python minor version and once for Node, on first use, into a directory of its own; a
//! directory put there by hand (without nimbus's pin marker) is used as it is.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::process::Command;

/// The boto3 release installed for Python functions.
pub const BOTO3_PIN: &str = "1.44.5";
/// The JavaScript SDK v3 packages installed for Node functions, each at a pinned release
/// (the SDK publishes a package only when it changes, so releases differ): the clients of
/// the services nimbus serves.
pub const JS_SDK_PACKAGES: &[(&str, &str)] = &[
    ("@aws-sdk/client-sqs", "3.1169.0"),
    ("@aws-sdk/client-sns", "3.1169.0"),
    ("@aws-sdk/client-lambda", "3.1162.0"),
    ("@aws-sdk/client-dynamodb", "3.1162.0"),
    ("@aws-sdk/lib-dynamodb", "3.1162.0"),
    ("@aws-sdk/client-dynamodb-streams", "3.1141.0"),
    ("@aws-sdk/client-sts", "3.1169.0"),
    ("@aws-sdk/client-iam", "3.1169.0"),
    ("@aws-sdk/client-cloudwatch-logs", "3.1169.0"),
];
/// Written into an installed SDK directory: what was installed, so a new pin reinstalls.
const PIN_FILE: &str = ".nimbus-sdk-pin";
/// After a failed install, cold starts run without the SDK for this long before trying again.
const RETRY_AFTER: Duration = Duration::from_secs(300);
/// An install that takes longer than this is given up (the cold start waiting for it runs
/// without the SDK).
const INSTALL_TIMEOUT: Duration = Duration::from_secs(300);

/// Which SDK a function needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdkKind {
    /// boto3 for one Python minor version (`3.11`), installed with that interpreter.
    Python {
        minor_version: String,
        interpreter: PathBuf,
    },
    /// The JavaScript SDK v3 (pure JavaScript: one install serves every Node version).
    Node,
}

impl SdkKind {
    /// The directory name under the SDK root: `python3.11` or `nodejs`.
    fn dir_name(&self) -> String {
        match self {
            SdkKind::Python { minor_version, .. } => format!("python{minor_version}"),
            SdkKind::Node => "nodejs".to_owned(),
        }
    }

    fn pin(&self) -> String {
        match self {
            SdkKind::Python { .. } => format!("boto3=={BOTO3_PIN}"),
            SdkKind::Node => JS_SDK_PACKAGES
                .iter()
                .map(|(name, version)| format!("{name}@{version}"))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    /// The search-path entry inside an SDK directory.
    fn search_path(&self, dir: &Path) -> PathBuf {
        match self {
            SdkKind::Python { .. } => dir.to_path_buf(),
            SdkKind::Node => dir.join("node_modules"),
        }
    }
}

/// Installs and finds the managed SDKs under one root directory.
pub struct ManagedSdks {
    root: PathBuf,
    /// One lock per SDK directory: concurrent cold starts wait for one install.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Recent failures, so that every cold start does not retry a failing install.
    failures: Mutex<HashMap<String, (Instant, String)>>,
}

impl ManagedSdks {
    pub fn new(root: PathBuf) -> ManagedSdks {
        ManagedSdks {
            root,
            locks: Mutex::default(),
            failures: Mutex::default(),
        }
    }

    /// The path to put on `PYTHONPATH` / `NODE_PATH` for `kind`, installing the SDK first if
    /// it is not there yet. `Err` says why it is missing, for the function's log.
    pub async fn search_path(&self, kind: &SdkKind) -> Result<PathBuf, String> {
        let name = kind.dir_name();
        let dir = self.root.join(&name);
        if installed(&dir, kind) {
            return Ok(kind.search_path(&dir));
        }
        let lock = Arc::clone(self.locks.lock().entry(name.clone()).or_default());
        let _guard = lock.lock().await;
        if installed(&dir, kind) {
            return Ok(kind.search_path(&dir)); // installed while this one waited
        }
        if let Some((at, reason)) = self.failures.lock().get(&name)
            && at.elapsed() < RETRY_AFTER
        {
            return Err(reason.clone());
        }
        tracing::info!(sdk = kind.pin(), dir = %dir.display(), "installing the managed AWS SDK for functions");
        match self.install(kind, &dir).await {
            Ok(()) => {
                self.failures.lock().remove(&name);
                Ok(kind.search_path(&dir))
            }
            Err(reason) => {
                let reason = format!(
                    "could not install {} into {}: {reason}",
                    kind.pin(),
                    dir.display()
                );
                tracing::warn!(%reason, "managed AWS SDK unavailable");
                self.failures
                    .lock()
                    .insert(name, (Instant::now(), reason.clone()));
                Err(reason)
            }
        }
    }

    /// Installs into a fresh directory beside the final one, then renames it into place, so
    /// a half-finished install is never used.
    async fn install(&self, kind: &SdkKind, dir: &Path) -> Result<(), String> {
        let staging = self.root.join(format!(
            ".{}-{}",
            kind.dir_name(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&staging).map_err(|e| e.to_string())?;
        let result = run_installer(kind, &staging).await.and_then(|()| {
            std::fs::write(staging.join(PIN_FILE), kind.pin()).map_err(|e| e.to_string())?;
            // An older pin's directory is moved away first; rename cannot replace a directory.
            if dir.exists() {
                let old = staging.with_extension("old");
                std::fs::rename(dir, &old).map_err(|e| e.to_string())?;
                let _ = std::fs::remove_dir_all(&old);
            }
            match std::fs::rename(&staging, dir) {
                Ok(()) => Ok(()),
                // Another nimbus sharing the directory finished first.
                Err(_) if installed(dir, kind) => Ok(()),
                Err(err) => Err(err.to_string()),
            }
        });
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        result
    }
}

/// Present: installed by nimbus with the current pin, or put there by hand (no marker).
fn installed(dir: &Path, kind: &SdkKind) -> bool {
    if !dir.is_dir() {
        return false;
    }
    match std::fs::read_to_string(dir.join(PIN_FILE)) {
        Ok(pin) => pin == kind.pin(),
        Err(_) => true,
    }
}

async fn run_installer(kind: &SdkKind, staging: &Path) -> Result<(), String> {
    let mut command = match kind {
        SdkKind::Python { interpreter, .. } => {
            let mut command = Command::new(interpreter);
            command
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(["--no-input", "--no-warn-script-location", "--retries", "1"])
                .args(["--timeout", "20", "--target"])
                .arg(staging)
                .arg(format!("boto3=={BOTO3_PIN}"));
            command
        }
        SdkKind::Node => {
            let mut command = Command::new("npm");
            command
                .args(["install", "--no-audit", "--no-fund", "--no-save"])
                .args(["--loglevel=error", "--fetch-retries=1", "--prefix"])
                .arg(staging)
                .args(
                    JS_SDK_PACKAGES
                        .iter()
                        .map(|(name, version)| format!("{name}@{version}")),
                );
            command
        }
    };
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(INSTALL_TIMEOUT, command.output())
        .await
        .map_err(|_| format!("gave up after {} seconds", INSTALL_TIMEOUT.as_secs()))?
        .map_err(|e| e.to_string())?;
    if output.status.success() {
        return Ok(());
    }
    // The first lines say what went wrong; npm ends with where its debug log is.
    let stderr = String::from_utf8_lossy(&output.stderr);
    let reason: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains("A complete log of this run"))
        .take(3)
        .collect();
    let reason = if reason.is_empty() {
        "no error output".to_owned()
    } else {
        reason.join(" ")
    };
    Err(format!("installer exited with {}: {reason}", output.status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_prepared_directory_is_used_as_it_is() {
        let root = std::env::temp_dir().join(format!("nimbus-sdk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("nodejs/node_modules")).unwrap_or_default();
        let sdks = ManagedSdks::new(root.clone());
        assert_eq!(
            sdks.search_path(&SdkKind::Node).await,
            Ok(root.join("nodejs/node_modules"))
        );
        // A directory nimbus installed for another pin is not.
        std::fs::write(
            root.join("nodejs").join(PIN_FILE),
            "@aws-sdk/client-sqs@1.0.0",
        )
        .unwrap_or_default();
        assert!(!installed(&root.join("nodejs"), &SdkKind::Node));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[tokio::test]
    async fn a_failed_install_says_why_and_is_not_retried_at_once() {
        let root = std::env::temp_dir().join(format!("nimbus-sdk-fail-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let sdks = ManagedSdks::new(root.clone());
        let kind = SdkKind::Python {
            minor_version: "3.99".into(),
            interpreter: root.join("no-such-python"),
        };
        let first = sdks.search_path(&kind).await;
        assert!(
            first.as_ref().is_err_and(|e| e.contains("boto3==")),
            "{first:?}"
        );
        assert_eq!(sdks.search_path(&kind).await, first);
        assert!(!root.join("python3.99").exists());
        let _ = std::fs::remove_dir_all(&root);
    }
}
