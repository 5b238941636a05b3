//! `GET /openpim/signin-configuration`: how clients sign in to this server, served without a
//! token (it holds nothing secret: issuer URLs and public client ids). The CLI reads it for
//! `openpim login --server URL`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigninConfiguration {
    /// Whether tokens from the server's own issuer (`openpim token`) are accepted.
    pub local_issuer_enabled: bool,
    /// The trusted external OpenID Connect issuers, in configuration order.
    pub issuers: Vec<SigninIssuer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigninIssuer {
    /// The issuer URL; its discovery document is `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub display_name: String,
    /// The public client for the device authorization grant; `null` when the CLI cannot sign in
    /// with this issuer.
    pub cli_client_id: Option<String>,
    /// The scopes to request (they include `offline_access`, for a refresh token).
    pub scopes: Vec<String>,
    /// The `aud` the server accepts from this issuer.
    pub audience: String,
    /// The RFC 8707 `resource` parameter to send, or `null` when the provider takes the audience
    /// from the scopes or its own configuration.
    pub resource: Option<String>,
}
