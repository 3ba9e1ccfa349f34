//! The text of a JSON number in an event's canonical form, the input of its
//! id. One text for one value, however the body spelled it (`1`, `1.0`,
//! `1e0`, `10E-1` and `1.000` are one number), so a redelivery that
//! re-serializes its numbers keeps its id.
//!
//! The value is what the body's text reads as: an integer written without
//! fraction or exponent that fits 64 bits (`u64` or `i64`) is exact; any
//! other number is the nearest `f64` (as in JavaScript, where RFC 8785's
//! canonical JSON comes from). It is written:
//! - when it is a whole number from -2^63 to 2^64 - 1: its decimal digits,
//!   `-` first when negative (`0` for negative zero), so integers up to 64
//!   bits stay exact and `1736846100.0` reads as `1736846100`;
//! - otherwise (a fraction, or beyond 64 bits): the fewest significant
//!   digits that read back as that `f64`, as the `zmij` crate (serde_json's
//!   own float formatting) lays them out: plain decimal when the first
//!   digit's exponent X is from -5 to 15 (`0.1`, `0.00001234`), else one
//!   digit, `.` and the rest when there is a rest, `e`, the exponent's sign
//!   and digits (`1.5e-7`, `1e+21`, `1.8446744073709552e+19`).
//!
//! `zmij` is pinned in Cargo.lock; the golden ids in `tests/event_ids.rs`
//! fail if a release of it ever wrote a float differently.

use serde_json::Number;

/// 2^64, the first whole `f64` past `u64`.
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;
/// -2^63, `i64::MIN`.
const MINUS_TWO_POW_63: f64 = -9_223_372_036_854_775_808.0;

/// Appends the canonical text of `n`.
pub(crate) fn write_number(out: &mut Vec<u8>, n: &Number) {
    if let Some(u) = n.as_u64() {
        write_integer(out, u, false);
    } else if let Some(i) = n.as_i64() {
        write_integer(out, i.unsigned_abs(), i < 0);
    } else if let Some(f) = n.as_f64() {
        write_f64(out, f);
    }
}

/// The canonical text of `n` as a string: how a number read as text (an
/// id, an order value) is kept, so that it too is one text for one value.
pub(crate) fn text(n: &Number) -> String {
    let mut out = Vec::with_capacity(24);
    write_number(&mut out, n);
    // Only ASCII digits, signs, `.` and `e` were written.
    String::from_utf8(out).unwrap_or_default()
}

fn write_integer(out: &mut Vec<u8>, magnitude: u64, negative: bool) {
    if negative {
        out.push(b'-');
    }
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = magnitude;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

/// Appends the canonical text of a float (see the module's rules).
fn write_f64(out: &mut Vec<u8>, f: f64) {
    if !f.is_finite() {
        // Never a JSON number: serde_json refuses one out of range.
        out.extend_from_slice(b"null");
    } else if f.fract() == 0.0 && (MINUS_TWO_POW_63..TWO_POW_64).contains(&f) {
        // Whole and within 64 bits, so the casts are exact.
        if f >= 0.0 {
            write_integer(out, f as u64, false);
        } else {
            write_integer(out, (f as i64).unsigned_abs(), true);
        }
    } else {
        out.extend_from_slice(zmij::Buffer::new().format_finite(f).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn number_text(json: &str) -> String {
        let n: Number = serde_json::from_str(json).unwrap();
        let mut out = Vec::new();
        write_number(&mut out, &n);
        String::from_utf8(out).unwrap()
    }

    /// JSON number text → canonical text.
    const PINNED: &[(&str, &str)] = &[
        ("0", "0"),
        ("-0", "0"),
        ("0.0", "0"),
        ("-0.0", "0"),
        ("0e10", "0"),
        ("-0e-10", "0"),
        ("1", "1"),
        ("1.0", "1"),
        ("1e0", "1"),
        ("10E-1", "1"),
        ("1.000", "1"),
        ("0.1e1", "1"),
        ("-1", "-1"),
        ("-1.0", "-1"),
        ("100.0", "100"),
        ("1e5", "100000"),
        ("1E+5", "100000"),
        ("1736846100.0", "1736846100"),
        ("1.7368461e9", "1736846100"),
        ("1e15", "1000000000000000"),
        ("1e16", "10000000000000000"),
        ("9007199254740993", "9007199254740993"),
        ("9007199254740992.0", "9007199254740992"),
        ("9223372036854775807", "9223372036854775807"),
        ("-9223372036854775808", "-9223372036854775808"),
        ("-9223372036854775808.0", "-9223372036854775808"),
        ("9223372036854775808.0", "9223372036854775808"),
        ("18446744073709551615", "18446744073709551615"),
        ("1.8446744073709550e19", "18446744073709549568"),
        // Beyond 64 bits: the nearest f64, in zmij's layout.
        ("18446744073709551616", "1.8446744073709552e+19"),
        ("1.8446744073709552e19", "1.8446744073709552e+19"),
        ("-9223372036854777856", "-9.223372036854778e+18"),
        ("123456789012345678901234567890", "1.2345678901234568e+29"),
        ("1e21", "1e+21"),
        ("2.5e+300", "2.5e+300"),
        ("-2.5E300", "-2.5e+300"),
        ("1.7976931348623157e308", "1.7976931348623157e+308"),
        // Fractions: as before, the fewest digits that read back.
        ("0.1", "0.1"),
        ("-0.1", "-0.1"),
        ("4.35", "4.35"),
        ("0.5", "0.5"),
        ("1.5E-7", "1.5e-7"),
        ("1e-5", "0.00001"),
        ("1e-6", "1e-6"),
        ("0.00001234", "0.00001234"),
        ("123e-20", "1.23e-18"),
        ("123456789.123456789", "123456789.12345679"),
        ("0.30000000000000004", "0.30000000000000004"),
        ("3.14159265358979323846264338327950288", "3.141592653589793"),
        ("5e-324", "5e-324"),
        ("2.2250738585072014e-308", "2.2250738585072014e-308"),
        ("1125899906842624.25", "1125899906842624.2"),
        ("1125899906842624.75", "1125899906842624.8"),
        ("5.9604644775390625e-8", "5.960464477539063e-8"),
    ];

    #[test]
    fn the_pinned_texts_are_written() {
        for (json, expected) in PINNED {
            assert_eq!(number_text(json), *expected, "{json}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// Every finite float is written as a text that reads back as the
        /// same value, and as serde_json's own text when not whole.
        #[test]
        fn every_float_reads_back_as_itself(bits in any::<u64>()) {
            let f = f64::from_bits(bits);
            if let Some(n) = Number::from_f64(f) {
                let mut out = Vec::new();
                write_number(&mut out, &n);
                let text = String::from_utf8(out).unwrap();
                let back: f64 = text.parse().unwrap();
                prop_assert!(back == f, "{} reads back as {}", text, back);
                if f.fract() != 0.0 {
                    prop_assert_eq!(text, n.to_string());
                }
            }
        }

        /// A whole number within 64 bits is written alike from an integer
        /// and from a float.
        #[test]
        fn whole_floats_are_written_as_their_integer(i in any::<i64>(), u in any::<u64>()) {
            for float in [i as f64, u as f64, (i >> 11) as f64] {
                if float >= TWO_POW_64 {
                    continue;
                }
                let integer = if float >= 0.0 {
                    Number::from(float as u64)
                } else {
                    Number::from(float as i64)
                };
                let (mut a, mut b) = (Vec::new(), Vec::new());
                write_f64(&mut a, float);
                write_number(&mut b, &integer);
                prop_assert_eq!(a, b);
            }
        }
    }
}
