//! axum 0.8's [`Listener`](axum::serve::Listener) for our [`TcpListener`], so that
//! `axum::serve(listener, router)` serves over the userspace stack unchanged.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use super::{TcpListener, TcpStream};

impl axum::serve::Listener for TcpListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    /// axum's accept cannot fail: an error (the stack's link failed, no free socket slot) is
    /// logged and retried after a pause, as axum does for a kernel listener.
    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        let mut pause = Duration::from_millis(10);
        loop {
            match TcpListener::accept(self).await {
                Ok(x) => return x,
                Err(e) => {
                    tracing::warn!(local = %self.local_addr(), error = %e, "accept failed");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(TcpListener::local_addr(self))
    }
}
