//! Fuzz target `ipv6_ext`: see `targets::ipv6_ext` in `../targets.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../targets.rs"]
#[allow(dead_code)]
mod targets;

fuzz_target!(|data: &[u8]| targets::ipv6_ext(data));
