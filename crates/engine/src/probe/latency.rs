//! Latency summaries: min, p50, p90, p99 and max over a handful of attempts.
//!
//! Each target is tried a few times; the report keeps a five-number summary
//! of the successful attempts instead of every sample. Samples go into an
//! [`hdrhistogram`] at microsecond resolution (3 significant digits, up to an
//! hour), and the summary is read back in milliseconds. The exact minimum and
//! maximum are tracked on the side so that `min` and `max` are the real
//! extremes and the percentiles always sit between them.

use std::time::Duration;

use hdrhistogram::Histogram;

use stca2_report::LatencyStats;

/// The longest latency recorded, in microseconds (one hour); longer samples saturate.
const HIGHEST_US: u64 = 3_600_000_000;

/// Collects the durations of successful attempts and summarises them.
#[derive(Debug, Clone)]
pub struct Recorder {
    hist: Option<Histogram<u64>>,
    min_us: u64,
    max_us: u64,
    count: u64,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Recorder {
            // The bounds are constants that hdrhistogram accepts; `ok()` keeps
            // this infallible without an unwrap.
            hist: Histogram::new_with_bounds(1, HIGHEST_US, 3).ok(),
            min_us: u64::MAX,
            max_us: 0,
            count: 0,
        }
    }

    /// Records one sample.
    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros())
            .unwrap_or(HIGHEST_US)
            .clamp(1, HIGHEST_US);
        if let Some(h) = self.hist.as_mut() {
            h.saturating_record(us);
        }
        self.min_us = self.min_us.min(us);
        self.max_us = self.max_us.max(us);
        self.count += 1;
    }

    /// How many samples were recorded.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The summary in milliseconds, `None` when nothing was recorded.
    pub fn summary(&self) -> Option<LatencyStats> {
        if self.count == 0 {
            return None;
        }
        let (min, max) = (self.min_us, self.max_us);
        let q = |quantile: f64| -> f64 {
            let v = self
                .hist
                .as_ref()
                .map_or(max, |h| h.value_at_quantile(quantile))
                .clamp(min, max);
            to_ms(v)
        };
        Some(LatencyStats {
            min: to_ms(min),
            p50: q(0.50),
            p90: q(0.90),
            p99: q(0.99),
            max: to_ms(max),
        })
    }
}

fn to_ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_has_no_summary() {
        assert!(Recorder::new().summary().is_none());
    }

    #[test]
    fn ordered_and_in_milliseconds() {
        let mut r = Recorder::new();
        for ms in [5u64, 1, 3, 2, 4, 100] {
            r.record(Duration::from_millis(ms));
        }
        let s = r.summary().unwrap();
        assert_eq!(s.min, 1.0);
        assert_eq!(s.max, 100.0);
        assert!(s.min <= s.p50 && s.p50 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.max);
        assert!((2.9..=3.1).contains(&s.p50), "{s:?}");
        assert_eq!(r.len(), 6);
    }

    #[test]
    fn one_sample_is_every_statistic() {
        let mut r = Recorder::new();
        r.record(Duration::from_micros(1234));
        let s = r.summary().unwrap();
        for v in [s.min, s.p50, s.p90, s.p99, s.max] {
            assert_eq!(v, 1.234);
        }
    }

    #[test]
    fn huge_and_zero_samples_saturate() {
        let mut r = Recorder::new();
        r.record(Duration::ZERO);
        r.record(Duration::from_secs(100_000));
        let s = r.summary().unwrap();
        assert_eq!(s.min, 0.001);
        assert_eq!(s.max, 3_600_000.0);
    }
}
