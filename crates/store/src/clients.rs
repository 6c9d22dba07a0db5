//! OAuth clients, their secrets and the access tokens issued to them, on either backend.
//! Access tokens are rows of `tokens` with `client_pk` set; every change to what a client may
//! do first locks the client's row, so an issue and a revocation of the same client happen one
//! after the other, never across each other.

use crate::backend::{Cell, Column, Step, Written};
use crate::sql::{SqlValue, Statement};
use crate::sql_store::SqlStore;
use scim::datetime::Timestamp;
use scim::filter::fold_case;
use scimd_core::oauth::{
    AddedSecret, ClientSecretInfo, FoundSecret, IssueOutcome, MAX_LIVE_ACCESS_TOKENS,
    MAX_LIVE_SECRETS, NewAccessToken, NewClient, NewSecret, OAuthClient, Trust, TrustKeys,
};
use scimd_core::secret::SecretHash;
use scimd_core::store::{ClientStore, StoreError, StoreResult};
use scimd_core::tenant::TenantId;
use std::collections::HashMap;

const CLIENT_COLUMNS: &str = "c.id, c.tenant_id, c.name, c.client_id, c.created_at, c.revoked_at, \
     c.trust_issuer, c.trust_subject, c.trust_audience, c.trust_jwks, c.trust_jwks_url";
const CLIENT_TYPES: &[Column] = &[
    Column::Int,
    Column::Int,
    Column::Text,
    Column::Text,
    Column::Int,
    Column::OptInt,
    Column::OptText,
    Column::OptText,
    Column::OptText,
    Column::OptText,
    Column::OptText,
];
const SECRET_COLUMNS: &str = "s.id, s.created_at, s.expires_at, s.revoked_at, s.last_used_at";
const SECRET_TYPES: &[Column] = &[
    Column::Int,
    Column::Int,
    Column::Int,
    Column::OptInt,
    Column::OptInt,
];

fn client_from(row: &mut [Cell]) -> OAuthClient {
    let trust = match (
        row[6].opt_text(),
        row[7].opt_text(),
        row[8].opt_text(),
        row[9].opt_text(),
        row[10].opt_text(),
    ) {
        (Some(issuer), Some(subject), Some(audience), jwks, url) => {
            let keys = match (jwks, url) {
                (Some(document), _) => Some(TrustKeys::Jwks(document)),
                (None, Some(url)) => Some(TrustKeys::JwksUrl(url)),
                (None, None) => None,
            };
            keys.map(|keys| Trust {
                issuer,
                subject,
                audience,
                keys,
            })
        }
        _ => None,
    };
    OAuthClient {
        id: row[0].int(),
        tenant_id: TenantId(row[1].int()),
        name: row[2].take_text(),
        client_id: row[3].take_text(),
        created_at: Timestamp::from_millis(row[4].int()),
        revoked_at: row[5].opt_int().map(Timestamp::from_millis),
        trust,
        secrets: Vec::new(),
    }
}

fn secret_from(row: &[Cell]) -> ClientSecretInfo {
    ClientSecretInfo {
        id: row[0].int(),
        created_at: Timestamp::from_millis(row[1].int()),
        expires_at: Timestamp::from_millis(row[2].int()),
        revoked_at: row[3].opt_int().map(Timestamp::from_millis),
        last_used_at: row[4].opt_int().map(Timestamp::from_millis),
    }
}

impl SqlStore {
    /// Holds the live client `client_pk` until the transaction ends; the transaction is rolled
    /// back when it is not live.
    fn lock_live_client(&self, client_pk: i64) -> Step {
        let select = "SELECT id FROM oauth_clients WHERE id = $1 AND revoked_at IS NULL";
        Step::run(
            self.backend.dialect().locking(select),
            vec![SqlValue::Int(client_pk)],
        )
        .returning(&[Column::Int])
        .must_affect()
    }

    /// Inserts a secret for the client `client` (an SQL expression over `$1`) unless it has
    /// [`MAX_LIVE_SECRETS`] live ones.
    fn insert_secret(client: &str, key: SqlValue, secret: &NewSecret) -> Step {
        Step::run(
            format!(
                "INSERT INTO oauth_client_secrets (client_pk, secret_hash, created_at, expires_at) \
                 SELECT {client}, $2, $3, $4 WHERE (SELECT COUNT(*) FROM oauth_client_secrets \
                 WHERE client_pk = {client} AND revoked_at IS NULL AND expires_at > $3) < \
                 {MAX_LIVE_SECRETS} RETURNING {}",
                SECRET_COLUMNS.replace("s.", "")
            ),
            vec![
                key,
                SqlValue::Bytes(secret.hash.0.to_vec()),
                SqlValue::Int(secret.created_at.as_millis()),
                SqlValue::Int(secret.expires_at.as_millis()),
            ],
        )
        .returning(SECRET_TYPES)
    }

    async fn committed(&self, steps: Vec<Step>) -> StoreResult<bool> {
        Ok(matches!(self.write(steps).await?, Written::Committed(_)))
    }
}

impl ClientStore for SqlStore {
    async fn create_client(&self, new: &NewClient<'_>) -> StoreResult<OAuthClient> {
        let insert = Step::run(
            "INSERT INTO oauth_clients (tenant_id, name, name_ci, client_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            vec![
                SqlValue::Int(new.tenant_id.0),
                SqlValue::Text(new.name.into()),
                SqlValue::Text(fold_case(new.name)),
                SqlValue::Text(new.client_id.into()),
                SqlValue::Int(new.secret.created_at.as_millis()),
            ],
        )
        .returning(&[Column::Int]);
        // The first secret names its client by the id just given out.
        let secret = Self::insert_secret(
            "(SELECT id FROM oauth_clients WHERE client_id = $1)",
            SqlValue::Text(new.client_id.into()),
            &new.secret,
        );
        let Written::Committed(mut rows) = self.write(vec![insert, secret]).await? else {
            return Err(StoreError::Backend("a new client was not written".into()));
        };
        let id = rows[0].first().map_or(0, |row| row[0].int());
        let secret = rows[1]
            .pop()
            .map(|row| secret_from(&row))
            .ok_or_else(|| StoreError::Backend("a new client's secret was not written".into()))?;
        Ok(OAuthClient {
            id,
            tenant_id: new.tenant_id,
            name: new.name.to_owned(),
            client_id: new.client_id.to_owned(),
            created_at: new.secret.created_at,
            revoked_at: None,
            trust: None,
            secrets: vec![secret],
        })
    }

    async fn list_clients(&self, tenant: TenantId) -> StoreResult<Vec<OAuthClient>> {
        let clients = Statement::new(
            format!(
                "SELECT {CLIENT_COLUMNS} FROM oauth_clients c WHERE c.tenant_id = $1 \
                 ORDER BY c.name_ci, c.id"
            ),
            vec![SqlValue::Int(tenant.0)],
        );
        let secrets = Statement::new(
            format!(
                "SELECT s.client_pk, {SECRET_COLUMNS} FROM oauth_client_secrets s \
                 JOIN oauth_clients c ON c.id = s.client_pk WHERE c.tenant_id = $1 ORDER BY s.id"
            ),
            vec![SqlValue::Int(tenant.0)],
        );
        let secret_types: Vec<Column> = [Column::Int]
            .into_iter()
            .chain(SECRET_TYPES.iter().copied())
            .collect();
        let mut clients: Vec<OAuthClient> = self
            .query(clients, CLIENT_TYPES)
            .await?
            .into_iter()
            .map(|mut row| client_from(&mut row))
            .collect();
        let position: HashMap<i64, usize> = clients
            .iter()
            .enumerate()
            .map(|(at, client)| (client.id, at))
            .collect();
        for row in self.query(secrets, &secret_types).await? {
            if let Some(&at) = position.get(&row[0].int()) {
                clients[at].secrets.push(secret_from(&row[1..]));
            }
        }
        Ok(clients)
    }

    async fn add_client_secret(
        &self,
        client_pk: i64,
        secret: &NewSecret,
    ) -> StoreResult<AddedSecret> {
        let insert = Self::insert_secret("$1", SqlValue::Int(client_pk), secret).must_affect();
        Ok(
            match self
                .write(vec![self.lock_live_client(client_pk), insert])
                .await?
            {
                Written::Committed(mut rows) => rows[1].pop().map_or(AddedSecret::Full, |row| {
                    AddedSecret::Added(secret_from(&row))
                }),
                Written::Unmet { step: 0 } => AddedSecret::NoClient,
                Written::Unmet { .. } => AddedSecret::Full,
            },
        )
    }

    async fn revoke_client_secret(
        &self,
        client_pk: i64,
        secret_id: i64,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let values = || {
            vec![
                SqlValue::Int(client_pk),
                SqlValue::Int(secret_id),
                SqlValue::Int(now.as_millis()),
            ]
        };
        let secret = Step::run(
            "UPDATE oauth_client_secrets SET revoked_at = $3 \
             WHERE client_pk = $1 AND id = $2 AND revoked_at IS NULL AND expires_at > $3",
            values(),
        )
        .must_affect();
        let tokens = Step::run(
            "UPDATE tokens SET revoked_at = $3 WHERE client_pk = $1 AND client_secret_id = $2 \
             AND (revoked_at IS NULL OR revoked_at > $3)",
            values(),
        );
        self.committed(vec![self.lock_live_client(client_pk), secret, tokens])
            .await
    }

    async fn revoke_client(&self, client_pk: i64, now: Timestamp) -> StoreResult<bool> {
        let values = || vec![SqlValue::Int(client_pk), SqlValue::Int(now.as_millis())];
        let steps = vec![
            Step::run(
                "UPDATE oauth_clients SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                values(),
            )
            .must_affect(),
            Step::run(
                "UPDATE oauth_client_secrets SET revoked_at = $2 \
                 WHERE client_pk = $1 AND revoked_at IS NULL",
                values(),
            ),
            Step::run(
                "UPDATE tokens SET revoked_at = $2 \
                 WHERE client_pk = $1 AND (revoked_at IS NULL OR revoked_at > $2)",
                values(),
            ),
        ];
        self.committed(steps).await
    }

    async fn set_client_trust(&self, client_pk: i64, trust: Option<&Trust>) -> StoreResult<bool> {
        let text = |pick: fn(&Trust) -> Option<&str>| {
            SqlValue::OptText(trust.and_then(pick).map(str::to_owned))
        };
        let step = Step::run(
            "UPDATE oauth_clients SET trust_issuer = $2, trust_subject = $3, trust_audience = $4, \
             trust_jwks = $5, trust_jwks_url = $6 WHERE id = $1 AND revoked_at IS NULL",
            vec![
                SqlValue::Int(client_pk),
                text(|trust| Some(&trust.issuer)),
                text(|trust| Some(&trust.subject)),
                text(|trust| Some(&trust.audience)),
                text(|trust| match &trust.keys {
                    TrustKeys::Jwks(document) => Some(document),
                    TrustKeys::JwksUrl(_) => None,
                }),
                text(|trust| match &trust.keys {
                    TrustKeys::JwksUrl(url) => Some(url),
                    TrustKeys::Jwks(_) => None,
                }),
            ],
        )
        .must_affect();
        self.committed(vec![step]).await
    }

    async fn client_secret_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<FoundSecret>> {
        let statement = Statement::new(
            format!(
                "SELECT {SECRET_COLUMNS}, s.secret_hash, {CLIENT_COLUMNS} \
                 FROM oauth_client_secrets s JOIN oauth_clients c ON c.id = s.client_pk \
                 WHERE s.secret_hash = $1"
            ),
            vec![SqlValue::Bytes(hash.0.to_vec())],
        );
        let types: Vec<Column> = SECRET_TYPES
            .iter()
            .copied()
            .chain([Column::Bytes])
            .chain(CLIENT_TYPES.iter().copied())
            .collect();
        let Some(mut row) = self.lookup(statement, &types).await?.into_iter().next() else {
            return Ok(None);
        };
        let stored: [u8; 32] = row[5].bytes().try_into().map_err(|_| {
            StoreError::Backend("a stored client secret hash is not 32 bytes".into())
        })?;
        Ok(Some(FoundSecret {
            secret: secret_from(&row[..5]),
            hash: SecretHash(stored),
            client: client_from(&mut row[6..]),
        }))
    }

    async fn trusting_clients(&self, issuer: &str, subject: &str) -> StoreResult<Vec<OAuthClient>> {
        let statement = Statement::new(
            format!(
                "SELECT {CLIENT_COLUMNS} FROM oauth_clients c WHERE c.trust_issuer = $1 \
                 AND c.trust_subject = $2 AND c.revoked_at IS NULL ORDER BY c.id"
            ),
            vec![
                SqlValue::Text(issuer.into()),
                SqlValue::Text(subject.into()),
            ],
        );
        Ok(self
            .lookup(statement, CLIENT_TYPES)
            .await?
            .into_iter()
            .map(|mut row| client_from(&mut row))
            .collect())
    }

    async fn insert_access_token(&self, token: &NewAccessToken) -> StoreResult<IssueOutcome> {
        let now = token.created_at.as_millis();
        let mut steps = vec![self.lock_live_client(token.client_pk)];
        if let Some(secret) = token.secret_id {
            steps.push(
                Step::run(
                    "UPDATE oauth_client_secrets SET last_used_at = $3 \
                     WHERE id = $1 AND client_pk = $2 AND revoked_at IS NULL AND expires_at > $3",
                    vec![
                        SqlValue::Int(secret),
                        SqlValue::Int(token.client_pk),
                        SqlValue::Int(now),
                    ],
                )
                .must_affect(),
            );
        }
        if let Some((jti, expires_at)) = &token.assertion {
            steps.push(Step::run(
                "INSERT INTO oauth_assertions (client_pk, jti, expires_at) VALUES ($1, $2, $3)",
                vec![
                    SqlValue::Int(token.client_pk),
                    SqlValue::Text(jti.clone()),
                    SqlValue::Int(expires_at.as_millis()),
                ],
            ));
        }
        let keep = MAX_LIVE_ACCESS_TOKENS - 1;
        steps.push(Step::run(
            format!(
                "UPDATE tokens SET revoked_at = $2 WHERE client_pk = $1 AND revoked_at IS NULL \
                 AND id NOT IN (SELECT id FROM tokens WHERE client_pk = $1 \
                 AND revoked_at IS NULL ORDER BY id DESC LIMIT {keep})"
            ),
            vec![SqlValue::Int(token.client_pk), SqlValue::Int(now)],
        ));
        steps.push(Step::run(
            "INSERT INTO tokens (tenant_id, name, secret_hash, created_at, expires_at, client_pk, \
             client_secret_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            vec![
                SqlValue::Int(token.tenant_id.0),
                SqlValue::Text(token.name.clone()),
                SqlValue::Bytes(token.hash.0.to_vec()),
                SqlValue::Int(now),
                SqlValue::Int(token.expires_at.as_millis()),
                SqlValue::Int(token.client_pk),
                SqlValue::OptInt(token.secret_id),
            ],
        ));
        match self.write(steps).await {
            Ok(Written::Committed(_)) => Ok(IssueOutcome::Issued),
            Ok(Written::Unmet { .. }) => Ok(IssueOutcome::NoLongerLive),
            Err(StoreError::Conflict(_)) if token.assertion.is_some() => Ok(IssueOutcome::Replayed),
            Err(error) => Err(error),
        }
    }

    async fn purge_access_tokens(&self, before: Timestamp) -> StoreResult<()> {
        let values = || vec![SqlValue::Int(before.as_millis())];
        let steps = vec![
            Step::run(
                "DELETE FROM tokens WHERE client_pk IS NOT NULL \
                 AND (expires_at < $1 OR revoked_at < $1)",
                values(),
            ),
            Step::run(
                "DELETE FROM oauth_assertions WHERE expires_at < $1",
                values(),
            ),
        ];
        self.write(steps).await.map(drop)
    }
}
