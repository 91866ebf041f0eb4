//! Retrying transient failures (object store, SMTP, webhook) with exponential backoff.
//!
//! Waiting goes through `tokio::time`, so tests run with a paused clock and check the
//! backoff without waiting for it.

use std::future::Future;
use std::time::Duration;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Further attempts after the first one.
    pub retries: u32,
    /// Wait before the first retry; doubled for each further one.
    pub backoff: Duration,
    /// Longest single wait.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { retries: 3, backoff: Duration::from_secs(30), max_backoff: Duration::from_secs(15 * 60) }
    }
}

impl RetryPolicy {
    /// No retries: one attempt.
    pub const ONCE: RetryPolicy =
        RetryPolicy { retries: 0, backoff: Duration::from_secs(0), max_backoff: Duration::from_secs(0) };

    /// The wait before retry number `n` (1 for the first retry).
    pub fn delay(&self, n: u32) -> Duration {
        let factor = 2u32.saturating_pow(n.saturating_sub(1));
        self.backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// Runs `op` (given the attempt number, from 1) until it succeeds, fails with an error that
/// `transient` says is permanent, or the retries are spent. Returns the last result and the
/// number of attempts made.
pub async fn retry<T, E, F, Fut>(
    policy: RetryPolicy,
    mut op: F,
    transient: impl Fn(&E) -> bool,
    on_retry: impl Fn(u32, &E, Duration),
) -> (Result<T, E>, u32)
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = 1;
    loop {
        match op(attempt).await {
            Ok(v) => return (Ok(v), attempt),
            Err(e) if attempt <= policy.retries && transient(&e) => {
                let wait = policy.delay(attempt);
                on_retry(attempt, &e, wait);
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(e) => return (Err(e), attempt),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn backs_off_exponentially_then_gives_up() {
        let policy = RetryPolicy { retries: 3, backoff: Duration::from_secs(10), max_backoff: Duration::from_secs(25) };
        let started = tokio::time::Instant::now();
        let calls = AtomicU32::new(0);
        let (result, attempts) = retry(
            policy,
            |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err::<(), _>("connection refused") }
            },
            |_| true,
            |_, _, _| {},
        )
        .await;
        assert_eq!((result, attempts, calls.load(Ordering::SeqCst)), (Err("connection refused"), 4, 4));
        // 10 s, 20 s, then 40 s capped at 25 s: 55 s of (virtual) waiting.
        assert_eq!(started.elapsed().as_secs(), 55);
    }

    #[tokio::test(start_paused = true)]
    async fn succeeds_after_transient_failures_and_stops_on_permanent_ones() {
        let policy = RetryPolicy { retries: 5, backoff: Duration::from_secs(1), max_backoff: Duration::from_secs(60) };
        let (result, attempts) =
            retry(policy, |n| async move { if n < 3 { Err("busy") } else { Ok(n) } }, |_| true, |_, _, _| {}).await;
        assert_eq!((result, attempts), (Ok(3), 3));
        let started = tokio::time::Instant::now();
        let (result, attempts) =
            retry(policy, |_| async { Err::<(), _>("bad address") }, |e| *e != "bad address", |_, _, _| {}).await;
        assert_eq!((result, attempts), (Err("bad address"), 1));
        assert_eq!(started.elapsed(), Duration::ZERO);
    }
}
