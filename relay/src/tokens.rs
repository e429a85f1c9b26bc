//! Agent tokens: 256 random bits shown once, stored as a SHA-256 hash, compared in constant time.

use crate::store::{Store, StoreResult, TokenInfo};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};

/// Prefix that makes a leaked token easy to recognise (and to grep for in logs).
const PREFIX: &str = "hr_";

/// The SHA-256 hash under which a token secret is stored.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, secret.as_bytes())
        .as_ref()
        .to_vec()
}

/// Compares two byte strings without exiting early on the first difference.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    SystemRandom::new()
        .fill(&mut buf)
        .expect("the operating system's random source works");
    buf
}

/// Creates a token whose scope is `source` (a name, a comma list or `*`: see
/// [`crate::token_scope::TokenScope`]); returns its record and the secret (shown once, never stored).
pub fn create(store: &dyn Store, source: &str, name: &str) -> StoreResult<(TokenInfo, String)> {
    let secret = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()));
    let id: String = random_bytes::<6>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let info = TokenInfo {
        id: format!("tok_{id}"),
        name: name.to_string(),
        source: source.to_string(),
        created_ms: crate::clock::now_ms(),
        last_used_ms: None,
    };
    store.add_token(&info, &hash_secret(&secret))?;
    Ok((info, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()));
        let b = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()));
        assert_ne!(a, b);
        assert_eq!(a.len(), 3 + 43);
        assert_ne!(hash_secret(&a), hash_secret(&b));
    }
}
