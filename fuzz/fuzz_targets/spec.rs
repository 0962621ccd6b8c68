//! A SPEC comes from the command line or a build script: `TOOL[@VERSION]`. Parsing must never
//! panic, and what it accepts must print back to a SPEC that parses to the same thing.
#![no_main]

use libfuzzer_sys::fuzz_target;

use hookstrap::diag::Diagnostic;
use hookstrap::resolve::Spec;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Spec::parse(text) {
        Ok(spec) => {
            let shown = spec.to_string();
            let again = Spec::parse(&shown)
                .unwrap_or_else(|e| panic!("`{text}` printed as `{shown}`, which fails: {e}"));
            assert_eq!(again, spec, "`{text}` printed as `{shown}`");
        }
        Err(err) => {
            // An error is a usage error (exit 2) with a message.
            assert_eq!(hookstrap::Error::from(err).exit_code(), 2);
        }
    }
});
