//! UDP over the userspace stack.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use proto_core::stack::{SocketHandle, StackError};

use super::{Stack, stack_error};

/// Bytes a queued datagram takes besides its payload (record length and source address).
const RECORD_OVERHEAD: usize = 4 + 19;

/// A bound UDP socket. Dropping it closes it once the datagrams already queued have been
/// handed to the link (those waiting for address resolution are dropped). Datagrams larger than the MTU are fragmented over IPv4 (not over
/// IPv6) and reassembled on receipt, up to the stack's reassembly size.
pub struct UdpSocket {
    stack: Stack,
    handle: SocketHandle,
    local: SocketAddr,
    queue: usize,
}

impl std::fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl UdpSocket {
    /// Binds to `local` (port 0: an ephemeral port; an unspecified address: all of ours).
    pub fn bind(stack: &Stack, local: SocketAddr) -> io::Result<Self> {
        let (handle, local) = stack.with_interface(|iface, _| {
            let h = iface.udp_bind(local).map_err(stack_error)?;
            let local = iface.udp_local(h).map_err(stack_error)?;
            Ok::<_, io::Error>((h, local))
        })??;
        Ok(Self {
            stack: stack.clone(),
            handle,
            local,
            queue: stack.shared().udp_queue,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Sends one datagram to `remote`, waiting for room in the send queue.
    pub async fn send_to(&self, data: &[u8], remote: SocketAddr) -> io::Result<usize> {
        if data.len() + RECORD_OVERHEAD > self.queue {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a {}-byte datagram does not fit the socket's {}-byte send queue \
                     (Capacities::udp_queue)",
                    data.len(),
                    self.queue
                ),
            ));
        }
        poll_fn(|cx| self.poll_send_to(cx, data, remote)).await
    }

    /// Polls to queue one datagram to `remote`.
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        data: &[u8],
        remote: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        let sh = self.stack.shared();
        let mut core = sh.lock();
        core.check()?;
        match core.iface.udp_send_to(self.handle, remote, data) {
            Ok(()) => {
                drop(core);
                sh.poke();
                Poll::Ready(Ok(data.len()))
            }
            Err(StackError::QueueFull) => {
                core.wait_udp_room(cx.waker());
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(stack_error(e))),
        }
    }

    /// Waits for a datagram; copies it into `buf` (truncated to fit) and returns the bytes
    /// copied and its source.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_recv_from(cx, buf)).await
    }

    /// Polls for a datagram (see [`recv_from`](Self::recv_from)).
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        let sh = self.stack.shared();
        let mut core = sh.lock();
        match core.iface.udp_recv_from(self.handle, buf) {
            Ok(Some((len, from))) => Poll::Ready(Ok((len.min(buf.len()), from))),
            Ok(None) => {
                core.check()?;
                core.wait_read(self.handle, cx.waker());
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(stack_error(e))),
        }
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        let sh = self.stack.shared();
        sh.lock().close_udp_later(self.handle);
        sh.poke();
    }
}
