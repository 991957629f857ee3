//! Shared helpers for proto-core's integration tests.
#![allow(dead_code)]

pub mod pair;
pub mod pcap;
pub mod smol;
