//! The sender's SACK scoreboard (RFC 6675 §3, §4): which bytes above `snd_una` the peer has
//! reported holding, so that loss recovery retransmits only the holes.
//!
//! Ranges are kept sorted and merged, at most [`MAX_RANGES`]. The peer reports at most four
//! blocks per ACK, but they accumulate; when the table is full the highest range is forgotten,
//! which can only cause a needless retransmission, never a lost byte (RFC 2018 §8: SACK
//! information is advisory; a receiver may renege, and `snd_una` alone is authoritative).

use crate::wire::TcpSeqNumber;

/// Most SACKed ranges remembered.
pub const MAX_RANGES: usize = 8;

/// RFC 6675 §2 DupThresh.
pub const DUP_THRESH: u32 = 3;

/// SACKed ranges above the cumulative ACK, in sequence order.
#[derive(Debug, Clone)]
pub struct Scoreboard {
    ranges: [(TcpSeqNumber, TcpSeqNumber); MAX_RANGES],
    len: usize,
    sacked: u32,
}

impl Default for Scoreboard {
    fn default() -> Self {
        Self::new()
    }
}

impl Scoreboard {
    /// An empty scoreboard.
    pub const fn new() -> Self {
        Self {
            ranges: [(TcpSeqNumber(0), TcpSeqNumber(0)); MAX_RANGES],
            len: 0,
            sacked: 0,
        }
    }

    /// Forgets everything (after an RTO that found the peer's reports stale, RFC 6675 §5.1).
    pub fn clear(&mut self) {
        self.len = 0;
        self.sacked = 0;
    }

    /// True when nothing is SACKed.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// SACKed bytes above the cumulative ACK.
    #[inline]
    pub fn sacked_bytes(&self) -> u32 {
        self.sacked
    }

    /// The ranges, lowest first.
    #[inline]
    pub fn ranges(&self) -> &[(TcpSeqNumber, TcpSeqNumber)] {
        &self.ranges[..self.len]
    }

    /// The end of the highest SACKed range (RFC 6675 `HighSACK` + 1).
    #[inline]
    pub fn high_sacked(&self) -> Option<TcpSeqNumber> {
        self.ranges().last().map(|r| r.1)
    }

    /// The cumulative ACK moved to `snd_una`: drops and trims what it covers.
    pub fn ack(&mut self, snd_una: TcpSeqNumber) {
        let mut drop = 0;
        while drop < self.len && self.ranges[drop].1 <= snd_una {
            drop += 1;
        }
        if drop > 0 {
            self.ranges.copy_within(drop..self.len, 0);
            self.len -= drop;
        }
        if self.len > 0 && self.ranges[0].0 < snd_una {
            self.ranges[0].0 = snd_una;
        }
        self.recount();
    }

    fn recount(&mut self) {
        self.sacked = self.ranges().iter().map(|&(s, e)| (e - s) as u32).sum();
    }

    /// Records a block the peer reported. Blocks not wholly within `(snd_una, snd_max]` are
    /// ignored (RFC 2018 §8: a block below the cumulative ACK is a D-SACK or stale; one above
    /// what we sent is bogus). Returns the number of bytes newly SACKed.
    pub fn add(
        &mut self,
        start: TcpSeqNumber,
        end: TcpSeqNumber,
        snd_una: TcpSeqNumber,
        snd_max: TcpSeqNumber,
    ) -> u32 {
        if end <= start || end <= snd_una || end > snd_max {
            return 0;
        }
        let start = start.max(snd_una);
        let before = self.sacked;
        // Find the first range that ends at or after `start` (candidates to merge).
        let mut i = 0;
        while i < self.len && self.ranges[i].1 < start {
            i += 1;
        }
        let mut j = i;
        let mut merged = (start, end);
        while j < self.len && self.ranges[j].0 <= end {
            merged.0 = merged.0.min(self.ranges[j].0);
            merged.1 = merged.1.max(self.ranges[j].1);
            j += 1;
        }
        if i == j {
            // A new disjoint range at index i.
            if self.len == MAX_RANGES {
                if i == MAX_RANGES {
                    return 0; // Above everything we track and no room: forget it.
                }
                self.len -= 1; // Forget the highest range.
            }
            self.ranges.copy_within(i..self.len, i + 1);
            self.ranges[i] = merged;
            self.len += 1;
        } else {
            self.ranges[i] = merged;
            self.ranges.copy_within(j..self.len, i + 1);
            self.len -= j - i - 1;
        }
        self.recount();
        self.sacked.saturating_sub(before)
    }

    /// If `seq` is SACKed, the end of its range.
    #[inline]
    pub fn sacked_end(&self, seq: TcpSeqNumber) -> Option<TcpSeqNumber> {
        self.ranges()
            .iter()
            .find(|r| r.0 <= seq && seq < r.1)
            .map(|r| r.1)
    }

    /// The start of the first SACKed range above `seq`, if any.
    #[inline]
    pub fn next_sacked_after(&self, seq: TcpSeqNumber) -> Option<TcpSeqNumber> {
        self.ranges().iter().find(|r| seq < r.0).map(|r| r.0)
    }

    /// Bytes in `[from, to)` that are not SACKed.
    pub fn unsacked_between(&self, from: TcpSeqNumber, to: TcpSeqNumber) -> u32 {
        if to <= from {
            return 0;
        }
        let mut total = (to - from) as u32;
        for &(s, e) in self.ranges() {
            let s = s.max(from);
            let e = e.min(to);
            if s < e {
                total -= (e - s) as u32;
            }
        }
        total
    }

    /// The sequence number below which every un-SACKed byte is deemed lost (RFC 6675 §4
    /// `IsLost`): a byte is lost when at least `DupThresh` discontiguous SACKed ranges, or more
    /// than `(DupThresh - 1) * SMSS` SACKed bytes, lie above it. Returns `snd_una` when
    /// nothing is lost.
    pub fn lost_end(&self, snd_una: TcpSeqNumber, smss: u32) -> TcpSeqNumber {
        let mut bytes = 0u32;
        for (n, &(s, e)) in self.ranges().iter().rev().enumerate() {
            bytes = bytes.saturating_add((e - s) as u32);
            if n as u32 + 1 >= DUP_THRESH || bytes > (DUP_THRESH - 1) * smss {
                return s.max(snd_una);
            }
        }
        snd_una
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(n: u32) -> TcpSeqNumber {
        TcpSeqNumber(n)
    }

    #[test]
    fn merges_and_counts() {
        let mut sb = Scoreboard::new();
        let (una, max) = (seq(1000), seq(20_000));
        assert_eq!(sb.add(seq(3000), seq(4000), una, max), 1000);
        assert_eq!(sb.add(seq(5000), seq(6000), una, max), 1000);
        assert_eq!(sb.add(seq(3500), seq(5500), una, max), 1000);
        assert_eq!(sb.ranges(), &[(seq(3000), seq(6000))]);
        assert_eq!(sb.add(seq(3000), seq(6000), una, max), 0);
        // RFC 2018 §8: blocks below snd_una or beyond snd_max are ignored.
        assert_eq!(sb.add(seq(500), seq(900), una, max), 0);
        assert_eq!(sb.add(seq(19_000), seq(21_000), una, max), 0);
        assert_eq!(sb.unsacked_between(una, max), 19_000 - 3000);
        sb.ack(seq(4000));
        assert_eq!(sb.ranges(), &[(seq(4000), seq(6000))]);
        sb.ack(seq(7000));
        assert!(sb.is_empty());
    }

    #[test]
    fn bounded_and_wraps() {
        let mut sb = Scoreboard::new();
        let una = seq(u32::MAX - 100_000);
        let max = una + 1_000_000;
        for i in 0..40u32 {
            sb.add(
                una + (i as usize * 2000 + 1000),
                una + (i as usize * 2000 + 1500),
                una,
                max,
            );
        }
        assert_eq!(sb.ranges().len(), MAX_RANGES);
        assert_eq!(sb.sacked_bytes(), 500 * MAX_RANGES as u32);
        assert!(sb.ranges().windows(2).all(|w| w[0].1 < w[1].0));
    }

    #[test]
    fn lost_end_follows_rfc6675_islost() {
        let mut sb = Scoreboard::new();
        let (una, max, mss) = (seq(0), seq(100_000), 1000);
        sb.add(seq(2000), seq(3000), una, max);
        assert_eq!(sb.lost_end(una, mss), una);
        sb.add(seq(4000), seq(5000), una, max);
        assert_eq!(sb.lost_end(una, mss), una);
        // Three discontiguous ranges: everything below the lowest of the three is lost.
        sb.add(seq(6000), seq(7000), una, max);
        assert_eq!(sb.lost_end(una, mss), seq(2000));
        // More than 2 SMSS in one range above.
        let mut sb = Scoreboard::new();
        sb.add(seq(1000), seq(3001), una, max);
        assert_eq!(sb.lost_end(una, mss), seq(1000));
    }
}
