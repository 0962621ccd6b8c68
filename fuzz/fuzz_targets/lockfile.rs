//! `hookstrap.lock` is read from the app dir (a repository anyone may edit). Parsing must never
//! panic; an error points inside the text; an accepted lock file renders to text that parses
//! back to the same pins.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

use hookstrap::diag::UsageError;
use hookstrap::resolve::lockfile::LockFile;
use hookstrap::verify::parse_sha256;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("hookstrap.lock");
    match LockFile::parse(text, path) {
        Ok(lock) => {
            for tool in &lock.tools {
                for art in &tool.artifacts {
                    assert_eq!(
                        parse_sha256(&art.sha256).as_deref(),
                        Some(art.sha256.as_str())
                    );
                }
            }
            let rendered = lock.render();
            let again = LockFile::parse(&rendered, path)
                .unwrap_or_else(|e| panic!("rendered lock file does not parse: {e}\n{rendered}"));
            let mut sorted = lock.clone();
            sorted.tools.sort_by(|a, b| a.name.cmp(&b.name));
            for tool in &mut sorted.tools {
                tool.artifacts.sort_by(|a, b| a.target.cmp(&b.target));
            }
            assert_eq!(again, sorted, "rendered:\n{rendered}");
        }
        Err(UsageError::BadLock { line, column, .. }) => {
            let lines = text.split('\n').count();
            assert!(line >= 1 && line <= lines, "line {line} of {lines}");
            let width = text
                .split('\n')
                .nth(line - 1)
                .map_or(0, |l| l.chars().count());
            assert!(
                column >= 1 && column <= width + 1,
                "column {column} of {width}"
            );
        }
        Err(other) => panic!("unexpected error {other:?}"),
    }
});
