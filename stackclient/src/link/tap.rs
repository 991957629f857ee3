//! A Linux TAP device as a [`Link`] (needs CAP_NET_ADMIN to create the device).
//!
//! The device is opened with the `tun` crate, as tapd does, in the network namespace of the
//! calling thread, made non-blocking and registered with tokio's reactor. A receive batch is
//! every frame readable until `readv(2)` says `EWOULDBLOCK` (at most [`READ_BATCH`]); sending
//! is one `writev(2)` per frame (a TAP write never waits for room).
//!
//! The device is not persistent: the kernel removes it when the link is dropped.
//!
//! It is opened with virtio-net headers (`IFF_VNET_HDR`): every frame read or written is
//! preceded by a 10-byte `struct virtio_net_hdr`. That lets the stack hand the kernel TCP
//! segments of up to 64 KiB with "cut this into MSS-sized segments" (GSO, [`Link::tso`]):
//! one `write(2)` and one pass through the kernel's receive path per 64 KiB instead of per
//! 1.5 KB. The checksums in such a frame are complete (`flags` 0), so the kernel needs no
//! offload trust: it verifies them on local delivery, or recomputes them if it forwards and
//! segments. Reads get plain frames (no offloads are enabled for the device's transmit
//! side), with a header that is skipped.

use std::io::{self, IoSlice, IoSliceMut};

use proto_core::stack::{MAX_SEGMENTED_PACKET, Segmentation, VIRTIO_NET_HDR_LEN as VNET_HDR_LEN};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tun::AbstractDevice;

use super::{FrameBatch, Link};

/// Frames taken per receive batch at most.
pub const READ_BATCH: usize = 64;

/// Room for an Ethernet header and two VLAN tags in front of an MTU-sized packet.
const FRAME_OVERHEAD: usize = 14 + 8;

/// An open TAP device registered with tokio.
pub struct TapLink {
    fd: AsyncFd<tun::Device>,
    name: String,
    mtu: usize,
}

impl std::fmt::Debug for TapLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TapLink")
            .field("name", &self.name)
            .field("mtu", &self.mtu)
            .finish_non_exhaustive()
    }
}

impl TapLink {
    /// Creates the TAP device `name` in this thread's network namespace and sets its link up
    /// (addresses on the kernel's side are the caller's business, e.g. `ip addr add`). Must be
    /// called inside a tokio runtime with I/O enabled.
    pub fn open(name: &str) -> io::Result<Self> {
        let mut config = tun::Configuration::default();
        config.tun_name(name).layer(tun::Layer::L2);
        config.platform_config(|p| {
            p.ensure_root_privileges(false);
            p.vnet_hdr(true);
        });
        let mut device = tun::create(&config).map_err(|e| {
            io::Error::other(format!(
                "creating TAP device {name} (needs CAP_NET_ADMIN): {e}"
            ))
        })?;
        device
            .enabled(true)
            .map_err(|e| io::Error::other(format!("setting {name} up: {e}")))?;
        let mtu = device
            .mtu()
            .map_err(|e| io::Error::other(format!("reading the MTU of {name}: {e}")))?;
        device.set_nonblock()?;
        // Readable, and errors: a device deleted under us (`ip link del`) only reports an
        // error, and the driver must wake to see it.
        let interest = Interest::READABLE | Interest::ERROR;
        // SAFETY: `tun::Device` owns its descriptor from creation to drop and its `as_raw_fd`
        // always returns that same descriptor, so it stays open and unchanged for as long as
        // the `AsyncFd` (which owns the device) lives. (The same reasoning as tapd's.)
        let fd = unsafe { AsyncFd::register_with_interest(device, interest) }?;
        Ok(Self {
            fd,
            name: name.to_string(),
            mtu: usize::from(mtu),
        })
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Link for TapLink {
    async fn recv_batch(&mut self, out: &mut FrameBatch) -> io::Result<()> {
        out.clear();
        let room = self.mtu + FRAME_OVERHEAD;
        loop {
            // Waiting for readiness is cancel-safe; frames are read only after it.
            let mut guard = self.fd.ready(Interest::READABLE | Interest::ERROR).await?;
            while out.len() < READ_BATCH {
                let read = guard.try_io(|fd| {
                    let mut r = Ok(0);
                    let mut header = [0u8; VNET_HDR_LEN];
                    out.push_with(room, |buf| {
                        let mut iov = [IoSliceMut::new(&mut header), IoSliceMut::new(buf)];
                        r = nix::sys::uio::readv(fd, &mut iov);
                        r.map_or(0, |n| n.saturating_sub(VNET_HDR_LEN))
                    });
                    r.map_err(io::Error::from)
                });
                match read {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                    Ok(Err(e)) => {
                        if !out.is_empty() {
                            // Deliver what we have; the error comes back on the next call.
                            return Ok(());
                        }
                        return Err(io::Error::new(
                            e.kind(),
                            format!("reading TAP device {}: {e}", self.name),
                        ));
                    }
                    Err(_would_block) => break,
                }
            }
            if !out.is_empty() {
                return Ok(());
            }
        }
    }

    async fn send_batch(&mut self, frames: &FrameBatch) -> io::Result<()> {
        for (frame, seg) in frames.iter_segmented() {
            let header = Segmentation::virtio_net_hdr(seg);
            match nix::sys::uio::writev(&self.fd, &[IoSlice::new(&header), IoSlice::new(frame)]) {
                Ok(_) => {}
                // The kernel's queue for the device is full: dropped, as on a wire.
                Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::ENOBUFS) => {
                    tracing::debug!(device = %self.name, "TAP write dropped: queue full");
                }
                Err(e) => {
                    return Err(io::Error::new(
                        io::Error::from(e).kind(),
                        format!("writing to TAP device {}: {e}", self.name),
                    ));
                }
            }
        }
        Ok(())
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn tso(&self) -> usize {
        MAX_SEGMENTED_PACKET
    }
}
