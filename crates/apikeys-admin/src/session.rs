//! Server-side browser sessions and the failed-login limit.
//!
//! A session id is 32 random bytes, sent once in the cookie and kept here only as its
//! SHA-256, so neither a memory dump of the table nor a log line can replay it. The
//! session holds the admin key that logged in (zeroized when the session ends) because
//! every request verifies it again: revoking or disabling that key ends the session.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use base64ct::{Base64UrlUnpadded, Encoding};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// A new key to show once: the one-time page takes it out of the session.
pub(crate) struct Flash {
    pub(crate) prefix: String,
    pub(crate) key: Zeroizing<String>,
    /// The key it replaced, for a roll.
    pub(crate) rolled_from: Option<String>,
}

struct Session {
    key: Zeroizing<String>,
    csrf: String,
    created: Instant,
    seen: Instant,
    flash: Option<Flash>,
}

/// What a request learns of its session.
pub(crate) struct Current {
    pub(crate) id: [u8; 32],
    pub(crate) key: Zeroizing<String>,
    pub(crate) csrf: String,
}

pub(crate) struct Sessions {
    table: Mutex<HashMap<[u8; 32], Session>>,
    idle: Duration,
    absolute: Duration,
    max: usize,
}

/// 32 bytes from the OS, URL-safe base64.
pub(crate) fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut_slice())?;
    Ok(Base64UrlUnpadded::encode_string(bytes.as_slice()))
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

impl Sessions {
    pub(crate) fn new(idle: Duration, absolute: Duration, max: usize) -> Self {
        Self {
            table: Mutex::new(HashMap::new()),
            idle,
            absolute,
            max,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<[u8; 32], Session>> {
        // A panic elsewhere leaves the map consistent (every update is one insert/remove).
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// How long a session may live at most: the cookie's `Max-Age`.
    pub(crate) fn absolute(&self) -> Duration {
        self.absolute
    }

    /// Starts a session for `key`; its id (for the cookie) and CSRF token.
    pub(crate) fn start(&self, key: Zeroizing<String>) -> Result<String, getrandom::Error> {
        let id = random_token()?;
        let csrf = random_token()?;
        let now = Instant::now();
        let mut table = self.lock();
        table.retain(|_, s| !self.expired(s, now));
        while table.len() >= self.max {
            let oldest = table.iter().min_by_key(|(_, s)| s.created).map(|(k, _)| *k);
            match oldest {
                Some(k) => table.remove(&k),
                None => break,
            };
        }
        table.insert(
            digest(&id),
            Session {
                key,
                csrf,
                created: now,
                seen: now,
                flash: None,
            },
        );
        Ok(id)
    }

    fn expired(&self, s: &Session, now: Instant) -> bool {
        now.duration_since(s.seen) > self.idle || now.duration_since(s.created) > self.absolute
    }

    /// The live session with this cookie value, marked as seen; an expired one is ended.
    pub(crate) fn current(&self, cookie: &str) -> Option<Current> {
        let id = digest(cookie);
        let now = Instant::now();
        let mut table = self.lock();
        let session = table.get_mut(&id)?;
        if self.expired(session, now) {
            table.remove(&id);
            return None;
        }
        session.seen = now;
        Some(Current {
            id,
            key: session.key.clone(),
            csrf: session.csrf.clone(),
        })
    }

    pub(crate) fn end(&self, id: &[u8; 32]) {
        self.lock().remove(id);
    }

    pub(crate) fn set_flash(&self, id: &[u8; 32], flash: Flash) {
        if let Some(session) = self.lock().get_mut(id) {
            session.flash = Some(flash);
        }
    }

    /// The flash for `prefix`, removed: shown once.
    pub(crate) fn take_flash(&self, id: &[u8; 32], prefix: &str) -> Option<Flash> {
        let mut table = self.lock();
        let session = table.get_mut(id)?;
        if session.flash.as_ref().is_some_and(|f| f.prefix == prefix) {
            session.flash.take()
        } else {
            None
        }
    }
}

impl Current {
    /// Whether `token` is this session's CSRF token (compared in constant time).
    pub(crate) fn csrf_matches(&self, token: Option<&str>) -> bool {
        token.is_some_and(|t| bool::from(t.as_bytes().ct_eq(self.csrf.as_bytes())))
    }
}

/// Failed logins within a sliding window, for the whole admin.
pub(crate) struct LoginLimiter {
    failures: Mutex<VecDeque<Instant>>,
    max: u32,
    window: Duration,
}

impl LoginLimiter {
    pub(crate) fn new(max: u32, window: Duration) -> Self {
        Self {
            failures: Mutex::new(VecDeque::new()),
            max,
            window,
        }
    }

    /// `Err(retry_after)` while the limit is reached.
    pub(crate) fn check(&self) -> Result<(), Duration> {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        while failures
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            failures.pop_front();
        }
        if failures.len() >= self.max as usize {
            let oldest = failures.front().copied().unwrap_or(now);
            Err(self.window.saturating_sub(now.duration_since(oldest)))
        } else {
            Ok(())
        }
    }

    pub(crate) fn fail(&self) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        failures.push_back(Instant::now());
        while failures.len() > self.max as usize {
            failures.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_found_by_its_cookie_only() {
        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_secs(60), 10);
        let id = sessions.start(Zeroizing::new("key".into())).unwrap();
        assert!(sessions.current(&id).is_some());
        assert!(sessions.current("other").is_none());
        let current = sessions.current(&id).unwrap();
        assert!(current.csrf_matches(Some(&current.csrf.clone())));
        assert!(!current.csrf_matches(Some("nope")));
        assert!(!current.csrf_matches(None));
        sessions.end(&current.id);
        assert!(sessions.current(&id).is_none());
    }

    #[test]
    fn the_oldest_session_makes_room() {
        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_secs(60), 2);
        let first = sessions.start(Zeroizing::new("a".into())).unwrap();
        let second = sessions.start(Zeroizing::new("b".into())).unwrap();
        let third = sessions.start(Zeroizing::new("c".into())).unwrap();
        assert!(sessions.current(&first).is_none());
        assert!(sessions.current(&second).is_some());
        assert!(sessions.current(&third).is_some());
    }

    #[test]
    fn a_flash_is_taken_once_and_only_for_its_key() {
        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_secs(60), 2);
        let id = sessions.start(Zeroizing::new("a".into())).unwrap();
        let current = sessions.current(&id).unwrap();
        sessions.set_flash(
            &current.id,
            Flash {
                prefix: "P".into(),
                key: Zeroizing::new("P.secret".into()),
                rolled_from: None,
            },
        );
        assert!(sessions.take_flash(&current.id, "Q").is_none());
        assert!(sessions.take_flash(&current.id, "P").is_some());
        assert!(sessions.take_flash(&current.id, "P").is_none());
    }

    #[test]
    fn the_limiter_counts_failures_in_its_window() {
        let limiter = LoginLimiter::new(2, Duration::from_secs(60));
        assert!(limiter.check().is_ok());
        limiter.fail();
        assert!(limiter.check().is_ok());
        limiter.fail();
        let retry = limiter.check().unwrap_err();
        assert!(retry <= Duration::from_secs(60) && retry > Duration::from_secs(50));
    }
}
