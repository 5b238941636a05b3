//! Login profiles: a server URL and a token per profile name, kept in `profiles.json` under
//! `$OPENPIM_CONFIG_DIR`, `$XDG_CONFIG_HOME/openpim` or `~/.config/openpim`, readable by the owner
//! only (the tokens in it are bearer credentials): a file others can read is refused, not used.

use crate::error::{CliError, CliResult};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Profile {
    pub server: String,
    pub token: String,
    /// Who the token signed in as when it was saved (shown, never trusted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Set when `token` came from an identity provider (`openpim login` with the device flow):
    /// how to refresh it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderSession>,
}

/// A sign-in at an OpenID provider, kept to refresh the access token silently.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ProviderSession {
    pub issuer: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// When the access token expires (Unix seconds), and how long it lived when issued: it is
    /// refreshed once less than half its life, at most a minute, is left.
    pub expires_at: i64,
    pub lifetime_secs: i64,
}

/// Longest time before expiry a token is refreshed.
const MAX_REFRESH_MARGIN_SECS: i64 = 60;

impl ProviderSession {
    /// Whether the access token should be refreshed at `now` (Unix seconds).
    pub fn needs_refresh(&self, now: i64) -> bool {
        let margin = (self.lifetime_secs / 2).clamp(0, MAX_REFRESH_MARGIN_SECS);
        now >= self.expires_at - margin
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Profiles {
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// The directory holding `profiles.json`.
pub fn config_dir() -> Option<PathBuf> {
    let from_env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    from_env("OPENPIM_CONFIG_DIR")
        .or_else(|| from_env("XDG_CONFIG_HOME").map(|d| d.join("openpim")))
        .or_else(|| from_env("HOME").map(|h| h.join(".config").join("openpim")))
}

pub fn file() -> CliResult<PathBuf> {
    config_dir()
        .map(|d| d.join("profiles.json"))
        .ok_or_else(|| CliError::local("NoConfigDirectory", "set OPENPIM_CONFIG_DIR (or HOME) to keep login profiles"))
}

impl Profiles {
    /// The saved profiles; none when the file does not exist yet. A file group or others may
    /// read is refused: its tokens may have been read, and quietly tightening the mode would hide
    /// that.
    pub fn load(path: &Path) -> CliResult<Self> {
        refuse_if_exposed(path)?;
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                CliError::local("BadProfileFile", format!("{} is not a valid profile file: {e}", path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(CliError::local("BadProfileFile", format!("cannot read {}: {e}", path.display()))),
        }
    }

    /// Writes the file with mode 0600 through a temporary file, so a crash never leaves half a
    /// file and the token is never readable by others, not even for a moment.
    pub fn save(&self, path: &Path) -> CliResult<()> {
        let io = |e: std::io::Error| CliError::local("ProfileWriteFailed", format!("{}: {e}", path.display()));
        if let Some(dir) = path.parent() {
            create_private_dir(dir).map_err(io)?;
        }
        let tmp = path.with_extension("json.tmp");
        let body = serde_json::to_vec_pretty(self).map_err(|e| CliError::local("ProfileWriteFailed", e.to_string()))?;
        write_private(&tmp, &body).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

/// Holds the profiles' lock file (`profiles.lock` next to `path`) until dropped, so that two
/// `openpim` processes do not refresh the same sign-in at once: with refresh-token rotation the
/// second would present a used refresh token, which providers answer by revoking the sign-in.
pub fn lock(path: &Path) -> CliResult<std::fs::File> {
    let io = |e: std::io::Error| CliError::local("ProfileLockFailed", format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        create_private_dir(dir).map_err(io)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path.with_extension("lock")).map_err(io)?;
    file.lock().map_err(io)?;
    Ok(file)
}

#[cfg(unix)]
fn refuse_if_exposed(path: &Path) -> CliResult<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = match std::fs::metadata(path) {
        Ok(m) => m.permissions().mode() & 0o777,
        Err(_) => return Ok(()),
    };
    if mode & 0o077 == 0 {
        return Ok(());
    }
    Err(CliError::local(
        "ProfileFileExposed",
        format!(
            "{} has mode {mode:o}: others may read the tokens in it, so it is not used. Make it private with \
             `chmod 600 {}`, and sign in again (`openpim logout`, `openpim login`) if someone else could \
             have read it",
            path.display(),
            path.display()
        ),
    ))
}

#[cfg(not(unix))]
fn refuse_if_exposed(_path: &Path) -> CliResult<()> {
    Ok(())
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn write_private(path: &Path, body: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    // A leftover temp file keeps its old mode: force it.
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(body)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, body: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_and_load_round_trip_privately() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("profiles.json");
        assert!(Profiles::load(&path).unwrap().profiles.is_empty());
        let mut p = Profiles::default();
        p.profiles.insert(
            "work".into(),
            Profile { server: "http://x".into(), token: "t".into(), user: Some("u@x".into()), provider: None },
        );
        p.save(&path).unwrap();
        let back = Profiles::load(&path).unwrap();
        assert_eq!(back.profiles["work"].server, "http://x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profiles.json");
        Profiles::default().save(&path).unwrap();
        for mode in [0o640, 0o604, 0o660] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = Profiles::load(&path).unwrap_err();
            assert_eq!(e.code, "ProfileFileExposed", "{mode:o}");
            assert!(e.message.contains("chmod 600"), "{}", e.message);
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(Profiles::load(&path).is_ok());
        // Saving over an exposed file makes it private again.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        Profiles::default().save(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn tokens_are_refreshed_in_the_last_half_of_their_life_at_most_a_minute_early() {
        let session = |expires_at, lifetime_secs| ProviderSession { expires_at, lifetime_secs, ..Default::default() };
        // A one-hour token: refreshed in its last minute.
        assert!(!session(10_000, 3600).needs_refresh(10_000 - 61));
        assert!(session(10_000, 3600).needs_refresh(10_000 - 60));
        // A ten-second token: in its last five seconds.
        assert!(!session(10_000, 10).needs_refresh(9_994));
        assert!(session(10_000, 10).needs_refresh(9_995));
        assert!(session(10_000, 10).needs_refresh(20_000));
    }

    #[test]
    fn a_corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profiles.json");
        write_private(&path, b"{not json").unwrap();
        let e = Profiles::load(&path).unwrap_err();
        assert_eq!(e.code, "BadProfileFile");
    }
}
