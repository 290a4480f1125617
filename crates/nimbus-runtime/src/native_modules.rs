//! Compiled Python extension modules built for another interpreter or machine. CPython would
//! not even see such a file (its name carries a foreign suffix), so the handler's import fails
//! with a bare `No module named …`; nimbus names the file and both ABIs instead. Checked once
//! per code directory and interpreter: file names only, nothing is opened but `WHEEL` files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use parking_lot::Mutex;

/// Files looked at per tree at most; a function package is far smaller.
const MAX_ENTRIES: usize = 200_000;

/// The interpreter a function runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PythonAbi {
    pub major: u32,
    pub minor: u32,
}

impl PythonAbi {
    /// From `Python 3.11.7`.
    pub fn from_version(version: &str) -> Option<PythonAbi> {
        let mut parts = version.trim_start_matches("Python ").split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(PythonAbi { major, minor })
    }
}

/// A module that cannot load on this interpreter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignModule {
    /// The file, relative to the code or layer directory.
    pub file: String,
    /// What it was built for, e.g. `CPython 3.12 on aarch64 (glibc)`.
    pub built_for: String,
}

/// What a file name or wheel tag says a module needs.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    /// `(3, 12)`; `None` when any CPython 3 will do.
    python: Option<(u32, u32)>,
    /// Stable ABI (`abi3`): that version or any later one.
    stable_abi: bool,
    /// `x86_64`, `aarch64`, …; `None` for pure code.
    arch: Option<String>,
    /// `glibc`, `musl`, `macOS`, `Windows`; `None` for pure code.
    platform: Option<&'static str>,
}

/// `glibc` or `musl`.
pub(crate) fn host_platform() -> &'static str {
    static MUSL: OnceLock<bool> = OnceLock::new();
    let musl = *MUSL.get_or_init(|| {
        std::fs::read_dir("/lib")
            .map(|entries| {
                entries
                    .flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("ld-musl-"))
            })
            .unwrap_or(false)
    });
    if musl { "musl" } else { "glibc" }
}

impl Target {
    fn runs_on(&self, abi: PythonAbi) -> bool {
        let python_ok = match self.python {
            None => true,
            Some((major, minor)) if self.stable_abi => major == abi.major && minor <= abi.minor,
            Some(version) => version == (abi.major, abi.minor),
        };
        let arch_ok = self
            .arch
            .as_deref()
            .is_none_or(|arch| arch == std::env::consts::ARCH);
        let platform_ok = self.platform.is_none_or(|p| p == host_platform());
        python_ok && arch_ok && platform_ok
    }

    fn describe(&self) -> String {
        let python = match (self.python, self.stable_abi) {
            (Some((major, minor)), true) => format!("CPython {major}.{minor}+ (abi3)"),
            (Some((major, minor)), false) => format!("CPython {major}.{minor}"),
            (None, _) => "CPython 3".to_owned(),
        };
        match (&self.arch, self.platform) {
            (Some(arch), Some(platform)) => format!("{python} on {arch} ({platform})"),
            (None, Some(platform)) => format!("{python} on {platform}"),
            _ => python,
        }
    }
}

/// `312` → `(3, 12)`.
fn version_digits(digits: &str) -> Option<(u32, u32)> {
    let digits = digits.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let (major, minor) = digits.split_at_checked(1)?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// `_x.cpython-312-x86_64-linux-gnu.so`, `_x.cpython-37m-aarch64-linux-musl.so`,
/// `_x.cpython-312-darwin.so`. Plain `_x.so` and `_x.abi3.so` say nothing checkable.
fn target_of_extension(name: &str) -> Option<Target> {
    let stem = name.strip_suffix(".so")?;
    let (_, tag) = stem.rsplit_once('.')?;
    let rest = tag.strip_prefix("cpython-")?;
    let mut parts = rest.splitn(2, '-');
    let python = version_digits(parts.next()?)?;
    let platform_tag = parts.next()?;
    let (arch, platform) = if platform_tag == "darwin" {
        (None, "macOS")
    } else {
        let (arch, system) = platform_tag.split_once("-linux-")?;
        let platform = match system {
            "gnu" => "glibc",
            "musl" => "musl",
            _ => return None,
        };
        (Some(arch.replace("arm64", "aarch64")), platform)
    };
    Some(Target {
        python: Some(python),
        stable_abi: false,
        arch,
        platform: Some(platform),
    })
}

/// One `Tag:` of a wheel, e.g. `cp312-cp312-manylinux_2_17_x86_64` or `py3-none-any`.
fn target_of_wheel_tag(tag: &str) -> Option<Target> {
    let mut parts = tag.trim().splitn(3, '-');
    let python_tag = parts.next()?;
    let abi_tag = parts.next()?;
    let platform_tag = parts.next()?;
    let python = python_tag
        .strip_prefix("cp")
        .and_then(version_digits)
        .filter(|_| abi_tag != "none");
    let (arch, platform) = if platform_tag == "any" {
        (None, None)
    } else if let Some(rest) = platform_tag
        .strip_prefix("manylinux")
        .or_else(|| platform_tag.strip_prefix("linux"))
    {
        (wheel_arch(rest), Some("glibc"))
    } else if let Some(rest) = platform_tag.strip_prefix("musllinux") {
        (wheel_arch(rest), Some("musl"))
    } else if platform_tag.starts_with("macosx") {
        (None, Some("macOS"))
    } else if platform_tag.starts_with("win") {
        (None, Some("Windows"))
    } else {
        return None;
    };
    Some(Target {
        python,
        stable_abi: abi_tag == "abi3",
        arch,
        platform,
    })
}

/// The machine at the end of a Linux platform tag (`_2_17_x86_64`, `2014_aarch64`).
fn wheel_arch(rest: &str) -> Option<String> {
    ["x86_64", "aarch64", "i686", "armv7l", "ppc64le", "s390x"]
        .into_iter()
        .find(|arch| rest.ends_with(arch))
        .map(str::to_owned)
}

fn walk(root: &Path, found: &mut Vec<PathBuf>) {
    let mut pending = vec![root.to_path_buf()];
    let mut seen = 0;
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                return;
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() {
                pending.push(path);
            } else {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                let wheel = name == "WHEEL"
                    && dir
                        .file_name()
                        .is_some_and(|d| d.to_string_lossy().ends_with(".dist-info"));
                if wheel || name.ends_with(".so") {
                    found.push(path);
                }
            }
        }
    }
}

fn first_foreign(root: &Path, abi: PythonAbi) -> Option<ForeignModule> {
    let mut files = Vec::new();
    walk(root, &mut files);
    files.sort();
    let relative = |path: &Path| {
        path.strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    // Extension modules first: their names are what the import actually trips on.
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "so"))
    {
        let name = path.file_name()?.to_string_lossy().into_owned();
        if let Some(target) = target_of_extension(&name).filter(|t| !t.runs_on(abi)) {
            return Some(ForeignModule {
                file: relative(path),
                built_for: target.describe(),
            });
        }
    }
    for path in files.iter().filter(|p| p.ends_with("WHEEL")) {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let targets: Vec<Target> = text
            .lines()
            .filter_map(|line| line.strip_prefix("Tag:"))
            .filter_map(target_of_wheel_tag)
            .collect();
        if !targets.is_empty() && !targets.iter().any(|t| t.runs_on(abi)) {
            let dist_info = path.parent().unwrap_or(path);
            return Some(ForeignModule {
                file: relative(dist_info),
                built_for: targets[0].describe(),
            });
        }
    }
    None
}

/// The first module under `roots` (the code, then each layer) that this interpreter cannot
/// load. Cached per directory and interpreter: code directories are named by their digest.
pub fn find_foreign_module(roots: &[PathBuf], abi: PythonAbi) -> Option<ForeignModule> {
    type Cache = Mutex<HashMap<(PathBuf, PythonAbi), Option<ForeignModule>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    for root in roots {
        let key = (root.clone(), abi);
        let known = cache.lock().get(&key).cloned();
        let found = match known {
            Some(found) => found,
            None => {
                let found = first_foreign(root, abi);
                cache.lock().insert(key, found.clone());
                found
            }
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const PY311: PythonAbi = PythonAbi {
        major: 3,
        minor: 11,
    };

    fn host(tag_arch: &str) -> String {
        tag_arch.replace("HOST", std::env::consts::ARCH)
    }

    #[test]
    fn extension_names() {
        let ok = host("_x.cpython-311-HOST-linux-gnu.so");
        assert!(target_of_extension(&ok).is_some_and(|t| t.runs_on(PY311)));
        let other_version = host("_x.cpython-312-HOST-linux-gnu.so");
        let target = target_of_extension(&other_version);
        assert!(target.as_ref().is_some_and(|t| !t.runs_on(PY311)));
        assert_eq!(
            target.map(|t| t.describe()),
            Some(format!(
                "CPython 3.12 on {} (glibc)",
                std::env::consts::ARCH
            ))
        );
        let foreign_arch = if std::env::consts::ARCH == "x86_64" {
            "_x.cpython-311-aarch64-linux-gnu.so"
        } else {
            "_x.cpython-311-x86_64-linux-gnu.so"
        };
        assert!(target_of_extension(foreign_arch).is_some_and(|t| !t.runs_on(PY311)));
        let musl = host("_x.cpython-311-HOST-linux-musl.so");
        assert!(target_of_extension(&musl).is_some_and(|t| !t.runs_on(PY311)));
        assert!(target_of_extension("_x.cpython-37m-x86_64-linux-gnu.so").is_some());
        assert!(target_of_extension("_x.abi3.so").is_none());
        assert!(target_of_extension("libfoo.so").is_none());
    }

    #[test]
    fn wheel_tags() {
        let abi3 = host("cp38-abi3-manylinux_2_17_HOST");
        assert!(target_of_wheel_tag(&abi3).is_some_and(|t| t.runs_on(PY311)));
        let abi3_newer = host("cp312-abi3-manylinux_2_17_HOST");
        assert!(target_of_wheel_tag(&abi3_newer).is_some_and(|t| !t.runs_on(PY311)));
        assert!(target_of_wheel_tag("py3-none-any").is_some_and(|t| t.runs_on(PY311)));
        let musl = host("cp311-cp311-musllinux_1_1_HOST");
        assert!(target_of_wheel_tag(&musl).is_some_and(|t| !t.runs_on(PY311)));
        assert!(
            target_of_wheel_tag("cp311-cp311-macosx_11_0_arm64").is_some_and(|t| !t.runs_on(PY311))
        );
    }

    #[test]
    fn trees_are_scanned_once() {
        let dir = std::env::temp_dir().join(format!("nimbus-native-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("pkg")).unwrap_or_default();
        std::fs::write(dir.join("pkg/_speed.cpython-313-x86_64-linux-gnu.so"), b"")
            .unwrap_or_default();
        let found = find_foreign_module(std::slice::from_ref(&dir), PY311);
        assert_eq!(
            found.as_ref().map(|f| f.file.as_str()),
            Some("pkg/_speed.cpython-313-x86_64-linux-gnu.so")
        );
        // Removing the file changes nothing: the answer is kept per directory.
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(find_foreign_module(&[dir], PY311), found);
    }
}
