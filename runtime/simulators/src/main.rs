//! `banca-sim`: runs the simulators of the core platform, independent system, UAA and Twilio
//! on one port until interrupted. Prints the base URL on stdout (data), logs nothing else.
//!
//! ```text
//! banca-sim [--listen 127.0.0.1:8085] [--seed N] [--open-accounts]
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;

use banca_simulators::SimConfig;

fn usage() -> ExitCode {
    eprintln!("usage: banca-sim [--listen ADDR:PORT] [--seed N] [--open-accounts]");
    ExitCode::from(2)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut listen = SocketAddr::from(([127, 0, 0, 1], 8085));
    let mut config = SimConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => match args.next().and_then(|a| a.parse().ok()) {
                Some(a) => listen = a,
                None => return usage(),
            },
            "--seed" => match args.next().and_then(|a| a.parse().ok()) {
                Some(s) => config.seed = s,
                None => return usage(),
            },
            "--open-accounts" => config.open_accounts = true,
            "-h" | "--help" => {
                let _ = usage();
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("banca-sim: unknown argument {other:?}");
                return usage();
            }
        }
    }
    let handle = match banca_simulators::start_on(listen, config).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!(
                "banca-sim: {e}: {}",
                std::error::Error::source(&e)
                    .map(|s| s.to_string())
                    .unwrap_or_default()
            );
            return ExitCode::from(2);
        }
    };
    println!("{}", handle.base_url());
    let _ = tokio::signal::ctrl_c().await;
    handle.stop().await;
    ExitCode::SUCCESS
}
