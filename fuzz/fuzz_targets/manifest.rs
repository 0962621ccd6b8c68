//! `hookstrap.toml` is user input: any text either parses into a checked manifest or is
//! refused with a line and column inside the text; nothing panics.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

use hookstrap::resolve::manifest::Manifest;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Manifest::parse(text, Path::new("hookstrap.toml")) {
        Ok(manifest) => {
            for tool in &manifest.tools {
                assert!(!tool.name.is_empty());
                assert!(!tool.command().is_empty());
            }
        }
        Err(err) => {
            assert!(err.line >= 1 && err.line <= text.lines().count().max(1) + 1, "{err}");
            assert!(err.column >= 1, "{err}");
        }
    }
});
