//! What the collector may read: regular files inside the source folder, named in UTF-8. It never follows
//! a link (a link could loop, or reach outside the folder), and it says why it leaves anything out.

use std::fs::FileType;
use std::path::{Path, PathBuf};

/// The files of a source folder, and what was left out of it, with why.
#[derive(Debug, Default)]
pub struct Scan {
    /// (name relative to the folder with `/` separators, path), sorted by name.
    pub files: Vec<(String, PathBuf)>,
    /// (what, why): each thing with contents that cannot be collected as it is (a fix is needed).
    pub refused: Vec<(String, String)>,
    /// (what, why): links and special files, which have no contents of their own to collect.
    pub ignored: Vec<(String, String)>,
}

/// Every regular file below `base`; a missing `base` is an empty scan.
pub fn scan(base: &Path) -> Scan {
    let mut scan = Scan::default();
    if !base.exists() {
        return scan;
    }
    let mut pending = vec![base.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) => {
                scan.refused.push((
                    shown(base, &dir),
                    t!("the folder cannot be read ({err}): make it readable (chmod u+rx)", err),
                ));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => {
                    scan.refused
                        .push((shown(base, &dir), t!("the folder cannot be listed ({err})", err)));
                    continue;
                }
            };
            let path = entry.path();
            let Some(name) = name_of(base, &path) else {
                scan.refused.push((
                    shown(base, &path),
                    t!(
                        "its name is not valid UTF-8, and the collector stores names exactly as they are: rename \
                         it (for example: convmv -f latin1 -t utf8 --notest FILE)"
                    )
                    .to_string(),
                ));
                continue;
            };
            if name.len() > NAME_LIMIT {
                let why = t!(
                    "its name is {bytes} bytes long, above the {limit} a store takes: shorten it",
                    bytes = name.len(),
                    limit = NAME_LIMIT
                );
                scan.refused.push((format!("{}…", name.chars().take(60).collect::<String>()), why));
                continue;
            }
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => pending.push(path),
                Ok(kind) if kind.is_file() => scan.files.push((name, path)),
                Ok(kind) => scan.ignored.push((name, not_regular(kind))),
                Err(err) => scan.refused.push((name, t!("its type cannot be read ({err})", err))),
            }
        }
    }
    scan.files.sort();
    scan.refused.sort();
    scan.ignored.sort();
    scan
}

/// Why a file cannot be read, and the fix.
pub fn unreadable(err: &anyhow::Error) -> String {
    t!("it cannot be read ({err}): make it readable (chmod u+r)", err = err.root_cause())
}

/// The name the file is stored under: its path below `base`, `/`-separated, if every part is UTF-8.
fn name_of(base: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(base).ok()?;
    let parts: Option<Vec<&str>> = relative.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

/// A path for messages: below `base`, with bytes that are not UTF-8 shown as `\xE9`.
fn shown(base: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(base).unwrap_or(path);
    let text = format!("{:?}", relative.as_os_str());
    let inner = text.trim_matches('"');
    if inner.is_empty() {
        ".".to_string()
    } else {
        inner.to_string()
    }
}

fn not_regular(kind: FileType) -> String {
    if kind.is_symlink() {
        return t!(
            "a symbolic link: links are not followed, so the source never reaches outside its folder or \
             loops; copy the file itself in instead"
        )
        .to_string();
    }
    t!("{kind}, not a file with contents to collect", kind = special_kind(kind))
}

#[cfg(unix)]
fn special_kind(kind: FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        t!("a named pipe (FIFO)")
    } else if kind.is_socket() {
        t!("a socket")
    } else if kind.is_block_device() || kind.is_char_device() {
        t!("a device")
    } else {
        t!("not a regular file")
    }
}

#[cfg(not(unix))]
fn special_kind(_: FileType) -> &'static str {
    t!("not a regular file")
}

/// Longest part of a name, and longest name, that every store takes (filesystems allow 255 bytes a part).
pub const PART_LIMIT: usize = 255;
pub const NAME_LIMIT: usize = 1024;

/// A name the collector would have produced: relative, `/`-separated, no empty, `.` or `..` parts, and
/// short enough for every store.
pub fn is_clean_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= NAME_LIMIT
        && name.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && !part.contains('\0')
                && part.len() <= PART_LIMIT
        })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn links_odd_names_and_special_files_are_refused_with_a_reason() -> anyhow::Result<()> {
        let base = std::env::temp_dir().join(format!("workshop-source-{}", std::process::id()));
        std::fs::create_dir_all(base.join("sub"))?;
        std::fs::write(base.join("sub/a.txt"), "a")?;
        std::fs::write(base.join(OsStr::from_bytes(b"latin1-\xe9.txt")), "b")?;
        std::os::unix::fs::symlink(".", base.join("loop"))?;
        std::os::unix::fs::symlink("/etc", base.join("outside"))?;
        let scan = scan(&base);
        std::fs::remove_dir_all(&base)?;
        assert_eq!(scan.files.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["sub/a.txt"]);
        assert_eq!(
            scan.refused.iter().map(|(what, _)| what.as_str()).collect::<Vec<_>>(),
            ["latin1-\\xE9.txt"]
        );
        assert_eq!(
            scan.ignored.iter().map(|(what, _)| what.as_str()).collect::<Vec<_>>(),
            ["loop", "outside"]
        );
        assert!(scan.ignored[0].1.starts_with("a symbolic link"));
        Ok(())
    }

    #[test]
    fn clean_names() {
        for ok in ["a.txt", "office/notes.docx", "é/ü.txt"] {
            assert!(is_clean_name(ok), "{ok}");
        }
        let (long_part, long_name) =
            ("n".repeat(PART_LIMIT + 1), vec!["n"; NAME_LIMIT / 2 + 1].join("/"));
        for bad in
            ["", "/etc/passwd", "../x", "a/../../b", "a//b", "./a", "a/", &long_part, &long_name]
        {
            assert!(!is_clean_name(bad), "{bad}");
        }
    }
}
