//! The `partybase` command: parses the command line and runs it with [`partybase::cli`].
//!
//! `--help` and `--version` print to standard output and exit 0; any error, a usage error included, prints to
//! standard error and exits 1.

use std::process::ExitCode;

use clap::Parser;

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = match partybase::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match partybase::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("partybase: {error:#}");
            ExitCode::FAILURE
        }
    }
}
