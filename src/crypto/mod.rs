//! Keys, hashing and sealing. Nothing here knows about HTTP or the database.

pub mod hash;
pub mod keys;
pub mod master_file;
pub mod password;
pub mod seal;

pub use hash::{constant_time_eq, sha256_b64url};
pub use keys::{KeyRing, SigningAlg, SigningKey};
pub use master_file::MasterKeyFile;
pub use seal::MasterKey;
