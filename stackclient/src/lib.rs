//! stackclient: the userspace stack's runtime (links, driver, sockets).
