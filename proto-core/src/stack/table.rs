//! The socket table's O(1) structures, all over caller storage:
//!
//! - [`Index`]: open addressing with linear probing over `u32` slot numbers, keyed by a hash
//!   of (protocol, local, remote); deletion by backward shift, so no tombstones accumulate.
//! - [`TimerHeap`]: a binary min-heap of `(deadline, slot)`, lazily invalidated (an entry
//!   counts only while the slot still has that deadline), compacted when full.
//! - [`Fifo`]: a ring of slot numbers (the ready queue and the event queue); each slot is in
//!   it at most once (a flag on the slot says so), so it never overflows.

use core::net::{IpAddr, SocketAddr};

use crate::time::Instant;

/// An index entry: 0 is empty, otherwise slot number + 1.
pub(crate) const EMPTY: u32 = 0;

/// The transport protocol of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proto {
    Tcp = 6,
    Udp = 17,
}

/// What the index is keyed by: a connection's (local, remote), or for a listener or a UDP
/// socket (local, unspecified remote). Compact (addresses as integers, IPv6 flow label and
/// scope left out: the stack never sets them) so that building and comparing one is a few
/// word operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    local: u128,
    remote: u128,
    /// Local port (high half), remote port (low half, 0 without a remote).
    ports: u32,
    /// The protocol number, `V6` when the addresses are IPv6, `REMOTE` with a remote.
    tag: u16,
}

impl Key {
    const V6: u16 = 1 << 8;
    const REMOTE: u16 = 1 << 9;

    /// The key of `local` (and `remote`) for `proto`.
    #[inline]
    pub(crate) fn new(proto: Proto, local: SocketAddr, remote: Option<SocketAddr>) -> Self {
        let bits = |ip: IpAddr| match ip {
            IpAddr::V4(a) => u128::from(u32::from(a)),
            IpAddr::V6(a) => a.to_bits(),
        };
        let mut tag = proto as u16;
        if local.is_ipv6() {
            tag |= Self::V6;
        }
        let (remote, rport) = match remote {
            Some(r) => {
                tag |= Self::REMOTE;
                (bits(r.ip()), r.port())
            }
            None => (0, 0),
        };
        Self {
            local: bits(local.ip()),
            remote,
            ports: (u32::from(local.port()) << 16) | u32::from(rport),
            tag,
        }
    }
}

const K0: u64 = 0x243f_6a88_85a3_08d3;
const K1: u64 = 0x1319_8a2e_0370_7344;

/// A keyed 64-bit mix (a multiply-fold, as foldhash/wyhash), with a per-interface seed so
/// that remote peers cannot aim collisions at one chain.
#[inline]
fn mix(a: u64, b: u64) -> u64 {
    let m = u128::from(a) * u128::from(b);
    (m as u64) ^ ((m >> 64) as u64)
}

impl Key {
    /// The hash of this key under `seed`.
    #[inline]
    pub(crate) fn hash(&self, seed: u64) -> u64 {
        Self::hash_ports(self.hash_addrs(seed), self.ports, seed)
    }

    /// The part of [`hash`](Self::hash) that the ports do not enter: the addresses and the
    /// tag. An ephemeral port search hashes the addresses once and each candidate port with
    /// [`hash_ports`](Self::hash_ports).
    #[inline]
    pub(crate) fn hash_addrs(&self, seed: u64) -> u64 {
        let (l0, l1) = (self.local as u64, (self.local >> 64) as u64);
        let h = mix(l0 ^ seed, l1 ^ K0 ^ u64::from(self.tag));
        let (r0, r1) = (self.remote as u64, (self.remote >> 64) as u64);
        mix(h ^ r0 ^ K1, r1 ^ seed.rotate_left(17))
    }

    /// [`hash`](Self::hash) from [`hash_addrs`](Self::hash_addrs) and the ports.
    #[inline]
    pub(crate) fn hash_ports(addrs: u64, ports: u32, seed: u64) -> u64 {
        mix(addrs ^ (u64::from(ports) << 16), K0 ^ seed)
    }

    /// This key with another local port.
    #[inline]
    pub(crate) fn with_local_port(self, port: u16) -> Self {
        Self {
            ports: (u32::from(port) << 16) | (self.ports & 0xffff),
            ..self
        }
    }

    /// The ports as [`hash_ports`](Self::hash_ports) takes them.
    #[inline]
    pub(crate) fn ports(&self) -> u32 {
        self.ports
    }
}

/// Open-addressing hash index over caller storage (`u32` entries, 0 = empty).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Index {
    pub(crate) seed: u64,
    pub(crate) len: u32,
}

impl Index {
    #[inline]
    fn start(hash: u64, cap: usize) -> usize {
        // Lemire's reduction: a multiply instead of a division, for any capacity.
        (((hash >> 32) * cap as u64) >> 32) as usize
    }

    /// Finds the slot whose key matches; `key_of(slot)` reads a slot's key.
    #[cfg(test)]
    pub(crate) fn find(
        &self,
        table: &[u32],
        key: &Key,
        key_of: impl Fn(u32) -> Option<Key>,
    ) -> Option<u32> {
        self.find_hashed(table, key, key.hash(self.seed), key_of)
    }

    /// [`find`](Self::find) with the key's hash already computed (`key.hash(self.seed)`).
    #[inline]
    pub(crate) fn find_hashed(
        &self,
        table: &[u32],
        key: &Key,
        hash: u64,
        key_of: impl Fn(u32) -> Option<Key>,
    ) -> Option<u32> {
        let cap = table.len();
        if cap == 0 || self.len == 0 {
            return None;
        }
        let mut i = Self::start(hash, cap);
        for _ in 0..cap {
            let e = table[i];
            if e == EMPTY {
                return None;
            }
            if key_of(e - 1).as_ref() == Some(key) {
                return Some(e - 1);
            }
            i += 1;
            if i == cap {
                i = 0;
            }
        }
        None
    }

    /// Inserts `slot` under `key` (the caller checked that the key is absent). False when the
    /// table is full (kept at most 7/8 full so that probes stay short).
    #[cfg(test)]
    pub(crate) fn insert(&mut self, table: &mut [u32], key: &Key, slot: u32) -> bool {
        self.insert_hashed(table, key.hash(self.seed), slot)
    }

    /// [`insert`](Self::insert) with the key's hash already computed.
    pub(crate) fn insert_hashed(&mut self, table: &mut [u32], hash: u64, slot: u32) -> bool {
        let cap = table.len();
        if (self.len as usize + 1) * 8 > cap * 7 {
            return false;
        }
        let mut i = Self::start(hash, cap);
        while table[i] != EMPTY {
            i += 1;
            if i == cap {
                i = 0;
            }
        }
        table[i] = slot + 1;
        self.len += 1;
        true
    }

    /// Removes `slot` (stored under `key`) and shifts the following entries of its probe
    /// run back (Knuth's algorithm R), so lookups never need tombstones.
    pub(crate) fn remove(
        &mut self,
        table: &mut [u32],
        key: &Key,
        slot: u32,
        key_of: impl Fn(u32) -> Option<Key>,
    ) {
        let cap = table.len();
        if cap == 0 {
            return;
        }
        let mut i = Self::start(key.hash(self.seed), cap);
        let mut found = None;
        for _ in 0..cap {
            match table[i] {
                EMPTY => break,
                e if e == slot + 1 => {
                    found = Some(i);
                    break;
                }
                _ => {}
            }
            i += 1;
            if i == cap {
                i = 0;
            }
        }
        let Some(mut hole) = found else {
            return;
        };
        table[hole] = EMPTY;
        self.len -= 1;
        let mut j = hole;
        loop {
            j += 1;
            if j == cap {
                j = 0;
            }
            let e = table[j];
            if e == EMPTY {
                return;
            }
            let Some(k) = key_of(e - 1) else {
                return;
            };
            let home = Self::start(k.hash(self.seed), cap);
            // Move e into the hole unless its home lies cyclically in (hole, j].
            let stays = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !stays {
                table[hole] = e;
                table[j] = EMPTY;
                hole = j;
            }
        }
    }
}

/// A heap entry: the deadline and the slot it was set for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimerEntry {
    at: Instant,
    slot: u32,
}

/// A binary min-heap of deadlines over caller storage.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TimerHeap {
    pub(crate) len: u32,
}

impl TimerHeap {
    /// The earliest entry (possibly stale).
    #[inline]
    pub(crate) fn peek(&self, heap: &[TimerEntry]) -> Option<(Instant, u32)> {
        (self.len > 0).then(|| (heap[0].at, heap[0].slot))
    }

    /// Adds an entry; when the storage is full, first drops every entry `valid` rejects.
    /// False if it is still full (cannot happen when the storage holds two entries per slot).
    pub(crate) fn push(
        &mut self,
        heap: &mut [TimerEntry],
        at: Instant,
        slot: u32,
        valid: impl Fn(Instant, u32) -> bool,
    ) -> bool {
        if self.len as usize == heap.len() {
            self.compact(heap, valid);
            if self.len as usize == heap.len() {
                return false;
            }
        }
        let mut i = self.len as usize;
        heap[i] = TimerEntry { at, slot };
        self.len += 1;
        while i > 0 {
            let parent = (i - 1) / 2;
            if heap[parent].at <= heap[i].at {
                break;
            }
            heap.swap(parent, i);
            i = parent;
        }
        true
    }

    /// Removes the earliest entry.
    pub(crate) fn pop(&mut self, heap: &mut [TimerEntry]) {
        if self.len == 0 {
            return;
        }
        self.len -= 1;
        let n = self.len as usize;
        heap[0] = heap[n];
        let mut i = 0;
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut m = i;
            if l < n && heap[l].at < heap[m].at {
                m = l;
            }
            if r < n && heap[r].at < heap[m].at {
                m = r;
            }
            if m == i {
                break;
            }
            heap.swap(i, m);
            i = m;
        }
    }

    /// Keeps only the valid entries and rebuilds the heap (O(n), rare).
    fn compact(&mut self, heap: &mut [TimerEntry], valid: impl Fn(Instant, u32) -> bool) {
        let mut n = 0;
        for i in 0..self.len as usize {
            let e = heap[i];
            if valid(e.at, e.slot) {
                heap[n] = e;
                n += 1;
            }
        }
        self.len = 0;
        for i in 0..n {
            let e = heap[i];
            // Re-insert in place: sift up within the prefix.
            let mut j = i;
            heap[j] = e;
            self.len += 1;
            while j > 0 {
                let p = (j - 1) / 2;
                if heap[p].at <= heap[j].at {
                    break;
                }
                heap.swap(p, j);
                j = p;
            }
        }
    }
}

/// A ring of slot numbers.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Fifo {
    head: u32,
    pub(crate) len: u32,
}

impl Fifo {
    /// Appends; false when full.
    #[inline]
    pub(crate) fn push(&mut self, ring: &mut [u32], v: u32) -> bool {
        let cap = ring.len();
        if self.len as usize >= cap {
            return false;
        }
        let mut at = self.head as usize + self.len as usize;
        if at >= cap {
            at -= cap;
        }
        ring[at] = v;
        self.len += 1;
        true
    }

    /// Takes the oldest.
    #[inline]
    pub(crate) fn pop(&mut self, ring: &[u32]) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        let v = ring[self.head as usize];
        self.head += 1;
        if self.head as usize == ring.len() {
            self.head = 0;
        }
        self.len -= 1;
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use core::net::{Ipv4Addr, SocketAddrV4};
    use std::vec;
    use std::vec::Vec;

    fn key(i: u32) -> Key {
        Key::new(
            Proto::Tcp,
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 80)),
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(0x0a00_0000 + i),
                (i % 60000) as u16,
            ))),
        )
    }

    #[test]
    fn index_inserts_finds_and_removes_with_backward_shift() {
        let n = 1000u32;
        let mut table = vec![EMPTY; 2048];
        let mut idx = Index { seed: 42, len: 0 };
        let keys: Vec<Key> = (0..n).map(key).collect();
        let key_of = |s: u32| keys.get(s as usize).copied();
        for s in 0..n {
            assert!(idx.insert(&mut table, &keys[s as usize], s));
        }
        for s in 0..n {
            assert_eq!(idx.find(&table, &keys[s as usize], key_of), Some(s));
        }
        for s in (0..n).step_by(2) {
            idx.remove(&mut table, &keys[s as usize], s, key_of);
        }
        for s in 0..n {
            let want = (s % 2 == 1).then_some(s);
            assert_eq!(idx.find(&table, &keys[s as usize], key_of), want, "{s}");
        }
        for s in (1..n).step_by(2) {
            idx.remove(&mut table, &keys[s as usize], s, key_of);
        }
        assert_eq!(idx.len, 0);
        assert!(table.iter().all(|&e| e == EMPTY));
    }

    #[test]
    fn heap_pops_in_order_and_compacts() {
        let mut heap = vec![TimerEntry::default(); 8];
        let mut h = TimerHeap::default();
        for (i, t) in [5u64, 3, 9, 1, 7, 2, 8, 4].iter().enumerate() {
            assert!(h.push(&mut heap, Instant::from_micros(*t), i as u32, |_, _| true));
        }
        // Full: a push compacts away entries of odd slots.
        assert!(h.push(&mut heap, Instant::from_micros(6), 100, |_, s| s % 2 == 0));
        let mut out = Vec::new();
        while let Some((at, _)) = h.peek(&heap) {
            out.push(at.micros());
            h.pop(&mut heap);
        }
        assert_eq!(out, [5, 6, 7, 8, 9]);
    }

    #[test]
    fn fifo_wraps() {
        let mut ring = [0u32; 3];
        let mut f = Fifo::default();
        for i in 0..10 {
            assert!(f.push(&mut ring, i));
            assert!(f.push(&mut ring, i + 100));
            assert_eq!(f.pop(&ring), Some(i));
            assert_eq!(f.pop(&ring), Some(i + 100));
        }
        assert_eq!(f.pop(&ring), None);
    }
}
