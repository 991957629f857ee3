//! TCP over the userspace stack: [`TcpListener`] and [`TcpStream`] (tokio `AsyncRead` and
//! `AsyncWrite`, so hyper, axum and TLS libraries run over it unchanged).
//!
//! Errors map as the kernel's sockets do: a reset is `ConnectionReset`, retransmissions
//! running out `TimedOut`, a reset answering our SYN `ConnectionRefused`. The end of the
//! stream is a read of 0 bytes.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use proto_core::stack::SocketHandle;
use proto_core::tcp::{RecvError, SendError, State};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{Stack, connection_error, stack_error};

/// A listening TCP socket.
pub struct TcpListener {
    stack: Stack,
    handle: SocketHandle,
    local: SocketAddr,
}

impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpListener")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl TcpListener {
    /// Listens on `local` (its address may be unspecified: all of ours; the port must not be
    /// 0). `backlog` half-open connections are kept; past that, SYN cookies answer.
    pub fn bind(stack: &Stack, local: SocketAddr, backlog: usize) -> io::Result<Self> {
        let handle = stack.with_interface(|iface, _| {
            iface
                .tcp_listen(local, vec![None; backlog.max(1)])
                .map_err(stack_error)
        })??;
        Ok(Self {
            stack: stack.clone(),
            handle,
            local,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Waits for the next connection; returns it and the peer's address.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for the next connection (registers the task to wake when one completes).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let sh = self.stack.shared();
        let mut core = sh.lock();
        core.check()?;
        match core.iface.tcp_accept(self.handle) {
            Ok(Some(h)) => {
                let tuple = core.iface.tcp(h).map_err(stack_error)?.tuple();
                drop(core);
                let stream = TcpStream {
                    stack: self.stack.clone(),
                    handle: h,
                    local: tuple.local,
                    peer: tuple.remote,
                };
                Poll::Ready(Ok((stream, tuple.remote)))
            }
            Ok(None) => {
                core.wait_read(self.handle, cx.waker());
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(stack_error(e))),
        }
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        let sh = self.stack.shared();
        let mut core = sh.lock();
        core.forget(self.handle);
        let _ = core.iface.tcp_release(self.handle);
        drop(core);
        sh.poke();
    }
}

/// A TCP connection. Reading returns 0 at the peer's FIN; [`shutdown`] (tokio's
/// `AsyncWriteExt::shutdown`) half-closes (sends our FIN after the queued data; reading goes
/// on). Dropping it closes gracefully: the queued data and the FIN still go out, and the stack
/// frees the connection after TIME-WAIT.
///
/// [`shutdown`]: tokio::io::AsyncWriteExt::shutdown
pub struct TcpStream {
    stack: Stack,
    handle: SocketHandle,
    local: SocketAddr,
    peer: SocketAddr,
}

impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local)
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl TcpStream {
    /// Opens a connection to `remote` from our address of its family and an ephemeral port,
    /// and waits until it is established.
    pub async fn connect(stack: &Stack, remote: SocketAddr) -> io::Result<Self> {
        let size = stack.shared().tcp_buffer;
        let (handle, local) = stack.with_interface(|iface, now| {
            let h = iface
                .tcp_connect(remote, None, now, vec![0; size], vec![0; size])
                .map_err(stack_error)?;
            let local = iface.tcp(h).map_err(stack_error)?.tuple().local;
            Ok::<_, io::Error>((h, local))
        })??;
        // Built first so that dropping this future (or failing) releases the connection.
        let stream = Self {
            stack: stack.clone(),
            handle,
            local,
            peer: remote,
        };
        poll_fn(|cx| stream.poll_connected(cx)).await?;
        Ok(stream)
    }

    fn poll_connected(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut core = self.stack.shared().lock();
        core.check()?;
        let conn = core.iface.tcp(self.handle).map_err(stack_error)?;
        let state = conn.state();
        if state.is_synchronized() {
            return Poll::Ready(Ok(()));
        }
        if state == State::Closed {
            return Poll::Ready(Err(match conn.error() {
                Some(e) => connection_error(e),
                None => io::Error::new(
                    io::ErrorKind::NotConnected,
                    "the connection closed before it was established",
                ),
            }));
        }
        core.wait_write(self.handle, cx.waker());
        Poll::Pending
    }

    /// Our address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// Aborts the connection (RFC 9293 §3.10.5): the peer gets a reset, queued data is
    /// discarded. (What `SO_LINGER` 0 and a close do on a kernel socket.)
    pub fn abort(self) {
        let sh = self.stack.shared();
        if let Ok(conn) = sh.lock().iface.tcp(self.handle) {
            conn.abort();
        }
        // Drop releases the slot and pokes the driver, which sends the reset.
    }

    /// The connection's TCP state.
    pub fn state(&self) -> io::Result<State> {
        self.stack
            .shared()
            .lock()
            .iface
            .tcp_state(self.handle)
            .map_err(stack_error)
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let sh = self.stack.shared();
        let mut core = sh.lock();
        let conn = match core.iface.tcp(self.handle) {
            Ok(c) => c,
            Err(e) => {
                core.check()?;
                return Poll::Ready(Err(stack_error(e)));
            }
        };
        let mut total = 0;
        // Two rounds at most: the readable bytes may wrap around the end of the ring.
        let outcome = loop {
            let r = conn.recv_with(|data| {
                let n = data.len().min(buf.remaining());
                buf.put_slice(&data[..n]);
                n
            });
            match r {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    total += n;
                    if buf.remaining() == 0 {
                        break Ok(());
                    }
                }
                Err(e) => break Err(e),
            }
        };
        if total > 0 {
            drop(core);
            // Reading may open the receive window: let the driver send the update.
            sh.poke();
            return Poll::Ready(Ok(()));
        }
        match outcome {
            Ok(()) => {
                core.check()?;
                core.wait_read(self.handle, cx.waker());
                Poll::Pending
            }
            // The end of the stream: a read of 0 bytes.
            Err(RecvError::Finished) => Poll::Ready(Ok(())),
            Err(RecvError::Failed(e)) => Poll::Ready(Err(connection_error(e))),
            Err(e) => Poll::Ready(Err(io::Error::new(io::ErrorKind::NotConnected, e))),
        }
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let sh = self.stack.shared();
        let mut core = sh.lock();
        core.check()?;
        let conn = core.iface.tcp(self.handle).map_err(stack_error)?;
        match conn.send(data) {
            Ok(0) => {
                core.wait_write(self.handle, cx.waker());
                Poll::Pending
            }
            Ok(n) => {
                drop(core);
                sh.poke();
                Poll::Ready(Ok(n))
            }
            Err(SendError::Failed(e)) => Poll::Ready(Err(connection_error(e))),
            Err(e) => Poll::Ready(Err(io::Error::new(io::ErrorKind::BrokenPipe, e))),
        }
    }

    /// Every slice that fits, in order, under one lock (hyper then queues a response's
    /// head and body chunks instead of copying them into one buffer first).
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let Some(first) = bufs.iter().position(|b| !b.is_empty()) else {
            return Poll::Ready(Ok(0));
        };
        let sh = self.stack.shared();
        let mut core = sh.lock();
        core.check()?;
        let conn = core.iface.tcp(self.handle).map_err(stack_error)?;
        let mut written = 0;
        for b in &bufs[first..] {
            match conn.send(b) {
                Ok(n) => {
                    written += n;
                    if n < b.len() {
                        break;
                    }
                }
                Err(_) if written > 0 => break,
                Err(SendError::Failed(e)) => return Poll::Ready(Err(connection_error(e))),
                Err(e) => return Poll::Ready(Err(io::Error::new(io::ErrorKind::BrokenPipe, e))),
            }
        }
        if written == 0 {
            core.wait_write(self.handle, cx.waker());
            return Poll::Pending;
        }
        drop(core);
        sh.poke();
        Poll::Ready(Ok(written))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    /// Data written is already queued in the connection: nothing to flush.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Half-close: queues our FIN after the data already written (RFC 9293 §3.10.4).
    /// Reading continues until the peer closes too.
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let sh = self.stack.shared();
        let mut core = sh.lock();
        core.check()?;
        let conn = core.iface.tcp(self.handle).map_err(stack_error)?;
        if let Some(e) = conn.error() {
            return Poll::Ready(Err(connection_error(e)));
        }
        conn.close();
        drop(core);
        sh.poke();
        Poll::Ready(Ok(()))
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        let sh = self.stack.shared();
        let mut core = sh.lock();
        core.forget(self.handle);
        let _ = core.iface.tcp_release(self.handle);
        drop(core);
        sh.poke();
    }
}
