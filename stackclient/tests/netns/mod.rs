//! Network namespaces for the root tests: created with loopback up and IPv6 off, entered by a
//! thread, and removed with every process left in them.

#![allow(dead_code)] // each test binary uses a subset
use std::os::fd::AsFd;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Creates a namespace named `{prefix}-{tag}-{pid}-{n}` with its loopback up and IPv6 off (no
/// router solicitations or DAD on the devices), and returns its name. Panics, saying how to
/// run the test, when not root.
pub fn create(prefix: &str, tag: &str) -> String {
    assert!(
        nix::unistd::Uid::effective().is_root(),
        "this test creates network namespaces and TAP devices: run it as root (CI runs \
         scripts/test.sh as root)"
    );
    let name = format!(
        "{prefix}-{tag}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    run(Command::new("ip").args(["netns", "add", &name]));
    let exec = |args: &[&str]| run(Command::new("ip").args(["netns", "exec", &name]).args(args));
    exec(&["ip", "link", "set", "lo", "up"]);
    for key in ["all", "default"] {
        exec(&[
            "sysctl",
            "-q",
            "-w",
            &format!("net.ipv6.conf.{key}.disable_ipv6=1"),
        ]);
    }
    name
}

/// Moves the calling thread into namespace `name` (threads it creates later live there too).
pub fn enter(name: &str) {
    let path = format!("/run/netns/{name}");
    let ns = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
        .unwrap_or_else(|e| panic!("setns {path}: {e}"));
}

/// Kills every process left in namespace `name` (or `ip netns del` would leave it alive), then
/// deletes it. For `Drop`: errors are ignored.
pub fn remove(name: &str) {
    if let Ok(out) = Command::new("ip").args(["netns", "pids", name]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if let Ok(pid) = pid.parse::<i32>() {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
    let _ = Command::new("ip").args(["netns", "del", name]).status();
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
