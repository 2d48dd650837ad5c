//! `keys_dir/master.key`: the master keys, one a line. The `current` key seals; every
//! key in the file opens. A `next` key is staged (it opens already, so that every node
//! holds it before any node seals with it) and `previous` keys are kept for what was
//! sealed before a rotation, until `portico keys drop-old-master` removes them.
//!
//! A file of one bare base64 line (what Portico wrote before rotation existed, and what
//! `head -c 32 /dev/urandom | base64` makes) is a `current` key alone.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::seal::SealError;

/// The raw keys of the file.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKeyFile {
    pub current: [u8; 32],
    pub next: Option<[u8; 32]>,
    /// Newest first.
    pub previous: Vec<[u8; 32]>,
}

impl std::fmt::Debug for MasterKeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKeyFile")
            .field("next", &self.next.is_some())
            .field("previous", &self.previous.len())
            .finish_non_exhaustive()
    }
}

const HEADER: &str = "# Portico master keys (docs/tokens.md, \"Master key rotation\"): the \
current key seals, every key here opens.\n# Written by `portico keys`; copy the whole \
file to every node, mode 0600.\n";

pub fn path_in(dir: &Path) -> PathBuf {
    dir.join("master.key")
}

impl MasterKeyFile {
    /// A new file holding one random key.
    pub fn generate() -> MasterKeyFile {
        MasterKeyFile {
            current: crate::random::bytes::<32>(),
            next: None,
            previous: Vec::new(),
        }
    }

    /// Every key, the sealing one first, then the staged one, then the previous ones.
    pub fn keys(&self) -> impl Iterator<Item = &[u8; 32]> {
        std::iter::once(&self.current)
            .chain(self.next.iter())
            .chain(self.previous.iter())
    }

    pub fn parse(text: &str) -> Result<MasterKeyFile, String> {
        let decode = |b64: &str| -> Result<[u8; 32], String> {
            let bytes = STANDARD
                .decode(b64.trim())
                .map_err(|_| "a key is not base64; restore the file from backup".to_owned())?;
            bytes.try_into().map_err(|_| {
                "a key must hold 32 bytes in base64; restore the file from backup".to_owned()
            })
        };
        // Numbered as in the file, for errors that must not quote a key.
        let lines: Vec<(usize, &str)> = text
            .lines()
            .map(str::trim)
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
            .collect();
        if let [(_, bare)] = lines.as_slice() {
            if !bare.contains(' ') {
                return Ok(MasterKeyFile {
                    current: decode(bare)?,
                    next: None,
                    previous: Vec::new(),
                });
            }
        }
        let (mut current, mut next, mut previous) = (None, None, Vec::new());
        for (number, line) in lines {
            let (label, key) = line
                .split_once(' ')
                .ok_or_else(|| format!("line {number} has no label (current, next or previous)"))?;
            let key = decode(key)?;
            let slot = match label {
                "current" => &mut current,
                "next" => &mut next,
                "previous" => {
                    previous.push(key);
                    continue;
                }
                // Not echoed: a mangled line may start with key material.
                _ => {
                    return Err(format!(
                        "line {number} has an unknown label (current, next or previous)"
                    ));
                }
            };
            if slot.replace(key).is_some() {
                return Err(format!("more than one `{label}` key"));
            }
        }
        Ok(MasterKeyFile {
            current: current.ok_or("no `current` key")?,
            next,
            previous,
        })
    }

    pub fn to_text(&self) -> String {
        let mut out = HEADER.to_owned();
        let mut line = |label: &str, key: &[u8; 32]| {
            out.push_str(label);
            out.push(' ');
            out.push_str(&STANDARD.encode(key));
            out.push('\n');
        };
        line("current", &self.current);
        if let Some(next) = &self.next {
            line("next", next);
        }
        for key in &self.previous {
            line("previous", key);
        }
        out
    }

    /// Reads `dir/master.key`; it must exist.
    pub fn load(dir: &Path) -> Result<MasterKeyFile, SealError> {
        let path = path_in(dir);
        let fail = |reason: String| SealError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        crate::private_files::tighten(&path)
            .map_err(|e| fail(format!("cannot make private: {e}")))?;
        let text = fs::read_to_string(&path).map_err(|e| fail(format!("cannot read: {e}")))?;
        MasterKeyFile::parse(&text).map_err(fail)
    }

    /// Reads `dir/master.key`, creating it (and `dir`) on first start.
    pub fn load_or_create(dir: &Path) -> Result<MasterKeyFile, SealError> {
        let path = path_in(dir);
        let fail = |reason: String| SealError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        // The folder holds the keys that unseal every signing key: Portico's user alone
        // may list or enter it, and the key file is that user's alone too.
        crate::private_files::create_dir(dir)
            .and_then(|_| crate::private_files::tighten(dir))
            .map_err(|e| fail(format!("cannot make private: {e}")))?;
        if !path.exists() {
            // The first link wins: a node starting at the same moment sees either no
            // key or the whole key, and the loser reads the winner's key.
            match write_private(dir, &MasterKeyFile::generate().to_text(), Place::Link) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(fail(format!("cannot create: {e}"))),
            }
        }
        MasterKeyFile::load(dir)
    }

    /// Replaces `dir/master.key` whole: written to a private temporary file, synced,
    /// then renamed over the old one, so a node reading it sees the old file or the new
    /// one, never a part.
    pub fn replace(&self, dir: &Path) -> Result<(), SealError> {
        write_private(dir, &self.to_text(), Place::Rename).map_err(|e| SealError::KeyFile {
            path: path_in(dir).display().to_string(),
            reason: format!("cannot write: {e}"),
        })
    }
}

enum Place {
    /// Only if no file is there (first start).
    Link,
    /// Over the file that is there (a rotation).
    Rename,
}

fn write_private(dir: &Path, text: &str, place: Place) -> std::io::Result<()> {
    let tmp = dir.join(format!(".master.key.{}", crate::ids::new_uuid()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.sync_all()
    });
    let placed = written.and_then(|_| match place {
        Place::Link => fs::hard_link(&tmp, path_in(dir)),
        Place::Rename => fs::rename(&tmp, path_in(dir)),
    });
    let _ = fs::remove_file(&tmp);
    placed?;
    // The rename is durable once the folder is synced.
    fs::File::open(dir).and_then(|d| d.sync_all()).or(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_line_is_a_current_key_and_labelled_files_round_trip() {
        let key = [9u8; 32];
        let legacy = MasterKeyFile::parse(&format!("{}\n", STANDARD.encode(key))).unwrap();
        assert_eq!(legacy.current, key);
        assert!(legacy.next.is_none() && legacy.previous.is_empty());
        let file = MasterKeyFile {
            current: [1; 32],
            next: Some([2; 32]),
            previous: vec![[3; 32], [4; 32]],
        };
        assert_eq!(MasterKeyFile::parse(&file.to_text()).unwrap(), file);
        let order: Vec<u8> = file.keys().map(|k| k[0]).collect();
        assert_eq!(order, [1, 2, 3, 4]);
    }

    #[test]
    fn malformed_files_are_refused_with_the_reason() {
        let k = STANDARD.encode([1u8; 32]);
        for (text, reason) in [
            (format!("previous {k}\n"), "no `current`"),
            (format!("current {k}\ncurrent {k}\n"), "more than one"),
            (
                format!("current {k}\nspare {k}\n"),
                "line 2 has an unknown label",
            ),
            ("current AAAA\n".to_owned(), "32 bytes"),
            ("current ***\n".to_owned(), "not base64"),
            (format!("current {k}\n{k}\n"), "line 2 has no label"),
        ] {
            let err = MasterKeyFile::parse(&text).unwrap_err();
            assert!(err.contains(reason), "{text}: {err}");
        }
    }

    #[test]
    fn replacing_keeps_the_file_private() {
        let dir = tempfile::tempdir().unwrap();
        let first = MasterKeyFile::load_or_create(dir.path()).unwrap();
        let rotated = MasterKeyFile {
            current: [5; 32],
            next: None,
            previous: vec![first.current],
        };
        rotated.replace(dir.path()).unwrap();
        assert_eq!(MasterKeyFile::load(dir.path()).unwrap(), rotated);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(path_in(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }
}
