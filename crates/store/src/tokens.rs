//! Tokens on either backend.

use crate::backend::{Column, Row, Step, Written};
use crate::sql::{SqlValue, Statement};
use crate::sql_store::SqlStore;
use crate::tenants::provisioning_from;
use scim::datetime::Timestamp;
use scimd_core::store::{StoreError, StoreResult, TokenStore};
use scimd_core::tenant::{TenantId, TenantSlug};
use scimd_core::token::{FoundToken, NewToken, SecretHash, Token, TokenHash, TokenName};

const TOKEN_COLUMNS: &str = "id, tenant_id, name, secret_hash, created_at, expires_at, revoked_at, \
     last_used_at, client_pk";
const TOKEN_TYPES: &[Column] = TOKEN_WITH_TENANT_TYPES.split_at(9).0;
/// A token by its hash, with its tenant's slug and provisioning method: [`TOKEN_COLUMNS`], then
/// those two.
const TOKEN_WITH_TENANT: &str = "SELECT k.id, k.tenant_id, k.name, k.secret_hash, k.created_at, \
     k.expires_at, k.revoked_at, k.last_used_at, k.client_pk, t.slug, t.provisioning \
     FROM tokens k JOIN tenants t ON t.id = k.tenant_id WHERE k.secret_hash = $1";
const TOKEN_WITH_TENANT_TYPES: &[Column] = &[
    Column::Int,
    Column::Int,
    Column::Text,
    Column::Bytes,
    Column::Int,
    Column::Int,
    Column::OptInt,
    Column::OptInt,
    Column::OptInt,
    Column::Text,
    Column::Text,
];

fn token_from(mut row: Row) -> StoreResult<(Token, TokenHash)> {
    let name = TokenName::parse(&row[2].take_text())
        .map_err(|e| StoreError::Backend(e.to_string().into()))?;
    let hash: [u8; 32] = row[3]
        .bytes()
        .try_into()
        .map_err(|_| StoreError::Backend("a stored token hash is not 32 bytes".into()))?;
    let token = Token {
        id: row[0].int(),
        tenant_id: TenantId(row[1].int()),
        name,
        created_at: Timestamp::from_millis(row[4].int()),
        expires_at: Timestamp::from_millis(row[5].int()),
        revoked_at: row[6].opt_int().map(Timestamp::from_millis),
        last_used_at: row[7].opt_int().map(Timestamp::from_millis),
        client_pk: row[8].opt_int(),
    };
    Ok((token, SecretHash(hash)))
}

/// Makes the tokens of that name stop working at `at`: the live ones, and those a rotation
/// left working until later. Access tokens an OAuth client was given are its client's to end.
fn revoke_step(tenant: TenantId, name: &TokenName, at: Timestamp) -> Step {
    Step::run(
        "UPDATE tokens SET revoked_at = $3 \
         WHERE tenant_id = $1 AND name = $2 AND client_pk IS NULL \
         AND (revoked_at IS NULL OR revoked_at > $3)",
        vec![
            SqlValue::Int(tenant.0),
            SqlValue::Text(name.as_str().into()),
            SqlValue::Int(at.as_millis()),
        ],
    )
}

impl TokenStore for SqlStore {
    async fn insert_token(&self, token: &NewToken) -> StoreResult<Token> {
        let retire = revoke_step(token.tenant_id, &token.name, token.previous_revoked_at);
        let insert = Step::run(
            format!(
                "INSERT INTO tokens (tenant_id, name, secret_hash, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING {TOKEN_COLUMNS}"
            ),
            vec![
                SqlValue::Int(token.tenant_id.0),
                SqlValue::Text(token.name.as_str().into()),
                SqlValue::Bytes(token.hash.0.to_vec()),
                SqlValue::Int(token.created_at.as_millis()),
                SqlValue::Int(token.expires_at.as_millis()),
            ],
        )
        .returning(TOKEN_TYPES);
        Ok(token_from(self.write_returning(vec![retire, insert], 1).await?)?.0)
    }

    async fn token_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<FoundToken>> {
        // The tenant comes with the token, in the one indexed read every SCIM request makes.
        let statement = Statement::new(TOKEN_WITH_TENANT, vec![SqlValue::Bytes(hash.0.to_vec())]);
        let Some(mut row) = self
            .lookup(statement, TOKEN_WITH_TENANT_TYPES)
            .await?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let provisioning = provisioning_from(&row[10].take_text())?;
        let tenant_slug = TenantSlug::parse(&row[9].take_text())
            .map_err(|e| StoreError::Backend(e.to_string().into()))?;
        let (token, hash) = token_from(row)?;
        Ok(Some(FoundToken {
            token,
            hash,
            tenant_slug,
            provisioning,
        }))
    }

    async fn touch_token(&self, id: i64, now: Timestamp) -> StoreResult<()> {
        let step = Step::run(
            "UPDATE tokens SET last_used_at = $2 WHERE id = $1",
            vec![SqlValue::Int(id), SqlValue::Int(now.as_millis())],
        );
        self.write(vec![step]).await.map(drop)
    }

    async fn list_tokens(&self, tenant: TenantId) -> StoreResult<Vec<Token>> {
        let statement = Statement::new(
            format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens WHERE tenant_id = $1 AND client_pk IS NULL \
                 ORDER BY name, created_at"
            ),
            vec![SqlValue::Int(tenant.0)],
        );
        self.query(statement, TOKEN_TYPES)
            .await?
            .into_iter()
            .map(|row| token_from(row).map(|(t, _)| t))
            .collect()
    }

    async fn revoke_token(
        &self,
        tenant: TenantId,
        name: &TokenName,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let step = revoke_step(tenant, name, now).must_affect();
        Ok(matches!(
            self.write(vec![step]).await?,
            Written::Committed(_)
        ))
    }
}
