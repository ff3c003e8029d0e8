//! `demo-sites`: serves the demo bank (or, with `--site demo-telecom`, Demo Telecom) on
//! 127.0.0.1 until Ctrl-C. The first line on stdout is its URL (`scripts/demo` and
//! `scripts/bench` read it); the rest goes to stderr, including the 2FA codes the site
//! "sends by SMS".

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use demo_sites::telecom::{self, DemoTelecom, DemoTelecomOptions};
use demo_sites::{DemoSite, DemoSiteOptions, demo_bank_fixtures};

/// Which fixture site to serve: named as the connectors that collect them.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Site {
    DemoBank,
    DemoTelecom,
}

#[derive(Parser)]
#[command(
    name = "demo-sites",
    version,
    about = "Serve a fixture site (the demo bank by default) on 127.0.0.1 (any free port) until Ctrl-C"
)]
struct Args {
    /// The site to serve.
    #[arg(long, value_enum, default_value = "demo-bank")]
    site: Site,
    /// The demo bank's pages and data; default: fixtures/demo-bank of this checkout.
    #[arg(long, value_name = "DIR")]
    fixtures: Option<PathBuf>,
    /// Every 2FA code is this one (for scripted demos). Demo Telecom's code is always
    /// fixed: 424242 unless set.
    #[arg(long, env = "GLEANER_DEMO_OTP")]
    fixed_code: Option<String>,
    /// Demo Telecom's password instead of the default one (recordings use a password
    /// that appears nowhere else on the site).
    #[arg(long)]
    password: Option<String>,
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
    match args.site {
        Site::DemoBank => serve_bank(args).await,
        Site::DemoTelecom => serve_telecom(args).await,
    }
}

async fn serve_telecom(args: Args) -> std::io::Result<()> {
    let mut options = DemoTelecomOptions {
        code: args
            .fixed_code
            .unwrap_or_else(|| telecom::DEFAULT_CODE.into()),
        print_codes: true,
        ..Default::default()
    };
    if let Some(password) = args.password {
        options.password = password;
    }
    let password = options.password.clone();
    let site = DemoTelecom::start(options).await?;
    println!("{}", site.base_url());
    std::io::stdout().flush()?;
    eprintln!(
        "demo telecom on {} (its login frame on {}; user {}, password {}). Ctrl-C to stop.",
        site.base_url(),
        site.idp_url(),
        telecom::DEFAULT_LOGIN,
        password,
    );
    tokio::signal::ctrl_c().await?;
    site.shutdown().await;
    Ok(())
}

async fn serve_bank(args: Args) -> std::io::Result<()> {
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
