//! The `partybase` command: dispatches to the commands in [`partybase::cli`].

use std::process::ExitCode;

#[actix_web::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match partybase::cli::run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("partybase: {error:#}");
            ExitCode::FAILURE
        }
    }
}
