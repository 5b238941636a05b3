//! `openpim health`: probes a server's `/healthz` (or `/readyz`) and exits 0 when it answers
//! 200, 1 otherwise. For container health checks, where the runtime image has no curl.

use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args)]
pub struct HealthArgs {
    /// The server's base URL.
    #[arg(long, env = "OPENPIM_HEALTH_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Probe readiness (`/readyz`) instead of liveness (`/healthz`).
    #[arg(long)]
    ready: bool,
    /// Trust this PEM CA certificate for an https URL (besides the system's roots).
    #[arg(long, env = "OPENPIM_HEALTH_CA_CERT", value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Give up after this long.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

pub async fn run(args: HealthArgs) -> std::process::ExitCode {
    match probe(&args).await {
        Ok((200, body)) => {
            println!("{body}");
            std::process::ExitCode::SUCCESS
        }
        Ok((status, body)) => {
            eprintln!("openpim health: {status} {body}");
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("openpim health: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn probe(args: &HealthArgs) -> anyhow::Result<(u16, String)> {
    let mut client = reqwest::Client::builder().timeout(args.timeout);
    if let Some(path) = &args.ca_cert {
        let pem = std::fs::read(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        client = client.add_root_certificate(reqwest::Certificate::from_pem(&pem)?);
    }
    let path = if args.ready { "/readyz" } else { "/healthz" };
    let url = format!("{}{path}", args.url.trim_end_matches('/'));
    let response = client.build()?.get(&url).send().await.map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
    let status = response.status().as_u16();
    Ok((status, response.text().await.unwrap_or_default()))
}
