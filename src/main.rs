//! The `hookstrap` binary: parse, run, map the error to SPEC.md's exit code. Nothing else.
//!
//! An error goes to stderr as text; with `--json`, stdout also gets one object with `error`,
//! `code` and `hint` (docs/json.md), even when the command line itself does not parse.

use std::process::ExitCode;

use clap::Parser;
use hookstrap::diag::{Code, Diagnostic};
use hookstrap::report::{self, ErrorReport};

fn main() -> ExitCode {
    let args = hookstrap::context::args();
    // Asked for before `--` (after it, `--json` would be a SPEC).
    let json = args
        .iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json");
    let cli = match hookstrap::cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help, --version: data, not an error.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let _ = e.print();
            if json {
                let text = e.to_string();
                let first = text.lines().next().unwrap_or_default();
                let error = first.strip_prefix("error: ").unwrap_or(first).to_string();
                fail_json(ErrorReport {
                    error,
                    code: Code::Usage.as_u8(),
                    hint: Some("see `hookstrap --help`".into()),
                    causes: Vec::new(),
                });
            }
            return ExitCode::from(Code::Usage.as_u8());
        }
    };
    let ctx = match hookstrap::context::Context::from_process() {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("error: cannot read the working directory\n  Caused by: {e}");
            if json {
                fail_json(ErrorReport {
                    error: "cannot read the working directory".into(),
                    code: Code::LocalFs.as_u8(),
                    hint: None,
                    causes: vec![e.to_string()],
                });
            }
            return ExitCode::from(Code::LocalFs.as_u8());
        }
    };
    let verbosity = cli.output.verbose;
    match hookstrap::run(cli, &ctx, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report::print_error(&err, verbosity);
            if json {
                fail_json(ErrorReport::of(&err, verbosity));
            }
            ExitCode::from(err.exit_code())
        }
    }
}

/// The `--json` error object on stdout.
fn fail_json(report: ErrorReport) {
    let _ = report::json(&mut std::io::stdout().lock(), &report);
}
