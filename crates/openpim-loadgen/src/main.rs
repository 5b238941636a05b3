//! `openpim-loadgen`: the HTTP benchmark of OpenPIM and the machine ceilings it is compared with.
//! Every subcommand prints one JSON object of results on stdout (see BENCHMARKS.md).

use clap::{Parser, Subcommand};
use openpim_loadgen::args::{parse_duration, parse_header, parse_size, Size};
use openpim_loadgen::{activate, checks, fsync, hello, http_load, scale, seed};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(name = "openpim-loadgen", about = "Load generator and machine ceilings for OpenPIM benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// A minimal hyper server answering 200 "ok": the HTTP ceiling.
    HelloServer {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
    },
    /// Closed-loop keep-alive GET load: one connection per worker.
    Http {
        /// The URL to load (or the first of --url-file's).
        #[arg(long, required_unless_present = "url_file")]
        url: Option<String>,
        /// A file of URLs, one per line, sent in turn.
        #[arg(long)]
        url_file: Option<PathBuf>,
        #[arg(long, default_value_t = 1)]
        connections: usize,
        #[arg(long, default_value = "10s", value_parser = parse_duration)]
        duration: Duration,
        #[arg(long, default_value = "2s", value_parser = parse_duration)]
        warmup: Duration,
        /// `Name: value`; repeatable.
        #[arg(long = "header", value_parser = parse_header)]
        headers: Vec<(String, String)>,
    },
    /// BEGIN; INSERT one row; COMMIT in a loop on a WAL database with synchronous=FULL.
    SqliteFsync {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value = "5s", value_parser = parse_duration)]
        duration: Duration,
    },
    /// Generates the workload and bulk-loads it into a fresh data directory.
    Seed {
        #[arg(long)]
        data: PathBuf,
        /// small (10k users), large (1M users), or a number of users.
        #[arg(long, default_value = "small", value_parser = parse_size)]
        size: Size,
    },
    /// Prints access-check URLs for the workload's query mix, one per line.
    CheckUrls {
        #[arg(long, value_parser = parse_size)]
        size: Size,
        /// Base URL of the server (http://127.0.0.1:PORT).
        #[arg(long)]
        base: String,
        #[arg(long, default_value_t = 10_000)]
        count: usize,
    },
    /// Prints access-history URLs (issue #21) for the principals of the workload's query mix, one
    /// per line: their history over the 30 days before --until, or their checks at instants in it.
    HistoryUrls {
        #[arg(long, value_parser = parse_size)]
        size: Size,
        /// Base URL of the server (http://127.0.0.1:PORT).
        #[arg(long)]
        base: String,
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        #[arg(long, value_enum)]
        kind: checks::HistoryKind,
        /// The window's end (RFC 3339; not after the server's now). Default: now.
        #[arg(long, value_parser = parse_instant)]
        until: Option<time::OffsetDateTime>,
    },
    /// selfActivate requests against a seeded server, each for a distinct eligibility.
    Activate {
        /// Base URL of the server.
        #[arg(long)]
        url: String,
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value_t = 64)]
        connections: usize,
        #[arg(long, default_value_t = 2000)]
        count: usize,
    },
    /// Starts `openpim serve` on a seeded directory: cold start, RSS, filtered list latency.
    Scale {
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value = "target/release/openpim")]
        binary: PathBuf,
        #[arg(long, default_value_t = 1000)]
        samples: usize,
    },
}

fn parse_instant(s: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).map_err(|e| format!("{s}: {e}"))
}

fn print(v: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(v)?);
    Ok(())
}

/// Prints the report and turns "the run did not answer correctly" into a failing exit status.
fn finish(v: &impl serde::Serialize, ok: bool, what: &str) -> anyhow::Result<ExitCode> {
    print(v)?;
    if ok {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("openpim-loadgen: {what}: too many failed requests (see the JSON above)");
        Ok(ExitCode::from(2))
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Cmd::HelloServer { listen } => {
            hello::serve(listen).await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Http { url, url_file, connections, duration, warmup, headers } => {
            let mut urls: Vec<String> = url.into_iter().collect();
            if let Some(f) = url_file {
                let text = std::fs::read_to_string(&f).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
                urls.extend(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from));
            }
            let r = http_load::run(http_load::Options { urls, connections, duration, warmup, headers }).await?;
            finish(&r, r.acceptable(), "http")
        }
        Cmd::SqliteFsync { dir, duration } => {
            print(&fsync::run(&dir, duration).await?)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Seed { data, size } => {
            print(&seed::run(&data, &seed::spec_for(size)).await?)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::CheckUrls { size, base, count } => {
            let w = openpim_bench::workload::Workload::generate(&seed::spec_for(size));
            for u in checks::urls(&w, &base, count, 42) {
                println!("{u}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::HistoryUrls { size, base, count, kind, until } => {
            let w = openpim_bench::workload::Workload::generate(&seed::spec_for(size));
            let until = until.unwrap_or_else(time::OffsetDateTime::now_utc);
            for u in checks::history_urls(&w, &base, count, 42, kind, until) {
                println!("{u}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Activate { url, data, connections, count } => {
            let r = activate::run(&url, &data, connections, count).await?;
            finish(&r, r.acceptable(), "activate")
        }
        Cmd::Scale { data, binary, samples } => {
            let r = scale::run(&data, &binary, samples).await?;
            finish(&r, r.acceptable(), "scale")
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("openpim-loadgen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_http_subcommand() {
        let cli = Cli::try_parse_from([
            "openpim-loadgen",
            "http",
            "--url",
            "http://127.0.0.1:1/healthz",
            "--connections",
            "64",
            "--duration",
            "1500ms",
            "--header",
            "Authorization: Bearer t",
        ])
        .unwrap();
        match cli.command {
            Cmd::Http { url, connections, duration, warmup, headers, url_file } => {
                assert_eq!(url.as_deref(), Some("http://127.0.0.1:1/healthz"));
                assert_eq!(connections, 64);
                assert_eq!(duration, Duration::from_millis(1500));
                assert_eq!(warmup, Duration::from_secs(2));
                assert_eq!(headers, vec![("Authorization".to_string(), "Bearer t".to_string())]);
                assert!(url_file.is_none());
            }
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn rejects_bad_arguments() {
        assert!(Cli::try_parse_from(["openpim-loadgen", "http"]).is_err(), "a URL is required");
        assert!(Cli::try_parse_from(["openpim-loadgen", "http", "--url", "x", "--duration", "soon"]).is_err());
        assert!(Cli::try_parse_from(["openpim-loadgen", "seed", "--data", "d", "--size", "huge"]).is_err());
        assert!(Cli::try_parse_from(["openpim-loadgen", "http", "--url", "x", "--header", "nocolon"]).is_err());
    }

    #[test]
    fn parses_seed_and_scale() {
        let cli = Cli::try_parse_from(["openpim-loadgen", "seed", "--data", "/tmp/d", "--size", "250"]).unwrap();
        assert!(matches!(cli.command, Cmd::Seed { size: Size::Users(250), .. }));
        let cli = Cli::try_parse_from(["openpim-loadgen", "scale", "--data", "/tmp/d"]).unwrap();
        match cli.command {
            Cmd::Scale { binary, samples, .. } => {
                assert_eq!(binary, PathBuf::from("target/release/openpim"));
                assert_eq!(samples, 1000);
            }
            other => panic!("parsed as {other:?}"),
        }
    }
}
