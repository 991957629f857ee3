//! NTP packets (RFC 5905 §7.3), walked here for the offset of every field.

use super::{Class, Layer, Out, ProblemKind, Value, get32};

const L: Layer = Layer::Ntp;

fn mode_name(mode: u8) -> &'static str {
    match mode {
        1 => "symmetric active",
        2 => "symmetric passive",
        3 => "client",
        4 => "server",
        5 => "broadcast",
        6 => "control",
        7 => "private",
        _ => "reserved",
    }
}

/// Dissects an NTP packet at byte `at` of the frame (the 48-byte header; extension fields
/// and a MAC after it are shown as bytes).
pub(crate) fn ntp(out: &mut Out<'_, '_>, at: usize, msg: &[u8]) {
    out.layer(L, at, msg.len());
    if msg.len() < 48 {
        out.problem(L, "ntp.header", ProblemKind::Truncated);
        return;
    }
    let b = at * 8;
    let flags = msg[0];
    out.add(
        1,
        L,
        "ntp.flags",
        "Flags",
        Value::U64(flags.into()),
        at,
        1,
        Class::Flags,
    );
    let li = Value::U64((flags >> 6).into());
    out.add_bits(
        2,
        L,
        "ntp.flags.li",
        "Leap Indicator",
        li,
        b,
        2,
        Class::Number,
    );
    let vn = Value::U64((flags >> 3 & 7).into());
    out.add_bits(
        2,
        L,
        "ntp.flags.vn",
        "Version number",
        vn,
        b + 2,
        3,
        Class::Number,
    );
    let mode = flags & 7;
    let mv = Value::Enum(mode.into(), mode_name(mode));
    out.add_bits(2, L, "ntp.flags.mode", "Mode", mv, b + 5, 3, Class::Type);
    out.add(
        1,
        L,
        "ntp.stratum",
        "Peer Clock Stratum",
        Value::U64(msg[1].into()),
        at + 1,
        1,
        Class::Number,
    );
    out.add(
        1,
        L,
        "ntp.ppoll",
        "Peer Polling Interval",
        Value::U64(msg[2].into()),
        at + 2,
        1,
        Class::Number,
    );
    out.add(
        1,
        L,
        "ntp.precision",
        "Peer Clock Precision",
        Value::U64(msg[3].into()),
        at + 3,
        1,
        Class::Number,
    );
    let word = |i: usize| u64::from(get32(msg, i).unwrap_or(0));
    out.add(
        1,
        L,
        "ntp.rootdelay",
        "Root Delay",
        Value::U64(word(4)),
        at + 4,
        4,
        Class::Number,
    );
    out.add(
        1,
        L,
        "ntp.rootdispersion",
        "Root Dispersion",
        Value::U64(word(8)),
        at + 8,
        4,
        Class::Number,
    );
    let refid = Value::Bytes {
        start: (at + 12) as u32,
        len: 4,
    };
    out.add(
        1,
        L,
        "ntp.refid",
        "Reference ID",
        refid,
        at + 12,
        4,
        Class::Id,
    );
    let stamps = [
        ("ntp.reftime", "Reference Timestamp"),
        ("ntp.org", "Origin Timestamp"),
        ("ntp.rec", "Receive Timestamp"),
        ("ntp.xmt", "Transmit Timestamp"),
    ];
    for (i, (name, label)) in stamps.into_iter().enumerate() {
        let p = 16 + 8 * i;
        let v = Value::NtpTime(word(p) << 32 | word(p + 4));
        out.add(1, L, name, label, v, at + p, 8, Class::Timestamp);
    }
    if msg.len() > 48 {
        let v = Value::Bytes {
            start: (at + 48) as u32,
            len: (msg.len() - 48) as u32,
        };
        out.add(
            1,
            L,
            "ntp.ext",
            "Extensions and MAC",
            v,
            at + 48,
            msg.len() - 48,
            Class::Payload,
        );
    }
}
