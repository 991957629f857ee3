//! Fuzz target `http`: see `app_targets::http` in `../app_targets.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../app_targets.rs"]
#[allow(dead_code)]
mod app_targets;

fuzz_target!(|data: &[u8]| app_targets::http(data));
