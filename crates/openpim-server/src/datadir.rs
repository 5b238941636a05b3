//! The data directory: one OpenPIM process at a time (an exclusive lock on `openpim.lock`), and
//! private file modes (directory 0700; database, WAL/SHM, issuer key and metadata 0600).
//!
//! Two servers on one SQLite directory would each keep their own access index and drift apart, so
//! `serve` and `recover` take the lock first and a second process is refused with the holder's
//! pid. With PostgreSQL several nodes are legitimate, but each still locks its own directory.
//!
//! Modes are checked on every start and *fixed with a warning*: a directory or key file that is
//! readable by others is tightened to 0700/0600 and the log says which file it was, so an operator
//! who copied the key with a loose umask learns about it without the service refusing to start.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Name of the lock file inside the data directory.
pub const LOCK_FILE: &str = "openpim.lock";
/// The SQLite database inside the data directory (when no `--database` URL is given).
pub const SQLITE_FILE: &str = "openpim.db";
/// Files that hold secrets or the data itself and must be readable by the owner only.
const PRIVATE_FILES: [&str; 6] =
    [SQLITE_FILE, "openpim.db-wal", "openpim.db-shm", "issuer-key.p8", "issuer.json", LOCK_FILE];

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error(
        "the data directory {dir} is in use by another OpenPIM process (pid {pid}); stop it first, \
         or give this process a data directory of its own"
    )]
    Locked { dir: PathBuf, pid: String },
    #[error("data directory {0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// Holds the data directory's exclusive lock until dropped (the OS also releases it when the
/// process dies, so a crash never leaves a stale lock behind).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
    dir: PathBuf,
}

impl DataDirLock {
    /// Creates the directory (0700) if needed, takes its lock, records this process's pid in the
    /// lock file, and tightens loose modes of the files already there.
    pub fn acquire(dir: &Path) -> Result<Self, DataDirError> {
        create_private_dir(dir)?;
        let path = dir.join(LOCK_FILE);
        let io = |e| DataDirError::Io(path.clone(), e);
        let mut file = open_private(&path, false).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim();
                let pid = if pid.is_empty() { "unknown".to_string() } else { pid.to_string() };
                return Err(DataDirError::Locked { dir: dir.to_path_buf(), pid });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.sync_all().map_err(io)?;
        tighten_modes(dir)?;
        Ok(Self { _file: file, dir: dir.to_path_buf() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates the SQLite database file (0600) if it does not exist yet. SQLite creates the WAL
    /// and SHM files with the database file's mode, so they are private too.
    pub fn precreate_sqlite(&self) -> Result<PathBuf, DataDirError> {
        let path = self.dir.join(SQLITE_FILE);
        open_private(&path, true).map_err(|e| DataDirError::Io(path.clone(), e))?;
        Ok(path)
    }
}

/// Opens (creating with mode 0600 if missing) a file for reading and writing, never truncating.
fn open_private(path: &Path, create_only: bool) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(!create_only).write(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn create_private_dir(dir: &Path) -> Result<(), DataDirError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| DataDirError::Io(dir.to_path_buf(), e))
}

/// Warn-and-fix: the directory to 0700 and the private files in it to 0600.
#[cfg(unix)]
fn tighten_modes(dir: &Path) -> Result<(), DataDirError> {
    use std::os::unix::fs::PermissionsExt;
    let fix = |path: &Path, want: u32| -> Result<(), DataDirError> {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(DataDirError::Io(path.to_path_buf(), e)),
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format!("{mode:o}"),
                fixed = format!("{want:o}"),
                "data directory file was accessible to other users; its mode has been tightened"
            );
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(want))
                .map_err(|e| DataDirError::Io(path.to_path_buf(), e))?;
        }
        Ok(())
    };
    fix(dir, 0o700)?;
    for name in PRIVATE_FILES {
        fix(&dir.join(name), 0o600)?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn tighten_modes(_dir: &Path) -> Result<(), DataDirError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_directory_is_refused_with_the_holders_pid() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path()).unwrap();
        let err = DataDirLock::acquire(dir.path()).unwrap_err();
        match &err {
            DataDirError::Locked { dir: d, pid } => {
                assert_eq!(d, dir.path());
                assert_eq!(pid, &std::process::id().to_string());
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        assert!(err.to_string().contains(&dir.path().display().to_string()), "{err}");
        drop(first);
        DataDirLock::acquire(dir.path()).expect("the lock is free again once released");
    }

    #[cfg(unix)]
    #[test]
    fn loose_modes_are_tightened() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(data.join("issuer-key.p8"), b"k").unwrap();
        std::fs::set_permissions(data.join("issuer-key.p8"), std::fs::Permissions::from_mode(0o644)).unwrap();
        let lock = DataDirLock::acquire(&data).unwrap();
        let db = lock.precreate_sqlite().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("issuer-key.p8")), 0o600);
        assert_eq!(mode(&data.join(LOCK_FILE)), 0o600);
        assert_eq!(mode(&db), 0o600);
    }
}
