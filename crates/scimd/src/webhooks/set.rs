//! Webhooks of format `set`: each event as an RFC 9967 SCIM event in a Security Event Token
//! (RFC 8417), a JWS signed with ES256 (`typ: secevent+jwt`), pushed per RFC 8935. The
//! signing key is the server's (kept in the database, the same on every instance); its public
//! half is published as a JWKS at [`JWKS_PATH`].

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use scimd_core::feed::{ChangeType, StoredChange};
use serde_json::{Map, Value, json};

/// Where receivers find the key SETs are signed with.
pub(crate) const JWKS_PATH: &str = "/.well-known/jwks.json";

const EVENT_PREFIX: &str = "urn:ietf:params:scim:event:";

/// The server's SET signing key.
pub(crate) struct SetSigner {
    key: EcdsaKeyPair,
    kid: String,
    jwk: Value,
    random: SystemRandom,
}

impl std::fmt::Debug for SetSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SetSigner({})", self.kid)
    }
}

impl SetSigner {
    /// A new key as PKCS#8, for the database to keep.
    pub fn generate_pkcs8() -> Result<Vec<u8>, String> {
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .map(|document| document.as_ref().to_vec())
            .map_err(|_| "no random source for the SET signing key".to_owned())
    }

    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, String> {
        let random = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &random)
            .map_err(|_| "the stored SET signing key is not a P-256 key".to_owned())?;
        // An uncompressed point: 0x04, then x and y, 32 bytes each.
        let point = key.public_key().as_ref();
        let (x, y) = (
            URL_SAFE_NO_PAD.encode(&point[1..33]),
            URL_SAFE_NO_PAD.encode(&point[33..65]),
        );
        // RFC 7638 thumbprint: the required members in lexicographic order, no spaces.
        let thumbprint_input = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(ring::digest::digest(
            &ring::digest::SHA256,
            thumbprint_input.as_bytes(),
        ));
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "use": "sig",
                         "alg": "ES256", "kid": kid});
        Ok(Self {
            key,
            kid,
            jwk,
            random,
        })
    }

    /// `{"keys": [the public key]}`.
    pub fn jwks(&self) -> Value {
        json!({"keys": [self.jwk]})
    }

    /// The SET of `event` for the receiver at `audience`, issued by `issuer` at `now` (unix
    /// seconds).
    pub fn token(
        &self,
        event: &StoredChange,
        issuer: &str,
        audience: &str,
        now: i64,
    ) -> Result<String, String> {
        let claims = claims(event, issuer, audience, now)?;
        let header = json!({"alg": "ES256", "typ": "secevent+jwt", "kid": self.kid});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .key
            .sign(&self.random, signing_input.as_bytes())
            .map_err(|_| "the SET could not be signed".to_owned())?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }
}

/// The SET's claims: `jti` and `txn` are the event's id (what a receiver deduplicates on),
/// `toe` when it happened, `sub_id` the SCIM resource (RFC 9493 `scim` format; `email` for an
/// account SCIM never knew), and one RFC 9967 event.
fn claims(event: &StoredChange, issuer: &str, audience: &str, now: i64) -> Result<Value, String> {
    let body: Value = serde_json::from_str(&event.body)
        .map_err(|error| format!("the stored event is not JSON: {error}"))?;
    let data = &body["data"];
    let account = &data["account"];
    let scim_id = account["scim_id"]
        .as_str()
        .or_else(|| data["previous_scim_id"].as_str());
    let sub_id = match scim_id {
        Some(id) => {
            let mut subject = json!({"format": "scim", "uri": format!("/Users/{id}"), "id": id});
            if let Some(external) = data["user"]["externalId"].as_str() {
                subject["externalId"] = external.into();
            }
            subject
        }
        None => json!({"format": "email", "email": account["email"]}),
    };
    let (uri, payload) = scim_event(event.kind, data);
    let mut events = Map::new();
    events.insert(format!("{EVENT_PREFIX}{uri}"), payload);
    Ok(json!({
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "jti": event.id,
        "txn": event.id,
        "toe": event.occurred_at.as_millis() / 1000,
        "sub_id": sub_id,
        "events": events,
    }))
}

/// The RFC 9967 event a change is, and its payload: the resource itself where the event
/// carries one (`:full`), the changed attributes for a notice.
fn scim_event(kind: ChangeType, data: &Value) -> (&'static str, Value) {
    let full = || json!({"data": data["user"]});
    match kind {
        ChangeType::Created | ChangeType::Adopted => ("prov:create:full", full()),
        ChangeType::Updated => ("prov:put:full", full()),
        ChangeType::Moved => ("prov:put:notice", json!({"attributes": data["changed"]})),
        ChangeType::Deactivated | ChangeType::Preserved => ("prov:deactivate", json!({})),
        ChangeType::Reactivated | ChangeType::Activated => ("prov:activate", json!({})),
        ChangeType::Deleted | ChangeType::Destroyed => ("prov:delete", json!({})),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
    use scim::datetime::Timestamp;

    fn event(kind: ChangeType, body: Value) -> StoredChange {
        StoredChange {
            sequence: 3,
            id: "0193a0c4-1111-7000-8000-000000000000".into(),
            kind,
            account_key: 9,
            occurred_at: Timestamp::from_millis(1_700_000_000_123),
            body: body.to_string(),
        }
    }

    #[test]
    fn a_set_is_signed_for_the_published_key_and_names_its_scim_event() {
        let signer = SetSigner::from_pkcs8(&SetSigner::generate_pkcs8().unwrap()).unwrap();
        let body = json!({"data": {"account": {"email": "a@x.com", "scim_id": "u1"},
            "user": {"id": "u1", "userName": "a@x.com", "externalId": "e1"}, "changed": []}});
        let token = signer
            .token(
                &event(ChangeType::Created, body),
                "https://scim.example.com/scim/v2",
                "https://hooks.example.com/in",
                1_700_000_100,
            )
            .unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["typ"], "secevent+jwt");
        assert_eq!(header["alg"], "ES256");
        // Verified with the JWKS's x and y, as a receiver does.
        let jwk = &signer.jwks()["keys"][0];
        assert_eq!(header["kid"], jwk["kid"]);
        let mut point = vec![4u8];
        point.extend(URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap());
        point.extend(URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap());
        let signed = format!("{}.{}", parts[0], parts[1]);
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
            .verify(
                signed.as_bytes(),
                &URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
            )
            .unwrap();
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["jti"], "0193a0c4-1111-7000-8000-000000000000");
        assert_eq!(claims["aud"], "https://hooks.example.com/in");
        assert_eq!(claims["toe"], 1_700_000_000);
        assert_eq!(claims["sub_id"]["uri"], "/Users/u1");
        assert_eq!(claims["sub_id"]["externalId"], "e1");
        let created = &claims["events"]["urn:ietf:params:scim:event:prov:create:full"];
        assert_eq!(created["data"]["userName"], "a@x.com");
    }

    #[test]
    fn a_deleted_user_is_named_by_its_retired_id_and_a_manual_one_by_email() {
        let deleted = json!({"data": {"account": {"email": "a@x.com", "scim_id": null},
            "user": null, "previous_scim_id": "u1", "changed": ["active"]}});
        let set = claims(&event(ChangeType::Deleted, deleted), "i", "a", 0).unwrap();
        assert_eq!(set["sub_id"]["uri"], "/Users/u1");
        assert!(set["events"]["urn:ietf:params:scim:event:prov:delete"].is_object());
        let manual = json!({"data": {"account": {"email": "m@x.com", "scim_id": null},
            "user": null, "changed": ["profile"]}});
        let claims = claims(&event(ChangeType::Moved, manual), "i", "a", 0).unwrap();
        assert_eq!(
            claims["sub_id"],
            json!({"format": "email", "email": "m@x.com"})
        );
        assert_eq!(
            claims["events"]["urn:ietf:params:scim:event:prov:put:notice"]["attributes"],
            json!(["profile"])
        );
    }
}
