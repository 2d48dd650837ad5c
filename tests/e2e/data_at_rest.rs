//! Data at rest (issue 22, finding 10): the SQLite database (personal data, password
//! hashes) and the key folder are readable by Portico's user alone (ASVS 4.0.3 V8.3:
//! sensitive data stored protected; V14.1 hardened deployment).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::*;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A server on a SQLite file under `dir/data` (whatever the test pass's engine: the
/// files are SQLite's), after one write so that the `-wal` file is in use.
async fn start_on_sqlite(dir: tempfile::TempDir) -> (TestServer, std::path::PathBuf) {
    let root = dir.path().to_path_buf();
    let db = root.join("data/portico.db");
    let database = TestDatabase::existing(format!("sqlite://{}", db.display()));
    let server = TestServer::start_on(database, dir, "").await;
    server
        .client("files", portico::store::AuthMethod::ClientSecretBasic)
        .await;
    (server, root)
}

fn assert_private(root: &Path) {
    assert_eq!(mode(&root.join("keys")), 0o700, "keys/");
    assert_eq!(mode(&root.join("keys/master.key")), 0o600, "master.key");
    for file in ["portico.db", "portico.db-wal", "portico.db-shm"] {
        assert_eq!(mode(&root.join("data").join(file)), 0o600, "{file}");
    }
}

#[tokio::test]
async fn asvs_8_3_fresh_database_and_keys_folder_are_private() {
    let (server, root) = start_on_sqlite(tempfile::tempdir().unwrap()).await;
    assert_private(&root);
    assert_eq!(
        mode(&root.join("data")),
        0o700,
        "the folder made for the database"
    );
    server.stop().await;
}

#[tokio::test]
async fn asvs_8_3_existing_wide_files_are_tightened_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // As an older Portico (or a careless copy) left them: world-readable.
    std::fs::create_dir_all(root.join("keys")).unwrap();
    std::fs::create_dir_all(root.join("data")).unwrap();
    set_mode(&root.join("keys"), 0o755);
    std::fs::write(
        root.join("keys/master.key"),
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    )
    .unwrap();
    set_mode(&root.join("keys/master.key"), 0o644);
    std::fs::write(root.join("data/portico.db"), b"").unwrap();
    set_mode(&root.join("data/portico.db"), 0o644);
    let (server, root) = start_on_sqlite(dir).await;
    assert_private(&root);
    server.stop().await;
}
