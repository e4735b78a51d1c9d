//! When cycles run: one per slot, at a random offset inside it.
//!
//! Time is cut into slots of `interval` from the daemon's start. Each slot
//! gets one cycle, at a random offset in `[0, jitter)` from the slot's
//! start, so that a fleet of probes started together (a power cut in a
//! town, a mass upgrade) does not hit the gateway and the back office in
//! step.
//!
//! Cycles never overlap: the scheduler runs one, then asks for the next
//! start time. A cycle that overran into later slots makes those slots
//! *skipped*, not queued: they are counted (`stca2_probe_cycles_skipped_total`)
//! and the next cycle runs in the slot the clock is in, or right away when
//! its planned offset already passed.

use std::time::Duration;
use tokio::time::Instant;

/// Slots and their random offsets.
#[derive(Debug, Clone)]
pub struct Schedule {
    origin: Instant,
    interval: Duration,
    jitter: Duration,
    next_slot: u64,
}

/// The next cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Next {
    /// When it starts.
    pub at: Instant,
    /// Slots skipped before it (a previous cycle ran late).
    pub skipped: u64,
}

impl Schedule {
    /// Slots of `interval` from `origin`; `jitter` must be shorter than `interval`.
    pub fn new(origin: Instant, interval: Duration, jitter: Duration) -> Schedule {
        let interval = interval.max(Duration::from_millis(1));
        Schedule {
            origin,
            interval,
            jitter: jitter.min(interval),
            next_slot: 0,
        }
    }

    /// Whether this schedule has these settings (a reload may change them).
    pub fn has(&self, interval: Duration, jitter: Duration) -> bool {
        self.interval == interval && self.jitter == jitter.min(interval)
    }

    fn slot_start(&self, slot: u64) -> Instant {
        let nanos = self.interval.as_nanos().saturating_mul(u128::from(slot));
        self.origin + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// The next cycle after `now`, its offset drawn from `random`; the slot
    /// is then taken.
    pub fn next(&mut self, now: Instant, random: u64) -> Next {
        let elapsed = now.saturating_duration_since(self.origin).as_nanos();
        let current = u64::try_from(elapsed / self.interval.as_nanos()).unwrap_or(u64::MAX);
        let skipped = current.saturating_sub(self.next_slot);
        let slot = self.next_slot.max(current);
        self.next_slot = slot + 1;
        let jitter = self.jitter.as_nanos() as u64;
        let offset = if jitter == 0 { 0 } else { random % jitter };
        let at = (self.slot_start(slot) + Duration::from_nanos(offset)).max(now);
        Next { at, skipped }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn one_cycle_per_slot_at_its_offset() {
        let t0 = Instant::now();
        let mut s = Schedule::new(t0, 10 * S, 3 * S);
        let offset = 2_000_000_000; // 2 s in nanoseconds
        assert_eq!(
            s.next(t0, offset),
            Next {
                at: t0 + 2 * S,
                skipped: 0
            }
        );
        // The cycle took 1 s: the next is in slot 1, at its own offset.
        assert_eq!(
            s.next(t0 + 3 * S, 0),
            Next {
                at: t0 + 10 * S,
                skipped: 0
            }
        );
        assert_eq!(
            s.next(t0 + 11 * S, offset),
            Next {
                at: t0 + 22 * S,
                skipped: 0
            }
        );
        // Offsets stay below the jitter.
        for r in [0, 1, 2_999_999_999, u64::MAX] {
            let mut s = Schedule::new(t0, 10 * S, 3 * S);
            let at = s.next(t0, r).at;
            assert!(at < t0 + 3 * S, "{r}");
        }
    }

    #[test]
    fn an_overrun_skips_and_counts_slots_and_runs_at_once_when_late() {
        let t0 = Instant::now();
        let mut s = Schedule::new(t0, 10 * S, 5 * S);
        s.next(t0, 0); // slot 0
        // Slot 0's cycle ran until t=34 s: slots 1 and 2 are missed; slot 3
        // (30..40 s) runs at its offset, or right away when it passed.
        assert_eq!(
            s.next(t0 + 34 * S, 1_000_000_000),
            Next {
                at: t0 + 34 * S,
                skipped: 2
            }
        );
        assert_eq!(
            s.next(t0 + 36 * S, 4_000_000_000),
            Next {
                at: t0 + 44 * S,
                skipped: 0
            }
        );
    }
}
