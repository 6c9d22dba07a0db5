//! The console's dashboard figures (SPEC §7): accounts by state, recent failures, tokens and
//! OAuth clients that need attention.

use super::Provisioner;
use crate::access::Grant;
use crate::activity::{EventQuery, Outcome};
use crate::clock::Clock;
use crate::error::Result;
use crate::oauth::OAuthClient;
use crate::store::Store;
use crate::token::{Token, TokenStatus};
use scim::datetime::Timestamp;

const DAY_MILLIS: i64 = 86_400_000;

#[derive(Debug, Clone)]
pub struct Dashboard {
    pub active: u64,
    pub preserved: u64,
    pub failures_last_day: u64,
    /// Tokens that expire within 30 days or have expired, and are not revoked.
    pub tokens_needing_attention: Vec<(Token, TokenStatus)>,
    pub clients_needing_attention: Vec<ClientAttention>,
}

/// A live OAuth client whose last secret expires within 30 days, or that has no working secret
/// left: the IdP using it is about to stop, or has stopped, provisioning.
#[derive(Debug, Clone)]
pub struct ClientAttention {
    pub name: String,
    /// `Expiring` or `Expired`.
    pub status: TokenStatus,
    /// When its last working secret expires; `None` when it has none.
    pub expires_at: Option<Timestamp>,
}

fn client_attention(client: OAuthClient, now: Timestamp) -> Option<ClientAttention> {
    if client.revoked_at.is_some() {
        return None;
    }
    let last = client
        .live_secrets(now)
        .max_by_key(|secret| secret.expires_at);
    let status = last.map_or(TokenStatus::Expired, |secret| secret.status(now));
    let expires_at = last.map(|secret| secret.expires_at);
    matches!(status, TokenStatus::Expiring | TokenStatus::Expired).then(|| ClientAttention {
        name: client.name,
        status,
        expires_at,
    })
}

impl<S: Store, C: Clock> Provisioner<S, C> {
    pub async fn dashboard(&self, grant: &Grant) -> Result<Dashboard> {
        let tenant = grant.tenant();
        let now = self.now();
        let counts = self.store.count_accounts(tenant.id).await?;
        let failures = EventQuery {
            since: Some(Timestamp::from_millis(now.as_millis() - DAY_MILLIS)),
            outcome: Some(Outcome::Failure),
            ..EventQuery::default()
        };
        let failures_last_day = self.store.count_events(tenant.id, &failures).await?;
        let tokens_needing_attention = self
            .list_tokens(grant)
            .await?
            .into_iter()
            .map(|token| {
                let status = token.status(now);
                (token, status)
            })
            .filter(|(_, status)| matches!(status, TokenStatus::Expiring | TokenStatus::Expired))
            .collect();
        let clients_needing_attention = self
            .list_clients(grant)
            .await?
            .into_iter()
            .filter_map(|client| client_attention(client, now))
            .collect();
        Ok(Dashboard {
            active: counts.active,
            preserved: counts.preserved,
            failures_last_day,
            tokens_needing_attention,
            clients_needing_attention,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::ClientSecretInfo;
    use crate::tenant::TenantId;

    fn secret(id: i64, expires_in_days: i64, revoked: bool) -> ClientSecretInfo {
        ClientSecretInfo {
            id,
            created_at: Timestamp::from_millis(0),
            expires_at: Timestamp::from_millis(expires_in_days * DAY_MILLIS),
            revoked_at: revoked.then(|| Timestamp::from_millis(0)),
            last_used_at: None,
        }
    }

    fn client(secrets: Vec<ClientSecretInfo>) -> OAuthClient {
        OAuthClient {
            id: 1,
            tenant_id: TenantId(1),
            name: "entra".into(),
            client_id: "scimd_1".into(),
            created_at: Timestamp::from_millis(0),
            revoked_at: None,
            trust: None,
            secrets,
        }
    }

    #[test]
    fn a_client_needs_attention_when_its_last_working_secret_is_about_to_end_or_gone() {
        let now = Timestamp::from_millis(1);
        let expiring = client_attention(client(vec![secret(1, 10, false)]), now).unwrap();
        assert_eq!(expiring.status, TokenStatus::Expiring);
        assert_eq!(
            expiring.expires_at,
            Some(Timestamp::from_millis(10 * DAY_MILLIS))
        );
        let rotated = client(vec![secret(1, 10, false), secret(2, 700, false)]);
        assert!(
            client_attention(rotated, now).is_none(),
            "its successor works"
        );
        let none_left = client_attention(client(vec![secret(1, 700, true)]), now).unwrap();
        assert_eq!(
            (none_left.status, none_left.expires_at),
            (TokenStatus::Expired, None)
        );
        let revoked = OAuthClient {
            revoked_at: Some(now),
            ..client(vec![])
        };
        assert!(
            client_attention(revoked, now).is_none(),
            "a revoked client is done"
        );
    }
}
