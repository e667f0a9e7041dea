//! The `apikeys` command. Exit codes: 0 success, 1 refused / not found / store error,
//! 2 usage or validation error; every error is one line on stderr.

mod cli;
mod commands;
mod output;
mod parse;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use crate::cli::Cli;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    let remote = match cli
        .server
        .as_deref()
        .map(commands::remote::client)
        .transpose()
    {
        Ok(remote) => remote,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            return ExitCode::from(failure.code);
        }
    };
    if remote.is_none() && cli.store.store.is_none() {
        eprintln!("error: {}", apikeys_cli::StoreOpenError::NoStore);
        return ExitCode::from(2);
    }
    // Off a terminal nobody can answer the question: a script must say --yes.
    if let Some(command) = cli.command.unconfirmed()
        && !std::io::stdin().is_terminal()
    {
        eprintln!(
            "error: {command} asks for confirmation and standard input is not a terminal: pass --yes"
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    let outcome = match remote {
        Some(client) => runtime.block_on(commands::remote::run(cli.command, &client)),
        None => runtime.block_on(commands::run(cli.command, &cli.store)),
    };
    match outcome {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// Help and version go to stdout with exit 0; usage errors are one line and exit 2.
fn usage_error(error: &clap::Error) -> ExitCode {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            eprintln!(
                "error: a command is required: create, list, show, roll, edit, disable, enable, revoke, delete, history or verify (see apikeys --help)"
            );
            ExitCode::from(2)
        }
        _ => {
            // clap's first paragraph, folded onto one line (a list of missing arguments
            // follows its heading on indented lines); the usage and tips are left out.
            let rendered = error.render().to_string();
            let line: Vec<&str> = rendered
                .lines()
                .skip_while(|l| l.trim().is_empty())
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            if line.is_empty() {
                eprintln!("error: invalid arguments (see apikeys --help)");
            } else {
                eprintln!("{}", line.join(" "));
            }
            ExitCode::from(2)
        }
    }
}
