//! CUBIC window growth (RFC 9438) in integer arithmetic.
//!
//! Units and precision:
//! - windows are in bytes (`u64` inside, so that sums and products of `u32` windows cannot
//!   overflow; results are clamped to `u32::MAX`);
//! - `K` is in microseconds, from an exact integer cube root (floor) of a `u128`;
//! - `|t - K|` is rounded to whole milliseconds before cubing, so `W_cubic(t)` is exact for
//!   that millisecond: the error is below `3 * C * (t - K)^2 * 1 ms` segments (0.12 segment
//!   at 10 s from `K`), plus under one byte of truncation;
//! - per-ACK increments (`(target - cwnd) / cwnd` of §4.4/§4.5 and `alpha_cubic / cwnd` of
//!   §4.3) keep their remainders in accumulators, so no fraction of a byte is lost over an RTT.
//!
//! Constants: `C = 0.4 = 2/5`, `beta_cubic = 0.7 = 7/10`, fast convergence factor
//! `(1 + beta_cubic) / 2 = 17/20`, `alpha_cubic = 3 * (1 - beta) / (1 + beta) = 9/17`.

use crate::time::{Duration, Instant};

/// `beta_cubic` (RFC 9438 §4.6) as a fraction.
pub(super) const BETA_NUM: u64 = 7;
/// Denominator of [`BETA_NUM`].
pub(super) const BETA_DEN: u64 = 10;

/// `C * d^3` in bytes is `d_ms^3 * smss / CUBE_DIV`: 0.4 * (d_ms / 1000)^3 = d_ms^3 / 2.5e9.
const CUBE_DIV: u64 = 2_500_000_000;
/// `K^3 = (W_max - cwnd_epoch) / C` in µs^3 per segment: 1e18 / 0.4.
const K_CUBE_PER_SEGMENT: u128 = 2_500_000_000_000_000_000;

/// The CUBIC state between congestion events.
#[derive(Debug, Clone, Default)]
pub(super) struct Cubic {
    /// W_max in bytes (§4.7); 0 when unknown, in which case the next epoch starts at its own
    /// cwnd with K = 0 (no loss yet, or after an RTO per §4.8).
    pub(super) w_max: u64,
    /// cwnd just before the last reduction (`cwnd_prior` of §4.6), for the alpha switch of §4.3.
    pub(super) cwnd_prior: u64,
    /// The current congestion-avoidance stage; `None` until its first ACK.
    pub(super) epoch: Option<Epoch>,
}

/// One congestion-avoidance stage (§4.2: `t` is measured from its start).
#[derive(Debug, Clone)]
pub(super) struct Epoch {
    /// When the stage began (shifted forward over idle and application-limited time, §5.8).
    pub(super) start: Instant,
    /// K in µs (§4.2, eq. 2).
    pub(super) k_us: u64,
    /// The W_max the curve of this stage plateaus at, bytes.
    pub(super) origin: u64,
    /// The Reno-friendly estimate W_est in bytes (§4.3).
    pub(super) w_est: u64,
    /// Remainder of W_est growth, in units of 1/(17 * cwnd) byte.
    est_acc: u64,
    /// Remainder of cwnd growth, in units of 1/cwnd byte.
    inc_acc: u64,
}

impl Cubic {
    /// Loss detected by fast retransmit or SACK, before the reduction (§4.6, §4.7).
    pub(super) fn on_congestion_event(&mut self, cwnd: u32) {
        let cwnd = u64::from(cwnd);
        // §4.7 fast convergence: a flow whose window shrank since the last loss releases
        // bandwidth by plateauing below its previous W_max.
        self.w_max = if cwnd < self.w_max {
            cwnd * 17 / 20
        } else {
            cwnd
        };
        self.cwnd_prior = cwnd;
        self.epoch = None;
    }

    /// Retransmission timeout (§4.8): the first congestion-avoidance stage afterwards uses
    /// K = 0 and W_max = the window at its start.
    pub(super) fn on_rto(&mut self, cwnd: u32) {
        self.w_max = 0;
        self.cwnd_prior = u64::from(cwnd);
        self.epoch = None;
    }

    /// Forgets the current stage; the next ACK in congestion avoidance starts a new one.
    #[inline]
    pub(super) fn reset_epoch(&mut self) {
        self.epoch = None;
    }

    /// Moves the stage's start forward by `span`, so that time during which cwnd could not
    /// grow does not count in `t` (§5.8), never past `now`.
    #[inline]
    pub(super) fn shift_epoch(&mut self, span: Duration, now: Instant) {
        if let Some(e) = &mut self.epoch {
            e.start = (e.start + span).min(now);
        }
    }

    /// New data acknowledged in congestion avoidance while cwnd-limited: the new cwnd.
    pub(super) fn on_ack(
        &mut self,
        now: Instant,
        cwnd: u32,
        smss: u32,
        acked: u32,
        rtt: Duration,
    ) -> u32 {
        let cwnd = u64::from(cwnd).max(1);
        let smss64 = u64::from(smss);
        let cwnd_prior = self.cwnd_prior;
        let e = match &mut self.epoch {
            Some(e) => e,
            None => {
                let e = Epoch::start(now, cwnd, self.w_max, smss);
                // §4.8 (and no loss yet): W_max is the window at the start of the stage.
                self.w_max = e.origin;
                self.epoch.insert(e)
            }
        };
        let t_us = now.saturating_duration_since(e.start).micros();

        // §4.3: W_est += alpha_cubic * segments_acked / cwnd (in segments), i.e. in bytes
        // alpha * acked * smss / cwnd; alpha_cubic = 9/17, then 1 once W_est >= cwnd_prior.
        let alpha_17ths: u64 = if e.w_est >= cwnd_prior { 17 } else { 9 };
        let den = cwnd.saturating_mul(17);
        e.est_acc = e.est_acc.saturating_add(
            alpha_17ths
                .saturating_mul(smss64)
                .saturating_mul(u64::from(acked)),
        );
        e.w_est = e.w_est.saturating_add(e.est_acc / den);
        e.est_acc %= den;

        if e.w_cubic(t_us, smss) < e.w_est {
            // §4.3 Reno-friendly region: cwnd = W_est.
            return clamp_u32(cwnd.max(e.w_est));
        }
        // §4.4 concave and §4.5 convex regions share one rule (§4.2): target = W_cubic(t + RTT)
        // clamped to [cwnd, 1.5 * cwnd]; cwnd += (target - cwnd) / cwnd per segment acked.
        let target = e
            .w_cubic(t_us.saturating_add(rtt.micros()), smss)
            .clamp(cwnd, cwnd + cwnd / 2);
        e.inc_acc = e
            .inc_acc
            .saturating_add((target - cwnd).saturating_mul(u64::from(acked)));
        let inc = e.inc_acc / cwnd;
        e.inc_acc %= cwnd;
        clamp_u32(cwnd.saturating_add(inc))
    }
}

impl Epoch {
    /// A stage starting `now` at window `cwnd_epoch` (§4.2).
    fn start(now: Instant, cwnd_epoch: u64, w_max: u64, smss: u32) -> Self {
        let (origin, k_us) = if w_max > cwnd_epoch {
            (w_max, k_micros(w_max - cwnd_epoch, smss))
        } else {
            // Already at or above W_max (or W_max unknown): the plateau is here, K = 0.
            (cwnd_epoch, 0)
        };
        Self {
            start: now,
            k_us,
            origin,
            // §4.3: W_est starts at cwnd_epoch.
            w_est: cwnd_epoch,
            est_acc: 0,
            inc_acc: 0,
        }
    }

    /// `W_cubic(t) = C * (t - K)^3 + W_max` in bytes (§4.2, eq. 1), `t` in µs since the start.
    #[inline]
    pub(super) fn w_cubic(&self, t_us: u64, smss: u32) -> u64 {
        if t_us < self.k_us {
            self.origin
                .saturating_sub(cube_bytes(round_ms(self.k_us - t_us), smss))
        } else {
            self.origin
                .saturating_add(cube_bytes(round_ms(t_us - self.k_us), smss))
        }
    }
}

/// `K = cbrt((W_max - cwnd_epoch) / C)` in µs (§4.2, eq. 2), windows in bytes.
fn k_micros(diff_bytes: u64, smss: u32) -> u64 {
    let x = u128::from(diff_bytes).saturating_mul(K_CUBE_PER_SEGMENT) / u128::from(smss.max(1));
    icbrt(x)
}

/// Microseconds to the nearest millisecond.
#[inline]
fn round_ms(us: u64) -> u64 {
    us / 1000 + u64::from(us % 1000 >= 500)
}

/// `C * (d_ms / 1000 s)^3` segments, in bytes, saturating.
#[inline]
fn cube_bytes(d_ms: u64, smss: u32) -> u64 {
    // Fast path: d < 2^21 ms (35 min) so d^3 < 2^63, and the product with smss fits.
    if d_ms < (1 << 21)
        && let Some(p) = (d_ms * d_ms * d_ms).checked_mul(u64::from(smss))
    {
        return p / CUBE_DIV;
    }
    // d is clamped to 2^31 ms (24 days): 2^93 * smss < 2^125 fits; far beyond any window.
    let d = u128::from(d_ms.min(1 << 31));
    let v = d * d * d * u128::from(smss) / u128::from(CUBE_DIV);
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// Floor of the cube root, bit by bit (Hacker's Delight §11-2, widened to 128 bits).
pub(super) fn icbrt(mut x: u128) -> u64 {
    let mut y: u128 = 0;
    // 126 is the largest multiple of 3 below 128; 43 rounds.
    let mut s: i32 = 126;
    while s >= 0 {
        y <<= 1;
        // y < 2^43 here, so b < 2^89.
        let b = 3 * y * (y + 1) + 1;
        if (x >> s) >= b {
            x -= b << s;
            y += 1;
        }
        s -= 3;
    }
    // The cube root of a u128 is below 2^43.
    y as u64
}

#[inline]
fn clamp_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}
