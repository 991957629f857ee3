//! The stub resolver: A and AAAA queries to recursive servers (RFC 1035 §7, RFC 3596), with
//! retries across servers, EDNS(0) (RFC 6891), TCP after a truncated answer (RFC 7766 §5),
//! CNAME chains (RFC 1034 §3.6.2, §5.3.3) and a small TTL-honouring cache (RFC 1035 §7.4).
//!
//! Spoofing defences (RFC 5452 §9): a random ID and a random source port per attempt, and an
//! answer is only taken when it comes from the server asked, to that port, with that ID and
//! the same question (name compared case-insensitively, type, class). Anything else is
//! ignored and the query keeps waiting.

use core::fmt;
use core::net::{IpAddr, SocketAddr};

use super::{CLASS_IN, Message, NameBuf, RData, Rcode, Type, emit_query};
use crate::rand::Rng;
use crate::time::{Duration, Instant};

/// The most servers a resolver uses.
pub const MAX_SERVERS: usize = 4;
/// The most addresses kept in an [`Answer`].
pub const MAX_ADDRS: usize = 8;
/// The most CNAMEs followed for one query, within an answer and across queries.
pub const MAX_CNAME_CHAIN: usize = 8;
/// The first ephemeral port (RFC 6335 §6); source ports are drawn from here to 65535.
const EPHEMERAL_START: u16 = 49152;

/// [`Resolver`] settings.
#[derive(Debug, Clone, Copy)]
pub struct ResolverConfig {
    /// Time to wait for each UDP answer.
    pub timeout: Duration,
    /// Time to wait for an answer over TCP (connection included).
    pub tcp_timeout: Duration,
    /// Attempts per server; servers are tried in turn (0, 1, .., 0, 1, ..).
    pub attempts: u8,
    /// The UDP payload size advertised with EDNS(0); `None` sends no OPT record.
    pub edns_udp_size: Option<u16>,
    /// The longest time an answer is cached, whatever its TTL.
    pub max_cache_ttl: u32,
    /// Seeds IDs and source ports.
    pub seed: u64,
}

impl Default for ResolverConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(2),
            tcp_timeout: Duration::from_secs(5),
            attempts: 2,
            // The DNS flag day 2020 value: fits an IPv6 minimum MTU without fragments.
            edns_udp_size: Some(1232),
            max_cache_ttl: 86_400,
            seed: 0,
        }
    }
}

/// The result of a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// The canonical name (the end of the CNAME chain; the name asked when there was none).
    pub canonical: NameBuf,
    addrs: [Option<IpAddr>; MAX_ADDRS],
    /// Seconds the answer stays valid: the least TTL of the records used (the remaining
    /// time for a cached answer).
    pub ttl: u32,
    /// True when it came from the cache.
    pub from_cache: bool,
}

impl Answer {
    /// The addresses, in answer order (at most [`MAX_ADDRS`]).
    pub fn addrs(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.addrs.iter().map_while(|a| *a)
    }
}

/// Why a lookup failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsError {
    /// The name does not exist (NXDOMAIN).
    NxDomain,
    /// The name exists but has no record of the type asked (NOERROR, no data).
    NoData,
    /// Every attempt failed with this response code (SERVFAIL, REFUSED, ...).
    ServerFailure(Rcode),
    /// No server answered in time, after every attempt.
    Timeout,
    /// The CNAME chain was longer than [`MAX_CNAME_CHAIN`] (or looped).
    CnameChainTooLong,
    /// The name is not a valid DNS name.
    BadName(crate::wire::Error),
    /// Only A and AAAA lookups are supported.
    UnsupportedType(Type),
    /// Every query slot holds a query or an untaken result.
    TooManyQueries,
    /// The resolver has no server.
    NoServers,
    /// The buffer handed to [`Resolver::poll_transmit`] could not hold the query (514 bytes
    /// always suffice).
    BufferTooSmall,
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NxDomain => f.write_str("DNS: no such name (NXDOMAIN)"),
            Self::NoData => f.write_str("DNS: no record of that type"),
            Self::ServerFailure(rcode) => write!(f, "DNS: server failure ({rcode})"),
            Self::Timeout => f.write_str("DNS: no answer from any server"),
            Self::CnameChainTooLong => write!(f, "DNS: CNAME chain longer than {MAX_CNAME_CHAIN}"),
            Self::BadName(e) => write!(f, "{e}"),
            Self::UnsupportedType(t) => write!(f, "DNS: lookups of type {t} are not supported"),
            Self::TooManyQueries => f.write_str("DNS: too many queries in flight"),
            Self::NoServers => f.write_str("DNS: no server configured"),
            Self::BufferTooSmall => f.write_str("DNS: transmit buffer too small for the query"),
        }
    }
}

impl core::error::Error for DnsError {}

/// A query in flight; its result is taken with [`Resolver::poll_result`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QueryHandle {
    slot: u16,
    generation: u16,
}

/// A query to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// The query it belongs to (for [`Resolver::handle_tcp`]).
    pub handle: QueryHandle,
    /// Where to send it (port 53).
    pub server: SocketAddr,
    /// The source port to send from (UDP; for TCP any port will do).
    pub local_port: u16,
    /// Bytes written into the buffer.
    pub len: usize,
    /// Send over a new TCP connection: the bytes already carry the 2-byte length prefix
    /// (RFC 1035 §4.2.2). Pass the reply (prefix included) to [`Resolver::handle_tcp`].
    pub over_tcp: bool,
}

/// The length of a DNS message over TCP, prefix included, once its 2-byte prefix is in
/// `buf` (RFC 1035 §4.2.2): read from the stream until `buf.len()` reaches it.
pub fn tcp_message_len(buf: &[u8]) -> Option<usize> {
    match buf {
        [hi, lo, ..] => Some(2 + usize::from(u16::from_be_bytes([*hi, *lo]))),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Send { at: Instant, tcp: bool },
    Await { deadline: Instant, tcp: bool },
    Done,
}

#[derive(Debug, Clone, Copy)]
struct Query {
    generation: u16,
    qtype: Type,
    /// The name asked by the user (the cache key).
    original: NameBuf,
    /// The name asked now (after CNAMEs answered without data).
    current: NameBuf,
    /// CNAMEs followed so far.
    chain: u8,
    /// The least TTL of the CNAMEs followed.
    ttl: u32,
    phase: Phase,
    id: u16,
    port: u16,
    /// Attempts made for `current`.
    attempt: u8,
    use_edns: bool,
    last_rcode: Option<Rcode>,
    result: Option<Result<Answer, DnsError>>,
}

/// A cache of `C` answers keyed by (name, type). When full, an expired entry is replaced, else
/// the one closest to expiry.
#[derive(Debug, Clone)]
pub struct Cache<const C: usize> {
    entries: [Option<(NameBuf, Type, Answer, Instant)>; C],
}

impl<const C: usize> Default for Cache<C> {
    fn default() -> Self {
        Self { entries: [None; C] }
    }
}

impl<const C: usize> Cache<C> {
    /// The cached answer for `name`/`qtype`, its TTL counting down.
    pub fn get(&self, now: Instant, name: &NameBuf, qtype: Type) -> Option<Answer> {
        self.entries
            .iter()
            .flatten()
            .find_map(|(n, t, a, expires)| {
                if *t != qtype || !n.eq_ignore_case(name) || *expires <= now {
                    return None;
                }
                let left = (*expires - now).micros().div_ceil(1_000_000);
                Some(Answer {
                    ttl: u32::try_from(left).unwrap_or(u32::MAX),
                    from_cache: true,
                    ..*a
                })
            })
    }

    /// Stores `answer` for `ttl` seconds (nothing for 0).
    pub fn insert(&mut self, now: Instant, name: &NameBuf, qtype: Type, answer: &Answer, ttl: u32) {
        if ttl == 0 || C == 0 {
            return;
        }
        let expires = now + Duration::from_secs(u64::from(ttl));
        let slot = self
            .entries
            .iter()
            .position(|e| {
                e.as_ref()
                    .is_some_and(|(n, t, ..)| *t == qtype && n.eq_ignore_case(name))
            })
            .or_else(|| {
                self.entries
                    .iter()
                    .position(|e| e.as_ref().is_none_or(|e| e.3 <= now))
            })
            .or_else(|| {
                (0..C).min_by_key(|&i| self.entries[i].as_ref().map_or(Instant::ZERO, |e| e.3))
            });
        if let Some(i) = slot {
            self.entries[i] = Some((*name, qtype, *answer, expires));
        }
    }

    /// Forgets everything (e.g. when the servers change).
    pub fn clear(&mut self) {
        self.entries = [None; C];
    }
}

/// A stub resolver with `Q` query slots and a cache of `C` answers.
///
/// Call order: [`query`](Self::query) to start lookups; each wake-up,
/// [`handle_udp`](Self::handle_udp) / [`handle_tcp`](Self::handle_tcp) for replies,
/// [`handle_timeout`](Self::handle_timeout), [`poll_transmit`](Self::poll_transmit) until
/// `None`, [`poll_result`](Self::poll_result) for each handle, [`poll_at`](Self::poll_at).
/// A slot is free again once its result is taken (or the query is cancelled).
///
/// ```
/// use proto_core::app::dns::{Resolver, ResolverConfig, Type};
/// use proto_core::time::Instant;
/// let servers = ["10.0.0.53:53".parse().unwrap()];
/// let mut r = Resolver::<4, 16>::new(&servers, ResolverConfig::default());
/// let h = r.query(Instant::ZERO, "example.com", Type::A).unwrap();
/// let mut buf = [0u8; 512];
/// let tx = r.poll_transmit(Instant::ZERO, &mut buf).unwrap();
/// assert_eq!((tx.handle, tx.server.port(), tx.over_tcp), (h, 53, false));
/// // ... send buf[..tx.len] from tx.local_port, feed the reply to handle_udp ...
/// assert!(r.poll_result(h).is_none());
/// ```
#[derive(Debug, Clone)]
pub struct Resolver<const Q: usize, const C: usize> {
    servers: [Option<SocketAddr>; MAX_SERVERS],
    config: ResolverConfig,
    rng: Rng,
    queries: [Option<Query>; Q],
    cache: Cache<C>,
    generation: u16,
}

impl<const Q: usize, const C: usize> Resolver<Q, C> {
    /// A resolver asking `servers` (the first [`MAX_SERVERS`]).
    pub fn new(servers: &[SocketAddr], config: ResolverConfig) -> Self {
        let mut r = Self {
            servers: [None; MAX_SERVERS],
            config,
            rng: Rng::new(config.seed),
            queries: [None; Q],
            cache: Cache::default(),
            generation: 0,
        };
        r.set_servers(servers);
        r
    }

    /// Replaces the server list (e.g. from a new DHCP lease). Queries in flight continue with
    /// the new list at their next attempt.
    pub fn set_servers(&mut self, servers: &[SocketAddr]) {
        self.servers = [None; MAX_SERVERS];
        for (slot, s) in self.servers.iter_mut().zip(servers) {
            *slot = Some(*s);
        }
    }

    /// The cache.
    pub fn cache(&mut self) -> &mut Cache<C> {
        &mut self.cache
    }

    fn server_count(&self) -> usize {
        self.servers.iter().flatten().count()
    }

    /// Starts a lookup of `name` (dotted text) for `qtype` (A or AAAA). A cached answer makes
    /// the result ready at once.
    pub fn query(
        &mut self,
        now: Instant,
        name: &str,
        qtype: Type,
    ) -> Result<QueryHandle, DnsError> {
        let name = NameBuf::from_text(name).map_err(DnsError::BadName)?;
        if !matches!(qtype, Type::A | Type::Aaaa) {
            return Err(DnsError::UnsupportedType(qtype));
        }
        if self.server_count() == 0 {
            return Err(DnsError::NoServers);
        }
        let slot = self
            .queries
            .iter()
            .position(|q| q.is_none())
            .ok_or(DnsError::TooManyQueries)?;
        self.generation = self.generation.wrapping_add(1);
        let mut q = Query {
            generation: self.generation,
            qtype,
            original: name,
            current: name,
            chain: 0,
            ttl: u32::MAX,
            phase: Phase::Send {
                at: now,
                tcp: false,
            },
            id: 0,
            port: 0,
            attempt: 0,
            use_edns: self.config.edns_udp_size.is_some(),
            last_rcode: None,
            result: None,
        };
        if let Some(answer) = self.cache.get(now, &name, qtype) {
            q.phase = Phase::Done;
            q.result = Some(Ok(answer));
        }
        self.queries[slot] = Some(q);
        Ok(QueryHandle {
            slot: slot as u16,
            generation: self.generation,
        })
    }

    fn query_mut(&mut self, h: QueryHandle) -> Option<&mut Query> {
        self.queries
            .get_mut(usize::from(h.slot))?
            .as_mut()
            .filter(|q| q.generation == h.generation)
    }

    /// Abandons a query; its slot is free at once.
    pub fn cancel(&mut self, h: QueryHandle) {
        if self.query_mut(h).is_some() {
            self.queries[usize::from(h.slot)] = None;
        }
    }

    /// The result once the lookup is over; taking it frees the slot.
    pub fn poll_result(&mut self, h: QueryHandle) -> Option<Result<Answer, DnsError>> {
        let r = self.query_mut(h)?.result.take()?;
        self.queries[usize::from(h.slot)] = None;
        Some(r)
    }

    /// The next instant something is due: a query to send or an answer deadline.
    pub fn poll_at(&self) -> Option<Instant> {
        self.queries
            .iter()
            .flatten()
            .filter_map(|q| match q.phase {
                Phase::Send { at, .. } => Some(at),
                Phase::Await { deadline, .. } => Some(deadline),
                Phase::Done => None,
            })
            .min()
    }

    /// Writes the next query due into `buf` (514 bytes always suffice: a 255-byte name, the
    /// OPT record and the TCP prefix) and says where it goes.
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        let n_servers = self.server_count();
        if n_servers == 0 {
            return None;
        }
        let (slot, tcp) =
            self.queries
                .iter()
                .enumerate()
                .find_map(|(i, q)| match q.as_ref()?.phase {
                    Phase::Send { at, tcp } if at <= now => Some((i, tcp)),
                    _ => None,
                })?;
        let id = self.rng.next_u32() as u16;
        let port =
            EPHEMERAL_START + self.rng.below(u64::from(u16::MAX - EPHEMERAL_START) + 1) as u16;
        let edns = self.config.edns_udp_size;
        let timeout = if tcp {
            self.config.tcp_timeout
        } else {
            self.config.timeout
        };
        let q = self.queries[slot].as_mut()?;
        let server = self
            .servers
            .iter()
            .flatten()
            .nth(usize::from(q.attempt) % n_servers)
            .copied()?;
        let prefix = if tcp { 2 } else { 0 };
        let len = match emit_query(
            buf.get_mut(prefix..)?,
            id,
            &q.current,
            q.qtype,
            edns.filter(|_| q.use_edns),
        ) {
            Ok(len) => len,
            Err(_) => {
                // A caller bug, but the query must not stay due forever.
                q.phase = Phase::Done;
                q.result = Some(Err(DnsError::BufferTooSmall));
                return None;
            }
        };
        if tcp {
            buf[..2].copy_from_slice(&(len as u16).to_be_bytes());
        }
        q.id = id;
        q.port = port;
        q.phase = Phase::Await {
            deadline: now + timeout,
            tcp,
        };
        Some(Transmit {
            handle: QueryHandle {
                slot: slot as u16,
                generation: q.generation,
            },
            server,
            local_port: port,
            len: len + prefix,
            over_tcp: tcp,
        })
    }

    /// Gives up on unanswered attempts: the next server is tried, or the query fails.
    pub fn handle_timeout(&mut self, now: Instant) {
        for slot in 0..Q {
            if let Some(q) = &self.queries[slot]
                && let Phase::Await { deadline, .. } = q.phase
                && now >= deadline
            {
                self.next_attempt(slot, now);
            }
        }
    }

    /// Moves a query to its next attempt (RFC 1035 §7.2: servers in turn), or fails it.
    fn next_attempt(&mut self, slot: usize, now: Instant) {
        let total = usize::from(self.config.attempts.max(1)) * self.server_count();
        let Some(q) = self.queries[slot].as_mut() else {
            return;
        };
        q.attempt = q.attempt.saturating_add(1);
        if usize::from(q.attempt) >= total {
            q.phase = Phase::Done;
            q.result = Some(Err(q
                .last_rcode
                .map_or(DnsError::Timeout, DnsError::ServerFailure)));
        } else {
            q.phase = Phase::Send {
                at: now,
                tcp: false,
            };
        }
    }

    /// Takes a UDP datagram from `src` to our port `dst_port`. Returns true when it answered
    /// a query (anything else is ignored).
    pub fn handle_udp(
        &mut self,
        now: Instant,
        src: SocketAddr,
        dst_port: u16,
        payload: &[u8],
    ) -> bool {
        let n = self.server_count();
        let Some(slot) = (0..Q).find(|&i| {
            self.queries[i].as_ref().is_some_and(|q| {
                q.port == dst_port
                    && matches!(q.phase, Phase::Await { tcp: false, .. })
                    && self
                        .servers
                        .iter()
                        .flatten()
                        .nth(usize::from(q.attempt) % n.max(1))
                        == Some(&src)
            })
        }) else {
            return false;
        };
        self.answer(now, slot, payload, false)
    }

    /// Takes the reply read from the TCP connection opened for `handle`: the 2-byte length
    /// prefix and the message. Returns true when it answered the query.
    pub fn handle_tcp(&mut self, now: Instant, handle: QueryHandle, payload: &[u8]) -> bool {
        let Some(q) = self.query_mut(handle) else {
            return false;
        };
        if !matches!(q.phase, Phase::Await { tcp: true, .. })
            || tcp_message_len(payload) != Some(payload.len())
        {
            return false;
        }
        self.answer(now, usize::from(handle.slot), &payload[2..], true)
    }

    /// Checks a reply against the query in `slot` and acts on it.
    fn answer(&mut self, now: Instant, slot: usize, payload: &[u8], over_tcp: bool) -> bool {
        let Some(q) = self.queries[slot] else {
            return false;
        };
        let Ok(msg) = Message::parse(payload) else {
            return false;
        };
        let h = msg.header();
        let mut questions = msg.questions();
        let same_question = questions.next().is_some_and(|qn| {
            qn.name.eq_buf(&q.current) && qn.qtype == q.qtype && qn.qclass == CLASS_IN
        }) && questions.next().is_none();
        if !h.response || h.id != q.id || h.opcode != 0 || !same_question {
            return false;
        }
        // RFC 7766 §5 / RFC 1035 §4.2.1: a truncated UDP answer is retried over TCP.
        if h.truncated && !over_tcp {
            self.set_phase(slot, Phase::Send { at: now, tcp: true });
            return true;
        }
        match Rcode::from(h.rcode) {
            Rcode::NoError => self.no_error(now, slot, &msg),
            Rcode::NxDomain => self.finish(slot, Err(DnsError::NxDomain)),
            // RFC 6891 §7: a FORMERR to an EDNS query: retry without it.
            Rcode::FormErr if q.use_edns => {
                if let Some(q) = self.queries[slot].as_mut() {
                    q.use_edns = false;
                    q.phase = Phase::Send {
                        at: now,
                        tcp: false,
                    };
                }
            }
            rcode => {
                if let Some(q) = self.queries[slot].as_mut() {
                    q.last_rcode = Some(rcode);
                }
                self.next_attempt(slot, now);
            }
        }
        true
    }

    fn set_phase(&mut self, slot: usize, phase: Phase) {
        if let Some(q) = self.queries[slot].as_mut() {
            q.phase = phase;
        }
    }

    fn finish(&mut self, slot: usize, result: Result<Answer, DnsError>) {
        if let Some(q) = self.queries[slot].as_mut() {
            q.phase = Phase::Done;
            q.result = Some(result);
        }
    }

    /// A NOERROR answer: follow the CNAME chain from the name asked, collect the addresses
    /// at its end; with only CNAMEs, ask again for the last target.
    fn no_error(&mut self, now: Instant, slot: usize, msg: &Message<'_>) {
        let Some(mut q) = self.queries[slot] else {
            return;
        };
        let mut name = q.current;
        let mut ttl = q.ttl;
        let mut addrs = [None; MAX_ADDRS];
        let mut count = 0;
        loop {
            for r in msg.answers() {
                if r.rtype != q.qtype || r.class != CLASS_IN || !r.name.eq_buf(&name) {
                    continue;
                }
                let addr = match r.data {
                    RData::A(a) => IpAddr::V4(a),
                    RData::Aaaa(a) => IpAddr::V6(a),
                    _ => continue,
                };
                ttl = ttl.min(r.ttl);
                if count < MAX_ADDRS {
                    addrs[count] = Some(addr);
                    count += 1;
                }
            }
            if count > 0 {
                break;
            }
            let cname = msg.answers().find_map(|r| match r.data {
                RData::Cname(target) if r.class == CLASS_IN && r.name.eq_buf(&name) => {
                    Some((target.to_buf(), r.ttl))
                }
                _ => None,
            });
            let Some((target, cname_ttl)) = cname else {
                break;
            };
            q.chain += 1;
            if usize::from(q.chain) > MAX_CNAME_CHAIN {
                return self.finish(slot, Err(DnsError::CnameChainTooLong));
            }
            name = target;
            ttl = ttl.min(cname_ttl);
        }
        if count > 0 {
            let answer = Answer {
                canonical: name,
                addrs,
                ttl,
                from_cache: false,
            };
            let cache_ttl = ttl.min(self.config.max_cache_ttl);
            self.cache
                .insert(now, &q.original, q.qtype, &answer, cache_ttl);
            return self.finish(slot, Ok(answer));
        }
        if name.eq_ignore_case(&q.current) {
            return self.finish(slot, Err(DnsError::NoData));
        }
        // Only CNAMEs: ask for the target (RFC 1034 §5.3.3), from the cache if we can.
        if let Some(hit) = self.cache.get(now, &name, q.qtype) {
            let answer = Answer {
                ttl: hit.ttl.min(ttl),
                ..hit
            };
            return self.finish(slot, Ok(answer));
        }
        q.current = name;
        q.ttl = ttl;
        q.attempt = 0;
        q.last_rcode = None;
        q.phase = Phase::Send {
            at: now,
            tcp: false,
        };
        self.queries[slot] = Some(q);
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
