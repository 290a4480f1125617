//! Function code: checking an uploaded zip, its digest, and unpacking it for execution.

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// AWS's limit for a zip uploaded directly (50 MB).
pub const MAX_ZIP_BYTES: usize = 50 * 1024 * 1024;
/// AWS's limit for unpacked code (250 MB).
const MAX_UNPACKED_BYTES: u64 = 250 * 1024 * 1024;

/// Why a zip was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum ZipError {
    /// Not a zip, or a corrupt one.
    Unreadable,
    /// An entry would land outside the code directory (`../x`, `/etc/x`).
    UnsafePath(String),
    TooLarge,
    Io(String),
}

/// `CodeSha256` as AWS reports it: base64 of the SHA-256 of the zip.
pub fn sha256_base64(zip: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(zip))
}

/// A directory name for one code digest, from the stored `CodeSha256`, so that finding
/// unpacked code needs neither the zip nor hashing it.
pub fn digest_dir_name(code_sha256: &str) -> String {
    match base64::engine::general_purpose::STANDARD.decode(code_sha256) {
        Ok(digest) => hex::encode(&digest[..digest.len().min(16)]),
        // Not written by nimbus; still one directory per value.
        Err(_) => hex::encode(&Sha256::digest(code_sha256.as_bytes())[..16]),
    }
}

/// Reads every entry's name, refusing unreadable zips and unsafe paths, without writing.
pub fn check(zip: &[u8]) -> Result<(), ZipError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).map_err(|_| ZipError::Unreadable)?;
    let mut total = 0_u64;
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|_| ZipError::Unreadable)?;
        if entry.enclosed_name().is_none() {
            return Err(ZipError::UnsafePath(
                entry.name().map(|n| n.into_owned()).unwrap_or_default(),
            ));
        }
        total = total.saturating_add(entry.size());
    }
    if total > MAX_UNPACKED_BYTES {
        return Err(ZipError::TooLarge);
    }
    Ok(())
}

/// Unpacks into `dir` (replacing a partial earlier attempt), keeping unix modes so that
/// `bootstrap` stays executable. Writes into a sibling directory first and renames, so a
/// directory that exists is always complete.
pub fn unpack(zip: &[u8], dir: &Path) -> Result<(), ZipError> {
    if dir.is_dir() {
        return Ok(());
    }
    // Concurrent cold starts of one function (or of functions sharing a layer) wait for the
    // first unpack instead of each writing its own copy of thousands of files.
    let lock = unpack_lock(dir);
    let _unpacking = lock.lock();
    if dir.is_dir() {
        return Ok(());
    }
    let io = |e: std::io::Error| ZipError::Io(e.to_string());
    let staging = staging_dir(dir);
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(io)?;
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).map_err(|_| ZipError::Unreadable)?;
    let mut written = 0_u64;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|_| ZipError::Unreadable)?;
        let Some(relative) = entry.enclosed_name() else {
            return Err(ZipError::UnsafePath(
                entry.name().map(|n| n.into_owned()).unwrap_or_default(),
            ));
        };
        let target = staging.join(relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&target).map_err(io)?;
            continue;
        }
        if entry.is_symlink() {
            // A link could point anywhere on the host; AWS's unpacking keeps them, but a
            // local process has the host's whole filesystem behind it.
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut data = Vec::new();
        (&mut entry)
            .take(MAX_UNPACKED_BYTES - written + 1)
            .read_to_end(&mut data)
            .map_err(|_| ZipError::Unreadable)?;
        written += data.len() as u64;
        if written > MAX_UNPACKED_BYTES {
            return Err(ZipError::TooLarge);
        }
        std::fs::write(&target, &data).map_err(io)?;
        set_mode(&target, entry.unix_mode()).map_err(io)?;
    }
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    match std::fs::rename(&staging, dir) {
        Ok(()) => Ok(()),
        // A concurrent first invoke unpacked the same code first: theirs is as good.
        Err(_) if dir.is_dir() => {
            let _ = std::fs::remove_dir_all(&staging);
            Ok(())
        }
        Err(err) => Err(io(err)),
    }
}

/// [`unpack`] on a blocking thread; hands the zip back for the caller to keep using.
pub async fn unpack_off_runtime(zip: Vec<u8>, dir: PathBuf) -> Result<Vec<u8>, ZipError> {
    tokio::task::spawn_blocking(move || unpack(&zip, &dir).map(|()| zip))
        .await
        .map_err(|e| ZipError::Io(e.to_string()))?
}

/// The lock serialising unpacks into `dir`.
fn unpack_lock(dir: &Path) -> Arc<Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>> = OnceLock::new();
    let mut locks = LOCKS.get_or_init(Mutex::default).lock();
    // Finished unpacks need their lock no longer; keep the map small.
    locks.retain(|_, lock| Arc::strong_count(lock) > 1);
    Arc::clone(locks.entry(dir.to_path_buf()).or_default())
}

fn staging_dir(dir: &Path) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".partial-{}", uuid::Uuid::new_v4().simple()));
    dir.with_file_name(name)
}

/// Files are readable; the owner's execute bit follows the zip (zips made on Windows carry
/// no mode, and AWS's own loader makes files readable by everyone).
fn set_mode(path: &Path, mode: Option<u32>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let executable = mode.is_some_and(|m| m & 0o111 != 0);
    let bits = if executable { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(bits))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zip_of(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        {
            let mut writer = zip::ZipWriter::new(&mut out);
            for (name, data, mode) in entries {
                let options = zip::write::SimpleFileOptions::default().unix_permissions(*mode);
                assert!(writer.start_file(*name, options).is_ok());
                assert!(writer.write_all(data).is_ok());
            }
            assert!(writer.finish().is_ok());
        }
        out.into_inner()
    }

    #[test]
    fn concurrent_unpacks_of_the_same_code_both_succeed() {
        let zip = zip_of(&[("app.py", b"x", 0o644)]);
        let dir = std::env::temp_dir().join(format!("nimbus-code-{}", uuid::Uuid::new_v4()));
        let results: Vec<_> = (0..8)
            .map(|_| {
                let (zip, dir) = (zip.clone(), dir.clone());
                std::thread::spawn(move || unpack(&zip, &dir))
            })
            .map(|t| t.join().ok())
            .collect();
        assert!(results.iter().all(|r| *r == Some(Ok(()))), "{results:?}");
        assert_eq!(std::fs::read(dir.join("app.py")).ok(), Some(b"x".to_vec()));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn unpacks_with_modes() {
        use std::os::unix::fs::PermissionsExt;
        let zip = zip_of(&[
            ("bootstrap", b"#!/bin/sh\n", 0o755),
            ("lib/a.py", b"x", 0o644),
        ]);
        assert_eq!(check(&zip), Ok(()));
        let dir = std::env::temp_dir().join(format!("nimbus-code-{}", uuid::Uuid::new_v4()));
        assert_eq!(unpack(&zip, &dir), Ok(()));
        let mode = std::fs::metadata(dir.join("bootstrap")).map(|m| m.permissions().mode());
        assert_eq!(mode.map(|m| m & 0o777).ok(), Some(0o755));
        assert_eq!(
            std::fs::read(dir.join("lib/a.py")).ok(),
            Some(b"x".to_vec())
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn refuses_garbage_and_traversal() {
        assert_eq!(check(b"not a zip"), Err(ZipError::Unreadable));
        let zip = zip_of(&[("../evil.py", b"x", 0o644)]);
        assert!(matches!(check(&zip), Err(ZipError::UnsafePath(_))));
    }
}
