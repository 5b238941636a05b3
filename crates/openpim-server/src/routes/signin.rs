//! `GET /openpim/signin-configuration`: the sign-in options clients discover before they hold a
//! token, so it needs none. Only public facts are in it (issuer URLs, public client ids, scopes).

use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use openpim_proto::signin::{SigninConfiguration, SigninIssuer};

pub async fn configuration(State(s): State<AppState>) -> Json<SigninConfiguration> {
    let issuers = s
        .external
        .configs()
        .map(|c| SigninIssuer {
            issuer: c.issuer.clone(),
            display_name: c.provider_name(),
            cli_client_id: c.cli.client_id.clone(),
            scopes: c.client_scopes(),
            audience: c.audience().unwrap_or_default().to_string(),
            resource: c.client_resource().map(str::to_string),
        })
        .collect();
    Json(SigninConfiguration { local_issuer_enabled: s.local_issuer_enabled, issuers })
}
