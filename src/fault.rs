//! Pause points for the kill-at-every-phase tests (issue 11), compiled only into the test
//! build: the `fault-injection` cargo feature, which the package enables for its own tests
//! through a dev-dependency on itself. The shipped binary (`cargo build --release`,
//! `scripts/build-static.sh`) has no such feature: there [`pause`] is an empty function and
//! no variable is read.
//!
//! With the feature, `HOOKSTRAP_FAULT_PAUSE=PHASE:FILE` (read by `context`, set by
//! `commands`) makes the process create `FILE` when it reaches `PHASE` and then sleep, so a
//! test can `SIGKILL` it exactly there. Phases: `unpack` (an archive entry was written into
//! staging), `place` (the binary is about to be renamed into the bin dir), `receipt` (the new
//! receipt is written but not yet renamed), `env` (the env file edit is about to land).

#[cfg(feature = "fault-injection")]
mod active {
    use std::path::PathBuf;
    use std::sync::OnceLock;

    static AT: OnceLock<(String, PathBuf)> = OnceLock::new();

    pub fn arm(spec: Option<&str>) {
        if let Some((phase, file)) = spec.and_then(|s| s.split_once(':')) {
            let _ = AT.set((phase.to_string(), PathBuf::from(file)));
        }
    }

    pub fn pause(phase: &str) {
        if let Some((at, file)) = AT.get()
            && at == phase
        {
            let _ = std::fs::write(file, phase);
            std::thread::sleep(std::time::Duration::from_secs(600));
        }
    }
}

/// Arms the pause point named by `spec` (`PHASE:FILE`).
#[cfg(feature = "fault-injection")]
pub fn arm(spec: Option<&str>) {
    active::arm(spec);
}

/// The shipped binary has no pause points.
#[cfg(not(feature = "fault-injection"))]
pub fn arm(_spec: Option<&str>) {}

/// Reaching `phase`: with the test build armed for it, stop here until killed.
#[inline]
pub fn pause(_phase: &str) {
    #[cfg(feature = "fault-injection")]
    active::pause(_phase);
}
