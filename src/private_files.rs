//! Files only Portico's own user may read: the SQLite database (personal data, password
//! hashes) and the keys folder. New ones are created private; existing ones that are
//! wider are tightened at start-up, with a warning, because an operator who made them
//! so (or an older Portico, which left them 0644 and 0755) should know.
//!
//! It imports nothing of the crate, so `store` and `crypto` can both use it.

use std::io;
use std::path::Path;

/// Creates `dir` and any missing parents as 0700 (an existing folder is left as is).
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Creates an empty file with mode 0600 unless one exists. SQLite takes an empty file
/// for a new database, and gives its `-wal` and `-shm` files the database file's mode.
pub fn create_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        // Another node or process made it first: it is checked like any existing file.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Removes the group and other permission bits of `path` if it exists and has any
/// (so 0644 becomes 0600, 0755 becomes 0700), warning when it does.
pub fn tighten(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            let private = mode & 0o700;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(private))?;
            tracing::warn!(
                path = %path.display(),
                was = format_args!("{mode:04o}"),
                now = format_args!("{private:04o}"),
                "others could read this; its permissions were tightened",
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_files_and_folders_are_private_and_wide_ones_are_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        create_dir(&nested).unwrap();
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&nested), 0o700);
        let file = nested.join("db");
        create_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        create_file(&file).unwrap();
        tighten(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        std::fs::set_permissions(&nested, std::fs::Permissions::from_mode(0o755)).unwrap();
        tighten(&nested).unwrap();
        assert_eq!(mode(&nested), 0o700);
        tighten(&nested.join("missing")).unwrap();
    }
}
