//! The console's dashboard figures (SPEC §7): accounts by state, recent failures, tokens that
//! need attention.

use super::Provisioner;
use crate::access::Grant;
use crate::activity::{EventQuery, Outcome};
use crate::clock::Clock;
use crate::error::Result;
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
        Ok(Dashboard {
            active: counts.active,
            preserved: counts.preserved,
            failures_last_day,
            tokens_needing_attention,
        })
    }
}
