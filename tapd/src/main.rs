//! tapd: exposes a TAP device over HTTP. The daemon itself lands with issue 3.
fn main() {}
