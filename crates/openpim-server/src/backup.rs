//! `openpim backup` and `openpim restore`: one file that holds everything a SQLite data
//! directory needs to come back, taken while the server runs.
//!
//! The file is a tar archive of, in this order:
//! - `manifest.json`: format, OpenPIM version, time, schema version, tenant id, the issuer URL,
//!   the SHA-256 fingerprint of the issuer's public key, and the database's size and SHA-256;
//! - `openpim.db`: a `VACUUM INTO` snapshot (`openpim_store::backup`), consistent as of the
//!   moment it started, WAL included, taken without the data directory's lock;
//! - `issuer.json` and `issuer-key.p8`: the token issuer, unless the backup was made with
//!   `--without-issuer-key` (the key is then kept elsewhere and given to restore).
//!
//! Restore refuses a target directory that is not empty, reads the archive into a staging
//! directory beside the target, and only renames it into place once every check passed: the
//! manifest is one this build understands, the database matches its checksum and passes
//! `PRAGMA integrity_check`, its schema is not newer than this build, its tenant is the one the
//! manifest names, and the issuer key (the archive's or `--issuer-key`'s) has the manifest's
//! fingerprint, so a restored server verifies the tokens the old one issued and no other key can
//! be paired with this database by mistake. A failed restore leaves nothing behind.

use crate::auth::{LocalIssuer, KEY_FILE, META_FILE};
use crate::datadir::SQLITE_FILE;
use openpim_store::backup::{self as store_backup, SqliteFacts};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Name of the manifest inside the archive.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The archive layout this build writes and reads.
pub const FORMAT: u32 = 1;
/// What `manifest.json` says the file is, so another tar is recognised as not a backup.
const KIND: &str = "openpim-backup";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub kind: String,
    pub format: u32,
    pub openpim_version: String,
    /// RFC 3339, UTC: when the snapshot was taken.
    pub created_date_time: String,
    pub schema_version: i64,
    pub tenant_id: Option<uuid::Uuid>,
    /// The local issuer's `iss`.
    pub issuer: String,
    /// SHA-256 (hex) of the issuer's public key (uncompressed P-256 point).
    pub issuer_key_sha256: String,
    /// Whether `issuer-key.p8` is in the archive.
    pub includes_issuer_key: bool,
    pub database_bytes: u64,
    pub database_sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} is not an OpenPIM SQLite data directory (no {SQLITE_FILE}); for PostgreSQL use pg_dump (docs/OPERATIONS.md)")]
    NoDatabase(PathBuf),
    #[error("{0} exists already; choose a new file name (a backup is never overwritten)")]
    TargetExists(PathBuf),
    #[error("the data directory {0} is not empty; restore into a new or empty directory")]
    DirectoryNotEmpty(PathBuf),
    #[error("{path} is not an OpenPIM backup or is damaged: {reason}")]
    Damaged { path: PathBuf, reason: String },
    #[error("this backup was written by a newer OpenPIM ({what}); restore it with that version or later")]
    TooNew { what: String },
    #[error("the database in the backup fails SQLite's integrity check: {0}")]
    Integrity(String),
    #[error(
        "the issuer key does not belong to this backup: its fingerprint is {found}, the backup records \
         {expected}; tokens the backed-up server issued would not verify"
    )]
    KeyMismatch { expected: String, found: String },
    #[error("the backup holds no issuer key (it was taken with --without-issuer-key): give it with --issuer-key FILE")]
    KeyMissing,
    #[error("issuer key {path}: {reason}")]
    BadKey { path: PathBuf, reason: String },
    #[error("{0}: {1}")]
    Io(PathBuf, #[source] std::io::Error),
    #[error(transparent)]
    Store(#[from] openpim_store::StoreError),
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |e| BackupError::Io(path.to_path_buf(), e)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The fingerprint of a PKCS#8 P-256 issuer key: SHA-256 of its public key.
pub fn key_fingerprint(pkcs8: &[u8]) -> Result<String, String> {
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &ring::rand::SystemRandom::new())
        .map_err(|e| format!("not a PKCS#8 P-256 key ({e})"))?;
    Ok(hex(ring::digest::digest(&ring::digest::SHA256, pair.public_key().as_ref()).as_ref()))
}

fn file_sha256(path: &Path) -> Result<(u64, String), BackupError> {
    let mut file = BufReader::new(File::open(path).map_err(io(path))?);
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
        total += n as u64;
    }
    Ok((total, hex(ctx.finish().as_ref())))
}

/// What `openpim backup` was asked for.
#[derive(Debug, Clone)]
pub struct BackupRequest {
    pub data_dir: PathBuf,
    pub to: PathBuf,
    /// Leave the issuer key out of the file (the operator keeps it elsewhere).
    pub without_issuer_key: bool,
}

fn issuer_of(meta_json: &[u8], path: &Path) -> Result<String, BackupError> {
    let meta: serde_json::Value = serde_json::from_slice(meta_json)
        .map_err(|e| BackupError::BadKey { path: path.to_path_buf(), reason: e.to_string() })?;
    meta["issuer"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| BackupError::BadKey { path: path.to_path_buf(), reason: "no \"issuer\"".into() })
}

/// Writes a backup of the data directory while its server runs; returns the manifest.
pub async fn backup(req: &BackupRequest, now: time::OffsetDateTime) -> Result<Manifest, BackupError> {
    let db = req.data_dir.join(SQLITE_FILE);
    if !db.is_file() {
        return Err(BackupError::NoDatabase(req.data_dir.clone()));
    }
    if req.to.exists() {
        return Err(BackupError::TargetExists(req.to.clone()));
    }
    let key_path = req.data_dir.join(KEY_FILE);
    let meta_path = req.data_dir.join(META_FILE);
    let key = std::fs::read(&key_path).map_err(io(&key_path))?;
    let meta = std::fs::read(&meta_path).map_err(io(&meta_path))?;
    let fingerprint = key_fingerprint(&key).map_err(|reason| BackupError::BadKey { path: key_path.clone(), reason })?;
    let issuer = issuer_of(&meta, &meta_path)?;

    // Staging beside the target: the snapshot may be large, and the finished archive is renamed
    // into place, so a crash mid-way never leaves a file that looks like a backup.
    let parent = match req.to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let staging = tempfile::Builder::new().prefix(".openpim-backup-").tempdir_in(&parent).map_err(io(&parent))?;
    let snapshot = staging.path().join(SQLITE_FILE);
    let facts = store_backup::sqlite_snapshot(&db, &snapshot).await?;
    if !facts.is_sound() {
        return Err(BackupError::Integrity(facts.integrity.join("; ")));
    }
    let (database_bytes, database_sha256) = file_sha256(&snapshot)?;
    let manifest = Manifest {
        kind: KIND.into(),
        format: FORMAT,
        openpim_version: env!("CARGO_PKG_VERSION").into(),
        created_date_time: now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        schema_version: facts.schema_version,
        tenant_id: facts.tenant_id,
        issuer,
        issuer_key_sha256: fingerprint,
        includes_issuer_key: !req.without_issuer_key,
        database_bytes,
        database_sha256,
    };

    let partial = staging.path().join("backup.tar");
    {
        let file = create_private(&partial)?;
        let mut tar = tar::Builder::new(BufWriter::new(file));
        let manifest_json = serde_json::to_vec_pretty(&manifest).expect("a manifest serialises");
        append_bytes(&mut tar, MANIFEST_FILE, &manifest_json, now).map_err(io(&partial))?;
        let mut header = header_for(database_bytes, now);
        let mut snap = File::open(&snapshot).map_err(io(&snapshot))?;
        tar.append_data(&mut header, SQLITE_FILE, &mut snap).map_err(io(&partial))?;
        append_bytes(&mut tar, META_FILE, &meta, now).map_err(io(&partial))?;
        if !req.without_issuer_key {
            append_bytes(&mut tar, KEY_FILE, &key, now).map_err(io(&partial))?;
        }
        let out = tar.into_inner().map_err(io(&partial))?;
        let file = out.into_inner().map_err(|e| BackupError::Io(partial.clone(), e.into_error()))?;
        file.sync_all().map_err(io(&partial))?;
    }
    // `rename` would replace a file created meanwhile; a hard link refuses to.
    std::fs::hard_link(&partial, &req.to).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => BackupError::TargetExists(req.to.clone()),
        _ => BackupError::Io(req.to.clone(), e),
    })?;
    sync_dir(&parent);
    Ok(manifest)
}

fn header_for(size: u64, now: time::OffsetDateTime) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o600);
    header.set_mtime(now.unix_timestamp().max(0) as u64);
    header.set_entry_type(tar::EntryType::Regular);
    header
}

fn append_bytes<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    bytes: &[u8],
    now: time::OffsetDateTime,
) -> std::io::Result<()> {
    let mut header = header_for(bytes.len() as u64, now);
    tar.append_data(&mut header, name, bytes)
}

fn create_private(path: &Path) -> Result<File, BackupError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(io(path))
}

/// Makes a rename or link in `dir` durable (best effort: not every platform can open a directory).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// What `openpim restore` was asked for.
#[derive(Debug, Clone)]
pub struct RestoreRequest {
    pub from: PathBuf,
    pub data_dir: PathBuf,
    /// The issuer key, when the backup was taken without it (or to check it against one kept
    /// elsewhere).
    pub issuer_key: Option<PathBuf>,
}

/// What a restore put in place.
#[derive(Debug, Clone)]
pub struct Restored {
    pub manifest: Manifest,
    pub facts: SqliteFacts,
}

fn damaged(path: &Path, reason: impl Into<String>) -> BackupError {
    BackupError::Damaged { path: path.to_path_buf(), reason: reason.into() }
}

/// Restores a backup into `data_dir`, which must not exist or be empty.
pub async fn restore(req: &RestoreRequest) -> Result<Restored, BackupError> {
    let target = &req.data_dir;
    match std::fs::read_dir(target) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(BackupError::DirectoryNotEmpty(target.clone()));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(BackupError::Io(target.clone(), e)),
    }
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let staging = tempfile::Builder::new().prefix(".openpim-restore-").tempdir_in(&parent).map_err(io(&parent))?;
    let (manifest, facts) = unpack_and_check(req, staging.path()).await?;

    // The staging directory becomes the data directory: 0700, like `DataDirLock` makes it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(staging.path(), std::fs::Permissions::from_mode(0o700)).map_err(io(staging.path()))?;
    }
    let staged = staging.keep();
    // An empty target directory is replaced (rename refuses a non-empty one, so a server that
    // started on it meanwhile is not overwritten).
    if let Err(e) = std::fs::rename(&staged, target) {
        let _ = std::fs::remove_dir_all(&staged);
        return Err(match e.kind() {
            std::io::ErrorKind::DirectoryNotEmpty | std::io::ErrorKind::AlreadyExists => {
                BackupError::DirectoryNotEmpty(target.clone())
            }
            _ => BackupError::Io(target.clone(), e),
        });
    }
    sync_dir(&parent);
    Ok(Restored { manifest, facts })
}

/// Reads the archive into `dir` and checks it; see the module comment for the checks.
async fn unpack_and_check(req: &RestoreRequest, dir: &Path) -> Result<(Manifest, SqliteFacts), BackupError> {
    let from = &req.from;
    let file = File::open(from).map_err(io(from))?;
    let mut archive = tar::Archive::new(BufReader::new(file));
    let mut manifest: Option<Manifest> = None;
    let (mut key, mut meta, mut db_written) = (None, None, false);
    let entries = archive.entries().map_err(|e| damaged(from, e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| damaged(from, e.to_string()))?;
        let name = entry.path().map_err(|e| damaged(from, e.to_string()))?.to_string_lossy().into_owned();
        // Known names only, and never a path: nothing in the archive can write outside `dir`.
        let read_small = |entry: &mut tar::Entry<_>, limit: u64| -> Result<Vec<u8>, BackupError> {
            if entry.size() > limit {
                return Err(damaged(from, format!("{name} is implausibly large")));
            }
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(|e| damaged(from, format!("{name}: {e}")))?;
            Ok(bytes)
        };
        match name.as_str() {
            MANIFEST_FILE => {
                let bytes = read_small(&mut entry, 64 * 1024)?;
                let m: Manifest = serde_json::from_slice(&bytes)
                    .map_err(|e| damaged(from, format!("{MANIFEST_FILE} does not parse: {e}")))?;
                if m.kind != KIND {
                    return Err(damaged(from, format!("{MANIFEST_FILE} describes a '{}', not an {KIND}", m.kind)));
                }
                if m.format > FORMAT {
                    return Err(BackupError::TooNew { what: format!("backup format {}", m.format) });
                }
                manifest = Some(m);
            }
            SQLITE_FILE => {
                if manifest.is_none() {
                    return Err(damaged(from, format!("{SQLITE_FILE} comes before {MANIFEST_FILE}")));
                }
                let path = dir.join(SQLITE_FILE);
                let mut out = create_private(&path)?;
                std::io::copy(&mut entry, &mut out).map_err(|e| damaged(from, format!("{SQLITE_FILE}: {e}")))?;
                out.sync_all().map_err(io(&path))?;
                db_written = true;
            }
            META_FILE => meta = Some(read_small(&mut entry, 64 * 1024)?),
            KEY_FILE => key = Some(read_small(&mut entry, 64 * 1024)?),
            other => return Err(damaged(from, format!("unexpected entry '{other}'"))),
        }
    }
    let manifest = manifest.ok_or_else(|| damaged(from, format!("no {MANIFEST_FILE}")))?;
    if !db_written {
        return Err(damaged(from, format!("no {SQLITE_FILE}")));
    }

    // The database: whole, sound, and not from a newer schema.
    let db = dir.join(SQLITE_FILE);
    let (bytes, sha256) = file_sha256(&db)?;
    if bytes != manifest.database_bytes || sha256 != manifest.database_sha256 {
        return Err(damaged(
            from,
            format!(
                "the database does not match its checksum ({bytes} bytes, SHA-256 {sha256}; the manifest says {} bytes, {})",
                manifest.database_bytes, manifest.database_sha256
            ),
        ));
    }
    let facts = store_backup::inspect(&db).await?;
    if !facts.is_sound() {
        return Err(BackupError::Integrity(facts.integrity.join("; ")));
    }
    let latest = store_backup::latest_sqlite_schema_version();
    if facts.schema_version > latest {
        return Err(BackupError::TooNew {
            what: format!("schema {}, this build knows up to {latest}", facts.schema_version),
        });
    }
    if facts.tenant_id != manifest.tenant_id {
        return Err(damaged(from, "the database's tenant is not the one the manifest names"));
    }

    // The issuer key: the archive's, or the one given, must be the one the manifest names.
    let key = match (&req.issuer_key, key) {
        (Some(path), archived) => {
            let given = std::fs::read(path).map_err(io(path))?;
            if let Some(archived) = archived {
                if archived != given {
                    return Err(BackupError::BadKey {
                        path: path.clone(),
                        reason: "differs from the key inside the backup".into(),
                    });
                }
            }
            check_key(&given, path, &manifest)?;
            given
        }
        (None, Some(archived)) => {
            check_key(&archived, &from.join(KEY_FILE), &manifest)?;
            archived
        }
        (None, None) => return Err(BackupError::KeyMissing),
    };
    // issuer.json is not secret; a backup without it (none is written so) would still carry the
    // issuer URL in its manifest.
    let meta = match meta {
        Some(m) => {
            if issuer_of(&m, &from.join(META_FILE))? != manifest.issuer {
                return Err(damaged(from, "issuer.json names another issuer than the manifest"));
            }
            m
        }
        None => serde_json::to_vec_pretty(&serde_json::json!({ "issuer": manifest.issuer })).expect("serialises"),
    };
    write_new_private(&dir.join(KEY_FILE), &key)?;
    write_new_private(&dir.join(META_FILE), &meta)?;
    // The restored directory must load as a server's would.
    LocalIssuer::load(dir).map_err(|e| BackupError::BadKey { path: dir.join(KEY_FILE), reason: e.to_string() })?;
    Ok((manifest, facts))
}

fn check_key(pkcs8: &[u8], path: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    let found = key_fingerprint(pkcs8).map_err(|reason| BackupError::BadKey { path: path.to_path_buf(), reason })?;
    if found != manifest.issuer_key_sha256 {
        return Err(BackupError::KeyMismatch { expected: manifest.issuer_key_sha256.clone(), found });
    }
    Ok(())
}

fn write_new_private(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let mut f = create_private(path)?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}
