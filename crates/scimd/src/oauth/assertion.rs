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

/// The tests' signing keys, shared with the integration tests.
#[cfg(test)]
#[path = "../../tests/service/common/signing.rs"]
mod signing;

#[cfg(test)]
mod tests {
    use super::signing::TestKey;
    use super::*;
    use scimd_core::oauth::TrustKeys;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn trust() -> Trust {
        Trust {
            issuer: "https://login.example/t/v2.0".into(),
            subject: "app-1".into(),
            audience: "api://scimd".into(),
            keys: TrustKeys::JwksUrl("https://login.example/keys".into()),
        }
    }

    fn claims() -> Value {
        json!({"iss": "https://login.example/t/v2.0", "sub": "app-1",
               "aud": ["api://scimd"], "exp": NOW + 600, "nbf": NOW - 10, "iat": NOW - 10,
               "jti": "a1"})
    }

    fn keys(key: &TestKey) -> JwkSet {
        JwkSet::parse(&key.jwks("k1")).unwrap()
    }

    fn check(key: &TestKey, jwt: &str) -> Result<Verified, String> {
        read(jwt)?.verify(&trust(), &keys(key), NOW)
    }

    #[test]
    fn es256_and_rs256_assertions_of_the_trusted_issuer_verify() {
        for key in [TestKey::ec(), TestKey::rsa()] {
            let verified = check(&key, &key.sign(key.alg(), "k1", &claims())).unwrap();
            assert_eq!(verified.jti, "a1");
            assert_eq!(verified.remember_until, NOW + 600 + LEEWAY_SECONDS);
        }
    }

    #[test]
    fn forged_or_out_of_place_assertions_are_refused() {
        let key = TestKey::ec();
        let other = TestKey::ec();
        let with = |change: &dyn Fn(&mut Value)| {
            let mut claims = claims();
            change(&mut claims);
            key.sign(key.alg(), "k1", &claims)
        };
        let refused = [
            ("another key", other.sign(other.alg(), "k1", &claims())),
            (
                "issuer",
                with(&|c| c["iss"] = json!("https://evil.example")),
            ),
            ("subject", with(&|c| c["sub"] = json!("app-2"))),
            ("audience", with(&|c| c["aud"] = json!("api://other"))),
            ("expired", with(&|c| c["exp"] = json!(NOW - LEEWAY_SECONDS))),
            (
                "no exp",
                with(&|c| drop(c.as_object_mut().unwrap().remove("exp"))),
            ),
            (
                "a year ahead",
                with(&|c| c["exp"] = json!(NOW + 365 * 86_400)),
            ),
            ("not yet", with(&|c| c["nbf"] = json!(NOW + 3_600))),
            (
                "no jti",
                with(&|c| drop(c.as_object_mut().unwrap().remove("jti"))),
            ),
        ];
        for (what, jwt) in refused {
            assert!(check(&key, &jwt).is_err(), "{what}");
        }
        // The signed text changed after signing.
        let jwt = key.sign(key.alg(), "k1", &claims());
        let mut parts: Vec<&str> = jwt.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(with(&|c| c["sub"] = json!("app-1 ")));
        parts[1] = &forged;
        assert!(check(&key, &parts.join(".")).is_err());
    }

    #[test]
    fn unsigned_and_hmac_assertions_are_refused_before_any_key() {
        let payload = URL_SAFE_NO_PAD.encode(claims().to_string());
        for alg in ["none", "HS256", "RS512", ""] {
            let header = URL_SAFE_NO_PAD.encode(json!({"alg": alg}).to_string());
            let error = read(&format!("{header}.{payload}.")).unwrap_err();
            assert!(error.contains("refused"), "{alg}: {error}");
        }
        assert!(read("a.b").is_err());
        assert!(read(&"a".repeat(MAX_ASSERTION_BYTES + 1)).is_err());
        let header = URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "crit": ["x"]}).to_string());
        assert!(read(&format!("{header}.{payload}.AAAA")).is_err());
    }
}
