//! stackclient: the userspace stack's runtime and command line.
//!
//! So far it holds [`decode`], one-line summaries of Ethernet frames from proto-core's wire
//! layer. The links, the driver task and the tokio sockets land with the stack issue.

pub mod decode;
