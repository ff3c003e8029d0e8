//! `demo-sites`: serves the demo bank on 127.0.0.1 until Ctrl-C. The first line on stdout is
//! its URL (`scripts/demo` and `scripts/bench` read it); the rest goes to stderr, including
//! the 2FA codes the bank "sends by SMS".

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use demo_sites::{DemoSite, DemoSiteOptions, demo_bank_fixtures};

#[derive(Parser)]
#[command(
    name = "demo-sites",
    version,
    about = "Serve the demo bank fixture site on 127.0.0.1 (any free port) until Ctrl-C"
)]
struct Args {
    /// The demo bank's pages and data; default: fixtures/demo-bank of this checkout.
    #[arg(long, value_name = "DIR")]
    fixtures: Option<PathBuf>,
    /// Every 2FA code is this one (for scripted demos).
    #[arg(long, env = "GLEANER_DEMO_OTP")]
    fixed_code: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match serve(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> std::io::Result<()> {
    let site = DemoSite::start(
        args.fixtures.unwrap_or_else(demo_bank_fixtures),
        DemoSiteOptions {
            fixed_code: args.fixed_code,
            print_codes: true,
            ..Default::default()
        },
    )
    .await?;
    println!("{}", site.base_url());
    std::io::stdout().flush()?;
    eprintln!(
        "demo bank on {} (users alice, bob, carol; password demo). Ctrl-C to stop.",
        site.base_url()
    );
    tokio::signal::ctrl_c().await?;
    site.shutdown().await;
    Ok(())
}
