//! What the data directory's disk can do: raw `fdatasync` latency and the filesystem type.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::stats::LatencySamples;

const PROBE_BLOCK_BYTES: usize = 4096;

/// Writes 4 KiB and calls `sync_data` (fdatasync) in a loop on a temporary file inside `dir`
/// until `budget` has passed or `max_rounds` syncs were made. Each sample covers write + sync.
pub fn fdatasync_latency(
    dir: &Path,
    budget: Duration,
    max_rounds: usize,
) -> Result<LatencySamples> {
    let probe_path = dir.join(".nimbus-bench-fdatasync-probe");
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&probe_path)
        .with_context(|| format!("creating {}", probe_path.display()))?;
    let block = vec![0x5a_u8; PROBE_BLOCK_BYTES];
    let mut samples = Vec::with_capacity(max_rounds.min(100_000));
    let started = Instant::now();
    while samples.len() < max_rounds && started.elapsed() < budget {
        let round = Instant::now();
        file.write_all(&block)?;
        file.sync_data()?;
        samples.push(round.elapsed());
    }
    drop(file);
    fs::remove_file(&probe_path).ok();
    Ok(LatencySamples::from_durations(&samples))
}

/// One line of `/proc/mounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    pub device: String,
    pub mount_point: PathBuf,
    pub filesystem: String,
}

/// Parses `/proc/mounts` text; the kernel escapes spaces and tabs as octal (`\040`).
pub fn parse_mounts(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let device = unescape_octal(fields.next()?);
            let mount_point = PathBuf::from(unescape_octal(fields.next()?));
            let filesystem = fields.next()?.to_string();
            Some(MountEntry {
                device,
                mount_point,
                filesystem,
            })
        })
        .collect()
}

/// The mount holding `path`: the longest mount point that is a prefix of it. When several
/// entries share that mount point, the last one (mounted on top) wins.
pub fn mount_for<'a>(mounts: &'a [MountEntry], path: &Path) -> Option<&'a MountEntry> {
    mounts
        .iter()
        .filter(|entry| path.starts_with(&entry.mount_point))
        .fold(None, |best: Option<&MountEntry>, entry| match best {
            Some(current)
                if current.mount_point.components().count()
                    > entry.mount_point.components().count() =>
            {
                Some(current)
            }
            _ => Some(entry),
        })
}

/// "ext4 (/dev/sda1 on /)"-style description of the filesystem holding `path`.
pub fn describe_filesystem(path: &Path) -> String {
    let canonical = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let Ok(text) = fs::read_to_string("/proc/mounts") else {
        return "unknown (no /proc/mounts)".to_string();
    };
    let mounts = parse_mounts(&text);
    match mount_for(&mounts, &canonical) {
        Some(entry) => format!(
            "{} ({} on {})",
            entry.filesystem,
            entry.device,
            entry.mount_point.display()
        ),
        None => "unknown".to_string(),
    }
}

fn unescape_octal(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let is_escape = bytes[index] == b'\\'
            && index + 3 < bytes.len()
            && bytes[index + 1..index + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b));
        if is_escape {
            let digits = std::str::from_utf8(&bytes[index + 1..index + 4]).unwrap_or("000");
            out.push(u8::from_str_radix(digits, 8).unwrap_or(b'?'));
            index += 4;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTS: &str = "\
overlay / overlay rw,relatime 0 0
proc /proc proc rw,nosuid 0 0
tmpfs /tmp tmpfs rw 0 0
/dev/vdb /tmp/data\\040dir ext4 rw 0 0
/dev/vdc /srv xfs rw 0 0
";

    #[test]
    fn picks_the_longest_matching_mount_point() {
        let mounts = parse_mounts(MOUNTS);
        assert_eq!(mounts.len(), 5);
        let find = |p: &str| mount_for(&mounts, Path::new(p)).unwrap().filesystem.clone();
        assert_eq!(find("/srv/target/x"), "xfs");
        assert_eq!(find("/tmp/bench"), "tmpfs");
        assert_eq!(find("/tmp/data dir/store"), "ext4");
        assert_eq!(find("/home/user"), "overlay");
        // A prefix by characters is not a prefix by path components.
        assert_eq!(find("/srvdata"), "overlay");
    }

    #[test]
    fn the_last_mount_on_a_point_wins() {
        let mounts = parse_mounts("rootfs / rootfs rw 0 0\n/dev/sda1 / ext4 rw 0 0\n");
        assert_eq!(
            mount_for(&mounts, Path::new("/a")).unwrap().filesystem,
            "ext4"
        );
    }

    #[test]
    fn octal_escapes_are_decoded() {
        assert_eq!(unescape_octal("/a\\040b\\011c"), "/a b\tc");
        assert_eq!(unescape_octal("/trailing\\04"), "/trailing\\04");
        assert_eq!(unescape_octal("plain"), "plain");
    }

    #[test]
    fn the_probe_syncs_and_cleans_up() {
        let dir = std::env::temp_dir().join(format!("nimbus-bench-probe-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let samples = fdatasync_latency(&dir, Duration::from_secs(5), 5).unwrap();
        assert_eq!(samples.len(), 5);
        assert!(samples.p50().is_some());
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        fs::remove_dir_all(&dir).unwrap();
    }
}
