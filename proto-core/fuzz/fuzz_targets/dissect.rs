//! Fuzz target `dissect`: see `targets::dissect` in `../targets.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../targets.rs"]
#[allow(dead_code)]
mod targets;

fuzz_target!(|data: &[u8]| targets::dissect(data));
