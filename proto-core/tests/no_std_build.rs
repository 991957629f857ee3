//! proto-core must build without its default features, i.e. as a pure `#![no_std]` crate with
//! no allocator. This runs that build (into its own target directory) as part of `cargo test`.

use std::path::Path;
use std::process::Command;

#[test]
fn builds_without_default_features() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let target_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/no-std-check");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--lib", "--no-default-features", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "cargo build -p proto-core --no-default-features failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
