use std::process::ExitCode;

use clap::Parser;
use workshop::runner::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = workshop::ui::lang::choose(cli.lang.as_deref())
        .and_then(|_| tokio::runtime::Runtime::new().map_err(anyhow::Error::from));
    let outcome = outcome.and_then(|runtime| {
        let outcome = runtime.block_on(workshop::runner::app::run(cli));
        // A blocking consumer (lesson 7's sink) is left to the OS when the command was interrupted.
        runtime.shutdown_timeout(std::time::Duration::from_secs(2));
        outcome
    });
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("✗ {err}");
            for cause in err.chain().skip(1) {
                eprintln!("{}", workshop::t!("  because: {cause}", cause));
            }
            ExitCode::from(2)
        }
    }
}
