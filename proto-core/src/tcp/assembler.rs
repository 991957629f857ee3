//! Out-of-order reassembly bookkeeping: which byte ranges beyond the contiguous receive point
//! have arrived (RFC 9293 §3.10.7.4, RFC 2018 §4).
//!
//! An [`Assembler`] records ranges in ABSOLUTE stream offsets (`u64` bytes since the start of
//! the stream), so nothing shifts when the contiguous point advances. It holds at most
//! [`MAX_RANGES`] ranges in a fixed array, sorted, non-overlapping and non-adjacent: memory is
//! bounded whatever the peer sends. A segment that would need one more range is refused
//! ([`TooManyRanges`]); RFC 9293 §3.10.7.4 lets a receiver drop out-of-order data, and the
//! sender retransmits it.
//!
//! It also remembers the order in which ranges were last touched, so that SACK blocks can be
//! reported most recent first (RFC 2018 §4).
//!
//! ```
//! use proto_core::tcp::assembler::Assembler;
//!
//! let mut asm = Assembler::new();
//! asm.add(200, 300).unwrap();
//! asm.add(100, 150).unwrap();
//! let mut blocks = [(0, 0); 4];
//! assert_eq!(asm.sack_blocks(&mut blocks), 2);
//! assert_eq!(blocks[..2], [(100, 150), (200, 300)]);
//! // In-order data up to 100 arrived: the range [100, 150) joins it.
//! assert_eq!(asm.advance(100), 150);
//! assert_eq!(asm.len(), 1);
//! ```

use core::fmt;

/// The most out-of-order ranges an [`Assembler`] tracks (its memory bound).
pub const MAX_RANGES: usize = 8;

/// [`Assembler::add`] refused a range: it would need a new range and [`MAX_RANGES`] are
/// already tracked. Nothing was recorded; the caller drops the segment (RFC 9293 §3.10.7.4) and
/// the sender retransmits it later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyRanges;

impl fmt::Display for TooManyRanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "tcp assembler: out-of-order segment needs a new range but {MAX_RANGES} are tracked"
        )
    }
}

impl core::error::Error for TooManyRanges {}

/// One tracked range `[start, start + len)` and when it was last touched (16 bytes: a
/// range is shorter than the receive buffer, so its length fits a `u32`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Range {
    start: u64,
    len: u32,
    /// Touch stamp: larger is more recent; unique among the live ranges.
    stamp: u32,
}

impl Range {
    #[inline]
    fn new(start: u64, end: u64, stamp: u32) -> Self {
        Self {
            start,
            len: u32::try_from(end - start).unwrap_or(u32::MAX),
            stamp,
        }
    }

    #[inline]
    fn end(&self) -> u64 {
        self.start + u64::from(self.len)
    }
}

/// The set of byte ranges received beyond the contiguous point, bounded by [`MAX_RANGES`].
///
/// Offsets are absolute stream offsets (`u64`). Ranges are half-open `[start, end)`; adjacent
/// or overlapping ranges coalesce on insert. See the [module documentation](self).
#[derive(Debug, Clone)]
pub struct Assembler {
    /// `ranges[..len]`: sorted by `start`, disjoint, and never adjacent (a gap of at least one
    /// byte between two ranges).
    ranges: [Range; MAX_RANGES],
    len: usize,
    /// The last stamp handed out.
    clock: u32,
}

impl Default for Assembler {
    #[inline]
    fn default() -> Self {
        Self::new()
    }
}

impl Assembler {
    /// An empty assembler.
    #[inline]
    pub const fn new() -> Self {
        Self {
            ranges: [Range {
                start: 0,
                len: 0,
                stamp: 0,
            }; MAX_RANGES],
            len: 0,
            clock: 0,
        }
    }

    /// Whether no range is tracked.
    #[inline]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many ranges are tracked (at most [`MAX_RANGES`]).
    #[inline]
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Forgets every range.
    #[inline]
    pub fn clear(&mut self) {
        self.len = 0;
        self.clock = 0;
    }

    /// The ranges as `(start, end)` pairs, in increasing order.
    #[inline]
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (u64, u64)> + ExactSizeIterator + '_ {
        self.ranges[..self.len].iter().map(|r| (r.start, r.end()))
    }

    /// The end of the highest range (the furthest byte received, exclusive), if any.
    #[inline]
    pub fn highest_end(&self) -> Option<u64> {
        self.len.checked_sub(1).map(|i| self.ranges[i].end())
    }

    /// Records that the bytes `[start, end)` arrived, merging with every range it overlaps or
    /// touches, and marks the resulting range as the most recently touched (RFC 2018 §4: the
    /// first SACK block reports the block holding the segment that triggered the ACK). A range
    /// already wholly recorded is still marked as touched. An empty range (`start >= end`) is
    /// ignored.
    ///
    /// # Errors
    ///
    /// [`TooManyRanges`] when the range merges with none and [`MAX_RANGES`] are tracked; nothing
    /// changes then. A range that merges is always accepted.
    pub fn add(&mut self, start: u64, end: u64) -> Result<(), TooManyRanges> {
        if start >= end {
            return Ok(());
        }
        let live = &self.ranges[..self.len];
        // `first`: the first range that ends at or after `start` (overlaps or touches on the
        // left); `last`: one past the last range that starts at or before `end`. The ranges in
        // `first..last` all overlap or touch `[start, end)`.
        let first = live.partition_point(|r| r.end() < start);
        let last = first + live[first..].partition_point(|r| r.start <= end);
        if first == last {
            // RFC 9293 §3.10.7.4: out-of-order data may be dropped; we drop it when it would
            // exceed the bound on tracked gaps.
            if self.len == MAX_RANGES {
                return Err(TooManyRanges);
            }
            self.ranges.copy_within(first..self.len, first + 1);
            let stamp = self.next_stamp();
            self.ranges[first] = Range::new(start, end, stamp);
            self.len += 1;
        } else {
            let stamp = self.next_stamp();
            let merged = Range::new(
                start.min(self.ranges[first].start),
                end.max(self.ranges[last - 1].end()),
                stamp,
            );
            self.ranges[first] = merged;
            let removed = last - first - 1;
            if removed > 0 {
                self.ranges.copy_within(last..self.len, first + 1);
                self.len -= removed;
            }
        }
        Ok(())
    }

    /// The contiguous receive point moved to `contiguous_end` (in-order data was written up
    /// to it). Drops the ranges at or below it, merges a range that starts at or before it,
    /// and returns the new contiguous end: e.g. with the range `[100, 300)` tracked,
    /// `advance(100)` returns 300 and removes the range.
    pub fn advance(&mut self, contiguous_end: u64) -> u64 {
        let mut point = contiguous_end;
        let mut removed = 0;
        // Bounded by `len` (at most MAX_RANGES).
        for r in &self.ranges[..self.len] {
            if r.start > point {
                break;
            }
            point = point.max(r.end());
            removed += 1;
        }
        if removed > 0 {
            self.ranges.copy_within(removed..self.len, 0);
            self.len -= removed;
        }
        point
    }

    /// Writes up to `out.len()` ranges as `(start, end)`, the most recently touched first, then
    /// the others from most to least recently touched (RFC 2018 §4), and returns how many it
    /// wrote.
    pub fn sack_blocks(&self, out: &mut [(u64, u64)]) -> usize {
        let want = out.len().min(self.len);
        // Selection by descending stamp: stamps are unique, so each pass picks the largest
        // stamp below the previous pick. At most MAX_RANGES * out.len() steps.
        let mut below = u32::MAX;
        let mut written = 0;
        for slot in out.iter_mut().take(want) {
            let mut best: Option<&Range> = None;
            for r in &self.ranges[..self.len] {
                if r.stamp < below && best.is_none_or(|b| r.stamp > b.stamp) {
                    best = Some(r);
                }
            }
            let Some(b) = best else { break };
            *slot = (b.start, b.end());
            below = b.stamp;
            written += 1;
        }
        written
    }

    /// A fresh stamp larger than every live one. Before the `u32` counter would reach the
    /// top, the live stamps are renumbered `1..=len` in their order.
    #[inline]
    fn next_stamp(&mut self) -> u32 {
        if self.clock >= u32::MAX - 1 {
            self.renumber();
        }
        self.clock += 1;
        self.clock
    }

    /// Renumbers the live stamps `1..=len` keeping their order (MAX_RANGES² steps, once
    /// per 2^32 touches).
    #[cold]
    fn renumber(&mut self) {
        let mut old = [0u32; MAX_RANGES];
        for (o, r) in old.iter_mut().zip(&self.ranges[..self.len]) {
            *o = r.stamp;
        }
        let live = &old[..self.len];
        for (r, &stamp) in self.ranges[..self.len].iter_mut().zip(live) {
            // Stamps are unique: the rank is one more than the number of older ranges.
            r.stamp = 1 + live.iter().filter(|&&s| s < stamp).count() as u32;
        }
        self.clock = self.len as u32;
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    // The u32 touch stamps are renumbered before they would wrap; SACK order survives.
    #[test]
    fn stamps_renumber_before_wrapping() {
        let mut asm = Assembler::new();
        asm.add(300, 400).unwrap();
        asm.add(100, 200).unwrap();
        asm.add(500, 600).unwrap();
        asm.clock = u32::MAX - 2;
        asm.add(100, 150).unwrap(); // touches [100, 200): most recent
        asm.add(700, 800).unwrap(); // renumbers first, then the newest
        assert!(asm.clock < 10, "{}", asm.clock);
        let mut blocks = [(0, 0); 4];
        assert_eq!(asm.sack_blocks(&mut blocks), 4);
        assert_eq!(blocks, [(700, 800), (100, 200), (500, 600), (300, 400)]);
    }

    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;
    use std::vec::Vec;

    fn ranges(asm: &Assembler) -> Vec<(u64, u64)> {
        asm.iter().collect()
    }

    fn with(rs: &[(u64, u64)]) -> Assembler {
        let mut asm = Assembler::new();
        for &(s, e) in rs {
            asm.add(s, e).unwrap();
        }
        asm
    }

    fn sack(asm: &Assembler) -> Vec<(u64, u64)> {
        let mut out = [(0, 0); MAX_RANGES];
        let n = asm.sack_blocks(&mut out);
        out[..n].to_vec()
    }

    // RFC 9293 §3.10.7.4: out-of-order data is held; these pin the geometry of merging.
    #[test]
    fn add_before_keeps_both_sorted() {
        let asm = with(&[(100, 200), (10, 20)]);
        assert_eq!(ranges(&asm), [(10, 20), (100, 200)]);
    }

    #[test]
    fn add_after_keeps_both_sorted() {
        let asm = with(&[(100, 200), (300, 400)]);
        assert_eq!(ranges(&asm), [(100, 200), (300, 400)]);
    }

    #[test]
    fn add_overlapping_left_extends_start() {
        let asm = with(&[(100, 200), (50, 150)]);
        assert_eq!(ranges(&asm), [(50, 200)]);
    }

    #[test]
    fn add_overlapping_right_extends_end() {
        let asm = with(&[(100, 200), (150, 250)]);
        assert_eq!(ranges(&asm), [(100, 250)]);
    }

    #[test]
    fn add_covering_replaces_range() {
        let asm = with(&[(100, 200), (50, 250)]);
        assert_eq!(ranges(&asm), [(50, 250)]);
    }

    #[test]
    fn add_inside_changes_nothing() {
        let asm = with(&[(100, 200), (120, 130)]);
        assert_eq!(ranges(&asm), [(100, 200)]);
    }

    #[test]
    fn add_adjacent_on_either_side_coalesces() {
        let asm = with(&[(100, 200), (200, 300)]);
        assert_eq!(ranges(&asm), [(100, 300)]);
        let asm = with(&[(100, 200), (50, 100)]);
        assert_eq!(ranges(&asm), [(50, 200)]);
    }

    #[test]
    fn add_between_two_ranges_joins_them() {
        let asm = with(&[(100, 200), (300, 400), (200, 300)]);
        assert_eq!(ranges(&asm), [(100, 400)]);
        let asm = with(&[(100, 200), (300, 400), (500, 600), (150, 550)]);
        assert_eq!(ranges(&asm), [(100, 600)]);
    }

    #[test]
    fn add_in_gap_without_touching_stays_separate() {
        let asm = with(&[(100, 200), (300, 400), (250, 260)]);
        assert_eq!(ranges(&asm), [(100, 200), (250, 260), (300, 400)]);
    }

    #[test]
    fn add_empty_range_is_ignored() {
        let mut asm = with(&[(100, 200)]);
        asm.add(50, 50).unwrap();
        asm.add(60, 10).unwrap();
        assert_eq!(ranges(&asm), [(100, 200)]);
    }

    // RFC 9293 §3.10.7.4 lets the receiver drop out-of-order data: the bound on tracked gaps.
    #[test]
    fn add_refuses_new_range_when_full_and_changes_nothing() {
        let mut asm = Assembler::new();
        for i in 0..MAX_RANGES as u64 {
            asm.add(i * 10, i * 10 + 5).unwrap();
        }
        assert_eq!(asm.len(), MAX_RANGES);
        let before = ranges(&asm);
        let sack_before = sack(&asm);
        assert_eq!(asm.add(1000, 1005), Err(TooManyRanges));
        assert_eq!(asm.add(7, 8), Err(TooManyRanges));
        assert_eq!(ranges(&asm), before);
        assert_eq!(sack(&asm), sack_before);
    }

    #[test]
    fn add_that_merges_is_accepted_when_full() {
        let mut asm = Assembler::new();
        for i in 0..MAX_RANGES as u64 {
            asm.add(i * 10, i * 10 + 5).unwrap();
        }
        asm.add(5, 7).unwrap(); // adjacent to [0, 5)
        asm.add(12, 20).unwrap(); // overlaps [10, 15), touches [20, 25): joins them
        assert_eq!(asm.len(), MAX_RANGES - 1);
        assert_eq!(ranges(&asm)[..2], [(0, 7), (10, 25)]);
        // Now there is room again.
        asm.add(1000, 1001).unwrap();
        assert_eq!(asm.len(), MAX_RANGES);
    }

    #[test]
    fn advance_merges_range_starting_at_point() {
        let mut asm = with(&[(100, 300)]);
        assert_eq!(asm.advance(100), 300);
        assert!(asm.is_empty());
    }

    #[test]
    fn advance_with_partial_overlap_returns_range_end() {
        let mut asm = with(&[(100, 300), (400, 500)]);
        assert_eq!(asm.advance(150), 300);
        assert_eq!(ranges(&asm), [(400, 500)]);
    }

    #[test]
    fn advance_past_ranges_drops_them() {
        let mut asm = with(&[(100, 200), (300, 400), (600, 700)]);
        assert_eq!(asm.advance(450), 450);
        assert_eq!(ranges(&asm), [(600, 700)]);
        assert_eq!(asm.advance(650), 700);
        assert!(asm.is_empty());
    }

    #[test]
    fn advance_below_all_ranges_changes_nothing() {
        let mut asm = with(&[(100, 200)]);
        assert_eq!(asm.advance(99), 99);
        assert_eq!(ranges(&asm), [(100, 200)]);
    }

    #[test]
    fn clear_forgets_everything() {
        let mut asm = with(&[(100, 200), (300, 400)]);
        asm.clear();
        assert!(asm.is_empty());
        assert_eq!(asm.iter().count(), 0);
        assert_eq!(asm.highest_end(), None);
    }

    #[test]
    fn highest_end_is_end_of_last_range() {
        assert_eq!(with(&[(100, 200), (300, 400)]).highest_end(), Some(400));
    }

    // RFC 2018 §4: the first SACK block holds the most recently received segment, then the
    // most recently reported others.
    #[test]
    fn sack_blocks_most_recently_touched_first() {
        let mut asm = with(&[(100, 200), (300, 400), (500, 600)]);
        assert_eq!(sack(&asm), [(500, 600), (300, 400), (100, 200)]);
        asm.add(150, 160).unwrap(); // a duplicate inside [100, 200) touches it
        assert_eq!(sack(&asm), [(100, 200), (500, 600), (300, 400)]);
        asm.add(400, 410).unwrap(); // extends [300, 400)
        assert_eq!(sack(&asm), [(300, 410), (100, 200), (500, 600)]);
        asm.add(200, 300).unwrap(); // joins [100, 200) and [300, 410)
        assert_eq!(sack(&asm), [(100, 410), (500, 600)]);
    }

    #[test]
    fn sack_blocks_stops_at_output_length() {
        let asm = with(&[(100, 200), (300, 400), (500, 600), (700, 800)]);
        let mut out = [(0, 0); 3];
        assert_eq!(asm.sack_blocks(&mut out), 3);
        assert_eq!(out, [(700, 800), (500, 600), (300, 400)]);
        assert_eq!(asm.sack_blocks(&mut []), 0);
    }

    #[test]
    fn refused_add_does_not_touch_recency() {
        let mut asm = Assembler::new();
        for i in 0..MAX_RANGES as u64 {
            asm.add(i * 10, i * 10 + 5).unwrap();
        }
        asm.add(0, 1).unwrap();
        assert!(asm.add(2000, 2001).is_err());
        assert_eq!(sack(&asm)[0], (0, 5));
    }

    /// The model: the set of bytes received beyond the point, and the same refusal rule.
    fn model_runs(bytes: &BTreeSet<u64>) -> Vec<(u64, u64)> {
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for &b in bytes {
            match runs.last_mut() {
                Some(last) if last.1 == b => last.1 = b + 1,
                _ => runs.push((b, b + 1)),
            }
        }
        runs
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(u64, u64),
        Advance(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            // Offsets relative to the contiguous point.
            4 => (0u64..400, 1u64..6).prop_map(|(s, l)| Op::Add(s, s + l)),
            // On a grid with gaps, to reach the MAX_RANGES bound.
            4 => (0u64..100, 1u64..4).prop_map(|(k, l)| Op::Add(k * 4, k * 4 + l)),
            1 => (0u64..40).prop_map(Op::Advance),
        ]
    }

    proptest! {
        // RFC 9293 §3.10.7.4 / RFC 2018 §4: the assembler holds exactly the received bytes, as
        // maximal runs, refusing only what would exceed MAX_RANGES runs; the first SACK block
        // holds the last accepted segment.
        #[test]
        fn matches_byte_set_model(ops in proptest::collection::vec(op(), 1..300)) {
            let mut asm = Assembler::new();
            let mut bytes = BTreeSet::new();
            let mut point = 0u64;
            for op in ops {
                match op {
                    Op::Add(s, e) => {
                        let (s, e) = (point + 1 + s, point + 1 + e);
                        let mut next = bytes.clone();
                        next.extend(s..e);
                        let fits = model_runs(&next).len() <= MAX_RANGES;
                        let got = asm.add(s, e);
                        prop_assert_eq!(got.is_ok(), fits);
                        if fits {
                            bytes = next;
                            if s < e {
                                let first = sack(&asm)[0];
                                prop_assert!(first.0 <= s && e <= first.1);
                            }
                        }
                    }
                    Op::Advance(p) => {
                        let p = point + p;
                        let mut want = p;
                        while bytes.contains(&want) {
                            want += 1;
                        }
                        bytes = bytes.split_off(&want);
                        prop_assert_eq!(asm.advance(p), want);
                        point = want;
                    }
                }
                prop_assert_eq!(ranges(&asm), model_runs(&bytes));
                let mut s = sack(&asm);
                s.sort_unstable();
                prop_assert_eq!(s, model_runs(&bytes));
            }
        }
    }
}
