//! A connection's timers as data (one table of deadlines, one `expired` query).

use crate::time::Instant;

/// The timers a connection runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// RFC 6298 retransmission timer (also the SYN/SYN-ACK retransmission timer).
    Retransmit = 0,
    /// RFC 9293 §3.8.6.3 delayed ACK.
    DelayedAck = 1,
    /// RFC 9293 §3.8.6.1 persist timer (zero-window probes).
    Persist = 2,
    /// RFC 1122 §4.2.3.6 keepalive.
    Keepalive = 3,
    /// RFC 9293 §3.4.2 TIME-WAIT (2 MSL).
    TimeWait = 4,
    /// RFC 9293 §3.8.3 / RFC 5482 user timeout.
    UserTimeout = 5,
    /// RFC 8985 §7 tail loss probe.
    LossProbe = 6,
    /// RFC 8985 §6.3 reordering window: SACKed data above a hole waits this long before the
    /// hole is deemed lost.
    Reorder = 7,
}

const COUNT: usize = 8;
const ALL: [Timer; COUNT] = [
    Timer::Retransmit,
    Timer::DelayedAck,
    Timer::Persist,
    Timer::Keepalive,
    Timer::TimeWait,
    Timer::UserTimeout,
    Timer::LossProbe,
    Timer::Reorder,
];

/// Deadlines indexed by [`Timer`].
/// Deadlines indexed by [`Timer`], in microseconds; `IDLE` when the timer is stopped (8 bytes
/// a timer rather than 16 for an `Option<Instant>`).
#[derive(Clone)]
pub(crate) struct Timers {
    deadline: [u64; COUNT],
}

/// A stopped timer. No deadline is this late: it is 584,000 years after the origin.
const IDLE: u64 = u64::MAX;

impl Default for Timers {
    fn default() -> Self {
        Self {
            deadline: [IDLE; COUNT],
        }
    }
}

impl core::fmt::Debug for Timers {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut list = f.debug_map();
        for t in ALL {
            if let Some(at) = self.get(t) {
                list.entry(&t, &at);
            }
        }
        list.finish()
    }
}

impl Timers {
    #[inline]
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        // An instant at the very end of time would read as stopped; keep it running.
        self.deadline[timer as usize] = at.micros().min(IDLE - 1);
    }

    /// Sets the timer unless it is already running.
    #[inline]
    pub(crate) fn set_if_idle(&mut self, timer: Timer, at: Instant) {
        if self.deadline[timer as usize] == IDLE {
            self.set(timer, at);
        }
    }

    #[inline]
    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        let at = self.deadline[timer as usize];
        (at != IDLE).then_some(Instant::from_micros(at))
    }

    #[inline]
    pub(crate) fn stop(&mut self, timer: Timer) {
        self.deadline[timer as usize] = IDLE;
    }

    pub(crate) fn stop_all(&mut self) {
        self.deadline = [IDLE; COUNT];
    }

    /// The earliest deadline.
    #[inline]
    pub(crate) fn next(&self) -> Option<Instant> {
        let at = self.deadline.iter().copied().min().unwrap_or(IDLE);
        (at != IDLE).then_some(Instant::from_micros(at))
    }

    /// One timer whose deadline is at or before `now`, stopped as it is returned.
    #[inline]
    pub(crate) fn take_expired(&mut self, now: Instant) -> Option<Timer> {
        // A stopped timer's IDLE is later than any `now` below it: one comparison a timer.
        let now = now.micros().min(IDLE - 1);
        let timer = ALL
            .into_iter()
            .find(|&t| self.deadline[t as usize] <= now)?;
        self.stop(timer);
        Some(timer)
    }
}
