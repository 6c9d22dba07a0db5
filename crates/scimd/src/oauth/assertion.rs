//! Client assertions (RFC 7523 §2.2 and §3): a JWT signed with RS256 or ES256 by a key of the
//! trusted issuer, naming the trusted issuer, subject and audience, not expired, not yet to
//! come, and with a `jti` (checked against replay when the token is issued). Anything else,
//! `alg: none` and HMAC included, is refused.

use super::jwk::{Algorithm, JwkSet};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use scimd_core::oauth::Trust;
use serde_json::Value;

/// The largest assertion read (they are a kilobyte or two).
pub(crate) const MAX_ASSERTION_BYTES: usize = 16 * 1024;
/// Clock difference allowed between the issuer and this server.
pub(crate) const LEEWAY_SECONDS: i64 = 60;
/// An assertion may not live longer than this (its `jti` is kept until it expires).
const MAX_LIFETIME_SECONDS: i64 = 24 * 3600;
const MAX_JTI_CHARS: usize = 256;

/// A JWT whose parts parsed, not yet checked.
#[derive(Debug)]
pub(crate) struct Unverified {
    alg: Algorithm,
    kid: Option<String>,
    claims: Value,
    /// `header.payload`, what the signature covers.
    signed: String,
    signature: Vec<u8>,
}

/// What issuing needs of a verified assertion.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Verified {
    pub jti: String,
    /// Seconds since the epoch until which its `jti` must not be taken again.
    pub remember_until: i64,
}

/// Reads the parts of `jwt`; refuses unsupported algorithms before any key is looked at.
pub(crate) fn read(jwt: &str) -> Result<Unverified, String> {
    if jwt.len() > MAX_ASSERTION_BYTES {
        return Err(format!("the assertion is over {MAX_ASSERTION_BYTES} bytes"));
    }
    let mut parts = jwt.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the assertion is not a JWS in compact form (three parts)".into());
    };
    let json = |part: &str, what: &str| -> Result<Value, String> {
        URL_SAFE_NO_PAD
            .decode(part)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .filter(Value::is_object)
            .ok_or_else(|| format!("the assertion's {what} is not base64url JSON object"))
    };
    let header_value = json(header, "header")?;
    let alg = header_value
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let alg = Algorithm::named(alg)
        .ok_or_else(|| format!("alg {alg:?} is refused; assertions are signed RS256 or ES256"))?;
    if header_value.get("crit").is_some() {
        return Err("the assertion names critical extensions this server does not know".into());
    }
    Ok(Unverified {
        alg,
        kid: header_value
            .get("kid")
            .and_then(Value::as_str)
            .map(str::to_owned),
        claims: json(payload, "payload")?,
        signed: format!("{header}.{payload}"),
        signature: URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| "the assertion's signature is not base64url".to_owned())?,
    })
}

impl Unverified {
    pub fn issuer(&self) -> Option<&str> {
        self.claims.get("iss").and_then(Value::as_str)
    }

    pub fn subject(&self) -> Option<&str> {
        self.claims.get("sub").and_then(Value::as_str)
    }

    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The signature with `keys`, then the claims against `trust`, at `now` (seconds).
    pub fn verify(&self, trust: &Trust, keys: &JwkSet, now: i64) -> Result<Verified, String> {
        if !keys.verifies(
            self.alg,
            self.kid(),
            self.signed.as_bytes(),
            &self.signature,
        ) {
            return Err("the signature does not verify with the issuer's keys".into());
        }
        if self.issuer() != Some(trust.issuer.as_str()) {
            return Err("iss is not the trusted issuer".into());
        }
        if self.subject() != Some(trust.subject.as_str()) {
            return Err("sub is not the trusted subject".into());
        }
        let audience = &trust.audience;
        let addressed = match self.claims.get("aud") {
            Some(Value::String(one)) => one == audience,
            Some(Value::Array(many)) => many.iter().any(|one| one.as_str() == Some(audience)),
            _ => false,
        };
        if !addressed {
            return Err(format!("aud does not name {audience:?}"));
        }
        let time = |name: &str| {
            self.claims
                .get(name)
                .and_then(Value::as_f64)
                .map(|t| t as i64)
        };
        let expires = time("exp").ok_or("exp is missing")?;
        if expires + LEEWAY_SECONDS <= now {
            return Err("the assertion expired".into());
        }
        if expires > now + MAX_LIFETIME_SECONDS {
            return Err(format!("exp is more than {MAX_LIFETIME_SECONDS} s ahead"));
        }
        if time("nbf").is_some_and(|not_before| not_before > now + LEEWAY_SECONDS) {
            return Err("the assertion is not valid yet (nbf)".into());
        }
        if time("iat").is_some_and(|issued| issued > now + LEEWAY_SECONDS) {
            return Err("the assertion was issued in the future (iat)".into());
        }
        let jti = self
            .claims
            .get("jti")
            .and_then(Value::as_str)
            .filter(|jti| !jti.is_empty() && jti.chars().count() <= MAX_JTI_CHARS)
            .ok_or("jti is missing (it is needed to refuse replays)")?;
        Ok(Verified {
            jti: jti.to_owned(),
            remember_until: expires + LEEWAY_SECONDS,
        })
    }
}
