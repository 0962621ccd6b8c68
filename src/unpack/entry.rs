//! The one set of rules every entry of every format goes through before it touches the disk
//! (SPEC.md, "Untrusted archives"), and how entry names are shown in messages.
//!
//! - A name is raw bytes and must be a plain relative UTF-8 path: a leading `./` and `.`
//!   components are dropped; `..`, absolute paths, drive prefixes, backslashes, NUL bytes,
//!   empty names and names over [`Limits::max_path_len`] are refused, and so are names the
//!   filesystem cannot hold (`ENAMETOOLONG`): the archive is at fault, not the disk.
//! - Files are created with `create_new` (`O_EXCL`, never through a link) and directories with
//!   plain `create_dir`, checking without following links that each one is a real directory,
//!   so nothing can land outside `dest`. An entry whose path exists is refused, except a
//!   directory over a directory.
//! - Modes are rebuilt: 0755 for directories and files with any execute bit, 0644 for other
//!   files; owners, times, setuid, setgid and sticky bits never survive. A file gets its mode
//!   once its data is complete (0600 until then).
//! - A file's data counts against [`Limits::max_unpacked_bytes`]: its declared size is checked
//!   before anything is created, and the bytes really read are counted as they are written.
//! - Names in messages are lossy UTF-8 with control characters escaped, cut after 200
//!   characters.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::shown::shown_name;
use super::source::{Copied, Tracker, copy_limited};
use super::{ExtractError, Limits, Unpacked};

/// Size of the one buffer every entry's data goes through.
pub(super) const BUF_SIZE: usize = 64 * 1024;

/// The mode of directories and of files with any execute bit.
const EXECUTABLE: u32 = 0o755;
/// The mode of every other file.
const REGULAR: u32 = 0o644;

/// What an archive says about the size of a file's data.
#[derive(Debug, Clone, Copy)]
pub(super) enum Size {
    /// Exactly this many bytes follow (tar): fewer is a truncated archive.
    Exact(u64),
    /// The archive claims this many (a zip's directory), which may lie: the real count decides.
    Claimed(u64),
    /// Not known before reading (a bare binary).
    Unknown,
}

impl Size {
    fn claimed(self) -> u64 {
        match self {
            Size::Exact(n) | Size::Claimed(n) => n,
            Size::Unknown => 0,
        }
    }
}

/// The destination of one archive: entries are placed under `dest` by the rules above and
/// counted against the limits.
pub(super) struct Tree<'a> {
    dest: &'a Path,
    limits: &'a Limits,
    tracker: &'a Tracker,
    /// Entries seen, whatever they turn out to be.
    seen: u64,
    unpacked: Unpacked,
    buf: Vec<u8>,
}

impl<'a> Tree<'a> {
    /// `tracker` watches the readers entries' data comes from.
    pub(super) fn new(dest: &'a Path, limits: &'a Limits, tracker: &'a Tracker) -> Self {
        Tree {
            dest,
            limits,
            tracker,
            seen: 0,
            unpacked: Unpacked::default(),
            buf: vec![0u8; BUF_SIZE],
        }
    }

    /// What was unpacked so far.
    pub(super) fn unpacked(&self) -> Unpacked {
        self.unpacked
    }

    /// Count the entry named `raw`, refusing the one past [`Limits::max_entries`].
    pub(super) fn count(&mut self, raw: &[u8]) -> Result<(), ExtractError> {
        self.seen += 1;
        if self.seen > self.limits.max_entries {
            return Err(ExtractError::TooManyEntries {
                name: shown_name(raw),
                max: self.limits.max_entries,
            });
        }
        Ok(())
    }

    /// A directory entry named `raw` holding `size` bytes (which must be none).
    pub(super) fn dir(&mut self, raw: &[u8], size: u64) -> Result<(), ExtractError> {
        let relative = safe_relative_path(raw, self.limits.max_path_len)?;
        let shown = shown_name(raw);
        if size != 0 {
            return Err(ExtractError::DirectoryWithData { name: shown });
        }
        self.make_dirs(&relative, &shown)?;
        self.unpacked.entries += 1;
        Ok(())
    }

    /// A file entry named `raw` with its data in `data`. `mode` is the archive's mode bits,
    /// `None` when they cannot be read. Returns the bytes written.
    pub(super) fn file(
        &mut self,
        raw: &[u8],
        size: Size,
        mode: Option<u32>,
        data: &mut impl Read,
    ) -> Result<u64, ExtractError> {
        let relative = safe_relative_path(raw, self.limits.max_path_len)?;
        let shown = shown_name(raw);
        let Some((name, parents)) = relative.split_last() else {
            return Err(ExtractError::UnsafePath {
                name: shown,
                reason: "is empty",
            });
        };
        self.place(parents, name, &shown, size, mode, data)
    }

    /// A file called `name` (one checked component) right under `dest`, shown as `shown`.
    pub(super) fn top_file(
        &mut self,
        name: &str,
        shown: &str,
        mode: u32,
        data: &mut impl Read,
    ) -> Result<u64, ExtractError> {
        self.place(&[], name, shown, Size::Unknown, Some(mode), data)
    }

    /// Create `dest/parents/name`, fill it from `data` within the byte budget, set its mode.
    fn place(
        &mut self,
        parents: &[&str],
        name: &str,
        shown: &str,
        size: Size,
        mode: Option<u32>,
        data: &mut impl Read,
    ) -> Result<u64, ExtractError> {
        let budget = self
            .limits
            .max_unpacked_bytes
            .saturating_sub(self.unpacked.bytes);
        if size.claimed() > budget {
            return Err(self.too_large(shown));
        }
        let mode = mode.ok_or_else(|| ExtractError::InvalidMode {
            name: shown.to_owned(),
        })?;
        let path = self.make_dirs(parents, shown)?.join(name);
        let mut file = create_file(&path, shown)?;
        let copied = copy_limited(data, &mut file, &path, budget, &mut self.buf, self.tracker)?;
        let Copied::All(written) = copied else {
            return Err(self.too_large(shown));
        };
        if matches!(size, Size::Exact(n) if n != written) {
            return Err(ExtractError::Truncated { source: None });
        }
        set_file_mode(&file, rebuilt_mode(mode)).map_err(|source| ExtractError::Write {
            path: path.clone(),
            source,
        })?;
        self.unpacked.bytes += written;
        self.unpacked.entries += 1;
        Ok(written)
    }

    /// `dest` joined with `components`, each one made sure to be a real directory.
    fn make_dirs(&self, components: &[&str], shown: &str) -> Result<PathBuf, ExtractError> {
        let mut path = self.dest.to_path_buf();
        for component in components {
            path.push(component);
            ensure_dir(&path, shown)?;
        }
        Ok(path)
    }

    fn too_large(&self, shown: &str) -> ExtractError {
        ExtractError::TooLarge {
            name: shown.to_owned(),
            max: self.limits.max_unpacked_bytes,
        }
    }
}

/// Check an entry name and split it into the components to create under `dest`.
///
/// An empty result means `dest` itself (a `./` directory entry).
pub(super) fn safe_relative_path(raw: &[u8], max_len: usize) -> Result<Vec<&str>, ExtractError> {
    let unsafe_path = |reason| ExtractError::UnsafePath {
        name: shown_name(raw),
        reason,
    };
    if raw.len() > max_len {
        return Err(ExtractError::PathTooLong {
            name: shown_name(raw),
            max: max_len,
        });
    }
    if raw.is_empty() {
        return Err(unsafe_path("is empty"));
    }
    if raw.contains(&0) {
        return Err(unsafe_path("contains a NUL byte"));
    }
    if raw.len() >= 2 && raw[0].is_ascii_alphabetic() && raw[1] == b':' {
        return Err(unsafe_path("starts with a drive prefix"));
    }
    if raw.contains(&b'\\') {
        return Err(unsafe_path("contains a backslash"));
    }
    if raw[0] == b'/' {
        return Err(unsafe_path("is an absolute path"));
    }
    let name = std::str::from_utf8(raw).map_err(|_| unsafe_path("is not valid UTF-8"))?;
    let mut components = Vec::new();
    for component in name.split('/') {
        match component {
            "" | "." => {}
            ".." => return Err(unsafe_path("contains a `..` component")),
            normal => components.push(normal),
        }
    }
    Ok(components)
}

/// The last component of an entry name, as [`safe_relative_path`] splits it (empty if none).
pub(super) fn file_name(raw: &[u8]) -> &[u8] {
    raw.split(|&b| b == b'/')
        .rfind(|c| !c.is_empty() && *c != b".")
        .unwrap_or_default()
}

/// Make sure `path` is a real directory (not a link to one), creating it if missing.
/// `shown` is the entry's name as messages print it.
fn ensure_dir(path: &Path, shown: &str) -> Result<(), ExtractError> {
    let create_error = |source| ExtractError::Create {
        path: path.to_path_buf(),
        source,
    };
    match fs::create_dir(path) {
        Ok(()) => set_path_mode(path, EXECUTABLE).map_err(create_error),
        Err(err) if err.kind() == io::ErrorKind::InvalidFilename => Err(too_long(shown)),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            match fs::symlink_metadata(path) {
                Ok(meta) if meta.file_type().is_dir() => Ok(()),
                Ok(_) => Err(ExtractError::Duplicate {
                    name: shown.to_owned(),
                }),
                Err(source) => Err(create_error(source)),
            }
        }
        Err(source) => Err(create_error(source)),
    }
}

/// Create a new file (mode 0600 until it is complete), never opening an existing one or
/// following a link.
fn create_file(path: &Path, shown: &str) -> Result<File, ExtractError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|source| match source.kind() {
        io::ErrorKind::AlreadyExists => ExtractError::Duplicate {
            name: shown.to_owned(),
        },
        io::ErrorKind::InvalidFilename => too_long(shown),
        _ => ExtractError::Create {
            path: path.to_path_buf(),
            source,
        },
    })
}

/// A name within `max_path_len` that the filesystem still cannot hold (a component over
/// `NAME_MAX`, or the whole path over `PATH_MAX`): the archive's fault, not the disk's. (Found
/// while writing the extraction fuzz target: it was reported as a local write failure, exit 7.)
fn too_long(shown: &str) -> ExtractError {
    ExtractError::UnsafePath {
        name: shown.to_owned(),
        reason: "is too long for this filesystem",
    }
}

/// 0755 for any execute bit in `mode`, else 0644.
fn rebuilt_mode(mode: u32) -> u32 {
    if mode & 0o111 != 0 {
        EXECUTABLE
    } else {
        REGULAR
    }
}

/// Set exactly `mode` (the umask does not apply), on the open file.
#[cfg(unix)]
fn set_file_mode(file: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_file_mode(_file: &File, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// Set exactly `mode` on a directory this module just created.
#[cfg(unix)]
fn set_path_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_path_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostic;
    use crate::unpack::tar_header::Tar;
    use crate::unpack::testing::*;
    use std::fs;

    #[test]
    fn file_name_is_the_last_component_kept() {
        for (raw, name) in [
            (&b"gh"[..], &b"gh"[..]),
            (b"bin/gh", b"gh"),
            (b"./bin/gh.exe", b"gh.exe"),
            (b"bin/gh/.", b"gh"),
            (b"bin//gh/", b"gh"),
            (b"./", b""),
        ] {
            assert_eq!(file_name(raw), name, "{raw:?}");
            let last = safe_relative_path(raw, 100).unwrap().pop().unwrap_or("");
            assert_eq!(last.as_bytes(), name, "{raw:?}");
        }
    }

    // ---- names ----
    #[test]
    fn refuses_dotdot() {
        let err = refused(&Tar::default().file("../x", 0o644, b"evil").finish());
        assert!(matches!(err, ExtractError::UnsafePath { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "archive entry `../x` contains a `..` component"
        );
    }

    #[test]
    fn refuses_dotdot_inside() {
        let err = refused(&Tar::default().file("a/../../x", 0o644, b"evil").finish());
        assert!(matches!(err, ExtractError::UnsafePath { .. }), "{err:?}");
    }

    #[test]
    fn refuses_dotdot_after_valid_entries() {
        let tar = Tar::default()
            .dir("a", 0o755)
            .file("a/ok", 0o644, b"fine")
            .file("a/../../x", 0o644, b"evil")
            .finish();
        refused(&tar);
    }

    #[test]
    fn refuses_absolute() {
        let err = refused(&Tar::default().file("/etc/x", 0o644, b"evil").finish());
        assert!(matches!(err, ExtractError::UnsafePath { .. }), "{err:?}");
    }

    #[test]
    fn refuses_drive_backslash() {
        let err = refused(&Tar::default().file("C:\\x", 0o644, b"evil").finish());
        assert!(matches!(err, ExtractError::UnsafePath { .. }), "{err:?}");
    }

    #[test]
    fn refuses_drive_slash() {
        let err = refused(&Tar::default().file("c:/x", 0o644, b"evil").finish());
        assert!(matches!(err, ExtractError::UnsafePath { .. }), "{err:?}");
    }

    #[test]
    fn refuses_backslash() {
        let err = refused(&Tar::default().file("a\\..\\x", 0o644, b"evil").finish());
        assert!(matches!(err, ExtractError::UnsafePath { .. }), "{err:?}");
    }

    #[test]
    fn refuses_nul_in_name() {
        // A ustar name stops at its first NUL; a GNU long name keeps inner NULs.
        let tar = Tar::default()
            .long_name(b"a\0/../../x")
            .file("placeholder", 0o644, b"evil")
            .finish();
        let err = refused(&tar);
        assert!(matches!(err, ExtractError::UnsafePath { .. }), "{err:?}");
        assert!(err.to_string().contains("`a\\u{0}/../../x`"), "{err}");
    }

    #[test]
    fn refuses_empty_name() {
        let err = refused(&Tar::default().file("", 0o644, b"evil").finish());
        assert!(matches!(err, ExtractError::UnsafePath { .. }), "{err:?}");
    }

    #[test]
    fn refuses_file_named_dot() {
        let err = refused(&Tar::default().file("./", 0o644, b"evil").finish());
        assert!(matches!(err, ExtractError::UnsafePath { .. }), "{err:?}");
    }

    #[test]
    fn refuses_long_name_traversal() {
        let tar = Tar::default()
            .long_name(b"../../escaped")
            .file("innocent", 0o644, b"evil")
            .finish();
        refused(&tar);
    }

    #[test]
    fn refuses_pax_path_traversal() {
        let tar = Tar::default()
            .pax_path("../escaped")
            .file("innocent", 0o644, b"evil")
            .finish();
        let err = refused(&tar);
        assert!(err.to_string().contains("`../escaped`"), "{err}");
    }

    #[test]
    fn refuses_non_utf8_name() {
        let err = refused(&Tar::default().entry(b"a\xff", b'0', 0o644, b"x").finish());
        assert!(matches!(err, ExtractError::UnsafePath { .. }), "{err:?}");
    }

    #[test]
    fn refuses_path_too_long() {
        let limits = Limits {
            max_path_len: 50,
            ..Limits::default()
        };
        let name = "a".repeat(51);
        let err = refused_with(
            &Tar::default().file(&name, 0o644, b"x").finish(),
            &limits,
            6,
        );
        assert!(matches!(err, ExtractError::PathTooLong { .. }), "{err:?}");
        // Exactly the limit is fine.
        let sandbox = Sandbox::new();
        let tar = Tar::default().file(&name[..50], 0o644, b"x").finish();
        sandbox.unpack_gz(&gz(&tar), &limits).unwrap();
    }

    #[test]
    fn name_the_filesystem_cannot_hold_is_an_archive_error() {
        // Within `max_path_len`, but one component is over NAME_MAX (255 on Linux): the
        // archive is at fault, not the disk (exit 6, not 7).
        let long = "c".repeat(300);
        for tar in [
            Tar::default()
                .long_name(long.as_bytes())
                .file("placeholder", 0o644, b"x")
                .finish(),
            Tar::default()
                .long_name(format!("{long}/").as_bytes())
                .dir("placeholder", 0o755)
                .finish(),
            Tar::default()
                .long_name(format!("d/{long}/f").as_bytes())
                .file("placeholder", 0o644, b"x")
                .finish(),
            // Short components, but with `dest` in front the path passes PATH_MAX (4096).
            Tar::default()
                .long_name(format!("{}f", "a/".repeat(2040)).as_bytes())
                .file("placeholder", 0o644, b"x")
                .finish(),
        ] {
            let err = refused(&tar);
            assert!(matches!(err, ExtractError::UnsafePath { .. }), "{err:?}");
            assert!(
                err.to_string().contains("too long for this filesystem"),
                "{err}"
            );
        }
    }

    #[test]
    fn refuses_path_too_long_by_default() {
        let name = vec![b'a'; 5000];
        let tar = Tar::default()
            .long_name(&name)
            .file("placeholder", 0o644, b"x")
            .finish();
        let err = refused(&tar);
        assert!(matches!(err, ExtractError::PathTooLong { .. }), "{err:?}");
        assert!(err.to_string().len() < 400, "huge names are cut: {err}");
    }

    #[test]
    fn control_characters_are_escaped_in_messages() {
        let err = refused(&Tar::default().file("\x1b[31m/../x\n", 0o644, b"x").finish());
        assert!(err.to_string().contains("\\u{1b}[31m/../x\\n"), "{err}");
    }

    // ---- collisions ----
    #[test]
    fn refuses_duplicate_file() {
        let tar = Tar::default()
            .file("a", 0o644, b"first")
            .file("a", 0o644, b"second")
            .finish();
        let err = refused(&tar);
        assert!(matches!(err, ExtractError::Duplicate { .. }), "{err:?}");
    }

    #[test]
    fn refuses_file_replacing_dir() {
        let tar = Tar::default()
            .dir("a", 0o755)
            .file("a", 0o644, b"x")
            .finish();
        let err = refused(&tar);
        assert!(matches!(err, ExtractError::Duplicate { .. }), "{err:?}");
    }

    #[test]
    fn refuses_dir_replacing_file() {
        let tar = Tar::default()
            .file("a", 0o644, b"x")
            .dir("a/", 0o755)
            .finish();
        let err = refused(&tar);
        assert!(matches!(err, ExtractError::Duplicate { .. }), "{err:?}");
    }

    #[test]
    fn refuses_file_under_file() {
        let tar = Tar::default()
            .file("a", 0o644, b"x")
            .file("a/b", 0o644, b"y")
            .finish();
        let err = refused(&tar);
        assert!(matches!(err, ExtractError::Duplicate { .. }), "{err:?}");
    }

    #[test]
    fn dir_over_dir_is_fine() {
        let sandbox = Sandbox::new();
        let tar = Tar::default()
            .file("a/b", 0o644, b"x")
            .dir("a", 0o755)
            .dir("./a/", 0o755)
            .dir("./", 0o755)
            .finish();
        let unpacked = sandbox.unpack_gz(&gz(&tar), &Limits::default()).unwrap();
        assert_eq!(
            unpacked,
            Unpacked {
                entries: 4,
                bytes: 1
            }
        );
        assert_eq!(sandbox.listing(), ["a", "a/b"]);
    }

    #[cfg(unix)]
    #[test]
    fn never_follows_a_symlink_in_dest() {
        let sandbox = Sandbox::new();
        let outside = sandbox.root.path().join("outside.txt");
        std::os::unix::fs::symlink(sandbox.root.path(), sandbox.dest.join("up")).unwrap();
        std::os::unix::fs::symlink(&outside, sandbox.dest.join("file")).unwrap();
        for tar in [
            Tar::default().file("up/evil", 0o644, b"evil").finish(),
            Tar::default().file("file", 0o644, b"evil").finish(),
            Tar::default().dir("up", 0o755).finish(),
        ] {
            let err = sandbox
                .unpack_gz(&gz(&tar), &Limits::default())
                .unwrap_err();
            assert_eq!(err.exit_code(), 6, "{err:?}");
        }
        fs::remove_file(sandbox.dest.join("up")).unwrap();
        fs::remove_file(sandbox.dest.join("file")).unwrap();
        sandbox.assert_outside_untouched();
    }

    // ---- modes ----
    #[cfg(unix)]
    #[test]
    fn setuid_file_becomes_0755() {
        let sandbox = Sandbox::new();
        let tar = Tar::default().file("suid", 0o4755, b"x").finish();
        sandbox.unpack_gz(&gz(&tar), &Limits::default()).unwrap();
        assert_eq!(mode_of(&sandbox.dest.join("suid")), 0o755);
        sandbox.assert_outside_untouched();
    }

    #[cfg(unix)]
    #[test]
    fn modes_are_rebuilt() {
        let sandbox = Sandbox::new();
        let tar = Tar::default()
            .file("plain", 0o666, b"x")
            .file("group_exec", 0o6710, b"x")
            .file("sticky", 0o1600, b"x")
            .entry(b"dir", b'5', 0o7777, b"")
            .file("implicit/f", 0o400, b"x")
            .finish();
        sandbox.unpack_gz(&gz(&tar), &Limits::default()).unwrap();
        let dest = &sandbox.dest;
        assert_eq!(mode_of(&dest.join("plain")), 0o644);
        assert_eq!(mode_of(&dest.join("group_exec")), 0o755);
        assert_eq!(mode_of(&dest.join("sticky")), 0o644);
        assert_eq!(mode_of(&dest.join("dir")), 0o755);
        assert_eq!(mode_of(&dest.join("implicit")), 0o755);
        assert_eq!(mode_of(&dest.join("implicit/f")), 0o644);
    }

    // ---- limits ----
    #[test]
    fn refuses_too_many_entries() {
        let limits = Limits {
            max_entries: 3,
            ..Limits::default()
        };
        let mut tar = Tar::default();
        for i in 0..3 {
            tar = tar.file(&format!("f{i}"), 0o644, b"x");
        }
        let ok = tar.finish();
        let sandbox = Sandbox::new();
        sandbox.unpack_gz(&gz(&ok), &limits).unwrap();

        let mut tar = Tar::default();
        for i in 0..4 {
            tar = tar.file(&format!("f{i}"), 0o644, b"x");
        }
        let err = refused_with(&tar.finish(), &limits, 6);
        assert!(
            matches!(err, ExtractError::TooManyEntries { max: 3, .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "archive has more than 3 entries (at entry `f3`)"
        );
        assert!(err.hint().unwrap().contains("--max-entries"));
    }

    #[test]
    fn refuses_over_max_unpacked_via_many_entries() {
        let limits = Limits {
            max_unpacked_bytes: 10_000,
            ..Limits::default()
        };
        let chunk = vec![b'x'; 3000];
        let mut tar = Tar::default();
        for i in 0..4 {
            tar = tar.file(&format!("f{i}"), 0o644, &chunk);
        }
        let sandbox = Sandbox::new();
        let err = sandbox.unpack_gz(&gz(&tar.finish()), &limits).unwrap_err();
        assert!(
            matches!(err, ExtractError::TooLarge { max: 10_000, .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "archive unpacks to more than 10000 bytes (at entry `f3`)"
        );
        assert_eq!(err.exit_code(), 6);
        assert_eq!(
            sandbox.dest_bytes(),
            9000,
            "the fourth file was never started"
        );
        assert!(err.hint().unwrap().contains("HOOKSTRAP_MAX_UNPACKED"));
        sandbox.assert_outside_untouched();
    }

    // ---- any name at all ----
    mod prop {
        use super::*;
        use proptest::prelude::*;

        fn name_bytes() -> impl Strategy<Value = Vec<u8>> {
            proptest::collection::vec(
                prop_oneof![
                    Just(b'.'),
                    Just(b'/'),
                    Just(b'\\'),
                    Just(0u8),
                    Just(b':'),
                    Just(b'a'),
                    Just(b'C'),
                    any::<u8>(),
                ],
                0..24,
            )
        }

        proptest! {
            #[test]
            fn any_name_is_refused_or_lands_inside_dest(name in name_bytes(), is_dir in any::<bool>()) {
                let tar = Tar::default().long_name(&name);
                let tar = if is_dir {
                    tar.dir("placeholder", 0o755)
                } else {
                    tar.file("placeholder", 0o644, b"data")
                };
                let sandbox = Sandbox::new();
                let result = sandbox.unpack_gz(&gz(&tar.finish()), &Limits::default());
                sandbox.assert_outside_untouched();
                match result {
                    Err(err) => prop_assert_eq!(err.exit_code(), 6, "{:?}", err),
                    Ok(unpacked) => {
                        prop_assert_eq!(unpacked.entries, 1);
                        let listing = sandbox.listing();
                        if is_dir {
                            prop_assert!(listing.iter().all(|p| sandbox.dest.join(p).is_dir()));
                        } else {
                            let files: Vec<_> = listing
                                .iter()
                                .filter(|p| !sandbox.dest.join(p).is_dir())
                                .collect();
                            prop_assert_eq!(files.len(), 1);
                            let path = sandbox.dest.join(files[0]);
                            prop_assert!(path.starts_with(&sandbox.dest));
                            prop_assert_eq!(fs::read(&path).unwrap(), b"data");
                        }
                    }
                }
            }
        }
    }
}
