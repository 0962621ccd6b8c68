//! The `hookstrap` binary: parse, run, map the error to SPEC.md's exit code. Nothing else.

use std::process::ExitCode;

use clap::Parser;
use hookstrap::diag::{Code, Diagnostic};

fn main() -> ExitCode {
    let cli = match hookstrap::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                Code::Usage.as_u8()
            } else {
                0
            });
        }
    };
    let ctx = match hookstrap::context::Context::from_process() {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("error: cannot read the working directory\n  Caused by: {e}");
            return ExitCode::from(Code::LocalFs.as_u8());
        }
    };
    let verbosity = cli.output.verbose;
    match hookstrap::run(cli, &ctx, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            hookstrap::report::print_error(&err, verbosity);
            ExitCode::from(err.exit_code())
        }
    }
}
