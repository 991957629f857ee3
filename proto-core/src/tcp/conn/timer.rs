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
#[derive(Debug, Clone, Default)]
pub(crate) struct Timers {
    deadline: [Option<Instant>; COUNT],
}

impl Timers {
    #[inline]
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.deadline[timer as usize] = Some(at);
    }

    /// Sets the timer unless it is already running.
    #[inline]
    pub(crate) fn set_if_idle(&mut self, timer: Timer, at: Instant) {
        let slot = &mut self.deadline[timer as usize];
        if slot.is_none() {
            *slot = Some(at);
        }
    }

    #[inline]
    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadline[timer as usize]
    }

    #[inline]
    pub(crate) fn stop(&mut self, timer: Timer) {
        self.deadline[timer as usize] = None;
    }

    pub(crate) fn stop_all(&mut self) {
        self.deadline = [None; COUNT];
    }

    /// The earliest deadline.
    #[inline]
    pub(crate) fn next(&self) -> Option<Instant> {
        self.deadline.iter().flatten().min().copied()
    }

    /// One timer whose deadline is at or before `now`, stopped as it is returned.
    #[inline]
    pub(crate) fn take_expired(&mut self, now: Instant) -> Option<Timer> {
        let timer = ALL
            .into_iter()
            .find(|&t| self.deadline[t as usize].is_some_and(|at| at <= now))?;
        self.stop(timer);
        Some(timer)
    }
}
