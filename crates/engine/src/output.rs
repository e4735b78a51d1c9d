//! Files other programs read while we write them: a report written with
//! `--out`, and (for the daemon) spool entries. Written whole or not at all.

use std::fs::File;
use std::io::Write;
use std::path::Path;

/// Writes to a temporary file beside `path`, syncs it, renames it over
/// `path`, then syncs the folder: a reader sees the old file or the new one,
/// never half of one, and after a power cut the rename has either happened
/// whole or not at all.
pub fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return result;
    }
    sync_dir(dir)
}

/// Makes a folder's entries (a rename, a new or removed file) durable.
///
/// A folder this process may write but not open for reading (mode 0300),
/// or a filesystem that cannot sync a folder (EINVAL, ENOTSUP), is not an
/// error: the file is in place, and there is nothing more this process can
/// do about the rename's durability there. Any other failure (EIO) is.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    let unsupported = |e: &std::io::Error| {
        e.kind() == std::io::ErrorKind::PermissionDenied
            || matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOTSUP))
    };
    match File::open(dir).and_then(|f| f.sync_all()) {
        Err(e) if unsupported(&e) => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        write_atomically(&path, b"first").unwrap();
        write_atomically(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("report.json")]);
    }

    #[test]
    fn a_missing_folder_is_an_error_and_nothing_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/report.json");
        assert!(write_atomically(&path, b"x").is_err());
        assert!(!dir.path().join("no").exists());
    }
}
