//! `--oidc-config FILE`: trusted issuers in a TOML file, one `[[issuer]]` section each, holding
//! every per-issuer setting (the flags can only give one value for all issuers for most of
//! them). Unknown keys are refused, so a misspelt setting is an error instead of a silent
//! default; every error names the file, the section and the field.
//!
//! ```toml
//! [[issuer]]
//! url = "https://login.microsoftonline.com/TENANT-ID/v2.0"
//! audience = "api://openpim"          # or a list: ["api://openpim", "APP-ID"]
//! display_name = "Contoso"
//! user_claim = "oid"
//! mfa_acr = ["c1"]
//! jit = false
//! cli_client_id = "CLI-APP-ID"
//! cli_audience_via = "scope"          # resource (default), scope or none
//! min_key_refetch_secs = 30           # least time between key-set fetches for unknown `kid`s
//! client_id = "WEB-APP-ID"            # the web UI's client ("Sign in with Contoso")
//! client_secret_file = "/etc/openpim/web-secret"   # or client_secret; none: a public client
//! ```

use super::external::{AudienceVia, CliSignIn, IssuerConfig, UserClaim, WebClient};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuerFile {
    #[serde(default)]
    issuer: Vec<IssuerSection>,
}

/// One `[[issuer]]` section (also read from `openpim serve --config`'s file).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerSection {
    url: String,
    #[serde(default)]
    audience: Option<OneOrMany>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    user_claim: Option<String>,
    #[serde(default)]
    mfa_acr: Vec<String>,
    #[serde(default)]
    jit: bool,
    #[serde(default)]
    cli_client_id: Option<String>,
    #[serde(default)]
    cli_audience_via: Option<String>,
    #[serde(default)]
    min_key_refetch_secs: Option<u64>,
    /// The web UI's client (authorization-code flow); with a secret (or a file holding it) a
    /// confidential client, without one a public client.
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    client_secret_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// Why an issuer file was refused; the message names the file and the field.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct IssuerFileError {
    file: String,
    message: String,
}

/// Reads and checks the issuer file at `path`.
pub fn load(path: &Path) -> Result<Vec<IssuerConfig>, IssuerFileError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| IssuerFileError { file: path.display().to_string(), message: format!("cannot read it: {e}") })?;
    parse(&text).map_err(|message| IssuerFileError { file: path.display().to_string(), message })
}

/// The issuers in a file's text, in file order.
pub fn parse(text: &str) -> Result<Vec<IssuerConfig>, String> {
    let file: IssuerFile = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())?;
    file.issuer.into_iter().enumerate().map(|(i, section)| section.into_config(i + 1)).collect()
}

impl IssuerSection {
    /// The issuer this section describes; `number` (from 1) names it in errors.
    pub fn into_config(self, number: usize) -> Result<IssuerConfig, String> {
        let at = |field: &str, why: String| format!("[[issuer]] #{number} ({}), field `{field}`: {why}", self.url);
        let audiences = match &self.audience {
            Some(OneOrMany::One(a)) => vec![a.clone()],
            Some(OneOrMany::Many(a)) => a.clone(),
            None => Vec::new(),
        };
        if audiences.iter().all(|a| a.trim().is_empty()) {
            return Err(at("audience", "missing: the `aud` OpenPIM's tokens from this issuer carry".into()));
        }
        let mut config = IssuerConfig::new(&self.url, audiences).map_err(|e| at("url", e))?;
        if let Some(claim) = &self.user_claim {
            config.user_claim = claim.parse::<UserClaim>().map_err(|e| at("user_claim", e))?;
        }
        let audience_via = match &self.cli_audience_via {
            Some(v) => v.parse::<AudienceVia>().map_err(|e| at("cli_audience_via", e))?,
            None => AudienceVia::default(),
        };
        if let Some(secs) = self.min_key_refetch_secs {
            config.min_key_refetch = std::time::Duration::from_secs(secs);
        }
        config.mfa_acr_values = self.mfa_acr;
        config.jit = self.jit;
        config.display_name = self.display_name.filter(|n| !n.trim().is_empty());
        config.cli = CliSignIn { client_id: self.cli_client_id.filter(|c| !c.trim().is_empty()), audience_via };
        let client_secret = match (self.client_secret, &self.client_secret_file) {
            (Some(_), Some(_)) => {
                return Err(at("client_secret_file", "give client_secret or client_secret_file, not both".into()))
            }
            (secret, None) => secret,
            (None, Some(file)) => Some(
                std::fs::read_to_string(file)
                    .map(|s| s.trim().to_string())
                    .map_err(|e| at("client_secret_file", format!("cannot read {}: {e}", file.display())))?,
            ),
        };
        config.web_client = match self.client_id.filter(|c| !c.trim().is_empty()) {
            Some(client_id) => Some(WebClient { client_id, client_secret: client_secret.filter(|s| !s.is_empty()) }),
            None if client_secret.is_some() => {
                return Err(at("client_secret", "a client secret needs a client_id".into()))
            }
            None => None,
        };
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_per_issuer_setting_is_read() {
        let issuers = parse(
            r#"
            [[issuer]]
            url = "https://login.microsoftonline.com/t/v2.0"
            audience = ["api://openpim", "app-id"]
            display_name = "Contoso"
            user_claim = "oid"
            mfa_acr = ["gold"]
            jit = true
            cli_client_id = "cli-app"
            cli_audience_via = "scope"
            min_key_refetch_secs = 5
            client_id = "web-app"
            client_secret = "s3cret"

            [[issuer]]
            url = "http://127.0.0.1:9000"
            audience = "api://openpim"
            "#,
        )
        .unwrap();
        assert_eq!(issuers.len(), 2);
        let entra = &issuers[0];
        assert_eq!(entra.audiences, vec!["api://openpim", "app-id"]);
        assert_eq!(entra.user_claim, UserClaim::Oid);
        assert_eq!(entra.mfa_acr_values, vec!["gold"]);
        assert!(entra.jit);
        assert_eq!(entra.provider_name(), "Contoso");
        assert_eq!(entra.cli, CliSignIn { client_id: Some("cli-app".into()), audience_via: AudienceVia::Scope });
        assert_eq!(entra.min_key_refetch, std::time::Duration::from_secs(5));
        assert!(entra.client_scopes().contains(&"api://openpim/.default".to_string()));
        assert_eq!(entra.client_resource(), None);
        let web = entra.web_client.as_ref().expect("the web client is read");
        assert_eq!((web.client_id.as_str(), web.client_secret.as_deref()), ("web-app", Some("s3cret")));
        // Defaults for what the second section leaves out.
        let local = &issuers[1];
        assert_eq!((local.user_claim, local.jit, local.cli.client_id.clone()), (UserClaim::Default, false, None));
        assert_eq!(local.client_resource(), Some("api://openpim"));
        assert_eq!(local.provider_name(), "127.0.0.1");
        assert!(local.web_client.is_none());
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_section_and_field() {
        let err = |text: &str| parse(text).unwrap_err();
        let e = err("[[issuer]]\nurl = \"https://a.example\"\naudience = \"x\"\naudiance = \"y\"\n");
        assert!(e.contains("unknown field `audiance`"), "{e}");
        let e = err("[[issuer]]\nurl = \"https://a.example\"\n");
        assert!(e.contains("#1 (https://a.example), field `audience`: missing"), "{e}");
        let e = err("[[issuer]]\nurl = \"https://a.example\"\naudience = \"\"\n");
        assert!(e.contains("field `audience`"), "{e}");
        let e = err("[[issuer]]\nurl = \"https://a.example\"\naudience = \"x\"\n[[issuer]]\nurl = \"http://idp.example\"\naudience = \"x\"\n");
        assert!(e.contains("#2 (http://idp.example), field `url`") && e.contains("https"), "{e}");
        let e = err("[[issuer]]\nurl = \"https://a.example\"\naudience = \"x\"\nuser_claim = \"nickname\"\n");
        assert!(e.contains("field `user_claim`: 'nickname'"), "{e}");
        let e = err("[[issuer]]\nurl = \"https://a.example\"\naudience = \"x\"\ncli_audience_via = \"header\"\n");
        assert!(e.contains("field `cli_audience_via`"), "{e}");
        let e = err("[[issuer]]\nurl = \"https://a.example\"\naudience = \"x\"\nclient_id = \"w\"\nclient_secret_file = \"/nonexistent/openpim-secret\"\n");
        assert!(e.contains("field `client_secret_file`: cannot read /nonexistent/openpim-secret"), "{e}");
        let e = err("[[issuer]]\nurl = \"https://a.example\"\naudience = \"x\"\nclient_secret = \"s\"\n");
        assert!(e.contains("field `client_secret`: a client secret needs a client_id"), "{e}");
        let e = err("[[issuer]]\naudience = \"x\"\n");
        assert!(e.contains("missing field `url`"), "{e}");
        let e = err("[[issuer]]\nurl = \"https://a.example\"\naudience = \"x\"\njit = \"yes\"\n");
        assert!(e.contains("jit"), "{e}");
        let e = err("[issuers]\n");
        assert!(e.contains("unknown field `issuers`"), "{e}");
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("issuers.toml");
        std::fs::write(&path, "[[issuer]]\nurl = \"https://a.example\"\n").unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}: ", path.display())) && e.contains("audience"), "{e}");
        let e = load(&dir.path().join("missing.toml")).unwrap_err().to_string();
        assert!(e.contains("missing.toml: cannot read it"), "{e}");
    }
}
