//! Rust UDFs for Weft, built with sdk/rust/weft_udf.rs (no crates needed).
#[path = "../../sdk/rust/weft_udf.rs"]
#[macro_use]
mod weft_udf;
use weft_udf::{error, Call, WeftError};

weft_module!(
    "function clamp_i64 scalar (l, l, l) -> l strict\nfunction rot13 scalar (u) -> u strict\n",
    dispatch
);

fn dispatch(f: i32, c: &mut Call) -> Result<(), WeftError> {
    match f {
        0 => clamp(c),
        1 => rot13(c),
        _ => Err(error("42883", "unknown function")),
    }
}

fn clamp(c: &mut Call) -> Result<(), WeftError> {
    for i in 0..c.rows {
        let (x, lo, hi) = (c.i64_at(0, c.row(0, i)), c.i64_at(1, c.row(1, i)), c.i64_at(2, c.row(2, i)));
        if lo > hi {
            return Err(error("22023", "clamp_i64: lower bound above upper bound"));
        }
        c.set_i64(i, x.max(lo).min(hi));
    }
    Ok(())
}

fn rot13(c: &mut Call) -> Result<(), WeftError> {
    for i in 0..c.rows {
        let out: Vec<u8> = c
            .bytes_at(0, c.row(0, i))
            .iter()
            .map(|&b| match b {
                b'a'..=b'z' => (b - b'a' + 13) % 26 + b'a',
                b'A'..=b'Z' => (b - b'A' + 13) % 26 + b'A',
                _ => b,
            })
            .collect();
        c.push_bytes(i, &out);
    }
    Ok(())
}
