//! Function code the suites deploy: zips built in memory, and the Rust test function of
//! tests/rust-function (`provided.al2023`).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// One zip entry: name, content, unix mode.
pub(crate) type ZipEntry = (&'static str, Vec<u8>, u32);

/// A zip of `(name, content, unix mode)` entries.
pub(crate) fn zip_of(files: &[(&str, Vec<u8>, u32)]) -> Result<Vec<u8>> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut writer = zip::ZipWriter::new(&mut out);
    for (name, content, mode) in files {
        let options = zip::write::SimpleFileOptions::default().unix_permissions(*mode);
        writer.start_file(*name, options)?;
        writer.write_all(content)?;
    }
    writer.finish()?;
    Ok(out.into_inner())
}

/// The Rust test function: `NIMBUS_RUST_FUNCTION`, else the release or debug build beside
/// the workspace target.
pub(crate) fn rust_function() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("NIMBUS_RUST_FUNCTION") {
        return Some(PathBuf::from(path));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    ["release", "debug"]
        .iter()
        .map(|profile| target.join(profile).join("nimbus-test-rust-function"))
        .find(|path| path.is_file())
}

/// The zip entry of a `provided` function whose `bootstrap` is `binary`.
pub(crate) fn bootstrap_entry(binary: &Path) -> Result<ZipEntry> {
    let code = std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    Ok(("bootstrap", code, 0o755))
}

/// The zip of a `provided` function whose `bootstrap` is `binary`.
pub(crate) fn bootstrap_zip(binary: &Path) -> Result<Vec<u8>> {
    zip_of(&[bootstrap_entry(binary)?])
}

/// Said when the Rust test function has not been built.
pub(crate) const RUST_FUNCTION_MISSING: &str = "no Rust function: build it with `cargo build --release -p nimbus-test-rust-function` or set NIMBUS_RUST_FUNCTION";

/// The Rust test function's path and its `bootstrap` zip entry; `None`, said on stderr, when
/// it has not been built, so a suite skips it.
pub(crate) fn rust_function_bootstrap() -> Result<Option<(PathBuf, ZipEntry)>> {
    let Some(path) = rust_function() else {
        eprintln!("{RUST_FUNCTION_MISSING}; skipping Rust");
        return Ok(None);
    };
    let entry = bootstrap_entry(&path)?;
    Ok(Some((path, entry)))
}
