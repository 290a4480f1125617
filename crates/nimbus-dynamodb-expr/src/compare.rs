//! Equality and order of attribute values as DynamoDB compares them: only values of the
//! same type; strings and binaries by bytes (UTF-8 code units), numbers numerically; sets
//! equal regardless of order.

use std::cmp::Ordering;

use crate::AttrValue;

/// The order of two values of the same ordered type (S, N, B); `None` otherwise.
pub fn compare_values(a: &AttrValue, b: &AttrValue) -> Option<Ordering> {
    match (a, b) {
        (AttrValue::S(x), AttrValue::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (AttrValue::N(x), AttrValue::N(y)) => Some(x.cmp(y)),
        (AttrValue::B(x), AttrValue::B(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn same_members<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

/// DynamoDB equality: same type and value; sets compare as sets, at any depth.
pub fn values_equal(a: &AttrValue, b: &AttrValue) -> bool {
    match (a, b) {
        (AttrValue::Ss(x), AttrValue::Ss(y)) => same_members(x, y),
        (AttrValue::Ns(x), AttrValue::Ns(y)) => same_members(x, y),
        (AttrValue::Bs(x), AttrValue::Bs(y)) => same_members(x, y),
        (AttrValue::L(x), AttrValue::L(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q))
        }
        (AttrValue::M(x), AttrValue::M(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Number;

    fn n(text: &str) -> AttrValue {
        AttrValue::N(Number::parse(text).unwrap())
    }

    #[test]
    fn compares_only_same_ordered_types() {
        let s = |t: &str| AttrValue::S(t.into());
        assert_eq!(compare_values(&s("a"), &s("b")), Some(Ordering::Less));
        assert_eq!(compare_values(&s("B"), &s("a")), Some(Ordering::Less));
        assert_eq!(compare_values(&n("10"), &n("9")), Some(Ordering::Greater));
        assert_eq!(
            compare_values(&AttrValue::B(vec![1]), &AttrValue::B(vec![1, 0])),
            Some(Ordering::Less)
        );
        assert_eq!(compare_values(&s("1"), &n("1")), None);
        assert_eq!(
            compare_values(&AttrValue::Bool(true), &AttrValue::Bool(true)),
            None
        );
    }

    #[test]
    fn sets_are_equal_in_any_order() {
        let set = |v: &[&str]| AttrValue::Ns(v.iter().map(|t| Number::parse(t).unwrap()).collect());
        assert!(values_equal(&set(&["1", "2"]), &set(&["2.0", "1"])));
        assert!(!values_equal(&set(&["1", "2"]), &set(&["1"])));
        let list = |v: AttrValue| AttrValue::L(vec![v]);
        assert!(values_equal(
            &list(set(&["1", "2"])),
            &list(set(&["2", "1"]))
        ));
        assert!(!values_equal(&n("1"), &AttrValue::S("1".into())));
    }
}
