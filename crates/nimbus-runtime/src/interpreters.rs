//! Which program starts an instance: the matching host interpreter with a bundled runtime
//! client, or the zip's `bootstrap`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use parking_lot::Mutex;

use crate::native_modules::ForeignModule;

/// The kinds of runtime nimbus runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeFamily {
    Python,
    Node,
    Provided,
}

impl RuntimeFamily {
    /// The family of an AWS runtime identifier, or `None` when nimbus cannot run it.
    pub fn of(runtime: &str) -> Option<RuntimeFamily> {
        if runtime.starts_with("python3.") {
            Some(RuntimeFamily::Python)
        } else if runtime.starts_with("nodejs") {
            Some(RuntimeFamily::Node)
        } else if runtime.starts_with("provided") {
            Some(RuntimeFamily::Provided)
        } else {
            None
        }
    }
}

/// The program, arguments and any warning for the function's log.
#[derive(Debug, Clone, PartialEq)]
pub struct Launcher {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub warning: Option<String>,
    /// The interpreter's version (`Python 3.11.7`, `v20.20.2`); `None` for `bootstrap`.
    pub version: Option<String>,
}

/// Why a function cannot be started; each becomes the error the invoker sees.
#[derive(Debug, Clone, PartialEq)]
pub enum LaunchError {
    UnsupportedRuntime(String),
    NoInterpreter {
        runtime: String,
        tried: Vec<String>,
    },
    NoBootstrap,
    WrongArchitecture(String),
    /// A compiled module of the function's package that the interpreter cannot load.
    ForeignModule {
        /// The handler's module (`app` of `app.handler`).
        handler_module: String,
        module: ForeignModule,
        /// `Python 3.11.7`.
        interpreter: String,
    },
}

impl LaunchError {
    /// AWS's error type for it.
    pub fn error_type(&self) -> &'static str {
        match self {
            LaunchError::UnsupportedRuntime(_) | LaunchError::NoInterpreter { .. } => {
                "Runtime.InvalidRuntime"
            }
            LaunchError::NoBootstrap | LaunchError::WrongArchitecture(_) => {
                "Runtime.InvalidEntrypoint"
            }
            LaunchError::ForeignModule { .. } => "Runtime.ImportModuleError",
        }
    }
}

impl std::fmt::Display for LaunchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LaunchError::UnsupportedRuntime(r) => write!(f, "nimbus cannot run the runtime {r}"),
            LaunchError::NoInterpreter { runtime, tried } => write!(
                f,
                "no interpreter for {runtime} on this host (looked for {})",
                tried.join(", ")
            ),
            LaunchError::NoBootstrap => f.write_str(
                "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]",
            ),
            LaunchError::WrongArchitecture(what) => write!(
                f,
                "bootstrap is a {what} executable, which this host cannot run (exec format error)"
            ),
            LaunchError::ForeignModule {
                handler_module,
                module,
                interpreter,
            } => write!(
                f,
                "Unable to import module '{handler_module}': {} was built for {}, but this function runs on {interpreter} on {} ({}); package it for that interpreter and machine",
                module.file,
                module.built_for,
                std::env::consts::ARCH,
                crate::native_modules::host_platform(),
            ),
        }
    }
}

/// The interpreter names to try for a runtime, preferred first.
fn candidates(runtime: &str, family: RuntimeFamily) -> Vec<String> {
    match family {
        RuntimeFamily::Python => vec![runtime.to_owned(), "python3".into()],
        RuntimeFamily::Node => vec!["node".into(), "nodejs".into()],
        RuntimeFamily::Provided => Vec::new(),
    }
}

/// An interpreter found on the host.
#[derive(Debug, Clone, PartialEq)]
struct Interpreter {
    /// `Python 3.11.7` or `v20.20.2`.
    version: String,
    /// The executable itself. Launching it directly skips wrappers such as pyenv's shims,
    /// which cost a shell and a second process on every instance start.
    executable: PathBuf,
}

/// The interpreter a name runs, or `None` when it does not run. Cached: a host's
/// interpreters do not change while nimbus runs, and probing costs a process start.
fn probe(name: &str) -> Option<Interpreter> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Interpreter>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(known) = cache.lock().get(name) {
        return known.clone();
    }
    let script: &[&str] = if name.starts_with("python") {
        &[
            "-c",
            "import sys; print('Python ' + sys.version.split()[0]); print(sys.executable)",
        ]
    } else {
        &["-p", "process.version + '\\n' + process.execPath"]
    };
    let found = std::process::Command::new(name)
        .args(script)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let mut lines = text.lines();
            let version = lines.next()?.trim().to_owned();
            let executable = PathBuf::from(lines.next()?.trim());
            executable.is_file().then_some(Interpreter {
                version,
                executable,
            })
        });
    cache.lock().insert(name.to_owned(), found.clone());
    found
}

/// Probes the usual interpreters ahead of the first function (a blocking call: run it off
/// the async runtime).
pub fn warm_interpreter_cache() {
    for name in [
        "python3",
        "python3.9",
        "python3.10",
        "python3.11",
        "python3.12",
        "python3.13",
        "python3.14",
        "node",
    ] {
        probe(name);
    }
}

/// The version a runtime name asks for: `python3.12` → `3.12`, `nodejs20.x` → `20`.
fn wanted_version(runtime: &str, family: RuntimeFamily) -> String {
    match family {
        RuntimeFamily::Python => runtime.trim_start_matches("python").to_owned(),
        _ => runtime
            .trim_start_matches("nodejs")
            .trim_end_matches(".x")
            .to_owned(),
    }
}

/// Chooses how to start a function of `runtime` whose code is in `task_root`; `client` is the
/// bundled runtime client for interpreted runtimes.
pub fn resolve_launcher(
    runtime: &str,
    task_root: &Path,
    client: Option<&Path>,
) -> Result<Launcher, LaunchError> {
    let family = RuntimeFamily::of(runtime)
        .ok_or_else(|| LaunchError::UnsupportedRuntime(runtime.into()))?;
    if family == RuntimeFamily::Provided {
        let bootstrap = task_root.join("bootstrap");
        if !bootstrap.is_file() {
            return Err(LaunchError::NoBootstrap);
        }
        check_architecture(&bootstrap)?;
        return Ok(Launcher {
            program: bootstrap,
            args: Vec::new(),
            warning: None,
            version: None,
        });
    }
    let tried = candidates(runtime, family);
    let wanted = wanted_version(runtime, family);
    for name in &tried {
        let Some(Interpreter {
            version,
            executable,
        }) = probe(name)
        else {
            continue;
        };
        let matches = match family {
            RuntimeFamily::Python => version.starts_with(&format!("Python {wanted}")),
            _ => version.trim_start_matches('v').split('.').next() == Some(wanted.as_str()),
        };
        let warning = (!matches).then(|| {
            format!("WARNING nimbus: {runtime} is not installed on this host; running with {name} ({version})")
        });
        let mut args = Vec::new();
        if family == RuntimeFamily::Python {
            args.push("-u".to_owned());
        }
        if let Some(client) = client {
            args.push(client.display().to_string());
        }
        return Ok(Launcher {
            program: executable,
            args,
            warning,
            version: Some(version),
        });
    }
    Err(LaunchError::NoInterpreter {
        runtime: runtime.to_owned(),
        tried,
    })
}

/// Refuses an ELF `bootstrap` built for another machine, which would fail with a bare
/// `exec format error`.
fn check_architecture(bootstrap: &Path) -> Result<(), LaunchError> {
    use std::io::Read;
    let mut head = [0_u8; 20];
    let Ok(mut file) = std::fs::File::open(bootstrap) else {
        return Err(LaunchError::NoBootstrap);
    };
    if file.read_exact(&mut head).is_err() || &head[..4] != b"\x7fELF" {
        return Ok(()); // a script: its interpreter line decides
    }
    let machine = u16::from_le_bytes([head[18], head[19]]);
    let (name, host) = match machine {
        0x3e => ("x86_64", "x86_64"),
        0xb7 => ("arm64", "aarch64"),
        _ => ("foreign", ""),
    };
    if host == std::env::consts::ARCH {
        Ok(())
    } else {
        Err(LaunchError::WrongArchitecture(name.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_versions() {
        assert_eq!(RuntimeFamily::of("python3.12"), Some(RuntimeFamily::Python));
        assert_eq!(RuntimeFamily::of("nodejs20.x"), Some(RuntimeFamily::Node));
        assert_eq!(
            RuntimeFamily::of("provided.al2023"),
            Some(RuntimeFamily::Provided)
        );
        assert_eq!(RuntimeFamily::of("java21"), None);
        assert_eq!(wanted_version("python3.12", RuntimeFamily::Python), "3.12");
        assert_eq!(wanted_version("nodejs22.x", RuntimeFamily::Node), "22");
    }

    #[test]
    fn provided_needs_a_bootstrap() {
        let dir = std::env::temp_dir().join(format!("nimbus-no-bootstrap-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        assert_eq!(
            resolve_launcher("provided.al2023", &dir, None),
            Err(LaunchError::NoBootstrap)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[cfg(test)]
mod messages {
    use super::*;

    #[test]
    fn missing_interpreter_is_explained() {
        let err = LaunchError::NoInterpreter {
            runtime: "python3.12".into(),
            tried: vec!["python3.12".into(), "python3".into()],
        };
        assert_eq!(err.error_type(), "Runtime.InvalidRuntime");
        assert_eq!(
            err.to_string(),
            "no interpreter for python3.12 on this host (looked for python3.12, python3)"
        );
    }
}
