//! stackclient command line.
fn main() {}
