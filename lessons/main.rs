use std::process::ExitCode;

use clap::FromArgMatches;
use workshop::runner::cli::{self, Cli};

/// `--lang X` or `--lang=X` among the arguments, read before clap parses them so that its help is in that
/// language too; English for `--json`, which programs read.
fn asked_language() -> Option<String> {
    let mut args = std::env::args_os().skip(1);
    let mut asked = None;
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        } else if arg == "--json" {
            return Some("en".into());
        } else if arg == "--lang" {
            asked = args.next().map(|v| v.to_string_lossy().into_owned());
        } else if let Some(lang) = arg.to_str().and_then(|a| a.strip_prefix("--lang=")) {
            asked = Some(lang.to_string());
        }
    }
    asked
}

fn main() -> ExitCode {
    if let Err(err) = workshop::ui::lang::choose(asked_language().as_deref()) {
        eprintln!("✗ {err}");
        return ExitCode::from(2);
    }
    let cli = match Cli::from_arg_matches(&cli::command().get_matches()) {
        Ok(cli) => cli,
        Err(err) => err.exit(),
    };
    let outcome = tokio::runtime::Runtime::new().map_err(anyhow::Error::from).and_then(|runtime| {
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
                eprintln!("  {}", workshop::t!("because: {cause}", cause));
            }
            ExitCode::from(2)
        }
    }
}
