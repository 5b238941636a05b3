//! `openpim login|logout`: keep (or forget) a server and token under a profile name.

use crate::client::Client;
use crate::error::{CliError, CliResult, Kind};
use crate::output::{emit, Format};
use crate::profile::{self, Profile, Profiles};
use serde_json::json;

/// Checks the token with `GET /v1.0/me`, then saves it under `name`. The token is never printed.
pub async fn login(server: &str, token: Option<String>, name: &str, format: Format) -> CliResult<()> {
    let token = token.filter(|t| !t.trim().is_empty()).ok_or_else(|| {
        CliError::new(Kind::Auth, "NotSignedIn", "login needs a token: --token TOKEN or OPENPIM_TOKEN")
    })?;
    let client = Client::new(server, Some(token.trim().to_string()))?;
    let me: openpim_proto::directory::User = client.get_as("/v1.0/me").await?;
    let upn = me.user_principal_name;
    let path = profile::file()?;
    let mut profiles = Profiles::load(&path)?;
    profiles.profiles.insert(
        name.to_string(),
        Profile { server: client.base().to_string(), token: token.trim().to_string(), user: Some(upn.clone()) },
    );
    profiles.save(&path)?;
    let out = json!({"profile": name, "server": client.base(), "user": upn, "file": path.display().to_string()});
    emit(format, &out, || {
        format!("Signed in to {} as {upn} (profile '{name}', saved in {})\n", client.base(), path.display())
    });
    Ok(())
}

pub fn logout(name: &str, format: Format) -> CliResult<()> {
    let path = profile::file()?;
    let mut profiles = Profiles::load(&path)?;
    let removed = profiles.profiles.remove(name).is_some();
    if removed {
        profiles.save(&path)?;
    }
    let out = json!({"profile": name, "removed": removed});
    emit(format, &out, || {
        if removed {
            format!("Signed out: profile '{name}' removed\n")
        } else {
            format!("No profile '{name}' to remove\n")
        }
    });
    Ok(())
}

/// The profile `name`, if saved. A broken profile file is an error only when it is needed.
pub fn saved(name: &str) -> CliResult<Option<Profile>> {
    match profile::file() {
        Ok(path) => Ok(Profiles::load(&path)?.profiles.remove(name)),
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn missing_token_is_not_signed_in() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let e = rt.block_on(super::login("http://127.0.0.1:9", None, "default", crate::output::Format::Json));
        let e = e.unwrap_err();
        assert_eq!((e.code.as_str(), e.kind.exit_code()), ("NotSignedIn", 3));
    }
}
