//! A SQLite database holds personal data, admins' password hashes and the activity log: the
//! directory and file of a new database are its owner's alone, whatever the umask, and an
//! existing database that other users can read is reported at start.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

const PRIVATE_DIRECTORY: u32 = 0o700;
const PRIVATE_FILE: u32 = 0o600;

/// Makes `file`'s directory (when missing) and `file` (when missing) private. SQLite gives the
/// `-wal` and `-shm` files it creates beside a database the database file's mode.
pub(super) fn prepare(file: &Path) -> io::Result<()> {
    if let Some(directory) = file.parent().filter(|p| !p.as_os_str().is_empty())
        && !directory.exists()
    {
        DirBuilder::new()
            .recursive(true)
            .mode(PRIVATE_DIRECTORY)
            .create(directory)?;
        // The umask may have taken bits from the mode asked for; this is the mode meant.
        std::fs::set_permissions(directory, Permissions::from_mode(PRIVATE_DIRECTORY))?;
    }
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_FILE)
        .open(file)
    {
        Ok(_) => std::fs::set_permissions(file, Permissions::from_mode(PRIVATE_FILE)),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            warn_if_others_can_read(file);
            Ok(())
        }
        Err(error) => Err(error),
    }
}

fn warn_if_others_can_read(file: &Path) {
    let Ok(metadata) = std::fs::metadata(file) else {
        return;
    };
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(
            "the database {} can be read by other users of this machine (mode {mode:o}); it \
             holds personal data and password hashes: chmod 600 it and its -wal and -shm files",
            file.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_database_and_its_new_directories_are_private() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("a/b/scimd.db");
        prepare(&file).unwrap();
        assert_eq!(mode(&root.path().join("a/b")), PRIVATE_DIRECTORY);
        assert_eq!(mode(&file), PRIVATE_FILE);
    }

    #[test]
    fn an_existing_directory_and_database_keep_their_modes() {
        let root = tempfile::tempdir().unwrap();
        std::fs::set_permissions(root.path(), Permissions::from_mode(0o755)).unwrap();
        let file = root.path().join("scimd.db");
        std::fs::write(&file, b"").unwrap();
        std::fs::set_permissions(&file, Permissions::from_mode(0o644)).unwrap();
        prepare(&file).unwrap();
        assert_eq!(mode(root.path()), 0o755, "not ours to change");
        assert_eq!(mode(&file), 0o644, "reported, not changed");
    }
}
