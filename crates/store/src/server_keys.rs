//! Keys the server makes for itself and keeps in the database (`server_keys`), so that every
//! instance and every restart uses the same, and the sealing they do: XChaCha20-Poly1305 with
//! the tenant as associated data (what one tenant's row holds opens for that tenant only).

use crate::backend::{Backend, Column, Step};
use crate::sql::{SqlValue, Statement};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use scimd_core::store::{StoreError, StoreResult};
use scimd_core::tenant::TenantId;

const NONCE_BYTES: usize = 24;

/// The 32-byte key named `name`, made (by whichever instance comes first) when there is none.
pub(crate) async fn server_key(backend: &Backend, name: &'static str) -> StoreResult<[u8; 32]> {
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh)
        .map_err(|error| StoreError::Backend(format!("no random source: {error}").into()))?;
    server_secret(backend, name, &fresh)
        .await?
        .try_into()
        .map_err(|_| StoreError::Backend(format!("the stored {name} key is not 32 bytes").into()))
}

/// The secret named `name`; `fresh` is kept as it when there is none yet (the first instance
/// to keep one wins; the others read it). Read first: once it exists, this writes nothing.
pub(crate) async fn server_secret(
    backend: &Backend,
    name: &str,
    fresh: &[u8],
) -> StoreResult<Vec<u8>> {
    if let Some(secret) = stored_secret(backend, name).await? {
        return Ok(secret);
    }
    let keep_first = Step::run(
        "INSERT INTO server_keys (name, secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        vec![SqlValue::Text(name.into()), SqlValue::Bytes(fresh.to_vec())],
    );
    backend.write(vec![keep_first]).await?;
    stored_secret(backend, name)
        .await?
        .ok_or_else(|| StoreError::Backend(format!("the {name} key was not kept").into()))
}

async fn stored_secret(backend: &Backend, name: &str) -> StoreResult<Option<Vec<u8>>> {
    let rows = backend
        .query(
            &Statement::new(
                "SELECT secret FROM server_keys WHERE name = $1",
                vec![SqlValue::Text(name.into())],
            ),
            &[Column::Bytes],
        )
        .await?;
    Ok(rows.first().map(|row| row[0].bytes().to_vec()))
}

/// Seals and opens small values under one server key, bound to a tenant.
pub(crate) struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer")
    }
}

impl Sealer {
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(&Key::from(*key)),
        }
    }

    /// A fresh nonce followed by `value` sealed for `tenant`.
    pub fn seal(&self, tenant: TenantId, value: &[u8]) -> StoreResult<Vec<u8>> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce)
            .map_err(|error| StoreError::Backend(format!("no random source: {error}").into()))?;
        let aad = tenant.0.to_be_bytes();
        let sealed = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: value,
                    aad: &aad,
                },
            )
            .map_err(|_| StoreError::Backend("a value could not be sealed".into()))?;
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        Ok(bytes)
    }

    /// What [`Self::seal`] sealed for `tenant`; `None` for anything else (another tenant's,
    /// another key's, altered).
    pub fn open(&self, tenant: TenantId, bytes: &[u8]) -> Option<Vec<u8>> {
        let (nonce, sealed) = bytes.split_at_checked(NONCE_BYTES)?;
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().ok()?;
        let aad = tenant.0.to_be_bytes();
        self.cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .ok()
    }
}
