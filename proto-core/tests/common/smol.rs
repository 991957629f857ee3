//! A smoltcp 0.14 endpoint for [`proto_core::sim`]: an Ethernet `Interface` with one IPv4
//! address over a queue-backed `phy::Device`, one TCP socket (256 KiB buffers, CUBIC,
//! checksums computed and verified), and app-side helpers that write and verify a deterministic
//! byte pattern. Used by `tests/sim_smoltcp.rs` and `benches/tcp_throughput.rs` (included there
//! by path), and as the interop peer of the TCP engine.
//!
//! The endpoint is the stack *and* its application: `poll_at` is "now" while the application
//! has work it can do (data to read once reading started, room to write the rest of the
//! pattern), so the harness does not jump the clock past an application that could act.

use std::collections::VecDeque;

use proto_core::sim::Endpoint;
use proto_core::time::Instant;
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::tcp;
use smoltcp::time::Instant as SmolInstant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Address};

/// The server's address (TEST-NET-1, RFC 5737: the traffic never leaves memory).
pub const SERVER_IP: Ipv4Address = Ipv4Address::new(192, 0, 2, 1);
/// The client's address.
pub const CLIENT_IP: Ipv4Address = Ipv4Address::new(192, 0, 2, 2);
/// The client's (fixed, so runs are deterministic) local port.
pub const CLIENT_PORT: u16 = 49_152;
/// Send and receive buffer size of the socket.
pub const BUFFER_SIZE: usize = 256 * 1024;
/// Largest Ethernet frame: a 1,500-byte IP MTU plus the 14-byte header.
pub const FRAME_MTU: usize = 1514;

/// The pattern repeats with this period: a prime, so a run of bytes shifted, dropped or
/// duplicated by anything but a multiple of it shows.
const PATTERN_PERIOD: usize = 65_521;

/// One period of the pattern: byte `x` is `x * 7 + x / 251` (mod 256). The fill and check
/// copy and compare against it (memcpy / memcmp speed), so that the benchmark measures the
/// stacks and not the test pattern.
fn pattern_table() -> &'static [u8] {
    static TABLE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        (0..PATTERN_PERIOD as u64)
            .map(|x| (x.wrapping_mul(7).wrapping_add(x / 251)) as u8)
            .collect()
    })
}

/// The pattern byte at stream offset `offset`.
#[inline]
pub fn pattern_byte(offset: u64) -> u8 {
    pattern_table()[(offset % PATTERN_PERIOD as u64) as usize]
}

/// Calls `f(buf_range, table_slice)` over `len` bytes from stream offset `offset`, one
/// piece per period boundary.
fn pattern_pieces(
    offset: u64,
    len: usize,
    mut f: impl FnMut(core::ops::Range<usize>, &[u8]) -> bool,
) {
    let table = pattern_table();
    let mut at = (offset % PATTERN_PERIOD as u64) as usize;
    let mut done = 0;
    while done < len {
        let n = (PATTERN_PERIOD - at).min(len - done);
        if !f(done..done + n, &table[at..at + n]) {
            return;
        }
        done += n;
        at = 0;
    }
}

/// Fills `buf` with the pattern from stream offset `offset`.
pub fn pattern_fill(offset: u64, buf: &mut [u8]) {
    pattern_pieces(offset, buf.len(), |range, want| {
        buf[range].copy_from_slice(want);
        true
    });
}

/// Checks `buf` against the pattern from stream offset `offset`; the first wrong byte's
/// offset, what it was and what it should be, on a mismatch.
pub fn pattern_check(offset: u64, buf: &[u8]) -> Result<(), String> {
    let mut result = Ok(());
    pattern_pieces(offset, buf.len(), |range, want| {
        let got = &buf[range.clone()];
        if got == want {
            return true;
        }
        let i = got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(0);
        result = Err(format!(
            "byte {}: got {:#04x}, expected {:#04x}",
            offset + (range.start + i) as u64,
            got[i],
            want[i]
        ));
        false
    });
    result
}

/// Our microseconds to smoltcp's.
#[inline]
fn to_smol(t: Instant) -> SmolInstant {
    SmolInstant::from_micros(i64::try_from(t.micros()).unwrap_or(i64::MAX))
}

/// smoltcp's microseconds to ours (smoltcp says "now" as the instant 0).
#[inline]
fn from_smol(t: SmolInstant) -> Instant {
    Instant::from_micros(u64::try_from(t.total_micros()).unwrap_or(0))
}

/// A `phy::Device` over two frame queues, with recycled buffers.
#[derive(Debug, Default)]
struct QueueDevice {
    /// Frames arrived (filled by `ingress`).
    rx: VecDeque<Vec<u8>>,
    /// Frames to send (drained by `egress`).
    tx: VecDeque<Vec<u8>>,
    rx_free: Vec<Vec<u8>>,
    tx_free: Vec<Vec<u8>>,
}

struct QueueRxToken<'a> {
    buf: Vec<u8>,
    free: &'a mut Vec<Vec<u8>>,
}

impl phy::RxToken for QueueRxToken<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        let r = f(&self.buf);
        self.free.push(self.buf);
        r
    }
}

struct QueueTxToken<'a> {
    tx: &'a mut VecDeque<Vec<u8>>,
    free: &'a mut Vec<Vec<u8>>,
}

impl phy::TxToken for QueueTxToken<'_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let mut buf = self.free.pop().unwrap_or_default();
        buf.clear();
        buf.resize(len, 0);
        let r = f(&mut buf);
        self.tx.push_back(buf);
        r
    }
}

impl Device for QueueDevice {
    type RxToken<'a> = QueueRxToken<'a>;
    type TxToken<'a> = QueueTxToken<'a>;

    fn receive(&mut self, _: SmolInstant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let Self {
            rx,
            tx,
            rx_free,
            tx_free,
        } = self;
        let buf = rx.pop_front()?;
        Some((
            QueueRxToken { buf, free: rx_free },
            QueueTxToken { tx, free: tx_free },
        ))
    }

    fn transmit(&mut self, _: SmolInstant) -> Option<Self::TxToken<'_>> {
        Some(QueueTxToken {
            tx: &mut self.tx,
            free: &mut self.tx_free,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        // Checksums: the default capabilities compute and verify every one.
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = FRAME_MTU;
        caps
    }
}

/// A smoltcp stack with one TCP socket, plus the application that writes or reads the
/// pattern. See the module doc.
pub struct SmolEndpoint {
    iface: Interface,
    device: QueueDevice,
    sockets: SocketSet<'static>,
    handle: SocketHandle,
    /// The latest instant seen.
    now: Instant,
    /// smoltcp's own next deadline, as of the last poll.
    next_poll: Option<Instant>,
    /// Something changed since the last poll (a frame arrived, the application acted).
    dirty: bool,
    /// Pattern bytes handed to the socket, and how many the application means to write.
    written: u64,
    write_total: u64,
    /// Pattern bytes read and verified; whether the application reads.
    verified: u64,
    reading: bool,
    /// The reader saw the end of the stream.
    fin_read: bool,
}

impl SmolEndpoint {
    fn new(ip: Ipv4Address, mac: [u8; 6], seed: u64) -> Self {
        let mut device = QueueDevice::default();
        let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
        config.random_seed = seed;
        let mut iface = Interface::new(config, &mut device, SmolInstant::ZERO);
        iface.update_ip_addrs(|addrs| {
            addrs
                .push(IpCidr::new(IpAddress::Ipv4(ip), 24))
                .expect("one address fits");
        });
        let mut socket = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; BUFFER_SIZE]),
            tcp::SocketBuffer::new(vec![0; BUFFER_SIZE]),
        );
        socket.set_congestion_control(tcp::CongestionControl::Cubic);
        let mut sockets = SocketSet::new(Vec::new());
        let handle = sockets.add(socket);
        Self {
            iface,
            device,
            sockets,
            handle,
            now: Instant::ZERO,
            next_poll: None,
            dirty: true,
            written: 0,
            write_total: 0,
            verified: 0,
            reading: false,
            fin_read: false,
        }
    }

    /// A server at [`SERVER_IP`] listening on `port`.
    pub fn server(port: u16) -> Self {
        let mut ep = Self::new(SERVER_IP, [0x02, 0, 0, 0, 0, 0x01], 0x5e4e);
        ep.socket_mut().listen(port).expect("listen");
        ep
    }

    /// A client at [`CLIENT_IP`] connecting (at its first poll) to `remote`:`port`.
    pub fn client(remote: Ipv4Address, port: u16) -> Self {
        let mut ep = Self::new(CLIENT_IP, [0x02, 0, 0, 0, 0, 0x02], 0xc11e);
        let socket = ep.sockets.get_mut::<tcp::Socket>(ep.handle);
        socket
            .connect(
                ep.iface.context(),
                (IpAddress::Ipv4(remote), port),
                CLIENT_PORT,
            )
            .expect("connect");
        ep
    }

    /// The TCP socket.
    pub fn socket(&self) -> &tcp::Socket<'static> {
        self.sockets.get::<tcp::Socket>(self.handle)
    }

    /// The TCP socket, to change its settings.
    pub fn socket_mut(&mut self) -> &mut tcp::Socket<'static> {
        self.dirty = true;
        self.sockets.get_mut::<tcp::Socket>(self.handle)
    }

    /// The socket's TCP state.
    pub fn state(&self) -> tcp::State {
        self.socket().state()
    }

    /// Fully closed as far as this end is concerned: Closed or TimeWait.
    pub fn is_closed(&self) -> bool {
        matches!(self.state(), tcp::State::Closed | tcp::State::TimeWait)
    }

    /// The peer closed its half and every byte it sent has been read (as seen by the last
    /// `read_verify`).
    pub fn eof(&self) -> bool {
        self.fin_read
    }

    /// Pattern bytes written into the socket so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Pattern bytes read and verified so far.
    pub fn verified(&self) -> u64 {
        self.verified
    }

    /// Writes the pattern up to stream offset `total`, as far as the socket takes it now;
    /// returns the bytes written so far. Call again as the socket drains.
    pub fn write_pattern(&mut self, total: u64) -> u64 {
        self.write_total = self.write_total.max(total);
        let mut written = self.written;
        let socket = self.sockets.get_mut::<tcp::Socket>(self.handle);
        // At most two passes: the ring buffer's free space is in at most two pieces.
        for _ in 0..2 {
            if written >= total || !socket.can_send() {
                break;
            }
            let left = total - written;
            let n = socket
                .send(|buf| {
                    let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    pattern_fill(written, &mut buf[..n]);
                    (n, n)
                })
                .unwrap_or(0);
            if n == 0 {
                break;
            }
            written += n as u64;
        }
        if written != self.written {
            self.written = written;
            self.dirty = true;
        }
        written
    }

    /// Reads everything available and checks it against the pattern; the bytes verified so
    /// far, or where the stream went wrong.
    pub fn read_verify(&mut self) -> Result<u64, String> {
        self.read_verify_max(u64::MAX)
    }

    /// [`read_verify`](Self::read_verify), reading at most `max` bytes (a slow reader).
    pub fn read_verify_max(&mut self, max: u64) -> Result<u64, String> {
        self.reading = true;
        let mut verified = self.verified;
        let mut budget = max;
        let socket = self.sockets.get_mut::<tcp::Socket>(self.handle);
        let mut result = Ok(());
        for _ in 0..3 {
            if budget == 0 {
                break;
            }
            let r = socket.recv(|buf| {
                let n = buf.len().min(usize::try_from(budget).unwrap_or(usize::MAX));
                (n, (n, pattern_check(verified, &buf[..n])))
            });
            let (n, check) = match r {
                Ok(r) => r,
                // The peer's FIN came and every byte before it has been read.
                Err(tcp::RecvError::Finished) => {
                    self.fin_read = true;
                    break;
                }
                Err(tcp::RecvError::InvalidState) => break,
            };
            if n == 0 {
                break;
            }
            result = check;
            verified += n as u64;
            budget -= n as u64;
            if result.is_err() {
                break;
            }
        }
        if verified != self.verified {
            self.verified = verified;
            self.dirty = true;
        }
        result.map(|()| verified)
    }

    /// Closes the sending half (a FIN follows the data already written).
    pub fn close(&mut self) {
        self.socket_mut().close();
    }

    /// Runs smoltcp at `now`: ingress, egress, timers; caches its next deadline.
    fn poll(&mut self, now: Instant) {
        let ts = to_smol(now);
        self.iface.poll(ts, &mut self.device, &mut self.sockets);
        self.next_poll = self.iface.poll_at(ts, &self.sockets).map(from_smol);
        self.dirty = false;
    }

    /// The application could act now: data waits for a reader that reads, or the socket has
    /// room for the rest of the pattern.
    fn app_ready(&self) -> bool {
        let socket = self.socket();
        (self.reading && socket.can_recv())
            || (self.written < self.write_total && socket.can_send())
    }
}

impl Endpoint for SmolEndpoint {
    fn ingress(&mut self, now: Instant, frame: &[u8]) {
        self.now = self.now.max(now);
        let mut buf = self.device.rx_free.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(frame);
        self.device.rx.push_back(buf);
        self.dirty = true;
    }

    fn egress(&mut self, now: Instant, buf: &mut [u8]) -> usize {
        self.now = self.now.max(now);
        if self.device.tx.is_empty() && (self.dirty || self.next_poll.is_some_and(|t| t <= now)) {
            self.poll(now);
        }
        let Some(frame) = self.device.tx.pop_front() else {
            return 0;
        };
        let n = frame.len().min(buf.len());
        buf[..n].copy_from_slice(&frame[..n]);
        self.device.tx_free.push(frame);
        n
    }

    fn poll_at(&self) -> Option<Instant> {
        if self.dirty || !self.device.tx.is_empty() || self.app_ready() {
            return Some(self.now);
        }
        self.next_poll
    }
}
