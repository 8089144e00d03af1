//! Tokens: 256 bits from the OS's random source, hex, with a prefix telling their kind. The
//! registry stores only their blake3 hash and compares hashes in constant time.

use subtle::ConstantTimeEq;

/// What a token is for (its prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A publisher's API token.
    Publisher,
    /// The admin token.
    Admin,
    /// A private share link's token.
    Link,
    /// An install credential.
    Install,
}

impl TokenKind {
    fn prefix(self) -> &'static str {
        match self {
            TokenKind::Publisher => "rlcmp_",
            TokenKind::Admin => "rlcma_",
            TokenKind::Link => "",
            TokenKind::Install => "rlcmi_",
        }
    }
}

/// A new random token of `kind` (256 bits of entropy).
pub fn new_token(kind: TokenKind) -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("the OS random source failed: {e}"))?;
    Ok(format!("{}{}", kind.prefix(), hex(&bytes)))
}

/// A new random public id (not secret; 64 bits).
pub fn new_id() -> Result<String, String> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| format!("the OS random source failed: {e}"))?;
    Ok(hex(&bytes))
}

/// The stored form of a token: blake3, hex.
pub fn hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

/// Compares two hashes in constant time.
pub fn same_hash(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = new_token(TokenKind::Link).unwrap();
        let b = new_token(TokenKind::Link).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(new_token(TokenKind::Publisher).unwrap().starts_with("rlcmp_"));
        assert!(same_hash(&hash(&a), &hash(&a)));
        assert!(!same_hash(&hash(&a), &hash(&b)));
        assert!(!same_hash("ab", "abc"));
    }
}
