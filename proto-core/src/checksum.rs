//! The Internet checksum: RFC 1071 (computation), RFC 1624 (incremental update), and the
//! pseudo-headers of RFC 768/793 (IPv4) and RFC 8200 §8.1 (IPv6).
//!
//! Conventions: [`sum`] returns the *folded one's-complement sum* (not complemented), which is
//! what partial sums are combined with ([`combine`]); a header's checksum field holds
//! `!sum(..)`. Verifying a header means summing it including its checksum field and checking the
//! result is `0xffff` ([`verify`]).
//!
//! ```
//! use proto_core::checksum;
//! // RFC 1071 §3's example bytes: 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2.
//! assert_eq!(checksum::sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), 0xddf2);
//! ```

use core::net::{Ipv4Addr, Ipv6Addr};

/// Bytes per block of the wide loop: 8 lanes of 4 bytes (two SSE2 / NEON registers of words).
const BLOCK: usize = 32;
/// Blocks per run of the wide loop before its 32-bit lanes are folded into the 64-bit total:
/// a lane's high-half sum grows by at most 0xffff per block, so it cannot overflow before
/// 65,537 blocks (see [`Lanes`]).
const RUN: usize = 65_536;
/// Below this length the scalar 64-bit loop wins; measured on x86-64 with
/// `cargo bench --bench checksum` (and variants compared side by side).
const WIDE_MIN: usize = 128;

/// The wide loop's accumulators: for each 32-bit lane, `all` is the wrapping sum of its words
/// and `high` the exact sum of their high 16-bit halves.
///
/// Per 16 bytes that is one vector add of the words, one shift and one add of their high
/// halves: fewer (and cheaper) instructions than widening every word to 64 bits. The exact
/// sum of the low halves is recovered at the end as `all - (high << 16)` (mod 2^32): over at
/// most [`RUN`] words it is below 2^32, so the wrapping difference is exact. The lane's words
/// then sum to `low + (high << 16)`, which is `low + high` modulo 0xffff (2^16 ≡ 1): all the
/// one's-complement sum needs.
struct Lanes {
    all: [u32; BLOCK / 4],
    high: [u32; BLOCK / 4],
}

impl Lanes {
    #[inline(always)]
    const fn new() -> Self {
        Self {
            all: [0; BLOCK / 4],
            high: [0; BLOCK / 4],
        }
    }

    #[inline(always)]
    fn add(&mut self, block: &[u8; BLOCK]) {
        let (words, _) = block.as_chunks::<4>();
        for ((all, high), word) in self.all.iter_mut().zip(&mut self.high).zip(words) {
            let w = u32::from_ne_bytes(*word);
            *all = all.wrapping_add(w);
            *high += w >> 16;
        }
    }

    /// The lanes' total (not folded); resets them.
    #[inline(always)]
    fn take(&mut self) -> u64 {
        let mut total = 0u64;
        for (all, high) in self.all.iter().zip(&self.high) {
            let low = all.wrapping_sub(high << 16);
            total += u64::from(low) + u64::from(*high);
        }
        *self = Self::new();
        total
    }
}

/// Sums `data` in native byte order into a wide accumulator (not folded).
///
/// RFC 1071 §2(B): the one's-complement sum is byte-order independent, so we sum native-endian
/// words and swap once at the end ([`fold_native`]); and §2(C): it can be computed on wider
/// words as long as carries are added back (2^32 ≡ 2^64 ≡ 1 mod 0xffff).
///
/// - Short data (headers, small packets): 64-bit words with add-with-carry ([`sum_words`]).
/// - Long data: 32-bit words in 8 independent lanes ([`Lanes`]), with no carries between
///   lanes, so the loop auto-vectorizes on plain SSE2 / NEON without `unsafe`.
#[inline]
fn sum_native(data: &[u8]) -> u64 {
    if data.len() < WIDE_MIN {
        return sum_words(data);
    }
    let (blocks, rest) = data.as_chunks::<BLOCK>();
    let mut total = sum_words(rest);
    let mut lanes = Lanes::new();
    for run in blocks.chunks(RUN) {
        for block in run {
            lanes.add(block);
        }
        total += lanes.take();
    }
    total
}

/// Sums `data` as native-endian 64-bit words with end-around carry, then its 4-, 2- and 1-byte
/// tail. The result fits comfortably in a u64 for any slice length.
#[inline(always)]
fn sum_words(data: &[u8]) -> u64 {
    let (words, rest) = data.as_chunks::<8>();
    let (mut acc, mut carries) = (0u64, 0u64);
    for word in words {
        let (sum, carry) = acc.overflowing_add(u64::from_ne_bytes(*word));
        acc = sum;
        carries += u64::from(carry);
    }
    let mut total = (acc & 0xffff_ffff) + (acc >> 32) + carries;
    let (quads, rest) = rest.as_chunks::<4>();
    for quad in quads {
        total += u64::from(u32::from_ne_bytes(*quad));
    }
    let (pairs, rest) = rest.as_chunks::<2>();
    for pair in pairs {
        total += u64::from(u16::from_ne_bytes(*pair));
    }
    if let [last] = rest {
        // An odd byte is the high byte of a final big-endian word padded with zero.
        total += u64::from(u16::from_ne_bytes([*last, 0]));
    }
    total
}

/// Folds a wide native-order sum to 16 bits with end-around carry and converts it to the
/// big-endian (network) word value.
#[inline]
fn fold_native(mut total: u64) -> u16 {
    while total > 0xffff {
        total = (total & 0xffff) + (total >> 16);
    }
    u16::from_be_bytes((total as u16).to_ne_bytes())
}

/// Folds a 32-bit sum of big-endian words to 16 bits with end-around carry.
#[inline]
const fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The folded one's-complement sum of `data` taken as big-endian 16-bit words; an odd final
/// byte is padded with a zero byte (RFC 1071 §1). Not complemented.
#[inline]
pub fn sum(data: &[u8]) -> u16 {
    fold_native(sum_native(data))
}

/// Copies `src` into `dst` (which must be as long) and returns `sum(src)`, in one pass:
/// the TCP send path uses it to move payload from the send buffer into a segment and
/// checksum it at once, instead of reading the bytes twice.
///
/// ```
/// use proto_core::checksum::{copy_and_sum, sum};
/// let src = [0x45u8, 0x00, 0x00, 0x73, 0x00];
/// let mut dst = [0u8; 5];
/// assert_eq!(copy_and_sum(&mut dst, &src), sum(&src));
/// assert_eq!(dst, src);
/// ```
#[inline]
pub fn copy_and_sum(dst: &mut [u8], src: &[u8]) -> u16 {
    assert_eq!(dst.len(), src.len(), "copy_and_sum: lengths differ");
    if src.len() < WIDE_MIN {
        dst.copy_from_slice(src);
        return fold_native(sum_words(src));
    }
    let (dst_blocks, dst_rest) = dst.as_chunks_mut::<BLOCK>();
    let (src_blocks, src_rest) = src.as_chunks::<BLOCK>();
    dst_rest.copy_from_slice(src_rest);
    let mut total = sum_words(src_rest);
    let mut lanes = Lanes::new();
    for (d, s) in dst_blocks.chunks_mut(RUN).zip(src_blocks.chunks(RUN)) {
        for (d, s) in d.iter_mut().zip(s) {
            // One load per word: sum the block from a local copy, then store it.
            let block = *s;
            lanes.add(&block);
            *d = block;
        }
        total += lanes.take();
    }
    fold_native(total)
}

/// The folded one's-complement sum of 32-bit words (each two big-endian 16-bit words, as
/// read with `u32::from_be_bytes`): for headers built or read as words, summed without the
/// byte loop. Exact for fewer than 2^32 words.
#[inline(always)]
pub fn sum_words32(words: impl IntoIterator<Item = u32>) -> u16 {
    let mut acc = 0u64;
    for w in words {
        acc += u64::from(w);
    }
    // Two folds bring any such sum below 2^32, two more to 16 bits.
    acc = (acc & 0xffff_ffff) + (acc >> 32);
    acc = (acc & 0xffff_ffff) + (acc >> 32);
    let mut s = (acc & 0xffff) + (acc >> 16);
    s = (s & 0xffff) + (s >> 16);
    s as u16
}

/// Combines partial sums (from [`sum`], [`pseudo_header_v4`], ...) into one folded sum.
///
/// Each part must start at an even byte offset of the checksummed data.
#[inline]
pub fn combine(parts: &[u16]) -> u16 {
    let mut acc: u32 = 0;
    for &p in parts {
        acc += u32::from(p);
    }
    fold(acc)
}

/// The checksum field value for `data`: `!sum(data)`.
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    !sum(data)
}

/// True when data whose checksum field is included sums to `0xffff` (RFC 1071 §1: "the result
/// is checked to be all ones").
#[inline]
pub fn verify(folded_sum: u16) -> bool {
    folded_sum == 0xffff
}

/// The sum of the IPv4 pseudo-header (RFC 793 §3.1, RFC 768): source, destination, zero,
/// protocol, and the upper-layer length.
#[inline]
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> u16 {
    let s = src.octets();
    let d = dst.octets();
    let acc = u32::from(u16::from_be_bytes([s[0], s[1]]))
        + u32::from(u16::from_be_bytes([s[2], s[3]]))
        + u32::from(u16::from_be_bytes([d[0], d[1]]))
        + u32::from(u16::from_be_bytes([d[2], d[3]]))
        + u32::from(protocol)
        + u32::from(length);
    fold(acc)
}

/// The sum of the IPv6 pseudo-header (RFC 8200 §8.1): source, destination, the 32-bit
/// upper-layer packet length, three zero bytes and the next header.
#[inline]
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, length: u32) -> u16 {
    let mut acc: u32 = 0;
    for addr in [src.octets(), dst.octets()] {
        for pair in addr.chunks_exact(2) {
            acc += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
        }
    }
    acc += (length >> 16) + (length & 0xffff) + u32::from(next_header);
    fold(acc)
}

/// RFC 1624 eqn. 3: the new checksum field after one 16-bit word of the covered data changed
/// from `old` to `new`: `HC' = ~(~HC + ~m + m')`. Correct also for the `0x0000`/`0xffff`
/// corner case that eqn. 2 of RFC 1141 gets wrong.
#[inline]
pub const fn update_u16(checksum: u16, old: u16, new: u16) -> u16 {
    !fold(!checksum as u32 + !old as u32 + new as u32)
}

/// [`update_u16`] for a 32-bit field (two words), e.g. a TCP sequence number.
#[inline]
pub const fn update_u32(checksum: u16, old: u32, new: u32) -> u16 {
    let c = update_u16(checksum, (old >> 16) as u16, (new >> 16) as u16);
    update_u16(c, old as u16, new as u16)
}

/// [`update_u16`] for a field of any even length (e.g. an address rewritten by NAT).
/// `old` and `new` must have the same even length and start at an even offset of the data.
#[inline]
pub fn update_bytes(checksum: u16, old: &[u8], new: &[u8]) -> u16 {
    debug_assert_eq!(old.len(), new.len());
    // ~HC + ~m + m' summed over every word: ~sum(old) is the sum of the complemented words.
    !combine(&[!checksum, !sum(old), sum(new)])
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    /// The textbook definition, one big-endian word at a time.
    fn reference(data: &[u8]) -> u16 {
        let mut acc: u64 = 0;
        for pair in data.chunks(2) {
            let hi = u64::from(pair[0]) << 8;
            let lo = pair.get(1).map_or(0, |&b| u64::from(b));
            acc += hi | lo;
        }
        while acc > 0xffff {
            acc = (acc & 0xffff) + (acc >> 16);
        }
        acc as u16
    }

    fn bytes(len: usize, seed: u32) -> Vec<u8> {
        let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    #[test]
    fn rfc1071_example() {
        assert_eq!(
            sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
    }

    #[test]
    fn matches_reference_on_every_length_and_alignment() {
        let data = bytes(4096 + 64, 7);
        for len in 0..300 {
            for start in 0..4 {
                let d = &data[start..start + len];
                assert_eq!(sum(d), reference(d), "len {len} start {start}");
            }
        }
        for len in [
            511, 512, 513, 575, 576, 1499, 1500, 4096, 9000, 65_536, 200_003,
        ] {
            let d = bytes(len, len as u32);
            assert_eq!(sum(&d), reference(&d), "len {len}");
        }
    }

    #[test]
    fn all_ones_carry_correctly() {
        // Every add carries: the worst case for both the scalar and the lane loop.
        for len in [7, 8, 63, 64, 511, 512, 513, 4096 + 77, 3 << 20] {
            let d = std::vec![0xffu8; len];
            assert_eq!(sum(&d), reference(&d), "len {len}");
        }
    }

    #[test]
    fn checksum_field_verifies() {
        let mut d = bytes(60, 3);
        d[10] = 0;
        d[11] = 0;
        let c = checksum(&d);
        d[10..12].copy_from_slice(&c.to_be_bytes());
        assert!(verify(sum(&d)));
    }

    #[test]
    fn incremental_update_matches_recomputation() {
        for seed in 0..200 {
            let mut d = bytes(40, seed);
            d[10] = 0;
            d[11] = 0;
            let c = checksum(&d);
            let at = 2 * (seed as usize % 20);
            if at == 10 {
                continue;
            }
            let old = u16::from_be_bytes([d[at], d[at + 1]]);
            let new = (seed as u16).wrapping_mul(40_503);
            d[at..at + 2].copy_from_slice(&new.to_be_bytes());
            let expect = checksum(&d);
            let got = update_u16(c, old, new);
            // 0x0000 and 0xffff are both "zero" in one's complement; RFC 1624 gives the
            // form recomputation gives except when the data sums to zero.
            assert!(got == expect || (got ^ expect) == 0xffff && got | expect == 0xffff);
        }
    }

    #[test]
    fn update_bytes_rewrites_an_address() {
        let mut d = bytes(20, 11);
        d[10] = 0;
        d[11] = 0;
        let c = checksum(&d);
        let old: [u8; 4] = d[12..16].try_into().unwrap();
        let new = [10, 0, 0, 1];
        d[12..16].copy_from_slice(&new);
        assert_eq!(update_bytes(c, &old, &new), checksum(&d));
        let c2 = update_u32(c, u32::from_be_bytes(old), u32::from_be_bytes(new));
        assert_eq!(c2, checksum(&d));
    }

    #[test]
    fn pseudo_headers_match_reference() {
        let src = Ipv4Addr::new(192, 168, 10, 2);
        let dst = Ipv4Addr::new(192, 168, 10, 1);
        let mut ph = Vec::new();
        ph.extend_from_slice(&src.octets());
        ph.extend_from_slice(&dst.octets());
        ph.extend_from_slice(&[0, 6, 0x05, 0xdc]);
        assert_eq!(pseudo_header_v4(src, dst, 6, 1500), reference(&ph));

        let s6: Ipv6Addr = "fe80::1".parse().unwrap();
        let d6: Ipv6Addr = "2001:db8::ffff:1".parse().unwrap();
        let mut ph = Vec::new();
        ph.extend_from_slice(&s6.octets());
        ph.extend_from_slice(&d6.octets());
        ph.extend_from_slice(&70_000u32.to_be_bytes());
        ph.extend_from_slice(&[0, 0, 0, 58]);
        assert_eq!(pseudo_header_v6(s6, d6, 58, 70_000), reference(&ph));
    }

    #[test]
    fn copy_and_sum_matches_sum_at_every_length_and_split() {
        let src: std::vec::Vec<u8> = (0..600u32).map(|i| (i * 37 + 11) as u8).collect();
        for len in [
            0, 1, 2, 3, 15, 16, 17, 31, 32, 33, 127, 128, 129, 255, 256, 257, 599, 600,
        ] {
            let mut dst = std::vec![0u8; len];
            assert_eq!(
                copy_and_sum(&mut dst, &src[..len]),
                sum(&src[..len]),
                "len {len}"
            );
            assert_eq!(dst, &src[..len]);
            // Two pieces, the second byte-swapped when the first is odd (RFC 1071 §2(B)).
            for split in [0, 1, len / 2, len.saturating_sub(1)] {
                let split = split.min(len);
                let a = sum(&src[..split]);
                let b = sum(&src[split..len]);
                let b = if split % 2 == 1 { b.swap_bytes() } else { b };
                assert_eq!(
                    combine(&[a, b]),
                    sum(&src[..len]),
                    "len {len} split {split}"
                );
            }
        }
    }

    #[test]
    fn copy_and_sum_matches_reference_on_long_and_all_ones_data() {
        // 3 MiB of 0xff crosses the wide loop's run boundary with every lane at its maximum.
        for (len, fill) in [
            (1448, None),
            (9001, None),
            (3 << 20, Some(0xffu8)),
            (200_003, None),
        ] {
            let src = match fill {
                Some(b) => std::vec![b; len],
                None => bytes(len, len as u32),
            };
            for start in [0, 1] {
                let s = &src[start..];
                let mut dst = std::vec![0u8; s.len()];
                assert_eq!(
                    copy_and_sum(&mut dst, s),
                    reference(s),
                    "len {len} start {start}"
                );
                assert_eq!(dst, s);
            }
        }
    }

    #[test]
    fn sum_words32_matches_reference() {
        let mut rng = crate::rand::Rng::new(0x5eed_3232);
        for n in [0usize, 1, 5, 10, 11, 1000] {
            for all_ones in [false, true] {
                let words: Vec<u32> = (0..n)
                    .map(|_| if all_ones { u32::MAX } else { rng.next_u32() })
                    .collect();
                let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
                assert_eq!(
                    sum_words32(words.iter().copied()),
                    reference(&bytes),
                    "{n} words"
                );
            }
        }
    }
}
