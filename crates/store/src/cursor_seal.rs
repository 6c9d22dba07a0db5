//! RFC 9865 cursors sealed with XChaCha20-Poly1305 under a key the database keeps
//! (`server_keys`, made on first start, the same for every instance): a cursor shows nothing
//! of the position it holds (no row number, which would tell one tenant how fast the others
//! grow), and it opens only for the tenant it was issued to (the tenant id is the associated
//! data), unchanged (the tag).

use crate::backend::Backend;
use crate::server_keys::{Sealer, server_key};
use scim::list::Cursor;
use scimd_core::store::StoreResult;
use scimd_core::tenant::TenantId;

#[derive(Debug)]
pub(crate) struct CursorSeal {
    sealer: Sealer,
}

impl CursorSeal {
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            sealer: Sealer::new(key),
        }
    }

    /// The database's cursor key (made on first start).
    pub async fn of_database(backend: &Backend) -> StoreResult<Self> {
        Ok(Self::new(&server_key(backend, "cursor").await?))
    }

    /// A cursor holding `position` for `tenant`.
    pub fn seal(&self, tenant: TenantId, position: &str) -> StoreResult<Cursor> {
        let sealed = self.sealer.seal(tenant, position.as_bytes())?;
        Ok(Cursor::from_bytes(&sealed))
    }

    /// The position a cursor holds, if this server sealed it for `tenant`; else 400
    /// `invalidCursor`.
    pub fn open(&self, tenant: TenantId, cursor: &Cursor) -> Result<String, scim::Error> {
        let bytes = cursor.bytes()?;
        let position = self
            .sealer
            .open(tenant, &bytes)
            .ok_or_else(Cursor::not_ours)?;
        String::from_utf8(position).map_err(|_| Cursor::not_ours())
    }
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
