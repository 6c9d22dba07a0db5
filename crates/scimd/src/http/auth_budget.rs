//! The failed-authentication budget of a client address: a bucket of `per_minute` attempts
//! that refills continuously. An attempt is paid for *before* its credentials are checked and
//! paid back when they turn out valid, so a client cannot race itself past the budget: however
//! many attempts it sends at once, at most the budget's worth is ever checked, and only
//! failures stay spent.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Sources tracked before the full buckets are swept out; when a sweep leaves more than half,
/// every bucket is forgotten (memory stays bounded whatever the number of addresses, and a
/// sweep is paid for by the inserts before it).
const MAX_TRACKED: usize = 100_000;

/// Where attempts are counted: an IPv4 address, or the /64 network of an IPv6 one (a single
/// IPv6 host is usually given a whole /64, so counting its addresses one by one would count
/// nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Source(u128);

impl From<IpAddr> for Source {
    fn from(address: IpAddr) -> Self {
        match address.to_canonical() {
            IpAddr::V4(v4) => Self(u128::from(u32::from(v4))),
            IpAddr::V6(v6) => Self((u128::from(v6) >> 64) << 64 | 1),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    attempts: f64,
    at: Instant,
}

#[derive(Debug)]
pub(crate) struct FailureBudget {
    per_minute: f64,
    buckets: Mutex<HashMap<Source, Bucket>>,
}

impl FailureBudget {
    pub fn new(per_minute: NonZeroU32) -> Self {
        Self {
            per_minute: f64::from(per_minute.get()),
            buckets: Mutex::default(),
        }
    }

    /// Pays for one attempt from `address`, or says how long until one is affordable.
    pub fn spend(&self, address: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= MAX_TRACKED {
            buckets.retain(|_, bucket| self.refilled(*bucket, now).attempts < self.per_minute);
            // Half full still: clear it all, so that the next sweep is as far away again.
            if buckets.len() > MAX_TRACKED / 2 {
                tracing::warn!(
                    "failed authentications from {MAX_TRACKED} sources; forgetting them"
                );
                buckets.clear();
            }
        }
        let full = Bucket {
            attempts: self.per_minute,
            at: now,
        };
        let bucket = buckets.entry(Source::from(address)).or_insert(full);
        *bucket = self.refilled(*bucket, now);
        if bucket.attempts >= 1.0 {
            bucket.attempts -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.attempts) * 60.0 / self.per_minute,
            ))
        }
    }

    /// Pays back an attempt whose credentials were valid.
    pub fn refund(&self, address: IpAddr, now: Instant) {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let source = Source::from(address);
        if let Some(bucket) = buckets.get_mut(&source) {
            let mut refilled = self.refilled(*bucket, now);
            refilled.attempts = (refilled.attempts + 1.0).min(self.per_minute);
            if refilled.attempts >= self.per_minute {
                // Nothing owed: an address that only ever succeeds takes no room.
                buckets.remove(&source);
            } else {
                *bucket = refilled;
            }
        }
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> Bucket {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        Bucket {
            attempts: (bucket.attempts + elapsed * self.per_minute / 60.0).min(self.per_minute),
            at: now,
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.buckets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(per_minute: u32) -> FailureBudget {
        FailureBudget::new(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN))
    }

    #[test]
    fn attempts_past_the_budget_are_refused_until_it_refills() {
        let budget = budget(20);
        let (address, start) = (IpAddr::from([10, 0, 0, 1]), Instant::now());
        for _ in 0..20 {
            assert!(budget.spend(address, start).is_ok());
        }
        let wait = budget.spend(address, start).unwrap_err();
        assert_eq!(wait, Duration::from_secs(3), "one attempt every 3 s");
        assert!(
            budget
                .spend(address, start + Duration::from_secs(3))
                .is_ok()
        );
        assert!(budget.spend(IpAddr::from([10, 0, 0, 2]), start).is_ok());
    }

    #[test]
    fn valid_credentials_give_their_attempt_back() {
        let budget = budget(3);
        let (address, now) = (IpAddr::from([10, 0, 0, 1]), Instant::now());
        for _ in 0..100 {
            budget.spend(address, now).unwrap();
            budget.refund(address, now);
        }
        assert_eq!(budget.tracked(), 0, "a full bucket is not kept");
        for _ in 0..3 {
            budget.spend(address, now).unwrap();
        }
        budget.refund(address, now);
        assert!(budget.spend(address, now).is_ok());
        assert!(budget.spend(address, now).is_err());
    }

    #[test]
    fn an_ipv6_network_shares_one_budget() {
        let budget = budget(2);
        let now = Instant::now();
        let host = |last: u16| IpAddr::from([0x2001, 0xdb8, 0, 1, 0, 0, 0, last]);
        budget.spend(host(1), now).unwrap();
        budget.spend(host(2), now).unwrap();
        assert!(budget.spend(host(3), now).is_err());
        let other_network = IpAddr::from([0x2001, 0xdb8, 0, 2, 0, 0, 0, 1]);
        assert!(budget.spend(other_network, now).is_ok());
        let mapped = IpAddr::from([0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001]);
        budget.spend(IpAddr::from([10, 0, 0, 1]), now).unwrap();
        budget.spend(mapped, now).unwrap();
        assert!(
            budget.spend(IpAddr::from([10, 0, 0, 1]), now).is_err(),
            "an IPv4-mapped address is its IPv4 address"
        );
    }

    #[test]
    fn many_sources_cannot_grow_the_table_without_bound() {
        let budget = budget(1);
        let now = Instant::now();
        for n in 0..(MAX_TRACKED as u32 + 10) {
            let _ = budget.spend(IpAddr::from(n.to_be_bytes()), now);
        }
        assert!(budget.tracked() <= MAX_TRACKED);
    }
}
