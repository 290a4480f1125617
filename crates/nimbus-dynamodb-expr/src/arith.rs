//! Exact addition and subtraction of DynamoDB numbers, for `SET a = b + c` and `ADD`.

use std::cmp::Ordering;

use crate::{Number, ValueError};

impl Number {
    /// `self + other`, exactly; a result outside DynamoDB's limits is AWS's error.
    pub fn add(&self, other: &Number) -> Result<Number, ValueError> {
        combine(self, other, false)
    }

    /// `self - other`, exactly; a result outside DynamoDB's limits is AWS's error.
    pub fn sub(&self, other: &Number) -> Result<Number, ValueError> {
        combine(self, other, true)
    }
}

/// The digits of `n` as an integer scaled by `10^low` (`low` at most n's lowest exponent),
/// least significant first.
fn scaled(n: &Number, low: i64) -> Vec<u8> {
    let (digits, exponent) = n.parts();
    let lowest = exponent - digits.len() as i64;
    let mut out = vec![0; usize::try_from(lowest - low).unwrap_or(0)];
    out.extend(digits.iter().rev());
    out
}

fn cmp_magnitude(a: &[u8], b: &[u8]) -> Ordering {
    let trim = |v: &[u8]| v.len() - v.iter().rev().take_while(|&&d| d == 0).count();
    let (la, lb) = (trim(a), trim(b));
    la.cmp(&lb)
        .then_with(|| a[..la].iter().rev().cmp(b[..lb].iter().rev()))
}

fn combine(a: &Number, b: &Number, subtract: bool) -> Result<Number, ValueError> {
    if b.is_zero() {
        return Ok(a.clone());
    }
    let b_negative = b.is_negative() != subtract;
    if a.is_zero() {
        let (digits, exponent) = b.parts();
        return Number::from_parts(b_negative, digits.to_vec(), exponent);
    }
    let low = |n: &Number| {
        let (digits, exponent) = n.parts();
        exponent - digits.len() as i64
    };
    let low = low(a).min(low(b));
    let (x, y) = (scaled(a, low), scaled(b, low));
    let (negative, mut sum) = if a.is_negative() == b_negative {
        (a.is_negative(), add_digits(&x, &y))
    } else {
        match cmp_magnitude(&x, &y) {
            Ordering::Equal => return Ok(Number::zero()),
            Ordering::Greater => (a.is_negative(), sub_digits(&x, &y)),
            Ordering::Less => (b_negative, sub_digits(&y, &x)),
        }
    };
    while sum.last() == Some(&0) {
        sum.pop();
    }
    let trailing = sum.iter().take_while(|&&d| d == 0).count();
    sum.drain(..trailing);
    let exponent = low + trailing as i64 + sum.len() as i64;
    sum.reverse();
    Number::from_parts(negative, sum, exponent)
}

/// Sum of two little-endian digit vectors.
fn add_digits(x: &[u8], y: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(x.len().max(y.len()) + 1);
    let mut carry = 0;
    for i in 0..x.len().max(y.len()) {
        let d = x.get(i).copied().unwrap_or(0) + y.get(i).copied().unwrap_or(0) + carry;
        out.push(d % 10);
        carry = d / 10;
    }
    if carry > 0 {
        out.push(carry);
    }
    out
}

/// Difference of two little-endian digit vectors, the first not smaller.
fn sub_digits(x: &[u8], y: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(x.len());
    let mut borrow = 0;
    for (i, &digit) in x.iter().enumerate() {
        let subtrahend = y.get(i).copied().unwrap_or(0) + borrow;
        if digit >= subtrahend {
            out.push(digit - subtrahend);
            borrow = 0;
        } else {
            out.push(digit + 10 - subtrahend);
            borrow = 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> Number {
        Number::parse(text).unwrap()
    }

    #[test]
    fn adds_and_subtracts_exactly() {
        for (a, b, sum, difference) in [
            ("1", "2", "3", "-1"),
            ("0.1", "0.2", "0.3", "-0.1"),
            ("-5", "3", "-2", "-8"),
            ("5", "-5", "0", "10"),
            ("0", "-7.5", "-7.5", "7.5"),
            ("99", "1", "100", "98"),
            (
                "1e20",
                "1e-10",
                "100000000000000000000.0000000001",
                "99999999999999999999.9999999999",
            ),
            ("123.456", "0.544", "124", "122.912"),
            ("-0.001", "-0.009", "-0.01", "0.008"),
        ] {
            assert_eq!(n(a).add(&n(b)).unwrap().to_string(), sum, "{a} + {b}");
            assert_eq!(
                n(a).sub(&n(b)).unwrap().to_string(),
                difference,
                "{a} - {b}"
            );
        }
    }

    #[test]
    fn results_outside_the_limits_are_errors() {
        // Message as DynamoDB answers `SET n = n + :v` past the largest number (ExtendDB
        // issue 94, checked against DynamoDB).
        let max = n("9.9999999999999999999999999999999999999E+125");
        assert_eq!(
            max.add(&n("1E+125")).unwrap_err().message,
            "Number overflow. Attempting to store a number with magnitude larger than supported range"
        );
        assert_eq!(
            n("1e30").add(&n("1e-10")).unwrap_err().message,
            "Attempting to store more than 38 significant digits in a Number"
        );
        assert!(n("-1e-130").sub(&n("-2e-130")).is_ok());
    }
}
