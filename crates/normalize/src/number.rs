//! The text of a JSON number in an event's canonical form, the input of its
//! id. Written here rather than by serde_json, so that no serde_json release
//! can change an id by writing a float differently (its 1.0.154 already
//! wrote them differently from its earlier releases: `1e+16`, not `1e16`).
//!
//! The text is exactly what serde_json 1.0.154 wrote when the first ids
//! were stored, so no stored id changes:
//! - an integer that fits `u64` or `i64` (serde_json reads those as
//!   integers): its decimal digits, `-` first when negative;
//! - any other number (a fraction, an exponent, `-0`, an integer past
//!   `u64`/`i64`) is the nearest `f64`, written with the fewest significant
//!   digits that read back as that same `f64`; of two such texts equally
//!   near the `f64`, the one ending in an even digit. Laid out by the
//!   decimal exponent X of its first digit:
//!   - `0.0` (`-0.0` for negative zero);
//!   - -5 ≤ X ≤ 15: plain decimal with at least one digit after the point
//!     (`100000.0`, `123.45`, `0.00001234`);
//!   - otherwise: one digit, `.` and the rest when there is a rest, `e`, the
//!     exponent's sign (`+` or `-`) and its digits without leading zeros
//!     (`1e+16`, `1.5e-7`, `2.5e+300`, `5e-324`).

use serde_json::Number;
use std::fmt::{self, Write as _};

/// Appends the canonical text of `n`.
pub(crate) fn write_number(out: &mut Vec<u8>, n: &Number) {
    if let Some(u) = n.as_u64() {
        write_u64(out, u);
    } else if let Some(i) = n.as_i64() {
        if i < 0 {
            out.push(b'-');
        }
        write_u64(out, i.unsigned_abs());
    } else if let Some(f) = n.as_f64() {
        write_f64(out, f);
    }
}

fn write_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

/// Appends the canonical text of a float (see the module's rules).
pub(crate) fn write_f64(out: &mut Vec<u8>, f: f64) {
    if !f.is_finite() {
        // A JSON number is never one (serde_json refuses it); written as
        // serde_json writes it in a `Value`.
        out.extend_from_slice(b"null");
        return;
    }
    if f.is_sign_negative() {
        out.push(b'-');
    }
    let f = f.abs();
    if f == 0.0 {
        out.extend_from_slice(b"0.0");
        return;
    }
    match shortest(f) {
        Some((digits, exp)) => lay_out(out, digits, exp),
        // Not reached: `{:e}` of a finite float always reads back.
        None => {
            let _ = write!(Bytes(out), "{f:e}");
        }
    }
}

/// The fewest significant digits that read back as `f` (positive, finite,
/// not zero), as `digits × 10^exp` with no trailing zero in `digits`.
fn shortest(f: f64) -> Option<(u64, i32)> {
    // Rust's `{:e}` writes the shortest digits that read back; of two
    // equally near `f` it takes the larger (Rust 1.95), where serde_json
    // 1.0.154 took the even one. `to_even` settles such ties toward the
    // even digit whichever way `{:e}` went.
    let mut text = Stack::default();
    write!(text, "{f:e}").ok()?;
    let text = std::str::from_utf8(text.as_bytes()).ok()?;
    let (mantissa, exponent) = text.split_once('e')?;
    let first_digit_exp: i32 = exponent.parse().ok()?;
    let mut digits = 0u64;
    let mut count = 0i32;
    for b in mantissa.bytes().filter(|&b| b != b'.') {
        if !b.is_ascii_digit() || count >= 19 {
            return None;
        }
        digits = digits * 10 + u64::from(b - b'0');
        count += 1;
    }
    let exp = first_digit_exp.checked_sub(count - 1)?;
    Some(without_trailing_zeros(to_even(f, digits, exp)))
}

/// `digits × 10^exp` as given, unless its last digit is odd, `f` lies
/// exactly halfway between it and a neighbour one unit of that digit away,
/// and the neighbour reads back as `f` too: then the neighbour, whose last
/// digit is even.
fn to_even(f: f64, digits: u64, exp: i32) -> (u64, i32) {
    if digits % 2 == 0 || exp >= 0 {
        // An integer is never halfway between two shorter texts that both
        // read back as it.
        return (digits, exp);
    }
    let bits = f.to_bits();
    let fraction = bits & ((1 << 52) - 1);
    let biased = (bits >> 52) & 0x7ff;
    // f = significand × 2^unit_exp, the significand with its implicit bit.
    let (significand, unit_exp) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased as i32 - 1075)
    };
    // f = odd × 2^low_exp.
    let zeros = significand.trailing_zeros();
    let (odd, low_exp) = (significand >> zeros, unit_exp + zeros as i32);
    // Halfway between two k-digit texts a unit 10^exp apart means
    // 2f = (2n + 1) × 10^exp: f's last decimal digit is the 5 at 10^(exp-1),
    // which needs low_exp = exp - 1, and 2n + 1 = odd × 5^-exp.
    let Ok(neg_exp @ 1..=27) = u32::try_from(-i64::from(exp)) else {
        return (digits, exp);
    };
    if low_exp != exp - 1 {
        return (digits, exp);
    }
    let pow5 = 5u128.pow(neg_exp);
    let twice = u128::from(odd) * pow5;
    let below = (twice - 1) / 2;
    let written = u128::from(digits);
    let (other, half_gap_exp) = if written == below + 1 {
        // The other one is below f: within half the gap to the float
        // below, which is half as wide at a power of two.
        let narrow = fraction == 0 && biased > 1;
        (below, unit_exp - 1 - i32::from(narrow))
    } else if written == below {
        (below + 1, unit_exp - 1)
    } else {
        return (digits, exp);
    };
    // The other text is 10^exp / 2 = 2^(exp-1) / 5^-exp away from f; it
    // reads back as f when that is at most 2^half_gap_exp, i.e. when
    // 2^(exp - 1 - half_gap_exp) <= 5^-exp (never equal).
    let shift = exp - 1 - half_gap_exp;
    let within = match u32::try_from(shift) {
        Ok(shift @ 0..=120) => (1u128 << shift) <= pow5,
        Ok(_) => false,
        Err(_) => true,
    };
    match u64::try_from(other) {
        Ok(other) if within => (other, exp),
        _ => (digits, exp),
    }
}

fn without_trailing_zeros((mut digits, mut exp): (u64, i32)) -> (u64, i32) {
    while digits != 0 && digits % 10 == 0 {
        digits /= 10;
        exp += 1;
    }
    (digits, exp)
}

/// Writes `digits × 10^exp` (positive) in the module's layout.
fn lay_out(out: &mut Vec<u8>, digits: u64, exp: i32) {
    let mut text = Vec::with_capacity(20);
    write_u64(&mut text, digits);
    let n = text.len() as i32;
    let first = exp + n - 1;
    if (-5..=15).contains(&first) {
        if exp >= 0 {
            // 1234e2 -> 123400.0
            out.extend_from_slice(&text);
            out.resize(out.len() + exp as usize, b'0');
            out.extend_from_slice(b".0");
        } else if first >= 0 {
            // 1234e-2 -> 12.34
            let (int, frac) = text.split_at(first as usize + 1);
            out.extend_from_slice(int);
            out.push(b'.');
            out.extend_from_slice(frac);
        } else {
            // 1234e-6 -> 0.001234
            out.extend_from_slice(b"0.");
            out.resize(out.len() + (-first - 1) as usize, b'0');
            out.extend_from_slice(&text);
        }
    } else {
        // 1234e30 -> 1.234e+33
        let (lead, rest) = text.split_at(1);
        out.extend_from_slice(lead);
        if !rest.is_empty() {
            out.push(b'.');
            out.extend_from_slice(rest);
        }
        out.extend_from_slice(if first < 0 { b"e-" } else { b"e+" });
        write_u64(out, u64::from(first.unsigned_abs()));
    }
}

/// A formatter target on the stack: `{:e}` of an f64 is at most 24 bytes.
#[derive(Default)]
struct Stack {
    bytes: [u8; 32],
    len: usize,
}

impl Stack {
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl fmt::Write for Stack {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let slot = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

struct Bytes<'a>(&'a mut Vec<u8>);

impl fmt::Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(f: f64) -> String {
        let mut out = Vec::new();
        write_f64(&mut out, f);
        String::from_utf8(out).unwrap()
    }

    fn number_text(json: &str) -> String {
        let n: Number = serde_json::from_str(json).unwrap();
        let mut out = Vec::new();
        write_number(&mut out, &n);
        String::from_utf8(out).unwrap()
    }

    /// JSON number text → canonical text, as serde_json 1.0.154 wrote them
    /// when the first ids were stored.
    const PINNED: &[(&str, &str)] = &[
        ("0", "0"),
        ("-0", "-0.0"),
        ("0.0", "0.0"),
        ("-0.0", "-0.0"),
        ("1", "1"),
        ("-1", "-1"),
        ("1.0", "1.0"),
        ("100.0", "100.0"),
        ("-100.0", "-100.0"),
        ("0.1", "0.1"),
        ("-0.1", "-0.1"),
        ("1e5", "100000.0"),
        ("1E5", "100000.0"),
        ("1e+5", "100000.0"),
        ("1.5E-7", "1.5e-7"),
        ("2.5e+300", "2.5e+300"),
        ("-2.5E300", "-2.5e+300"),
        ("1e-5", "0.00001"),
        ("1e-6", "1e-6"),
        ("1e-7", "1e-7"),
        ("0.0001", "0.0001"),
        ("0.00001234", "0.00001234"),
        ("1e15", "1000000000000000.0"),
        ("1e16", "1e+16"),
        ("1e17", "1e+17"),
        ("1e21", "1e+21"),
        ("1e23", "1e+23"),
        ("1e100", "1e+100"),
        ("123e-20", "1.23e-18"),
        ("123456789.123456789", "123456789.12345679"),
        ("0.30000000000000004", "0.30000000000000004"),
        ("5e-324", "5e-324"),
        ("2.2250738585072014e-308", "2.2250738585072014e-308"),
        ("1.7e-310", "1.7e-310"),
        ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ("4.35", "4.35"),
        ("9007199254740993", "9007199254740993"),
        ("9007199254740992.0", "9007199254740992.0"),
        ("-42", "-42"),
        ("9223372036854775807", "9223372036854775807"),
        ("-9223372036854775808", "-9223372036854775808"),
        ("-9223372036854775809", "-9.223372036854776e+18"),
        ("9223372036854775808.0", "9.223372036854776e+18"),
        ("18446744073709551615", "18446744073709551615"),
        ("18446744073709551616", "1.8446744073709552e+19"),
        ("-18446744073709551617", "-1.8446744073709552e+19"),
        ("123456789012345678901234567890", "1.2345678901234568e+29"),
        ("1.0e0", "1.0"),
        ("10e-1", "1.0"),
        ("0e10", "0.0"),
        ("-0e-10", "-0.0"),
        ("1.23456789e-100", "1.23456789e-100"),
        ("3.14159265358979323846264338327950288", "3.141592653589793"),
        (
            "100000000000000000000000000000000000000000000000000",
            "9.999999999999999e+49",
        ),
        // Halfway between two shortest texts: the even one.
        ("1125899906842624.25", "1125899906842624.2"),
        ("1125899906842624.75", "1125899906842624.8"),
        ("70368744177664.125", "70368744177664.12"),
        ("70368744177664.375", "70368744177664.38"),
        // 2^-24, whose lower neighbour is nearer than its upper.
        ("5.9604644775390625e-8", "5.960464477539063e-8"),
    ];

    #[test]
    fn the_pinned_texts_are_written() {
        for (json, expected) in PINNED {
            assert_eq!(number_text(json), *expected, "{json}");
        }
    }

    /// Of two texts equally near, the even one, wherever such ties occur:
    /// a float with few binary fraction digits and a 53-bit significand.
    #[test]
    fn halfway_ties_go_to_the_even_digit() {
        let cases = [
            (2f64.powi(50) + 0.25, "1125899906842624.2"),
            (2f64.powi(50) + 0.75, "1125899906842624.8"),
            (2f64.powi(49) + 0.25, "562949953421312.2"),
            (2f64.powi(49) + 1.75, "562949953421313.8"),
            (2f64.powi(46) + 0.125, "70368744177664.12"),
            (2f64.powi(46) + 0.625, "70368744177664.62"),
            (2f64.powi(46) + 0.875, "70368744177664.88"),
        ];
        for (f, expected) in cases {
            assert_eq!(text(f), expected);
            assert_eq!(text(-f), format!("-{expected}"));
            assert_eq!(text(f).parse::<f64>().unwrap(), f);
        }
    }

    /// What must hold of every float, whatever any library writes: it reads
    /// back as itself, in as many significant digits as the shortest text
    /// that does (Rust's `{:e}`), in the layout the module describes.
    fn check_rules(f: f64) {
        let t = text(f);
        let back: f64 = t.parse().unwrap_or_else(|e| panic!("{t}: {e}"));
        assert_eq!(back.to_bits(), f.to_bits(), "{t} reads back as {back:e}");
        if f == 0.0 {
            assert_eq!(t.trim_start_matches('-'), "0.0");
            return;
        }
        let shortest = format!("{:e}", f.abs());
        let (std_mantissa, std_exp) = shortest.split_once('e').unwrap();
        let first: i32 = std_exp.parse().unwrap();
        let (mantissa, exp) = t.split_once('e').unwrap_or((&t, ""));
        let significant = |m: &str| {
            m.replace(['-', '.'], "")
                .trim_start_matches('0')
                .trim_end_matches('0')
                .len()
        };
        assert_eq!(
            significant(mantissa),
            significant(std_mantissa),
            "{t} vs {shortest}"
        );
        if (-5..=15).contains(&first) {
            assert!(exp.is_empty() && t.contains('.'), "{t}");
        } else {
            let sign = if first < 0 { "-" } else { "+" };
            assert_eq!(exp, format!("{sign}{}", first.abs()), "{t}");
            assert!(mantissa.trim_start_matches('-').len() == 1 || mantissa.contains('.'));
        }
    }

    #[test]
    fn edges_follow_the_rules() {
        let mut floats = vec![f64::MIN_POSITIVE, f64::MAX, f64::EPSILON, 5e-324];
        // Every power of two (normal and subnormal) and its neighbours.
        let powers = (1..=2046u64)
            .map(|b| b << 52)
            .chain((0..52).map(|i| 1u64 << i));
        for bits in powers {
            floats.extend([bits - 1, bits, bits + 1].map(f64::from_bits));
        }
        for e in -325..=308 {
            let p: f64 = format!("1e{e}").parse().unwrap();
            floats.extend([
                p,
                f64::from_bits(p.to_bits().saturating_sub(1)),
                f64::from_bits(p.to_bits() + 1),
            ]);
        }
        for f in floats.into_iter().filter(|f| f.is_finite()) {
            check_rules(f);
            check_rules(-f);
            // As serde_json 1.0.154 wrote them (see below).
            let n = Number::from_f64(f).unwrap();
            assert_eq!(text(f), n.to_string());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn every_float_follows_the_rules(bits in any::<u64>()) {
            let f = f64::from_bits(bits);
            if f.is_finite() {
                check_rules(f);
            }
        }

        /// Agreement with the release the stored ids were computed with
        /// (serde_json 1.0.154, pinned in Cargo.lock). Should a later
        /// serde_json write floats differently, this test says so; the ids
        /// do not change, and this comparison is what to drop.
        #[test]
        fn every_float_is_written_as_serde_json_1_0_154_wrote_it(bits in any::<u64>()) {
            if let Some(n) = Number::from_f64(f64::from_bits(bits)) {
                let mut out = Vec::new();
                write_number(&mut out, &n);
                prop_assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
            }
        }

        #[test]
        fn halfway_floats_are_written_as_serde_json_1_0_154_wrote_them(
            random in any::<u64>(),
            bits in 1u32..=53,
            shift in 1u32..=12,
        ) {
            // A significand of `bits` bits with `shift` binary fraction
            // digits: where halfway ties are.
            let int = (random & ((1u64 << bits) - 1)) | (1u64 << (bits - 1));
            let f = int as f64 / f64::from(1u32 << shift);
            let n = Number::from_f64(f).unwrap();
            prop_assert_eq!(text(f), n.to_string());
        }
    }
}
