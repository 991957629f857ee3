//! `stackclient dissect` end to end: summary, tree, JSON, pcapng input, and bad files.

use std::process::Command;

fn stackclient(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_stackclient"))
        .args(args)
        .output()
        .expect("run stackclient")
}

fn fixture(name: &str) -> String {
    format!(
        "{}/../proto-core/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn summary_line_per_frame() {
    let text = ok(&stackclient(&["dissect", &fixture("apps/dns.pcap")]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 8, "{text}");
    assert!(
        lines[0].contains("DNS query") && lines[0].contains("www.fx.test"),
        "{text}"
    );
    assert!(
        lines[1].contains("DNS response") && lines[1].contains("192.168.78.80"),
        "{text}"
    );
}

#[test]
fn tree_with_dash_v() {
    let text = ok(&stackclient(&["dissect", "-V", &fixture("tcp.pcap")]));
    assert!(
        text.starts_with("Frame 1: 74 bytes on wire, 74 bytes captured\n"),
        "{text}"
    );
    assert!(
        text.contains("Transmission Control Protocol, Src Port: "),
        "{text}"
    );
    assert!(text.contains("\n            MSS Value: 1460\n"), "{text}");
}

#[test]
fn json_is_one_array_of_frames() {
    let text = ok(&stackclient(&[
        "dissect",
        "--json",
        &fixture("apps/dhcp.pcap"),
    ]));
    let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let frames = json.as_array().unwrap();
    assert_eq!(frames.len(), 6);
    let layers: Vec<&str> = frames[0]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(layers, ["eth", "ip", "udp", "dhcp"]);
}

#[test]
fn reads_pcapng_written_by_editcap() {
    let out = std::env::temp_dir().join(format!("stackclient-{}.pcapng", std::process::id()));
    let Ok(status) = Command::new("editcap")
        .args(["-F", "pcapng", &fixture("arp.pcap")])
        .arg(&out)
        .status()
    else {
        eprintln!("WARNING: editcap not installed; skipped");
        return;
    };
    assert!(status.success());
    let text = ok(&stackclient(&["dissect", out.to_str().unwrap()]));
    std::fs::remove_file(&out).unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(
        text.contains("ARP, Request who-has 192.168.77.2 tell 192.168.77.1"),
        "{text}"
    );
}

#[test]
fn bad_files_give_precise_errors() {
    let out = stackclient(&["dissect", "/nonexistent/x.pcap"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read /nonexistent/x.pcap: No such file"),
        "{err}"
    );

    let out = stackclient(&[
        "dissect",
        &format!("{}/Cargo.toml", env!("CARGO_MANIFEST_DIR")),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is neither pcap nor pcapng"), "{err}");

    let bytes = std::fs::read(fixture("tcp.pcap")).unwrap();
    let cut = std::env::temp_dir().join(format!("stackclient-cut-{}.pcap", std::process::id()));
    std::fs::write(&cut, &bytes[..200]).unwrap();
    let out = stackclient(&["dissect", cut.to_str().unwrap()]);
    std::fs::remove_file(&cut).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("frame 2: pcap: record at byte 114 is truncated"),
        "{err}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}
