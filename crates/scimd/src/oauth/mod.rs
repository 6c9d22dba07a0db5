//! Workload identity federation (RFC 7523): the client assertions a trusted issuer signs, and
//! the keys they are checked with.

pub(crate) mod assertion;
pub(crate) mod jwk;
pub(crate) mod keyring;

pub(crate) use keyring::Keyring;

use crate::AppProvisioner;
use scim::datetime::Timestamp;
use scimd_core::AuthenticatedClient;
use scimd_core::oauth::{OAuthError, Trust, TrustKeys};

/// The client a client assertion authenticates: one that trusts its issuer and subject (the
/// one `client_id` names, when sent) and whose keys verify it. Why an assertion was refused is
/// logged for the operator; the caller learns only `invalid_client`.
pub(crate) async fn authenticate_assertion(
    provisioner: &AppProvisioner,
    keyring: &Keyring,
    client_id: Option<&str>,
    jwt: &str,
) -> scimd_core::Result<Result<AuthenticatedClient, OAuthError>> {
    let refused = |reason: &str| {
        tracing::info!(reason, "a client assertion was refused");
        Ok(Err(OAuthError::invalid_client()))
    };
    let unverified = match assertion::read(jwt) {
        Ok(unverified) => unverified,
        Err(reason) => return refused(&reason),
    };
    let (Some(issuer), Some(subject)) = (unverified.issuer(), unverified.subject()) else {
        return refused("iss or sub is missing");
    };
    let candidates = provisioner.trusting_clients(issuer, subject).await?;
    let mut reason = "no client trusts this issuer and subject".to_owned();
    for client in candidates {
        if client_id.is_some_and(|id| id != client.client_id) {
            continue;
        }
        let Some(trust) = &client.trust else { continue };
        let now = provisioner.now().as_millis() / 1_000;
        let checked = match keyring.keys(&trust.keys, unverified.kid()).await {
            Ok(keys) => unverified.verify(trust, &keys, now),
            Err(error) => Err(error),
        };
        match checked {
            Ok(verified) => {
                let remember =
                    Timestamp::from_millis(verified.remember_until.saturating_mul(1_000));
                return Ok(Ok(AuthenticatedClient::by_assertion(
                    client,
                    verified.jti,
                    remember,
                )));
            }
            Err(why) => reason = why,
        }
    }
    refused(&reason)
}

/// A trust as an admin describes it, once its keys are known to be usable: a JWKS document
/// must hold an RSA or P-256 signing key; a JWKS URL must be one requests may go to (public
/// unless `allow_private`) and serve such a document now.
pub(crate) async fn checked_trust(
    issuer: &str,
    subject: &str,
    audience: &str,
    keys: TrustKeys,
    allow_private: bool,
) -> scimd_core::Result<Trust> {
    let trust = Trust {
        issuer: issuer.trim().to_owned(),
        subject: subject.trim().to_owned(),
        audience: audience.trim().to_owned(),
        keys,
    };
    trust.check()?;
    let invalid = |reason: String| scimd_core::Error::Invalid(reason);
    if let TrustKeys::JwksUrl(url) = &trust.keys {
        crate::webhooks::guard::vet(url, allow_private)
            .await
            .map_err(|reason| invalid(format!("JWKS URL {url:?}: {reason}")))?;
    }
    Keyring::new(allow_private)
        .keys(&trust.keys, None)
        .await
        .map_err(invalid)?;
    Ok(trust)
}
