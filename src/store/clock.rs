//! Redis's clock, as the store last saw it: what `TIME` would answer now, without asking.
//!
//! ## Why
//! A session's `created_at` is Redis's time, never ours: the renewal caps a session's life by
//! `created_at` plus the absolute lifetime, measured against Redis's clock (`PEXPIRETIME`), so a
//! server whose clock is wrong by hours must still give every session its eight hours.
//!
//! Reading `TIME` for it costs either a round trip before the write, or a script around the
//! write (`TIME` inside it; Lua costs Redis about 6 µs a call on 7.0, more than the write). The
//! login does not need either: its index step, in the same round trip, answers Redis's time
//! anyway, and so did the previous login's. [`RedisClock`] keeps the difference between that
//! answer and this process's monotonic clock, and adds the time elapsed since.
//!
//! ## How close
//! Redis read its clock somewhere between the request's send and its answer's arrival, and the
//! offset is taken at the arrival (the elapsed time rounded up, the estimate rounded down): the
//! estimate is *behind* Redis's clock by at most a round trip's time (well under a millisecond
//! here), never ahead, as long as both clocks run on. `created_at` is in whole seconds, so it
//! is the same second as `TIME` would give, or the one before.
//!
//! The monotonic clock does not jump when this machine's wall clock is set (by hand or by NTP).
//! Two things can still make the estimate wrong: this machine sleeping (the monotonic clock
//! stops while suspended), and Redis's own clock being set, or a failover to a server whose
//! clock differs. So the login checks the estimate against its own index step's answer, which
//! comes back in the same round trip and was read before the session was written, and corrects
//! `created_at` when the two disagree by more than a second (see `LoginSteps` in `mod.rs`).

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

/// Redis's clock, as learned from its answers (see the module's docs).
#[derive(Debug)]
pub(crate) struct RedisClock {
    /// The monotonic instant the offset counts from.
    origin: Instant,
    /// Redis's unix time in milliseconds minus the milliseconds since `origin`, at the last
    /// answer that carried Redis's time.
    offset_ms: AtomicI64,
}

impl RedisClock {
    /// A clock that has seen Redis answer `redis_ms` (unix milliseconds) just now.
    pub(crate) fn new(redis_ms: u64) -> RedisClock {
        let clock = RedisClock { origin: Instant::now(), offset_ms: AtomicI64::new(0) };
        clock.observe(redis_ms);
        clock
    }

    /// An answer just arrived saying Redis's clock read `redis_ms` (unix milliseconds).
    pub(crate) fn observe(&self, redis_ms: u64) {
        let redis_ms = i64::try_from(redis_ms).unwrap_or(i64::MAX);
        // Rounded up here and down in `now_ms`, so the estimate never runs ahead.
        let elapsed = i64::try_from(self.origin.elapsed().as_micros().div_ceil(1000)).unwrap_or(i64::MAX);
        self.offset_ms.store(redis_ms.saturating_sub(elapsed), Ordering::Relaxed);
    }

    /// Moves the estimate by `ms` (a test's way to play a machine that slept, or a Redis whose
    /// clock was set, without waiting for either).
    #[cfg(feature = "test-util")]
    pub(crate) fn shift(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// Redis's clock now, in unix milliseconds: behind it by at most a round trip's time.
    pub(crate) fn now_ms(&self) -> u64 {
        let now = self.elapsed_ms().saturating_add(self.offset_ms.load(Ordering::Relaxed));
        u64::try_from(now).unwrap_or(0)
    }

    /// Redis's clock now, in whole unix seconds (a session's `created_at`).
    pub(crate) fn now_secs(&self) -> u64 {
        self.now_ms() / 1000
    }

    fn elapsed_ms(&self) -> i64 {
        i64::try_from(self.origin.elapsed().as_millis()).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn it_counts_on_from_what_redis_said_whatever_this_machine_s_wall_clock_reads() {
        // Nine hours ahead of this machine, as a server with a wrong clock would see Redis.
        let redis_ms = crate::store::unix_now() * 1000 + 9 * 3600 * 1000;
        let before = Instant::now();
        let clock = RedisClock::new(redis_ms);
        std::thread::sleep(Duration::from_millis(120));
        let later = clock.now_ms();
        // The clock counts what passed since it saw `redis_ms`: at least the sleep (less the
        // millisecond rounded away), at most what this test waited in all.
        let waited = u64::try_from(before.elapsed().as_millis()).expect("ms");
        assert!((redis_ms + 119..=redis_ms + waited).contains(&later), "{later}: {redis_ms} + {waited} ms");
        let (ms, secs, ms_after) = (clock.now_ms(), clock.now_secs(), clock.now_ms());
        assert!((ms / 1000..=ms_after / 1000).contains(&secs));
    }

    #[test]
    fn a_new_answer_replaces_the_old_offset_in_either_direction() {
        let clock = RedisClock::new(1_000_000_000_000);
        for said in [2_000_000_000_000, 1_500_000_000_000] {
            let before = Instant::now();
            clock.observe(said);
            let now = clock.now_ms();
            let waited = u64::try_from(before.elapsed().as_millis()).expect("ms");
            assert!((said - 1..=said + waited).contains(&now), "{now} after Redis said {said}");
        }
    }
}
