//! Content-addressed blobs (code and logos) under `DIR/blobs/`, named by their blake3 hash.
//! A blob is written (temporary file, fsync, rename, fsync of the directory) before the row that
//! names it is committed, so a crash leaves at most an unreferenced blob, never a row without
//! its blob.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The blob directory.
#[derive(Debug, Clone)]
pub struct Blobs {
    root: PathBuf,
}

fn valid_hash(h: &str) -> bool {
    h.len() == 64
        && h.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Blobs {
    /// The blobs under `data/blobs`, created if missing.
    pub fn open(data: &Path) -> Result<Blobs, String> {
        let root = data.join("blobs");
        std::fs::create_dir_all(root.join("tmp"))
            .map_err(|e| format!("cannot create `{}`: {e}", root.display()))?;
        Ok(Blobs { root })
    }

    fn path(&self, hash: &str) -> Option<PathBuf> {
        valid_hash(hash).then(|| self.root.join(&hash[..2]).join(hash))
    }

    /// Stores `bytes`, returning their hash (a blob already there is kept).
    pub fn put(&self, bytes: &[u8]) -> Result<String, String> {
        let hash = blake3::hash(bytes).to_hex().to_string();
        let path = self.path(&hash).ok_or("bad hash")?;
        if path.exists() {
            return Ok(hash);
        }
        let dir = path.parent().ok_or("bad blob path")?;
        let fail = |what: &str, p: &Path, e: std::io::Error| format!("cannot {what} `{}`: {e}", p.display());
        std::fs::create_dir_all(dir).map_err(|e| fail("create", dir, e))?;
        let mut tmp = tempfile::NamedTempFile::new_in(self.root.join("tmp"))
            .map_err(|e| fail("create a file in", &self.root, e))?;
        tmp.write_all(bytes).map_err(|e| fail("write", tmp.path(), e))?;
        tmp.as_file().sync_all().map_err(|e| fail("sync", &path, e))?;
        tmp.persist(&path)
            .map_err(|e| fail("rename to", &path, e.error))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(hash)
    }

    /// Reads a blob, checking its hash.
    pub fn get(&self, hash: &str) -> Result<Vec<u8>, String> {
        let path = self
            .path(hash)
            .ok_or_else(|| format!("`{hash}` is not a blob hash"))?;
        let bytes =
            std::fs::read(&path).map_err(|e| format!("cannot read blob `{}`: {e}", path.display()))?;
        if blake3::hash(&bytes).to_hex().as_str() != hash {
            return Err(format!(
                "blob `{}` is corrupt (its hash does not match)",
                path.display()
            ));
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_and_bad_names() {
        let d = tempfile::tempdir().unwrap();
        let b = Blobs::open(d.path()).unwrap();
        let h = b.put(b"code").unwrap();
        assert_eq!(b.put(b"code").unwrap(), h);
        assert_eq!(b.get(&h).unwrap(), b"code");
        assert!(b.get("../../etc/passwd").is_err());
        std::fs::write(b.path(&h).unwrap(), b"tampered").unwrap();
        assert!(b.get(&h).unwrap_err().contains("corrupt"));
    }
}
