//! `hookstrap hook confine --write PATH… --status FILE -- PROGRAM ARGS…`: internal, run by
//! `hook build` around `dash`. It refuses writes outside the given places to itself and to
//! whatever it executes (Landlock: creating, writing, truncating, removing, renaming, linking;
//! reading and executing stay free), records in FILE whether the kernel enforced that
//! (`enforced`, `partial`, or `off: why`), then replaces itself with PROGRAM.
//!
//! Why a re-exec and not `pre_exec`: Landlock applies to the calling thread and what it
//! executes, so it must be applied in the child between fork and exec; `pre_exec` would need
//! `unsafe` code, which hookstrap has none of. A fresh hookstrap process is single-threaded at
//! this point and uses only safe calls. On a kernel without Landlock the program still runs,
//! and `hook build` says it could not confine it.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use super::HookError;

/// Whether Landlock confined the hook's writes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "lowercase")]
pub enum Confinement {
    Enforced,
    /// An older kernel's Landlock: some kinds of writes are refused, not all.
    Partial,
    /// Not confined, and why.
    Off(String),
}

impl Confinement {
    /// What `hook confine` writes in its status file.
    pub fn status_text(&self) -> String {
        match self {
            Confinement::Enforced => "enforced".into(),
            Confinement::Partial => "partial".into(),
            Confinement::Off(why) => format!("off: {why}"),
        }
    }

    pub fn parse(text: &str) -> Confinement {
        match text.trim() {
            "enforced" => Confinement::Enforced,
            "partial" => Confinement::Partial,
            other => Confinement::Off(other.strip_prefix("off: ").unwrap_or(other).to_string()),
        }
    }
}

/// Confines this process, records how well, and executes `command`; returns only on failure.
pub fn exec(writable: &[PathBuf], status: &Path, command: &[OsString]) -> HookError {
    // Opened before the restriction: the status file need not be in a writable place.
    let file = std::fs::File::create(status);
    let state = apply(writable);
    if let Ok(mut file) = file {
        let _ = file.write_all(state.status_text().as_bytes());
    }
    let Some((program, args)) = command.split_first() else {
        return HookError::Spawn {
            program: PathBuf::new(),
            source: std::io::ErrorKind::InvalidInput.into(),
        };
    };
    let source = Command::new(program).args(args).exec();
    HookError::Spawn {
        program: program.into(),
        source,
    }
}

/// Restricts writes to `writable` (best effort: what this kernel's Landlock supports).
fn apply(writable: &[PathBuf]) -> Confinement {
    use landlock::{
        ABI, AccessFs, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, path_beneath_rules,
    };
    // ABI 5 covers every file-system right (ABI 6 and later add only non-file scopes).
    let abi = ABI::V5;
    let result = Ruleset::default()
        .handle_access(AccessFs::from_write(abi))
        .and_then(|r| r.create())
        .and_then(|r| r.add_rules(path_beneath_rules(writable, AccessFs::from_write(abi))))
        .and_then(|r| r.restrict_self());
    match result {
        Ok(status) => match status.ruleset {
            RulesetStatus::FullyEnforced => Confinement::Enforced,
            RulesetStatus::PartiallyEnforced => Confinement::Partial,
            RulesetStatus::NotEnforced => {
                Confinement::Off("this kernel has no Landlock, or it is turned off".into())
            }
        },
        Err(e) => Confinement::Off(format!("Landlock failed: {e}")),
    }
}
