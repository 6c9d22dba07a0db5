//! Random secrets handed out once and stored only as SHA-256 hashes: IdP bearer tokens and
//! console session cookies. Compared in constant time; `Debug` never shows them.

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::fmt;
use std::marker::PhantomData;
use subtle::ConstantTimeEq;

/// What tells one kind of secret from another on sight.
pub trait SecretKind {
    const PREFIX: &'static str;
}

/// A prefix and 64 lower-case hex digits (256 random bits).
pub struct Secret<K> {
    text: String,
    kind: PhantomData<K>,
}

impl<K: SecretKind> Secret<K> {
    /// 256 random bits from the operating system.
    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|error| Error::Internal(format!("no random source: {error}")))?;
        Ok(Self::new(format!("{}{}", K::PREFIX, hex(&bytes))))
    }

    fn new(text: String) -> Self {
        Self {
            text,
            kind: PhantomData,
        }
    }

    /// Anything else a client sends is simply not a secret of this kind.
    pub fn parse(text: &str) -> Option<Self> {
        let digits = text.strip_prefix(K::PREFIX)?;
        (digits.len() == 64
            && digits
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
        .then(|| Self::new(text.to_owned()))
    }

    /// The secret itself, for the one moment it is shown (or set as a cookie).
    pub fn expose(&self) -> &str {
        &self.text
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash(Sha256::digest(self.text.as_bytes()).into())
    }
}

impl<K> Clone for Secret<K> {
    fn clone(&self) -> Self {
        Self {
            text: self.text.clone(),
            kind: PhantomData,
        }
    }
}

impl<K> PartialEq for Secret<K> {
    fn eq(&self, other: &Self) -> bool {
        self.text.as_bytes().ct_eq(other.text.as_bytes()).into()
    }
}

impl<K> Eq for Secret<K> {}

impl<K> fmt::Debug for Secret<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// SHA-256 of a secret: what the database keeps and looks secrets up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretHash(pub [u8; 32]);

impl SecretHash {
    /// Constant-time comparison, so response timing says nothing about the stored hash.
    pub fn matches(&self, other: &SecretHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}
