//! A fast connect that survives loss: staggered parallel SYNs, the first to
//! complete wins (happy-eyeballs-like, RFC 8305 for one address).
//!
//! One connect waits for its SYN's answer; when the SYN or the SYN-ACK is
//! lost the kernel only retransmits after 1 s, then 3 s. Waiting for that is
//! what made a silently dropped port take a whole step (5 s) to call, and
//! calling it sooner on one SYN would turn every lost packet into a false
//! "blocked". So a race sends a fresh connection attempt every
//! [`RacePlan::stagger`] (each its own socket, so its own SYN) while none
//! has answered:
//!
//! * the first attempt to complete wins: the port is open, the others are
//!   dropped (their sockets closed; a late SYN-ACK meets an RST from the
//!   kernel, harmless);
//! * an answer that is not silence — a reset, an ICMP error, a local error —
//!   ends the race at once with that answer: loss never forges one;
//! * silence from every attempt until the budget is spent is `timeout`:
//!   the path drops the port.
//!
//! The budget is [`RacePlan::budget`] (1 s), stretched to
//! [`RacePlan::rtt_factor`] times the slowest connect that any other target
//! of the check has completed so far (a slow 4G link keeps its SYNs a fair
//! chance), and never beyond the step's `--timeout`. Until some target of
//! the check has connected, nothing is known of the path's round trip (a
//! GPRS or satellite link may take more than a second): the budget is then
//! the whole step. Every race re-reads it while it waits, so a dropped port
//! is still called a second after another target opened, and a check where
//! nothing opens at all waits the step, as a plain connect would.
//!
//! On a healthy path the first SYN is answered within one round trip, long
//! before the next is due: one SYN per attempt, as before. A path slower
//! than the stagger gets a second SYN before the first is answered; the
//! first still wins, and only SYNs sent before the winner's count as
//! unanswered ([`Won::overtaken`]). The connect
//! latency recorded is the winner's own SYN-to-established time, not the
//! time since the race began, so a connect figure still reads as a round
//! trip.
//!
//! The false-"blocked" bound (docs/faults.md): with a loss rate p in each
//! direction, one attempt fails when its SYN or its SYN-ACK is lost, with
//! probability q = 1 - (1 - p)^2. With n attempts sent early enough to be
//! answered within the budget (n = 20 with the defaults on a path whose
//! round trip is under 50 ms), an open port is called dropped with
//! probability q^n: 6.0e-21 at 5 % loss (q = 0.0975), 1.3e-9 at 20 % loss
//! (q = 0.36). With a 500 ms round trip only 10 attempts count: 7.8e-11
//! and 3.7e-5.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::tcp::{self, ConnectFailure, ConnectOptions, Tuning};
use stca2_report::TcpStatus;

/// The default budget before a silent port is called dropped.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(1);
/// The default pause between two SYNs of one race.
pub const DEFAULT_STAGGER: Duration = Duration::from_millis(50);
/// The default bound on the SYNs of one race.
pub const DEFAULT_MAX_SYNS: u32 = 20;

/// How a race is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RacePlan {
    /// Silence for this long (at least) is a drop.
    pub budget: Duration,
    /// A new attempt while none has answered, this often.
    pub stagger: Duration,
    /// At most this many attempts (SYNs) per race.
    pub max_syns: u32,
    /// The budget is at least this many times the slowest connect seen on
    /// another target of the same check.
    pub rtt_factor: u32,
}

impl Default for RacePlan {
    fn default() -> Self {
        RacePlan {
            budget: DEFAULT_BUDGET,
            stagger: DEFAULT_STAGGER,
            max_syns: DEFAULT_MAX_SYNS,
            rtt_factor: 4,
        }
    }
}

impl RacePlan {
    /// The budget given the slowest connect seen so far (zero: none yet,
    /// the whole step) and the step bound.
    pub fn budget_for(&self, slowest: Duration, step: Duration) -> Duration {
        if slowest.is_zero() {
            return step;
        }
        self.budget
            .max(slowest.saturating_mul(self.rtt_factor))
            .min(step)
    }

    /// The probability that an open port, behind a loss rate `p` in each
    /// direction, is called dropped: every one of `n` attempts lost its SYN
    /// or its SYN-ACK, `(1 - (1 - p)^2)^n`.
    pub fn false_drop_probability(p: f64, n: u32) -> f64 {
        let q = 1.0 - (1.0 - p).powi(2);
        q.powi(i32::try_from(n).unwrap_or(i32::MAX))
    }
}

/// The slowest connect completed in one check, shared by its targets.
#[derive(Debug, Default)]
pub struct SlowestConnect(AtomicU64);

impl SlowestConnect {
    /// Records a completed connect's duration.
    pub fn record(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.0.fetch_max(us, Ordering::Relaxed);
    }

    /// The slowest so far (zero before any).
    pub fn get(&self) -> Duration {
        Duration::from_micros(self.0.load(Ordering::Relaxed))
    }
}

/// A race that opened.
#[derive(Debug)]
pub struct Won {
    /// The winner's connection.
    pub stream: TcpStream,
    /// The winner's own SYN-to-established time.
    pub connect: Duration,
    /// SYNs sent in this race (the winner included).
    pub syns: u32,
    /// SYNs sent before the winner's that had not connected when it did:
    /// lost on the way, or on the way back (a slow path's second SYN,
    /// sent after the winner's, is not one).
    pub overtaken: u32,
}

/// A race that did not open.
#[derive(Debug)]
pub struct Lost {
    /// The answer (or the silence), classified.
    pub failure: ConnectFailure,
    /// SYNs sent in this race.
    pub syns: u32,
}

/// Runs one race to `addr` (already allowed) under `plan`; `step` bounds it
/// as `--timeout` bounds a connect, `slowest` stretches the budget.
pub async fn race(
    addr: SocketAddr,
    opts: &ConnectOptions,
    tuning: Tuning,
    plan: RacePlan,
    slowest: &SlowestConnect,
) -> Result<Won, Lost> {
    let start = Instant::now();
    let step = opts.timeout;
    let mut attempts = FuturesUnordered::new();
    let launch = |attempts: &mut FuturesUnordered<_>, n: u32| {
        attempts.push(async move {
            let t0 = Instant::now();
            let r = tcp::connect_tuned(addr, opts, tuning).await;
            (r, t0.elapsed(), n)
        });
    };
    launch(&mut attempts, 1);
    let mut syns = 1;
    let mut next_syn = start + plan.stagger;
    loop {
        let deadline = start + plan.budget_for(slowest.get(), step);
        // Wake for the next SYN, or (all sent) every stagger anyway: the
        // deadline shrinks when another target connects meanwhile.
        let wake = if syns < plan.max_syns {
            next_syn.min(deadline)
        } else {
            (Instant::now() + plan.stagger).min(deadline)
        };
        tokio::select! {
            // An answer that is there wins over a deadline due at the same
            // poll: a connect that completed is never thrown away.
            biased;
            done = attempts.next() => match done {
                Some((Ok(stream), took, n)) => {
                    slowest.record(took);
                    return Ok(Won { stream, connect: took, syns, overtaken: n - 1 });
                }
                // An attempt's own bound (the step) ran out: keep waiting
                // for the others until the race's deadline.
                Some((Err(f), _, _)) if f.status == TcpStatus::Timeout => {}
                Some((Err(failure), _, _)) => return Err(Lost { failure, syns }),
                None => {
                    // Every attempt ended in silence (only when the step is
                    // shorter than the stagger): the next one is due now.
                    if syns >= plan.max_syns || Instant::now() >= deadline {
                        return Err(silence(deadline - start, syns));
                    }
                    syns += 1;
                    launch(&mut attempts, syns);
                    next_syn = Instant::now() + plan.stagger;
                }
            },
            () = tokio::time::sleep_until(wake) => {
                if Instant::now() >= deadline {
                    return Err(silence(deadline - start, syns));
                }
                if syns < plan.max_syns {
                    syns += 1;
                    launch(&mut attempts, syns);
                    next_syn += plan.stagger;
                }
            }
        }
    }
}

/// The timeout failure of a race where nothing answered within `budget`
/// (the detail names the budget, not the wall-clock wait: a loaded machine
/// that wakes late does not change what the probe decided).
fn silence(budget: Duration, syns: u32) -> Lost {
    let attempts = if syns == 1 {
        "the TCP connection".to_string()
    } else {
        format!("{syns} TCP connection attempts")
    };
    Lost {
        failure: ConnectFailure {
            status: TcpStatus::Timeout,
            detail: format!(
                "no answer to {attempts} within {} (SYN unanswered): a router or firewall on the path silently drops it, or the host is down",
                super::fmt_duration(round_ms(budget))
            ),
            errno: None,
            icmp: None,
        },
        syns,
    }
}

/// A wait rounded to the nearest 10 ms, so that details read `1 s`, `1010 ms`.
fn round_ms(d: Duration) -> Duration {
    let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(ms.saturating_add(5) / 10 * 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_false_drop_bound() {
        // docs/faults.md quotes these figures.
        let p5 = RacePlan::false_drop_probability(0.05, 20);
        let p20 = RacePlan::false_drop_probability(0.20, 20);
        assert!((p5 - 6.03e-21).abs() < 0.01e-21, "{p5:e}");
        assert!((p20 - 1.34e-9).abs() < 0.01e-9, "{p20:e}");
        let p5 = RacePlan::false_drop_probability(0.05, 10);
        let p20 = RacePlan::false_drop_probability(0.20, 10);
        assert!((p5 - 7.76e-11).abs() < 0.01e-11, "{p5:e}");
        assert!((p20 - 3.66e-5).abs() < 0.01e-5, "{p20:e}");
        // One SYN alone, as a plain connect with a 1 s bound would be.
        let one = RacePlan::false_drop_probability(0.20, 1);
        assert!((one - 0.36).abs() < 1e-9);
    }

    #[test]
    fn the_budget_stretches_with_slow_links_within_the_step() {
        let plan = RacePlan::default();
        let step = Duration::from_secs(5);
        // Nothing connected yet: the round trip is unknown (GPRS, a
        // satellite link), so a silent port gets the whole step.
        assert_eq!(plan.budget_for(Duration::ZERO, step), step);
        assert_eq!(
            plan.budget_for(Duration::from_millis(20), step),
            Duration::from_secs(1)
        );
        assert_eq!(
            plan.budget_for(Duration::from_millis(400), step),
            Duration::from_millis(1600)
        );
        assert_eq!(plan.budget_for(Duration::from_secs(3), step), step);
        assert_eq!(
            plan.budget_for(Duration::ZERO, Duration::from_millis(300)),
            Duration::from_millis(300)
        );
    }

    fn opts(timeout: Duration) -> ConnectOptions {
        ConnectOptions {
            source: None,
            interface: None,
            timeout,
        }
    }

    #[tokio::test]
    async fn an_open_port_wins_with_one_syn() {
        let listener = std::net::TcpListener::bind("127.39.202.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let slowest = SlowestConnect::default();
        let won = race(
            addr,
            &opts(Duration::from_secs(5)),
            Tuning::default(),
            RacePlan::default(),
            &slowest,
        )
        .await
        .unwrap();
        // The first SYN won (a loaded machine may have sent a second one
        // before it saw the answer: that one was not overtaken).
        assert_eq!(won.overtaken, 0);
        assert!(won.syns >= 1);
        assert!(slowest.get() > Duration::ZERO);
        assert!(listener.accept().is_ok());
    }

    #[tokio::test]
    async fn a_refusal_ends_the_race_at_once() {
        let addr: SocketAddr = "127.39.202.2:9".parse().unwrap();
        let lost = race(
            addr,
            &opts(Duration::from_secs(5)),
            Tuning::default(),
            RacePlan::default(),
            &SlowestConnect::default(),
        )
        .await
        .unwrap_err();
        assert_eq!(lost.failure.status, TcpStatus::Refused);
        assert_eq!(lost.syns, 1);
    }
}
