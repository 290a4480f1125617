//! DynamoDB numbers: up to 38 significant digits, magnitudes from 1E-130 to under 1E+126,
//! compared and stored exactly (never through floating point).

use std::cmp::Ordering;

use crate::ValueError;

/// Most significant digits a number may carry.
pub const MAX_DIGITS: usize = 38;
/// Smallest positive magnitude is 1E-130: `0.1 × 10^exponent` with exponent -129.
const MIN_EXPONENT: i32 = -129;
/// Largest magnitude is just under 1E+126: `0.999… × 10^126`.
const MAX_EXPONENT: i32 = 126;

/// A DynamoDB number: `sign × 0.digits × 10^exponent`, with no leading or trailing zero
/// digits (zero has no digits), so equal numbers have equal representations.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Number {
    negative: bool,
    /// Decimal digits 0–9, most significant first.
    digits: Vec<u8>,
    exponent: i32,
}

fn not_a_number() -> ValueError {
    ValueError::new("A value provided cannot be converted into a number")
}

impl Number {
    /// Parses a number as a client sends it (`"N": "..."`), with DynamoDB's limits.
    pub fn parse(text: &str) -> Result<Number, ValueError> {
        let text = text.trim();
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exponent_text) = match rest.find(['e', 'E']) {
            Some(at) => (&rest[..at], Some(&rest[at + 1..])),
            None => (rest, None),
        };
        let (whole, fraction) = match mantissa.find('.') {
            Some(at) => (&mantissa[..at], &mantissa[at + 1..]),
            None => (mantissa, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction)
        {
            return Err(not_a_number());
        }
        let written_exponent: i64 = match exponent_text {
            None => 0,
            Some(e) => {
                let unsigned = e.strip_prefix(['+', '-']).unwrap_or(e);
                if unsigned.is_empty() || !all_digits(unsigned) {
                    return Err(not_a_number());
                }
                // Exponents far outside the range only need to be recognised as such.
                e.parse::<i64>().unwrap_or(if e.starts_with('-') {
                    i64::MIN / 2
                } else {
                    i64::MAX / 2
                })
            }
        };
        let mut digits: Vec<u8> = whole
            .bytes()
            .chain(fraction.bytes())
            .map(|b| b - b'0')
            .collect();
        let leading = digits.iter().take_while(|&&d| d == 0).count();
        digits.drain(..leading);
        while digits.last() == Some(&0) {
            digits.pop();
        }
        if digits.is_empty() {
            return Ok(Number::zero());
        }
        let exponent = i64::try_from(whole.len()).unwrap_or(i64::MAX)
            - i64::try_from(leading).unwrap_or(0)
            + written_exponent;
        Number::checked(negative, digits, exponent)
    }

    /// Zero.
    pub fn zero() -> Number {
        Number {
            negative: false,
            digits: Vec::new(),
            exponent: 0,
        }
    }

    /// Builds a normalised number from significant digits, checking DynamoDB's limits.
    fn checked(negative: bool, digits: Vec<u8>, exponent: i64) -> Result<Number, ValueError> {
        if digits.len() > MAX_DIGITS {
            return Err(ValueError::new(
                "Attempting to store more than 38 significant digits in a Number",
            ));
        }
        if exponent > i64::from(MAX_EXPONENT) {
            return Err(ValueError::new(
                "Number overflow. Attempting to store a number with magnitude larger than supported range",
            ));
        }
        if exponent < i64::from(MIN_EXPONENT) {
            return Err(ValueError::new(
                "Number underflow. Attempting to store a number with magnitude smaller than supported range",
            ));
        }
        Ok(Number {
            negative,
            digits,
            exponent: i32::try_from(exponent).unwrap_or(0),
        })
    }

    /// Significant digits (most significant first) and the exponent `e` of `0.digits × 10^e`.
    pub(crate) fn parts(&self) -> (&[u8], i64) {
        (&self.digits, i64::from(self.exponent))
    }

    /// Number of significant digits and the exponent `e` of `0.digits × 10^e`.
    pub(crate) fn digits_and_exponent(&self) -> (usize, i32) {
        (self.digits.len(), self.exponent)
    }

    /// A number from significant digits without leading or trailing zeros, checked against
    /// DynamoDB's limits.
    pub(crate) fn from_parts(
        negative: bool,
        digits: Vec<u8>,
        exponent: i64,
    ) -> Result<Number, ValueError> {
        if digits.is_empty() {
            return Ok(Number::zero());
        }
        // A computed result out of range is reported as such even when it is also too
        // precise (DynamoDB answers overflow for `SET n = n + :v` past the largest number).
        let (small, large) = (i64::from(MIN_EXPONENT), i64::from(MAX_EXPONENT));
        if !(small..=large).contains(&exponent) {
            return Number::checked(negative, Vec::new(), exponent);
        }
        Number::checked(negative, digits, exponent)
    }

    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// Bytes whose lexicographic order is the numeric order, for stored sort keys: a sign
    /// class, then (for non-zero numbers) the exponent and digits, inverted when negative.
    pub fn order_bytes(&self) -> Vec<u8> {
        if self.is_zero() {
            return vec![1];
        }
        let mut magnitude = Vec::with_capacity(self.digits.len() + 3);
        // Offset so every exponent in range is a positive 16-bit value.
        let biased = u16::try_from(self.exponent + 1000).unwrap_or(0);
        magnitude.extend_from_slice(&biased.to_be_bytes());
        magnitude.extend(self.digits.iter().map(|d| d + 1));
        magnitude.push(0);
        if self.negative {
            let mut out = vec![0];
            out.extend(magnitude.iter().map(|b| !b));
            out
        } else {
            let mut out = vec![2];
            out.extend(magnitude);
            out
        }
    }

    fn cmp_magnitude(&self, other: &Number) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            (false, false) => {}
        }
        self.exponent
            .cmp(&other.exponent)
            .then_with(|| self.digits.cmp(&other.digits))
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Number) -> Ordering {
        let sign = |n: &Number| {
            if n.is_zero() {
                0
            } else if n.negative {
                -1
            } else {
                1
            }
        };
        match sign(self).cmp(&sign(other)) {
            Ordering::Equal if self.negative => other.cmp_magnitude(self),
            Ordering::Equal => self.cmp_magnitude(other),
            unequal => unequal,
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// DynamoDB answers numbers in plain decimal notation, without exponent or redundant zeros.
impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        let mut out = String::with_capacity(self.digits.len() + 8);
        if self.negative {
            out.push('-');
        }
        let digit = |d: &u8| char::from(b'0' + d);
        let count = i32::try_from(self.digits.len()).unwrap_or(i32::MAX);
        if self.exponent <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n(
                '0',
                self.exponent.unsigned_abs() as usize,
            ));
            out.extend(self.digits.iter().map(digit));
        } else if self.exponent >= count {
            out.extend(self.digits.iter().map(digit));
            out.extend(std::iter::repeat_n('0', (self.exponent - count) as usize));
        } else {
            let point = self.exponent as usize;
            out.extend(self.digits[..point].iter().map(digit));
            out.push('.');
            out.extend(self.digits[point..].iter().map(digit));
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> Number {
        Number::parse(text).unwrap()
    }

    #[test]
    fn normalises_as_dynamodb_answers() {
        for (input, shown) in [
            ("100", "100"),
            ("1.0", "1"),
            ("1e2", "100"),
            ("0.10", "0.1"),
            ("-0", "0"),
            ("+5", "5"),
            ("007.500", "7.5"),
            ("1.5E-3", "0.0015"),
            (".5", "0.5"),
            ("5.", "5"),
            ("-12.34e1", "-123.4"),
        ] {
            assert_eq!(n(input).to_string(), shown, "{input}");
        }
    }

    #[test]
    fn rejects_what_dynamodb_rejects() {
        for bad in [
            "", "abc", "1e", "--1", ".", "1.2.3", "0x10", "NaN", "Infinity", "1e+",
        ] {
            assert_eq!(Number::parse(bad).unwrap_err(), not_a_number(), "{bad}");
        }
        let precise = "1".repeat(39);
        assert!(
            Number::parse(&precise)
                .unwrap_err()
                .message
                .contains("38 significant")
        );
        assert!(Number::parse(&"1".repeat(38)).is_ok());
        assert!(
            Number::parse("1e126")
                .unwrap_err()
                .message
                .contains("overflow")
        );
        assert!(Number::parse("9.9999999999999999999999999999999999999E+125").is_ok());
        assert!(Number::parse("1e-130").is_ok());
        assert!(
            Number::parse("1e-131")
                .unwrap_err()
                .message
                .contains("underflow")
        );
        assert!(Number::parse("0e999999999999999999999").is_ok());
    }

    #[test]
    fn orders_numerically_in_values_and_bytes() {
        let sorted = [
            "-1e125", "-100", "-10.5", "-10", "-0.123", "-0.12", "-1e-130", "0", "1e-130", "0.12",
            "0.123", "1", "9.99", "10", "10.5", "100", "1e125",
        ];
        for pair in sorted.windows(2) {
            let (a, b) = (n(pair[0]), n(pair[1]));
            assert!(a < b, "{} < {}", pair[0], pair[1]);
            assert!(
                a.order_bytes() < b.order_bytes(),
                "bytes {} < {}",
                pair[0],
                pair[1]
            );
        }
        assert_eq!(n("1.50").cmp(&n("1.5")), Ordering::Equal);
        assert_eq!(n("1.50").order_bytes(), n("15e-1").order_bytes());
    }
}
