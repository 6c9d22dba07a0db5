//! The public keys of a JWKS document (RFC 7517) that client assertions are checked with:
//! RSA keys for RS256, P-256 keys for ES256. Other keys in the document are skipped.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::Value;

/// The most keys a document may hold (an issuer publishes a handful).
const MAX_KEYS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
enum PublicKey {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// An uncompressed P-256 point: `04 || x || y`.
    P256(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Jwk {
    kid: Option<String>,
    key: PublicKey,
}

/// The usable keys of a JWKS document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JwkSet {
    keys: Vec<Jwk>,
}

/// The signature algorithms assertions may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Rs256,
    Es256,
}

impl Algorithm {
    pub fn named(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }
}

impl JwkSet {
    /// The RSA and P-256 signing keys of `document`; an error when it is not a JWKS document
    /// or holds none.
    pub fn parse(document: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(document)
            .map_err(|error| format!("the JWKS document is not JSON: {error}"))?;
        let keys = value
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("a JWKS document is an object with a \"keys\" array")?;
        if keys.len() > MAX_KEYS {
            return Err(format!("a JWKS document holds at most {MAX_KEYS} keys"));
        }
        let keys: Vec<Jwk> = keys.iter().filter_map(jwk).collect();
        if keys.is_empty() {
            return Err("the JWKS document has no RSA or P-256 signing key".into());
        }
        Ok(Self { keys })
    }

    /// Whether a key named `kid` is here (a JWKS URL is fetched again when it is not).
    pub fn has(&self, kid: &str) -> bool {
        self.keys.iter().any(|key| key.kid.as_deref() == Some(kid))
    }

    /// Whether `signature` over `message` verifies with a key of this set that fits `alg` (the
    /// one named `kid` when the assertion names one).
    pub fn verifies(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        self.keys
            .iter()
            .filter(|key| kid.is_none() || key.kid.as_deref() == kid)
            .any(|key| match (&key.key, alg) {
                (PublicKey::Rsa { n, e }, Algorithm::Rs256) => RsaPublicKeyComponents { n, e }
                    .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, signature)
                    .is_ok(),
                (PublicKey::P256(point), Algorithm::Es256) => {
                    UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                        .verify(message, signature)
                        .is_ok()
                }
                _ => false,
            })
    }
}

fn jwk(value: &Value) -> Option<Jwk> {
    let text = |name: &str| value.get(name).and_then(Value::as_str);
    let bytes = |name: &str| text(name).and_then(|text| URL_SAFE_NO_PAD.decode(text).ok());
    // A key marked for encryption only is not a signing key.
    if text("use").is_some_and(|usage| usage != "sig") {
        return None;
    }
    let key = match (text("kty")?, text("crv")) {
        ("RSA", _) => PublicKey::Rsa {
            n: bytes("n")?,
            e: bytes("e")?,
        },
        ("EC", Some("P-256")) => {
            let (x, y) = (bytes("x")?, bytes("y")?);
            if x.len() != 32 || y.len() != 32 {
                return None;
            }
            PublicKey::P256([&[4u8][..], &x, &y].concat())
        }
        _ => return None,
    };
    Some(Jwk {
        kid: text("kid").map(str::to_owned),
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_signing_keys_of_known_types_are_kept() {
        let document = r#"{"keys": [
            {"kty": "oct", "k": "AAAA"},
            {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"},
            {"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "r1", "n": "AQAB", "e": "AQAB"}
        ]}"#;
        let set = JwkSet::parse(document).unwrap();
        assert_eq!(set.keys.len(), 1);
        assert!(set.has("r1"));
        assert!(JwkSet::parse(r#"{"keys": [{"kty": "oct"}]}"#).is_err());
        assert!(JwkSet::parse("[]").is_err());
        assert!(JwkSet::parse("not json").is_err());
    }
}
