//! An ICMP echo client over the stack's echo API ([`Iface::icmp_echo_send`],
//! [`Iface::poll_echo_reply`]): what `stackclient ping` uses.
//!
//! Replies are matched by identifier; the stack keeps one queue of replies for everyone, so a
//! reply with another identifier taken by a [`Pinger`] is discarded. One pinger per stack at
//! a time is what this is for.
//!
//! [`Iface::icmp_echo_send`]: proto_core::stack::Interface::icmp_echo_send
//! [`Iface::poll_echo_reply`]: proto_core::stack::Interface::poll_echo_reply

use std::future::poll_fn;
use std::io;
use std::net::IpAddr;
use std::task::Poll;

use proto_core::stack::EchoReply;

use super::{Stack, stack_error};

/// Sends Echo Requests with one identifier and waits for the matching replies.
#[derive(Debug, Clone)]
pub struct Pinger {
    stack: Stack,
    ident: u16,
}

impl Pinger {
    /// A pinger with identifier `ident` (a random one avoids mixing with other pingers on the
    /// same network that share our address: there are none, but a kernel ping uses its pid).
    pub fn new(stack: &Stack, ident: u16) -> Self {
        Self {
            stack: stack.clone(),
            ident,
        }
    }

    /// The identifier of the requests.
    pub fn ident(&self) -> u16 {
        self.ident
    }

    /// Queues an Echo Request with sequence number `seq_no` and `data` toward `dst` (it leaves
    /// once the next hop is resolved). Errors as the stack's: no address of that family, no
    /// route, too big for the MTU, queue full.
    pub fn send(&self, dst: IpAddr, seq_no: u16, data: &[u8]) -> io::Result<()> {
        self.stack
            .with_interface(|iface, now| iface.icmp_echo_send(dst, self.ident, seq_no, data, now))?
            .map_err(stack_error)
    }

    /// Waits for the next Echo Reply with our identifier (others are discarded).
    pub async fn recv(&self) -> io::Result<EchoReply> {
        poll_fn(|cx| {
            let mut core = self.stack.shared().lock();
            core.check()?;
            while let Some(r) = core.iface.poll_echo_reply() {
                if r.ident == self.ident {
                    return Poll::Ready(Ok(r));
                }
            }
            core.wait_echo(cx.waker());
            Poll::Pending
        })
        .await
    }
}
