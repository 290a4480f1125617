//! The leaf operators of the event-pattern language.

use std::net::IpAddr;

use serde_json::Value;

use crate::glob;

/// A comparison of a numeric range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    Lt(f64),
    Le(f64),
    Eq(f64),
    Ge(f64),
    Gt(f64),
}

impl Bound {
    fn holds(self, n: f64) -> bool {
        match self {
            Bound::Lt(b) => n < b,
            Bound::Le(b) => n <= b,
            Bound::Eq(b) => (n - b).abs() < f64::EPSILON * b.abs().max(1.0),
            Bound::Ge(b) => n >= b,
            Bound::Gt(b) => n > b,
        }
    }
}

/// An IP network of a `cidr` match.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cidr {
    pub network: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    fn contains(&self, text: &str) -> bool {
        let Ok(addr) = text.parse::<IpAddr>() else {
            return false;
        };
        match (self.network, addr) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_equal(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_equal(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_equal(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if a[..full] != b[..full] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    a[full] & mask == b[full] & mask
}

/// One operator applied to a leaf value.
#[derive(Debug, Clone, PartialEq)]
pub enum Matcher {
    /// A plain value: string, number, boolean or null.
    Exact(Value),
    Prefix(String),
    PrefixIgnoreCase(String),
    Suffix(String),
    SuffixIgnoreCase(String),
    EqualsIgnoreCase(String),
    Wildcard(String),
    /// All bounds hold (`{"numeric": [">", 0, "<=", 5]}`).
    Numeric(Vec<Bound>),
    Cidr(Cidr),
    /// `{"exists": true|false}`.
    Exists(bool),
    /// Matches a present value that none of the inner matchers match.
    AnythingBut(Vec<Matcher>),
}

impl Matcher {
    /// Whether the matcher accepts a present scalar value.
    pub fn matches_value(&self, value: &Value) -> bool {
        match self {
            Matcher::Exact(expected) => exact(expected, value),
            Matcher::Prefix(p) => value.as_str().is_some_and(|s| s.starts_with(p.as_str())),
            Matcher::PrefixIgnoreCase(p) => value
                .as_str()
                .is_some_and(|s| s.to_lowercase().starts_with(&p.to_lowercase())),
            Matcher::Suffix(p) => value.as_str().is_some_and(|s| s.ends_with(p.as_str())),
            Matcher::SuffixIgnoreCase(p) => value
                .as_str()
                .is_some_and(|s| s.to_lowercase().ends_with(&p.to_lowercase())),
            Matcher::EqualsIgnoreCase(p) => value
                .as_str()
                .is_some_and(|s| s.to_lowercase() == p.to_lowercase()),
            Matcher::Wildcard(p) => value.as_str().is_some_and(|s| glob::matches(p, s)),
            Matcher::Numeric(bounds) => value
                .as_f64()
                .is_some_and(|n| bounds.iter().all(|b| b.holds(n))),
            Matcher::Cidr(net) => value.as_str().is_some_and(|s| net.contains(s)),
            Matcher::Exists(wanted) => *wanted,
            Matcher::AnythingBut(inner) => !inner.iter().any(|m| m.matches_value(value)),
        }
    }

    /// Whether the matcher accepts a key that is absent.
    pub fn matches_absent(&self) -> bool {
        matches!(self, Matcher::Exists(false))
    }
}

fn exact(expected: &Value, value: &Value) -> bool {
    match (expected, value) {
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => (a - b).abs() <= f64::EPSILON * a.abs().max(1.0),
            _ => a == b,
        },
        _ => expected == value,
    }
}
