//! Listing requests: a [`ListQuery`] holds a prepared [`KeyFilter`] that stores apply to
//! the fields they keep, plus the page size and position.

use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use crate::record::ApiKey;

/// Which keys a listing returns, by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusFilter {
    /// Every key.
    #[default]
    All,
    /// Usable: neither revoked, disabled nor expired.
    Active,
    /// Revoked keys.
    Revoked,
    /// Keys whose expiry has passed (revoked or not).
    Expired,
    /// Disabled keys (revoked or not).
    Disabled,
    /// Keys not revoked whose expiry is between now and now plus this duration (both
    /// included): the keys that are about to stop working. Keys without expiry never match.
    ExpiringWithin(Duration),
}

/// Where a page ends: the next page starts after this key in newest-first order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Creation time of the last key of the page.
    pub created: OffsetDateTime,
    /// Prefix of the last key of the page (orders keys created at the same instant).
    pub prefix: String,
}

impl Cursor {
    /// The cursor pointing just after `key`.
    pub fn after(key: &ApiKey) -> Self {
        Self {
            created: key.created,
            prefix: key.prefix.clone(),
        }
    }

    /// Whether a key created at `created` with `prefix` comes after the cursor in
    /// newest-first order.
    pub fn admits(&self, created: OffsetDateTime, prefix: &str) -> bool {
        (created, prefix) < (self.created, self.prefix.as_str())
    }
}

/// The fields of a stored key a listing filters on, borrowed from wherever a store keeps
/// them (an index entry, a row), so that no store builds a whole [`ApiKey`] to filter.
#[derive(Debug, Clone, Copy)]
pub struct KeyFields<'a> {
    /// The prefix.
    pub prefix: &'a str,
    /// The name.
    pub name: &'a str,
    /// The creation time.
    pub created: OffsetDateTime,
    /// The expiry.
    pub expires: Option<OffsetDateTime>,
    /// Whether revoked.
    pub revoked: bool,
    /// Whether disabled.
    pub disabled: bool,
    /// The owner.
    pub owner: Option<&'a str>,
}

impl<'a> From<&'a ApiKey> for KeyFields<'a> {
    fn from(key: &'a ApiKey) -> Self {
        Self {
            prefix: &key.prefix,
            name: &key.name,
            created: key.created,
            expires: key.expires,
            revoked: key.revoked,
            disabled: key.disabled,
            owner: key.owner.as_deref(),
        }
    }
}

/// A search text, prepared once: keys whose prefix starts with the text as given, or whose
/// name contains it ignoring case (Unicode lower-casing), match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    raw: String,
    folded: String,
}

impl Search {
    fn new(text: String) -> Option<Self> {
        (!text.is_empty()).then(|| Self {
            folded: text.to_lowercase(),
            raw: text,
        })
    }

    /// The text as given: prefixes must start with it (case-sensitive).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The text lower-cased: lower-cased names must contain it.
    pub fn folded(&self) -> &str {
        &self.folded
    }

    /// Whether a key with this prefix and name matches. Allocation-free for ASCII names.
    pub fn matches(&self, prefix: &str, name: &str) -> bool {
        if prefix.starts_with(&self.raw) {
            return true;
        }
        if name.is_ascii() {
            // An ASCII name lower-cases to ASCII, so a non-ASCII search cannot be in it.
            let needle = self.folded.as_bytes();
            self.folded.is_ascii()
                && name
                    .as_bytes()
                    .windows(needle.len())
                    .any(|w| w.eq_ignore_ascii_case(needle))
        } else {
            name.to_lowercase().contains(&self.folded)
        }
    }
}

/// What a listing keeps, prepared from a [`ListQuery`]: the search (folded once), the
/// status, the owner and the instant that decides "expired". Stores either call
/// [`KeyFilter::matches`] on the fields they keep or translate the parts into their query
/// language; either way the answers must be the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFilter {
    search: Option<Search>,
    status: StatusFilter,
    owner: Option<String>,
    now: OffsetDateTime,
}

impl KeyFilter {
    /// The search, if any (an empty search text is none).
    pub fn search(&self) -> Option<&Search> {
        self.search.as_ref()
    }

    /// The status filter.
    pub fn status(&self) -> StatusFilter {
        self.status
    }

    /// Only keys with exactly this owner, if set.
    pub fn owner(&self) -> Option<&str> {
        self.owner.as_deref()
    }

    /// The instant that decides what "expired" means for this listing.
    pub fn now(&self) -> OffsetDateTime {
        self.now
    }

    /// For [`StatusFilter::ExpiringWithin`]: the latest expiry that matches (saturating at
    /// the largest representable time). `None` for other filters.
    pub fn expiring_before(&self) -> Option<OffsetDateTime> {
        match self.status {
            StatusFilter::ExpiringWithin(within) => Some(self.now.checked_add(within).unwrap_or(
                if within.is_negative() {
                    PrimitiveDateTime::MIN.assume_utc()
                } else {
                    PrimitiveDateTime::MAX.assume_utc()
                },
            )),
            _ => None,
        }
    }

    /// Whether a key with these fields passes the status filter.
    pub fn matches_status(&self, key: &KeyFields<'_>) -> bool {
        let expired = key.expires.is_some_and(|e| e < self.now);
        match self.status {
            StatusFilter::All => true,
            StatusFilter::Active => !key.revoked && !key.disabled && !expired,
            StatusFilter::Revoked => key.revoked,
            StatusFilter::Expired => expired,
            StatusFilter::Disabled => key.disabled,
            StatusFilter::ExpiringWithin(_) => {
                let before = self.expiring_before();
                !key.revoked
                    && key
                        .expires
                        .zip(before)
                        .is_some_and(|(e, before)| e >= self.now && e <= before)
            }
        }
    }

    /// Whether a key with these fields belongs in the listing (the cursor aside).
    pub fn matches(&self, key: &KeyFields<'_>) -> bool {
        self.owner.as_deref().is_none_or(|o| key.owner == Some(o))
            && self.matches_status(key)
            && self
                .search
                .as_ref()
                .is_none_or(|s| s.matches(key.prefix, key.name))
    }

    /// [`KeyFilter::matches`] on a whole record.
    pub fn matches_key(&self, key: &ApiKey) -> bool {
        self.matches(&KeyFields::from(key))
    }
}

/// A listing request: filter, page size and position. Built with one method per field:
///
/// ```
/// # use apikeys::{ListQuery, StatusFilter};
/// let query = ListQuery::new()
///     .search("billing")
///     .owner("org_42")
///     .status(StatusFilter::Active)
///     .limit(20);
/// assert_eq!(query.filter().search().unwrap().folded(), "billing");
/// ```
#[derive(Debug, Clone)]
pub struct ListQuery {
    filter: KeyFilter,
    limit: usize,
    after: Option<Cursor>,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            filter: KeyFilter {
                search: None,
                status: StatusFilter::All,
                owner: None,
                now: OffsetDateTime::now_utc(),
            },
            limit: Self::DEFAULT_LIMIT,
            after: None,
        }
    }
}

impl ListQuery {
    /// Page size when none is given.
    pub const DEFAULT_LIMIT: usize = 100;
    /// Largest page a store returns.
    pub const MAX_LIMIT: usize = 1000;

    /// Every key, newest first, in pages of [`ListQuery::DEFAULT_LIMIT`], judged at the
    /// current instant.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only keys whose prefix starts with `text` or whose name contains it, ignoring case.
    /// An empty text matches every key.
    #[must_use]
    pub fn search(mut self, text: impl Into<String>) -> Self {
        self.filter.search = Search::new(text.into());
        self
    }

    /// Only keys of this status.
    #[must_use]
    pub fn status(mut self, status: StatusFilter) -> Self {
        self.filter.status = status;
        self
    }

    /// Only keys with exactly this owner.
    #[must_use]
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.filter.owner = Some(owner.into());
        self
    }

    /// Judge expiry at `now` instead of the instant the query was made.
    #[must_use]
    pub fn at(mut self, now: OffsetDateTime) -> Self {
        self.filter.now = now;
        self
    }

    /// Pages of `limit` keys (clamped to 1..=[`ListQuery::MAX_LIMIT`]).
    #[must_use]
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Continue after a previous page.
    #[must_use]
    pub fn after(mut self, cursor: Cursor) -> Self {
        self.after = Some(cursor);
        self
    }

    /// The prepared filter.
    pub fn filter(&self) -> &KeyFilter {
        &self.filter
    }

    /// Where the page starts, if not at the newest key.
    pub fn cursor(&self) -> Option<&Cursor> {
        self.after.as_ref()
    }

    /// The page size a store should use.
    pub fn effective_limit(&self) -> usize {
        self.limit.clamp(1, Self::MAX_LIMIT)
    }

    /// Whether a key with these fields belongs in the listing: after the cursor, and
    /// matching the filter.
    pub fn matches(&self, key: &KeyFields<'_>) -> bool {
        self.after
            .as_ref()
            .is_none_or(|c| c.admits(key.created, key.prefix))
            && self.filter.matches(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_matches_like_lowercasing() {
        let search = |text: &str| Search::new(text.to_owned()).expect("non-empty");
        assert!(search("bill").matches("x", "Billing"));
        assert!(search("BILL").matches("x", "billing"));
        assert!(search("école").matches("x", "ÉCOLE"));
        assert!(search("Ab").matches("Abc", "zzz"));
        assert!(!search("ab").matches("Abc", "zzz"));
        assert!(!search("é").matches("x", "e"));
        // U+212A KELVIN SIGN lower-cases to an ASCII `k`.
        assert!(search("k").matches("x", "\u{212A}elvin"));
        assert!(Search::new(String::new()).is_none());
    }

    #[test]
    fn expiring_within() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(10_000);
        let query = ListQuery::new()
            .at(now)
            .status(StatusFilter::ExpiringWithin(Duration::days(7)));
        let mut key = ApiKey::new("p", "h", "n", now);
        let at = |key: &ApiKey| query.filter().matches_key(key);
        assert!(!at(&key), "no expiry");
        key.expires = Some(now + Duration::days(7));
        assert!(at(&key));
        key.expires = Some(now + Duration::days(8));
        assert!(!at(&key));
        key.expires = Some(now - Duration::seconds(1));
        assert!(!at(&key), "already expired");
        key.expires = Some(now);
        assert!(at(&key));
        key.revoked = true;
        assert!(!at(&key));
        let huge = ListQuery::new().status(StatusFilter::ExpiringWithin(Duration::MAX));
        assert!(huge.filter().expiring_before().is_some());
    }
}
