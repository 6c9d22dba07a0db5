//! RFC 9865 cursors sealed with XChaCha20-Poly1305 under a key the database keeps
//! (`server_keys`, made on first start, the same for every instance): a cursor shows nothing
//! of the position it holds (no row number, which would tell one tenant how fast the others
//! grow), and it opens only for the tenant it was issued to (the tenant id is the associated
//! data), unchanged (the tag).

use crate::backend::{Backend, Column, Step};
use crate::sql::{SqlValue, Statement};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use scim::list::Cursor;
use scimd_core::store::{StoreError, StoreResult};
use scimd_core::tenant::TenantId;

const NONCE_BYTES: usize = 24;

pub(crate) struct CursorSeal {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for CursorSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorSeal")
    }
}

impl CursorSeal {
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(&Key::from(*key)),
        }
    }

    /// The database's cursor key, made (by whichever instance comes first) when there is none.
    /// Read first: once the key exists, opening the database writes nothing.
    pub async fn of_database(backend: &Backend) -> StoreResult<Self> {
        if let Some(key) = stored_key(backend).await? {
            return Ok(Self::new(&key));
        }
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh)
            .map_err(|error| StoreError::Backend(format!("no random source: {error}").into()))?;
        let keep_first = Step::run(
            "INSERT INTO server_keys (name, secret) VALUES ('cursor', $1) \
             ON CONFLICT (name) DO NOTHING",
            vec![SqlValue::Bytes(fresh.to_vec())],
        );
        backend.write(vec![keep_first]).await?;
        let key = stored_key(backend)
            .await?
            .ok_or_else(|| StoreError::Backend("the cursor key was not kept".into()))?;
        Ok(Self::new(&key))
    }

    /// A cursor holding `position` for `tenant`.
    pub fn seal(&self, tenant: TenantId, position: &str) -> StoreResult<Cursor> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce)
            .map_err(|error| StoreError::Backend(format!("no random source: {error}").into()))?;
        let aad = tenant.0.to_be_bytes();
        let sealed = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: position.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| StoreError::Backend("a cursor could not be sealed".into()))?;
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        Ok(Cursor::from_bytes(&bytes))
    }

    /// The position a cursor holds, if this server sealed it for `tenant`; else 400
    /// `invalidCursor`.
    pub fn open(&self, tenant: TenantId, cursor: &Cursor) -> Result<String, scim::Error> {
        let bytes = cursor.bytes()?;
        let (nonce, sealed) = bytes
            .split_at_checked(NONCE_BYTES)
            .ok_or_else(Cursor::not_ours)?;
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| Cursor::not_ours())?;
        let aad = tenant.0.to_be_bytes();
        let position = self
            .cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| Cursor::not_ours())?;
        String::from_utf8(position).map_err(|_| Cursor::not_ours())
    }
}

async fn stored_key(backend: &Backend) -> StoreResult<Option<[u8; 32]>> {
    let rows = backend
        .query(
            &Statement::new(
                "SELECT secret FROM server_keys WHERE name = 'cursor'",
                vec![],
            ),
            &[Column::Bytes],
        )
        .await?;
    rows.first()
        .map(|row| {
            row[0]
                .bytes()
                .try_into()
                .map_err(|_| StoreError::Backend("the stored cursor key is not 32 bytes".into()))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_opens_only_for_its_tenant_unchanged_and_shows_nothing() {
        let seal = CursorSeal::new(&[7; 32]);
        let cursor = seal.seal(TenantId(1), "k12345").unwrap();
        assert!(!cursor.as_str().contains("12345"));
        assert_eq!(seal.open(TenantId(1), &cursor).unwrap(), "k12345");
        let error = seal.open(TenantId(2), &cursor).unwrap_err();
        assert_eq!(error.scim_type, Some(scim::ScimType::InvalidCursor));
        let mut bytes = cursor.bytes().unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let other_key = CursorSeal::new(&[8; 32]);
        for refused in [
            seal.open(TenantId(1), &Cursor::from_bytes(&bytes)),
            seal.open(TenantId(1), &Cursor::from_bytes(b"short")),
            other_key.open(TenantId(1), &cursor),
        ] {
            let error = refused.unwrap_err();
            assert_eq!(error.scim_type, Some(scim::ScimType::InvalidCursor));
        }
        assert_ne!(
            seal.seal(TenantId(1), "k12345").unwrap(),
            cursor,
            "a fresh nonce each time"
        );
    }
}
