#!/usr/bin/env python3
"""Talks to the Linux kernel through tapd, using only the Python standard library.

It plays a host on the TAP device's link: sends an ARP request for the TAP's address, waits
for the kernel's ARP reply, then pings that address with an ICMP echo request and waits for
the echo reply, answering the kernel's own ARP requests meanwhile. It prints every frame it
sends and the decoded answers.

    python3 scripts/tapclient.py [--url http://127.0.0.1:7070] [--ip 192.168.10.2]

Environment: TAPD_URL, TAPD_TOKEN (bearer token, if tapd has one). Exit status 0 when both
answers came, 1 otherwise.
"""

import argparse
import base64
import ipaddress
import json
import os
import random
import struct
import sys
import time
import urllib.error
import urllib.request


class Tapd:
    """The three endpoints of the original contract, plus the long-poll and batch forms."""

    def __init__(self, url, token=None):
        self.url = url.rstrip("/")
        self.token = token

    def _call(self, method, path, body=None):
        req = urllib.request.Request(self.url + path, data=body, method=method)
        if body is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(req, timeout=70) as resp:
                return resp.read()
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")
            raise SystemExit(f"tapclient: {method} {path}: HTTP {e.code}: {detail}")

    def info(self):
        return json.loads(self._call("GET", "/info"))

    def send(self, frame):
        self._call("POST", "/send", json.dumps(base64.b64encode(frame).decode()).encode())

    def recv(self, max_frames=64, wait_ms=500):
        body = self._call("GET", f"/recv?max={max_frames}&wait_ms={wait_ms}")
        return [base64.b64decode(s) for s in json.loads(body)]


def mac_str(b):
    return ":".join(f"{x:02x}" for x in b)


def mac_bytes(s):
    return bytes(int(x, 16) for x in s.split(":"))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ethernet(dst, src, ethertype, payload):
    return dst + src + struct.pack("!H", ethertype) + payload


def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + spa.packed + tha + tpa.packed


def ipv4(src, dst, proto, payload, ident):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, 64,
                         proto, 0, src.packed, dst.packed)
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def icmp_echo(ident, seq, data):
    msg = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data
    return msg[:2] + struct.pack("!H", checksum(msg)) + msg[4:]


def decode(frame):
    """A dict describing an ARP or IPv4/ICMP frame, or None for anything else."""
    if len(frame) < 14:
        return None
    dst, src, ethertype = frame[0:6], frame[6:12], struct.unpack("!H", frame[12:14])[0]
    body = frame[14:]
    if ethertype == 0x0806 and len(body) >= 28:
        op = struct.unpack("!H", body[6:8])[0]
        return {"kind": "arp", "op": op, "sha": body[8:14],
                "spa": ipaddress.IPv4Address(body[14:18]), "tha": body[18:24],
                "tpa": ipaddress.IPv4Address(body[24:28]), "dst": dst, "src": src}
    if ethertype == 0x0800 and len(body) >= 20:
        ihl = (body[0] & 0x0F) * 4
        total = struct.unpack("!H", body[2:4])[0]
        ip = {"kind": "ipv4", "ttl": body[8], "proto": body[9],
              "src": ipaddress.IPv4Address(body[12:16]),
              "dst": ipaddress.IPv4Address(body[16:20]),
              "header_ok": checksum(body[:ihl]) == 0}
        payload = body[ihl:total]
        if ip["proto"] == 1 and len(payload) >= 8:
            t, code, _, ident, seq = struct.unpack("!BBHHH", payload[:8])
            ip.update({"icmp_type": t, "icmp_code": code, "ident": ident, "seq": seq,
                       "data": payload[8:], "icmp_ok": checksum(payload) == 0})
        return ip
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=os.environ.get("TAPD_URL", "http://127.0.0.1:7070"))
    ap.add_argument("--token", default=os.environ.get("TAPD_TOKEN"))
    ap.add_argument("--ip", help="our address on the link (default: a free host of the prefix)")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each answer")
    args = ap.parse_args()

    tapd = Tapd(args.url, args.token)
    info = tapd.info()
    iface = ipaddress.IPv4Interface(info["IPPrefix"])
    tap_ip, tap_mac_reported = iface.ip, mac_bytes(info["HardwareAddr"])
    our_ip = ipaddress.IPv4Address(args.ip) if args.ip else next(
        h for h in iface.network.hosts() if h != tap_ip)
    our_mac = bytes([0x02]) + random.randbytes(5)  # locally administered, unicast
    print(f"tapd at {args.url}: TAP {tap_ip} ({info['HardwareAddr']}), MTU {info['MTU']}")
    print(f"we are {our_ip} ({mac_str(our_mac)})")

    def answer_arp(d):
        """Replies to the kernel's ARP requests for our address."""
        if d and d["kind"] == "arp" and d["op"] == 1 and d["tpa"] == our_ip:
            reply = ethernet(d["sha"], our_mac, 0x0806, arp(2, our_mac, our_ip, d["sha"], d["spa"]))
            tapd.send(reply)
            print(f"answered the kernel's ARP request: {our_ip} is at {mac_str(our_mac)}")

    def wait_for(what, match):
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            for frame in tapd.recv(64, 500):
                d = decode(frame)
                if d and match(d):
                    return d, frame
                answer_arp(d)
        raise SystemExit(f"tapclient: no {what} within {args.timeout} s")

    # 1. ARP: who has the TAP's address?
    request = ethernet(b"\xff" * 6, our_mac, 0x0806, arp(1, our_mac, our_ip, b"\0" * 6, tap_ip))
    tapd.send(request)
    print(f"sent ARP request: who has {tap_ip}? tell {our_ip} ({len(request)} bytes)")
    d, frame = wait_for("ARP reply", lambda d: d["kind"] == "arp" and d["op"] == 2
                        and d["spa"] == tap_ip and d["tpa"] == our_ip)
    print(f"ARP reply: {d['spa']} is at {mac_str(d['sha'])} (to {mac_str(d['dst'])}, "
          f"{len(frame)} bytes)")
    if d["sha"] != tap_mac_reported:
        raise SystemExit("tapclient: the ARP reply's MAC is not the one /info reports")
    tap_mac = d["sha"]

    # 2. ICMP echo to the TAP's address.
    ident, seq, data = os.getpid() & 0xFFFF, 1, b"tapclient.py says hello"
    packet = ipv4(our_ip, tap_ip, 1, icmp_echo(ident, seq, data), random.randrange(1 << 16))
    ping = ethernet(tap_mac, our_mac, 0x0800, packet)
    t0 = time.monotonic()
    tapd.send(ping)
    print(f"sent ICMP echo request to {tap_ip}: id={ident} seq={seq} ({len(data)} data bytes)")
    d, frame = wait_for("ICMP echo reply", lambda d: d["kind"] == "ipv4" and d["proto"] == 1
                        and d.get("icmp_type") == 0 and d["src"] == tap_ip
                        and d["ident"] == ident and d["seq"] == seq)
    rtt = (time.monotonic() - t0) * 1000
    ok = d["header_ok"] and d["icmp_ok"] and d["data"] == data
    print(f"ICMP echo reply from {d['src']}: id={d['ident']} seq={d['seq']} ttl={d['ttl']} "
          f"{len(d['data'])} data bytes, time={rtt:.1f} ms, "
          f"checksums {'ok' if ok else 'BAD'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
