//! SCIM ids and change-event ids: UUID version 7 (RFC 9562).

use crate::error::{Error, Result};
use scim::datetime::Timestamp;

/// A new SCIM id: a UUID version 7, the creation time in milliseconds followed by 74 random
/// bits. Ids made later sort after earlier ones, so each new account is added at the end of the
/// id index instead of on a random page of it: one page written per group of creates rather
/// than one per create, once the index outgrows memory. `now` is the creation time.
pub fn new_user_id(now: Timestamp) -> Result<String> {
    new_time_ordered_id(now)
}

/// A UUID version 7 made at `now`, as SCIM ids and change events use: unique, and sorting
/// in the order they were made.
pub fn new_time_ordered_id(now: Timestamp) -> Result<String> {
    let mut random = [0u8; 10];
    getrandom::fill(&mut random)
        .map_err(|error| Error::Internal(format!("no random source: {error}")))?;
    let millis = u64::try_from(now.as_millis()).unwrap_or(0);
    let id = uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid();
    Ok(id.hyphenated().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_uuid_v7_in_creation_order() {
        let at = Timestamp::from_millis(1_764_000_000_000);
        let a = new_user_id(at).expect("random");
        assert_eq!(a.len(), 36);
        for (position, c) in a.char_indices() {
            if [8, 13, 18, 23].contains(&position) {
                assert_eq!(c, '-', "{a}");
            } else {
                assert!(matches!(c, '0'..='9' | 'a'..='f'), "{a}");
            }
        }
        assert_eq!(
            &a[..13],
            "019ab697-e800",
            "the time in milliseconds, big-endian"
        );
        assert_eq!(&a[14..15], "7");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
        assert_ne!(a, new_user_id(at).expect("random"));
        let later = Timestamp::from_millis(1_764_000_000_001);
        assert!(new_user_id(later).expect("random") > a);
    }
}
