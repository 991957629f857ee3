//! The retransmission timer's value: RFC 6298 (Computing TCP's Retransmission Timer).
//!
//! [`RttEstimator`] keeps SRTT and RTTVAR from round-trip samples (§2), turns them into an RTO
//! clamped to `[min_rto, max_rto]` (§2.4, §2.5), doubles it on each retransmission timeout
//! (§5.5) and restores the computed value on the next sample.
//!
//! Sampling policy is the caller's (§3, Karn's algorithm): without timestamps it never samples
//! a retransmitted segment; with timestamps (RFC 7323 §4) it samples every ACK that advances
//! `snd_una` using TSecr, retransmitted data included. [`RttEstimator::sample`] is a handful of
//! integer operations, cheap enough to call on every ACK.
//!
//! All arithmetic is in whole microseconds (the unit of [`Duration`]) and saturates.

use crate::time::Duration;

/// The clock granularity G of RFC 6298 §2.
///
/// Our clock counts microseconds, but the runtime's timers fire with millisecond resolution
/// (tokio's timer wheel), so 1 ms is the granularity the retransmission timer really has. It
/// only matters when RTTVAR is below G/4: it keeps RTO strictly above SRTT.
pub const CLOCK_GRANULARITY: Duration = Duration::from_millis(1);

/// The RTO used after a lost SYN when no RTT sample exists (RFC 6298 §5.7).
pub const SYN_LOST_RTO: Duration = Duration::from_secs(3);

/// Limits of the retransmission timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RttConfig {
    /// Lower bound of the RTO. RFC 6298 §2.4 says 1 s; like Linux we default to 200 ms, which
    /// the RFC allows ("a lower value MAY be used").
    pub min_rto: Duration,
    /// The RTO before the first sample: 1 s (RFC 6298 §2.1).
    pub initial_rto: Duration,
    /// Upper bound of the RTO, backoff included: 60 s (RFC 6298 §2.5, "at least 60 seconds").
    pub max_rto: Duration,
}

impl Default for RttConfig {
    fn default() -> Self {
        Self {
            min_rto: Duration::from_millis(200),
            initial_rto: Duration::from_secs(1),
            max_rto: Duration::from_secs(60),
        }
    }
}

/// Smoothed round-trip time and retransmission timeout of one connection (RFC 6298).
///
/// ```
/// use proto_core::tcp::rtt::{RttConfig, RttEstimator};
/// use proto_core::time::Duration;
///
/// let mut rtt = RttEstimator::new(RttConfig::default());
/// assert_eq!(rtt.rto(), Duration::from_secs(1)); // §2.1, before any sample
/// rtt.sample(Duration::from_millis(100));
/// // §2.2: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 * RTTVAR = 300 ms.
/// assert_eq!(rtt.rto(), Duration::from_millis(300));
/// rtt.backoff(); // §5.5, on a retransmission timeout
/// assert_eq!(rtt.rto(), Duration::from_millis(600));
/// ```
#[derive(Debug, Clone)]
pub struct RttEstimator {
    /// `min_rto` and `max_rto` in µs, saturated to `u32` (71 minutes): compact, as every
    /// connection holds an estimator.
    min_rto_us: u32,
    max_rto_us: u32,
    /// SRTT in µs; `NO_SAMPLE` until the first sample.
    srtt: u64,
    /// RTTVAR in µs.
    rttvar: u64,
    /// The lowest sample seen, µs (`u64::MAX` when none).
    min_rtt: u64,
    /// The RTO computed from SRTT and RTTVAR, clamped, before backoff.
    rto: Duration,
    /// Consecutive doublings since the last sample (§5.5).
    backoffs: u32,
}

impl RttEstimator {
    /// An estimator with no sample yet: RTO = `cfg.initial_rto` (RFC 6298 §2.1), clamped to
    /// `[min_rto, max_rto]`.
    pub fn new(cfg: RttConfig) -> Self {
        let us = |d: Duration| u32::try_from(d.micros()).unwrap_or(u32::MAX);
        let mut est = Self {
            min_rto_us: us(cfg.min_rto),
            max_rto_us: us(cfg.max_rto),
            srtt: NO_SAMPLE,
            rttvar: 0,
            min_rtt: u64::MAX,
            rto: Duration::ZERO,
            backoffs: 0,
        };
        est.rto = est.clamp(cfg.initial_rto);
        est
    }

    /// §2.4 (lower bound) then §2.5 (upper bound); `max_rto` wins if the bounds cross.
    #[inline]
    fn clamp(&self, rto: Duration) -> Duration {
        rto.max(self.min_rto()).min(self.max_rto())
    }

    /// The lower bound of the RTO (RFC 6298 §2.4).
    #[inline]
    pub fn min_rto(&self) -> Duration {
        Duration::from_micros(u64::from(self.min_rto_us))
    }

    /// The upper bound of the RTO (RFC 6298 §2.5).
    #[inline]
    pub fn max_rto(&self) -> Duration {
        Duration::from_micros(u64::from(self.max_rto_us))
    }

    /// The current retransmission timeout, backoff included, at most `max_rto`.
    #[inline]
    pub fn rto(&self) -> Duration {
        if self.backoffs == 0 {
            return self.rto;
        }
        // §5.5: each backoff doubles the timer; §2.5: a maximum value may be placed on it.
        let factor = 1u64.checked_shl(self.backoffs).unwrap_or(u64::MAX);
        self.rto.saturating_mul(factor).min(self.max_rto())
    }

    /// The smoothed round-trip time, `None` before the first sample.
    #[inline]
    pub fn srtt(&self) -> Option<Duration> {
        (self.srtt != NO_SAMPLE).then_some(Duration::from_micros(self.srtt))
    }

    /// The round-trip time variation (zero before the first sample).
    #[inline]
    pub fn rttvar(&self) -> Duration {
        Duration::from_micros(self.rttvar)
    }

    /// The lowest sample seen, `None` before the first one.
    #[inline]
    pub fn min_rtt(&self) -> Option<Duration> {
        (self.min_rtt != u64::MAX).then_some(Duration::from_micros(self.min_rtt))
    }

    /// How many times the RTO has been doubled since the last sample (or the last
    /// [`reset_backoff`](Self::reset_backoff)).
    #[inline]
    pub fn backoffs(&self) -> u32 {
        self.backoffs
    }

    /// Takes one round-trip measurement `rtt` (RFC 6298 §2.2, §2.3) and clears the backoff.
    ///
    /// The caller applies Karn's rule (§3): no samples from retransmitted segments unless the
    /// sample comes from a timestamp echo (RFC 7323 §4).
    #[inline]
    pub fn sample(&mut self, rtt: Duration) {
        let r = rtt.micros();
        if r < self.min_rtt {
            self.min_rtt = r;
        }
        let (srtt, rttvar) = match (self.srtt != NO_SAMPLE).then_some(self.srtt) {
            // §2.2: SRTT <- R, RTTVAR <- R/2.
            None => (r, r / 2),
            // §2.3, alpha = 1/8, beta = 1/4; RTTVAR is updated with the old SRTT:
            //   RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|
            //   SRTT   <- (1 - alpha) * SRTT + alpha * R'
            // Computed as (3*RTTVAR + d) / 4 and (7*SRTT + R) / 8 in u128 (the divisions are
            // shifts; the results, weighted means, fit in u64); truncation is below 1 µs.
            Some(srtt) => {
                let err = srtt.abs_diff(r);
                let rttvar = (u128::from(self.rttvar) * 3 + u128::from(err)) >> 2;
                let srtt = (u128::from(srtt) * 7 + u128::from(r)) >> 3;
                let (srtt, rttvar) = (srtt as u64, rttvar as u64);
                (srtt, rttvar)
            }
        };
        // A sample of 584,000 years would read as none; keep it a sample.
        self.srtt = srtt.min(NO_SAMPLE - 1);
        self.rttvar = rttvar;
        // §2.2/§2.3: RTO <- SRTT + max(G, K*RTTVAR), K = 4.
        let var_term = rttvar.saturating_mul(4).max(CLOCK_GRANULARITY.micros());
        self.rto = self.clamp(Duration::from_micros(srtt.saturating_add(var_term)));
        // §5.7 note and Karn's algorithm: a new sample restores the computed RTO.
        self.backoffs = 0;
    }

    /// A retransmission timeout fired: doubles the RTO, at most `max_rto` (RFC 6298 §5.5).
    #[inline]
    pub fn backoff(&mut self) {
        // Past 64 doublings the value is pinned at max_rto anyway; saturating keeps the count.
        self.backoffs = self.backoffs.saturating_add(1);
    }

    /// Forgets the backoff without a new sample, restoring the computed RTO.
    ///
    /// RFC 6298 §5 keeps the backed-off value until a sample arrives; some stacks (Linux)
    /// also restore it when an ACK acknowledges new data without giving a sample (Karn's
    /// rule under retransmission). This is the caller's choice.
    #[inline]
    pub fn reset_backoff(&mut self) {
        self.backoffs = 0;
    }

    /// The SYN (or SYN-ACK) was retransmitted: RFC 6298 §5.7.
    ///
    /// Call it when the handshake completes after a SYN timeout. If there is still no RTT
    /// sample, the RTO for data becomes `max(3 s, initial RTO)` (at most `max_rto`) and the
    /// backoff is cleared ("the RTO MUST be re-initialized to 3 seconds when data transmission
    /// begins"). With a sample (e.g. from a timestamp echo), the computed RTO stands and only
    /// the backoff is kept, as for any other timeout.
    pub fn syn_lost(&mut self) {
        if self.srtt == NO_SAMPLE {
            self.rto = self.clamp(self.rto.max(SYN_LOST_RTO));
            self.backoffs = 0;
        }
    }
}

/// `RttEstimator::srtt` before the first sample.
const NO_SAMPLE: u64 = u64::MAX;

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use proptest::prelude::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn est() -> RttEstimator {
        RttEstimator::new(RttConfig::default())
    }

    // RFC 6298 §2.1: before any measurement, RTO = 1 s.
    #[test]
    fn initial_rto_before_any_sample() {
        let r = est();
        assert_eq!(r.rto(), Duration::from_secs(1));
        assert_eq!(r.srtt(), None);
        assert_eq!(r.rttvar(), Duration::ZERO);
        assert_eq!(r.min_rtt(), None);
    }

    // RFC 6298 §2.2: SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4*RTTVAR).
    #[test]
    fn first_sample_sets_srtt_and_half_rttvar() {
        let mut r = est();
        r.sample(ms(100));
        assert_eq!(r.srtt(), Some(ms(100)));
        assert_eq!(r.rttvar(), ms(50));
        assert_eq!(r.rto(), ms(300));
        assert_eq!(r.min_rtt(), Some(ms(100)));
    }

    // RFC 6298 §2.3: RTTVAR uses the old SRTT; alpha = 1/8, beta = 1/4.
    #[test]
    fn subsequent_samples_smooth_with_alpha_and_beta() {
        let mut r = est();
        r.sample(ms(100));
        r.sample(ms(200));
        // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5 ms; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5.
        assert_eq!(r.rttvar(), Duration::from_micros(62_500));
        assert_eq!(r.srtt(), Some(Duration::from_micros(112_500)));
        assert_eq!(r.rto(), Duration::from_micros(112_500 + 4 * 62_500));
        r.sample(ms(50));
        assert_eq!(r.min_rtt(), Some(ms(50)));
        // RTTVAR = 3/4 * 62.5 + 1/4 * 62.5 = 62.5; SRTT = 7/8 * 112.5 + 1/8 * 50 = 104.6875.
        assert_eq!(r.rttvar(), Duration::from_micros(62_500));
        assert_eq!(r.srtt(), Some(Duration::from_micros(104_687)));
    }

    // RFC 6298 §2.4: RTO is rounded up to the minimum.
    #[test]
    fn rto_clamped_to_min_rto() {
        let mut r = est();
        r.sample(ms(10));
        assert_eq!(r.rto(), ms(200));
    }

    // RFC 6298 §2.5: a maximum value may be placed on RTO.
    #[test]
    fn rto_clamped_to_max_rto() {
        let mut r = est();
        r.sample(Duration::from_secs(30));
        assert_eq!(r.rto(), Duration::from_secs(60));
        r.sample(Duration::MAX);
        assert_eq!(r.rto(), Duration::from_secs(60));
    }

    // RFC 6298 §5.5: each timeout doubles RTO; §2.5: capped at max_rto.
    #[test]
    fn backoff_doubles_and_caps_at_max_rto() {
        let mut r = est();
        r.sample(ms(100));
        for (n, want) in [600, 1200, 2400, 4800, 9600, 19_200, 38_400, 60_000, 60_000]
            .into_iter()
            .enumerate()
        {
            r.backoff();
            assert_eq!(r.backoffs(), n as u32 + 1);
            assert_eq!(r.rto(), ms(want));
        }
        for _ in 0..100 {
            r.backoff();
        }
        assert_eq!(r.rto(), Duration::from_secs(60));
    }

    // RFC 6298 §5.7 note / §5: a new sample after backing off restores the computed RTO.
    #[test]
    fn sample_after_backoff_restores_computed_rto() {
        let mut r = est();
        r.sample(ms(100));
        r.backoff();
        r.backoff();
        assert_eq!(r.rto(), ms(1200));
        r.sample(ms(100));
        assert_eq!(r.backoffs(), 0);
        // RTTVAR = 3/4 * 50 = 37.5 ms, SRTT = 100 ms.
        assert_eq!(r.rto(), ms(250));
    }

    // RFC 6298 §2.2/§2.3: the G term keeps RTO above SRTT when RTTVAR is tiny.
    #[test]
    fn granularity_bounds_variance_term() {
        let cfg = RttConfig {
            min_rto: Duration::ZERO,
            ..RttConfig::default()
        };
        let mut r = RttEstimator::new(cfg);
        r.sample(Duration::from_micros(100));
        // RTTVAR = 50 µs, 4*RTTVAR = 200 µs < G = 1 ms.
        assert_eq!(r.rto(), Duration::from_micros(1_100));
        for _ in 0..100 {
            r.sample(Duration::from_micros(100));
        }
        assert_eq!(r.rttvar(), Duration::ZERO);
        assert_eq!(r.rto(), Duration::from_micros(100) + CLOCK_GRANULARITY);
    }

    // RFC 6298 §5.7: after a lost SYN with no sample, RTO for data is 3 s, not backed off.
    #[test]
    fn syn_lost_without_sample_sets_three_seconds() {
        let mut r = est();
        r.backoff();
        assert_eq!(r.rto(), Duration::from_secs(2));
        r.syn_lost();
        assert_eq!(r.rto(), Duration::from_secs(3));
        assert_eq!(r.backoffs(), 0);
    }

    // RFC 6298 §5.7 applies only "if the TCP implementation is using an RTO less than 3 s" and
    // has no sample; a timestamp sample taken during the handshake stands.
    #[test]
    fn syn_lost_with_sample_keeps_computed_rto() {
        let mut r = est();
        r.sample(ms(100));
        r.syn_lost();
        assert_eq!(r.rto(), ms(300));
    }

    // RFC 6298 §2.1: the configured initial RTO is honoured (and clamped).
    #[test]
    fn custom_initial_rto_is_clamped() {
        let cfg = RttConfig {
            initial_rto: Duration::from_secs(100),
            ..RttConfig::default()
        };
        assert_eq!(RttEstimator::new(cfg).rto(), Duration::from_secs(60));
    }

    proptest! {
        // RFC 6298 §2.4/§2.5: whatever the samples and backoffs, RTO stays in bounds and
        // nothing overflows; SRTT stays within the range of the samples.
        #[test]
        fn rto_always_within_bounds(
            samples in proptest::collection::vec(0u64..u64::MAX, 1..50),
            backoffs in 0u32..80,
        ) {
            let cfg = RttConfig::default();
            let mut r = RttEstimator::new(cfg);
            for &s in &samples {
                r.sample(Duration::from_micros(s));
                prop_assert!(r.rto() >= cfg.min_rto && r.rto() <= cfg.max_rto);
            }
            let lo = *samples.iter().min().unwrap();
            let hi = *samples.iter().max().unwrap();
            let srtt = r.srtt().unwrap().micros();
            prop_assert!(srtt >= lo.saturating_sub(2 * samples.len() as u64));
            prop_assert!(srtt <= hi.saturating_add(samples.len() as u64));
            prop_assert_eq!(r.min_rtt(), Some(Duration::from_micros(lo)));
            let before = r.rto();
            for _ in 0..backoffs {
                r.backoff();
                prop_assert!(r.rto() >= before && r.rto() <= cfg.max_rto);
            }
        }
    }
}
