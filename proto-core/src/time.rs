//! Time as the protocol core sees it: an [`Instant`] and a [`Duration`], both in microseconds.
//!
//! The core never reads a clock. The runtime hands `now` in on every call and gets the next
//! deadline back (`poll_at`), so the same code runs against a real clock, a simulated clock
//! that jumps to the next deadline, or a test that sets time by hand.

use core::fmt;
use core::ops;

/// A point in time: microseconds since an origin the caller chose (boot, process start, or
/// zero in a simulation). Only differences between instants mean anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant {
    micros: u64,
}

/// A span of time in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration {
    micros: u64,
}

impl Instant {
    /// The origin.
    pub const ZERO: Self = Self { micros: 0 };

    /// The instant `micros` microseconds after the origin.
    #[inline]
    pub const fn from_micros(micros: u64) -> Self {
        Self { micros }
    }

    /// The instant `millis` milliseconds after the origin.
    #[inline]
    pub const fn from_millis(millis: u64) -> Self {
        Self {
            micros: millis.saturating_mul(1000),
        }
    }

    /// The instant `secs` seconds after the origin.
    #[inline]
    pub const fn from_secs(secs: u64) -> Self {
        Self {
            micros: secs.saturating_mul(1_000_000),
        }
    }

    /// Microseconds since the origin.
    #[inline]
    pub const fn micros(self) -> u64 {
        self.micros
    }

    /// Milliseconds since the origin (truncated).
    #[inline]
    pub const fn millis(self) -> u64 {
        self.micros / 1000
    }

    /// The time from `earlier` to `self`, zero when `earlier` is later.
    #[inline]
    pub const fn saturating_duration_since(self, earlier: Self) -> Duration {
        Duration {
            micros: self.micros.saturating_sub(earlier.micros),
        }
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Self = Self { micros: 0 };
    /// The longest representable span.
    pub const MAX: Self = Self { micros: u64::MAX };

    /// `micros` microseconds.
    #[inline]
    pub const fn from_micros(micros: u64) -> Self {
        Self { micros }
    }

    /// `millis` milliseconds.
    #[inline]
    pub const fn from_millis(millis: u64) -> Self {
        Self {
            micros: millis.saturating_mul(1000),
        }
    }

    /// `secs` seconds.
    #[inline]
    pub const fn from_secs(secs: u64) -> Self {
        Self {
            micros: secs.saturating_mul(1_000_000),
        }
    }

    /// The span in microseconds.
    #[inline]
    pub const fn micros(self) -> u64 {
        self.micros
    }

    /// The span in whole milliseconds (truncated).
    #[inline]
    pub const fn millis(self) -> u64 {
        self.micros / 1000
    }

    /// The span in whole seconds (truncated).
    #[inline]
    pub const fn secs(self) -> u64 {
        self.micros / 1_000_000
    }

    /// `self * n`, saturating at [`Duration::MAX`].
    #[inline]
    pub const fn saturating_mul(self, n: u64) -> Self {
        Self {
            micros: self.micros.saturating_mul(n),
        }
    }

    /// The smaller of the two.
    #[inline]
    pub const fn min(self, other: Self) -> Self {
        if self.micros < other.micros {
            self
        } else {
            other
        }
    }

    /// The larger of the two.
    #[inline]
    pub const fn max(self, other: Self) -> Self {
        if self.micros > other.micros {
            self
        } else {
            other
        }
    }
}

impl ops::Add<Duration> for Instant {
    type Output = Instant;

    /// Saturates at the end of time rather than wrapping.
    #[inline]
    fn add(self, rhs: Duration) -> Instant {
        Instant {
            micros: self.micros.saturating_add(rhs.micros),
        }
    }
}

impl ops::AddAssign<Duration> for Instant {
    #[inline]
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl ops::Sub<Duration> for Instant {
    type Output = Instant;

    /// Saturates at the origin.
    #[inline]
    fn sub(self, rhs: Duration) -> Instant {
        Instant {
            micros: self.micros.saturating_sub(rhs.micros),
        }
    }
}

impl ops::Sub for Instant {
    type Output = Duration;

    /// Saturates at zero when `rhs` is later.
    #[inline]
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

impl ops::Add for Duration {
    type Output = Duration;

    #[inline]
    fn add(self, rhs: Duration) -> Duration {
        Duration {
            micros: self.micros.saturating_add(rhs.micros),
        }
    }
}

impl ops::AddAssign for Duration {
    #[inline]
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl ops::Sub for Duration {
    type Output = Duration;

    /// Saturates at zero.
    #[inline]
    fn sub(self, rhs: Duration) -> Duration {
        Duration {
            micros: self.micros.saturating_sub(rhs.micros),
        }
    }
}

impl ops::Mul<u32> for Duration {
    type Output = Duration;

    #[inline]
    fn mul(self, rhs: u32) -> Duration {
        self.saturating_mul(u64::from(rhs))
    }
}

impl ops::Div<u32> for Duration {
    type Output = Duration;

    /// Division by zero gives [`Duration::MAX`] rather than a panic.
    #[inline]
    fn div(self, rhs: u32) -> Duration {
        match self.micros.checked_div(u64::from(rhs)) {
            Some(micros) => Duration { micros },
            None => Duration::MAX,
        }
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:06}s",
            self.micros / 1_000_000,
            self.micros % 1_000_000
        )
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.micros < 1000 {
            write!(f, "{}us", self.micros)
        } else if self.micros < 1_000_000 {
            write!(f, "{}.{:03}ms", self.micros / 1000, self.micros % 1000)
        } else {
            write!(
                f,
                "{}.{:06}s",
                self.micros / 1_000_000,
                self.micros % 1_000_000
            )
        }
    }
}

#[cfg(feature = "std")]
impl From<std::time::Duration> for Duration {
    /// Truncates to whole microseconds; saturates past `u64::MAX` microseconds.
    fn from(d: std::time::Duration) -> Self {
        Self {
            micros: u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
        }
    }
}

#[cfg(feature = "std")]
impl From<Duration> for std::time::Duration {
    fn from(d: Duration) -> Self {
        std::time::Duration::from_micros(d.micros)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Instant::from_millis(5);
        assert_eq!((t + Duration::from_millis(2)).micros(), 7000);
        assert_eq!(t - Instant::from_secs(1), Duration::ZERO);
        assert_eq!(Instant::ZERO - Duration::from_secs(1), Instant::ZERO);
        assert_eq!(
            Instant::from_micros(u64::MAX) + Duration::from_secs(1),
            Instant::from_micros(u64::MAX)
        );
        assert_eq!(Duration::from_secs(3) / 0, Duration::MAX);
        assert_eq!(Duration::from_secs(3) / 2, Duration::from_millis(1500));
        assert_eq!(Duration::from_millis(200) * 3, Duration::from_millis(600));
    }

    #[test]
    fn display() {
        extern crate std;
        use std::string::ToString;
        assert_eq!(Duration::from_micros(12).to_string(), "12us");
        assert_eq!(Duration::from_micros(40_500).to_string(), "40.500ms");
        assert_eq!(Duration::from_secs(2).to_string(), "2.000000s");
        assert_eq!(Instant::from_millis(1500).to_string(), "1.500000s");
    }
}
