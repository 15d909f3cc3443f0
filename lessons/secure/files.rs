//! Files only their owner may read, written whole.

use std::path::Path;

use anyhow::{Context as _, Result};

/// Writes `text` beside `path` with `mode`, then renames it into place: never half a file, never readable by
/// others for a moment.
pub fn write_whole(path: &Path, text: &str, mode: u32) -> Result<()> {
    let partial = path.with_extension("partial");
    let failed = || t!("Failed to write {path}", path = path.display());
    // A file left by an interrupted run would keep its own mode: start afresh.
    let _ = std::fs::remove_file(&partial);
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        let mut file = options.open(&partial).with_context(failed)?;
        std::io::Write::write_all(&mut file, text.as_bytes()).with_context(failed)?;
        file.sync_all().with_context(failed)?;
    }
    set_mode(&partial, mode)?;
    std::fs::rename(&partial, path).with_context(failed)
}

/// Sets `path`'s permission bits (on Unix; elsewhere the folder's own rules apply).
pub fn set_mode(path: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .with_context(|| t!("Failed to write {path}", path = path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Whether `path` is readable by its owner alone (always true where permissions are not Unix's).
pub fn private(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 == 0)
    }
    #[cfg(not(unix))]
    {
        path.exists()
    }
}
