//! The TAP device: opening and configuring it (as root, through the `tun` crate), the
//! [`Link`] that writes to it, and the reader task that drains it into the [`Hub`].
//!
//! The device is not persistent: the kernel removes it when its file descriptor closes, which
//! needs no privilege, so the daemon can remove it on shutdown after it has dropped root.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::IpAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use proto_core::stack::{MAX_SEGMENTED_PACKET, Segmentation, VIRTIO_NET_HDR_LEN};
use proto_core::wire::ethernet::EthernetAddress;
use proto_core::wire::ipv4::Ipv4Cidr;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tun::AbstractDevice;

use crate::body::max_frame_len_any;
use crate::hub::{Hub, Link, bump};

/// The smallest MTU Linux accepts on an Ethernet device (`ETH_MIN_MTU`).
pub const MIN_MTU: u16 = 68;
/// The largest MTU a Linux TAP device accepts (64 KiB less the Ethernet header).
pub const MAX_MTU: u16 = 65_521;
/// The longest interface name Linux accepts (`IFNAMSIZ` less the NUL).
pub const MAX_NAME_LEN: usize = 15;

/// Why the device could not be opened or configured.
#[derive(Debug, thiserror::Error)]
pub enum TapError {
    /// The name is empty, too long, or has a character Linux refuses in interface names.
    #[error(
        "invalid device name {0:?}: 1 to {MAX_NAME_LEN} characters, none of '/', ':', whitespace"
    )]
    BadName(String),
    /// A network interface of that name exists already.
    #[error("device {0} already exists; pick another --name or remove it (ip link del {0})")]
    Exists(String),
    /// The address cannot be a host address of a device.
    #[error("bad --addr {cidr}: {why}")]
    BadAddress {
        /// The address given.
        cidr: Ipv4Cidr,
        /// Why it is refused.
        why: &'static str,
    },
    /// The MTU is outside what a TAP device takes.
    #[error("bad --mtu {0}: must be from {MIN_MTU} to {MAX_MTU}")]
    BadMtu(u16),
    /// Creating the device failed.
    #[error("creating TAP device {name}: {source}")]
    Create {
        /// The device name.
        name: String,
        /// The error from the kernel.
        source: tun::Error,
    },
    /// A configuration step failed.
    #[error("{step} on {name}: {source}")]
    Configure {
        /// What was being done.
        step: String,
        /// The device name.
        name: String,
        /// The error from the kernel.
        source: tun::Error,
    },
    /// The device's MAC address could not be read.
    #[error("reading the MAC address of {name}: {why}")]
    HardwareAddr {
        /// The device name.
        name: String,
        /// What went wrong.
        why: String,
    },
}

/// Checks an interface name as Linux's `dev_valid_name` does.
pub fn check_name(name: &str) -> Result<(), TapError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(TapError::BadName(name.to_string()))
    }
}

/// Checks that an address can be a device's own: refuses prefixes that would claim every
/// route, and addresses that are a network's, a broadcast, loopback, multicast or reserved.
pub fn check_address(cidr: Ipv4Cidr) -> Result<(), TapError> {
    let a = cidr.address();
    let bad = |why| Err(TapError::BadAddress { cidr, why });
    if cidr.prefix_len() == 0 {
        return bad("a /0 prefix would route every address to the device");
    }
    if a.is_unspecified() {
        return bad("0.0.0.0 is not a host address");
    }
    if a.is_loopback() {
        return bad("loopback addresses (127.0.0.0/8) belong to lo");
    }
    if a.is_multicast() {
        return bad("multicast addresses (224.0.0.0/4) are not host addresses");
    }
    if a.is_broadcast() || a.octets()[0] >= 240 {
        return bad("addresses from 240.0.0.0 up are reserved or broadcast");
    }
    if cidr.prefix_len() < 31 && a == cidr.network() {
        return bad("that is the network address of the prefix; use a host address like .1");
    }
    if cidr.prefix_len() < 31 && a == cidr.broadcast() {
        return bad("that is the broadcast address of the prefix");
    }
    Ok(())
}

/// What device to create.
#[derive(Debug, Clone)]
pub struct TapConfig {
    /// The interface name, e.g. `tap0`.
    pub name: String,
    /// Its address and prefix.
    pub addr: Ipv4Cidr,
    /// Its MTU.
    pub mtu: u16,
}

/// An open, configured, up TAP device.
pub struct TapDevice {
    device: tun::Device,
    name: String,
    hardware_addr: EthernetAddress,
}

impl std::fmt::Debug for TapDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TapDevice")
            .field("name", &self.name)
            .field("hardware_addr", &self.hardware_addr)
            .finish_non_exhaustive()
    }
}

/// True when a network interface of this name exists in this network namespace.
pub fn exists(name: &str) -> bool {
    nix::net::if_::if_nametoindex(name).is_ok()
}

impl TapDevice {
    /// Creates the device, gives it its address and MTU, and sets it up. Needs CAP_NET_ADMIN.
    ///
    /// Refuses a name that is taken: attaching to someone else's persistent device would make
    /// us remove nothing on exit and share its frames. (The check and the creation are two
    /// steps; only another root process could slip in between.)
    pub fn open(config: &TapConfig) -> Result<Self, TapError> {
        let name = &config.name;
        check_name(name)?;
        check_address(config.addr)?;
        if !(MIN_MTU..=MAX_MTU).contains(&config.mtu) {
            return Err(TapError::BadMtu(config.mtu));
        }
        if exists(name) {
            return Err(TapError::Exists(name.clone()));
        }
        let mut tun_config = tun::Configuration::default();
        tun_config.tun_name(name).layer(tun::Layer::L2);
        // We configure step by step below, to say which step failed.
        tun_config.platform_config(|p| {
            p.ensure_root_privileges(false);
            // virtio-net headers on every frame: they let clients hand over TCP frames of up
            // to 64 KiB for the kernel to segment (see `TapLink::send_segmented`).
            p.vnet_hdr(true);
        });
        let mut device = tun::create(&tun_config).map_err(|source| TapError::Create {
            name: name.clone(),
            source,
        })?;
        let step = |what: String, r: tun::Result<()>| {
            r.map_err(|source| TapError::Configure {
                step: what,
                name: name.clone(),
                source,
            })
        };
        let a = config.addr;
        step(
            format!("setting address {}", a.address()),
            device.set_address(IpAddr::V4(a.address())),
        )?;
        step(
            format!("setting netmask {}", a.netmask()),
            device.set_netmask(IpAddr::V4(a.netmask())),
        )?;
        if a.prefix_len() < 31 {
            step(
                format!("setting broadcast {}", a.broadcast()),
                device.set_broadcast(IpAddr::V4(a.broadcast())),
            )?;
        }
        step(
            format!("setting MTU {}", config.mtu),
            device.set_mtu(config.mtu),
        )?;
        step("setting the link up".into(), device.enabled(true))?;
        let hardware_addr = read_hardware_addr(name)?;
        Ok(Self {
            device,
            name: name.clone(),
            hardware_addr,
        })
    }

    /// The interface name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The MAC address the kernel gave the device.
    pub fn hardware_addr(&self) -> EthernetAddress {
        self.hardware_addr
    }

    /// Registers the device with the tokio reactor (call inside a runtime), for readability
    /// and errors: a device deleted under us (`ip link del`) reports only an error, and the
    /// reader must wake for it.
    pub fn into_link(self) -> io::Result<TapLink> {
        self.device.set_nonblock()?;
        let interest = Interest::READABLE | Interest::ERROR;
        // SAFETY: `tun::Device` owns its descriptor from creation to drop and its `as_raw_fd`
        // always returns that same descriptor, so it stays open and unchanged for as long as
        // the `AsyncFd` (which owns the device) lives.
        let fd = unsafe { AsyncFd::register_with_interest(self.device, interest) }
            .map_err(io::Error::from)?;
        Ok(TapLink { fd })
    }

    /// Starts the reader thread: it registers the device with a reactor of its own and drains
    /// it into the hub that `make_hub` builds around the link, until [`Reader::stop`] or a
    /// read error (which also starts the hub's shutdown).
    ///
    /// A thread of its own, rather than a task among the HTTP ones, keeps the frame path free
    /// of the HTTP scheduler: reading waits in its own epoll and is never queued behind
    /// requests (on 2 cores this measured steadier and ~10% faster in the batched benchmark).
    pub fn start_reader<F>(self, make_hub: F) -> io::Result<(Arc<Hub>, Reader)>
    where
        F: FnOnce(Arc<TapLink>) -> Arc<Hub> + Send + 'static,
    {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("tapd-reader".into())
            .spawn(move || -> io::Result<()> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_io()
                    .build()?;
                runtime.block_on(async move {
                    let link = Arc::new(self.into_link()?);
                    let hub = make_hub(link.clone());
                    let _ = ready_tx.send(hub.clone());
                    let result = tokio::select! {
                        r = link.read_loop(hub.clone()) => r,
                        _ = stop_rx => Ok(()),
                    };
                    if let Err(e) = &result {
                        tracing::error!(error = %e, "reading the device failed; shutting down");
                        hub.begin_shutdown();
                    }
                    result
                })
            })?;
        match ready_rx.recv() {
            Ok(hub) => Ok((
                hub,
                Reader {
                    thread,
                    stop: stop_tx,
                },
            )),
            // The thread ended before it had a hub: its result says why.
            Err(_) => Err(match thread.join() {
                Ok(Err(e)) => e,
                _ => io::Error::other("the reader thread ended early"),
            }),
        }
    }
}

/// The running reader thread of [`TapDevice::start_reader`].
#[derive(Debug)]
pub struct Reader {
    thread: std::thread::JoinHandle<io::Result<()>>,
    stop: tokio::sync::oneshot::Sender<()>,
}

impl Reader {
    /// Stops reading and waits for the thread; returns the read error that ended it, if one did.
    pub fn stop(self) -> io::Result<()> {
        let _ = self.stop.send(());
        self.thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the reader thread panicked")))
    }
}

/// Reads the device's MAC address from the kernel (netlink, this network namespace).
fn read_hardware_addr(name: &str) -> Result<EthernetAddress, TapError> {
    let err = |why: String| TapError::HardwareAddr {
        name: name.to_string(),
        why,
    };
    let addrs = nix::ifaddrs::getifaddrs().map_err(|e| err(e.to_string()))?;
    for ifa in addrs {
        if ifa.interface_name != name {
            continue;
        }
        if let Some(mac) = ifa
            .address
            .as_ref()
            .and_then(|a| a.as_link_addr())
            .and_then(|l| l.addr())
        {
            return Ok(EthernetAddress(mac));
        }
    }
    Err(err("the kernel lists no link-layer address".into()))
}

/// The open device, registered with tokio: writes go straight to it (a TAP write does not
/// block), reads happen in [`TapLink::read_loop`].
pub struct TapLink {
    fd: AsyncFd<tun::Device>,
}

impl std::fmt::Debug for TapLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TapLink").finish_non_exhaustive()
    }
}

impl Link for Arc<TapLink> {
    fn send(&self, frame: &[u8]) -> io::Result<()> {
        self.send_segmented(frame, None)
    }

    fn tso(&self) -> usize {
        MAX_SEGMENTED_PACKET
    }

    /// One `writev(2)` of the virtio-net header and the frame: the kernel cuts a frame with
    /// a segmentation into MSS-sized TCP segments (GSO). The descriptor is non-blocking and
    /// a TAP write never waits for room.
    fn send_segmented(&self, frame: &[u8], seg: Option<Segmentation>) -> io::Result<()> {
        let header = Segmentation::virtio_net_hdr(seg);
        let iov = [IoSlice::new(&header), IoSlice::new(frame)];
        let n = nix::sys::uio::writev(&self.fd, &iov)?;
        if n == header.len() + frame.len() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "short write: {n} of {} bytes",
                header.len() + frame.len()
            )))
        }
    }
}

/// Frames read per wake-up before they are handed to the hub under one lock.
const READ_BATCH: usize = 64;

impl TapLink {
    /// Drains the device into the hub for as long as the device is open, with or without HTTP
    /// clients, so the kernel's queue never stalls. Sleeps in epoll when there is nothing to
    /// read. Frames are cut from one large buffer (one allocation per ~256 KiB, not per frame).
    pub async fn read_loop(self: Arc<Self>, hub: Arc<Hub>) -> io::Result<()> {
        let room = max_frame_len_any(hub.config().mtu) + 64;
        let chunk_len = (256 * 1024).max(16 * room);
        let mut chunk = BytesMut::zeroed(chunk_len);
        let mut batch: Vec<Bytes> = Vec::with_capacity(READ_BATCH);
        loop {
            let mut guard = self.fd.ready(Interest::READABLE | Interest::ERROR).await?;
            // Read until the device is empty (which clears the readiness), handing frames to
            // the hub 64 at a time. An error (EBADFD once the device is deleted) ends the loop.
            loop {
                if chunk.len() < room {
                    chunk = BytesMut::zeroed(chunk_len);
                }
                let read = guard.try_io(|fd| {
                    // The virtio-net header in front of each frame is skipped: no offloads
                    // are enabled toward us, so frames arrive whole and checksummed.
                    let mut header = [0u8; VIRTIO_NET_HDR_LEN];
                    let mut iov = [
                        IoSliceMut::new(&mut header),
                        IoSliceMut::new(&mut chunk[..room]),
                    ];
                    nix::sys::uio::readv(fd, &mut iov).map_err(io::Error::from)
                });
                match read {
                    Ok(Ok(n)) => {
                        let n = n.saturating_sub(VIRTIO_NET_HDR_LEN);
                        if n == 0 {
                            continue;
                        }
                        batch.push(chunk.split_to(n).freeze());
                        if batch.len() == READ_BATCH {
                            hub.ingest(&batch);
                            batch.clear();
                        }
                    }
                    Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                    Ok(Err(e)) => {
                        hub.ingest(&batch);
                        bump(&hub.stats().tap_read_errors, 1);
                        return Err(e);
                    }
                    Err(_would_block) => break,
                }
            }
            hub.ingest(&batch);
            batch.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_linux_rules() {
        for ok in ["tap0", "t", "tap-test_1.2", "fifteen_chars_x"] {
            check_name(ok).unwrap();
        }
        for bad in ["", ".", "..", "a/b", "a:b", "a b", "sixteen_chars_xx"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn addresses_that_cannot_be_a_host_are_refused() {
        for ok in [
            "192.168.10.1/24",
            "10.0.0.1/8",
            "192.168.10.254/24",
            "10.1.1.0/31",
            "10.1.1.1/32",
        ] {
            check_address(ok.parse().unwrap()).unwrap();
        }
        for (bad, why) in [
            ("192.168.10.0/24", "network address"),
            ("192.168.10.255/24", "broadcast address"),
            ("10.0.0.1/0", "/0"),
            ("127.0.0.2/8", "loopback"),
            ("0.0.0.0/8", "0.0.0.0"),
            ("224.0.0.1/4", "multicast"),
            ("255.255.255.255/32", "reserved"),
        ] {
            let e = check_address(bad.parse().unwrap()).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
