//! Item size as DynamoDB counts it against the 400 KB limit and for capacity units
//! ("DynamoDB item sizes and formats" in the developer guide).

use crate::{AttrValue, Item, Number};

/// The size of an item: for every attribute its UTF-8 name length plus its value's size.
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

/// The size of one value, without its attribute name.
pub fn value_size(value: &AttrValue) -> usize {
    match value {
        AttrValue::S(s) => s.len(),
        AttrValue::N(n) => number_size(n),
        AttrValue::B(b) => b.len(),
        AttrValue::Bool(_) | AttrValue::Null => 1,
        // 3 bytes of overhead, and 1 per element (the documented per-element overhead).
        AttrValue::M(map) => 3 + map.len() + item_size(map),
        AttrValue::L(list) => 3 + list.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttrValue::Ss(v) => v.iter().map(String::len).sum(),
        AttrValue::Ns(v) => v.iter().map(number_size).sum(),
        AttrValue::Bs(v) => v.iter().map(Vec::len).sum(),
    }
}

/// One byte per two significant digits plus one: DynamoDB stores base-100 digits aligned on
/// the decimal point (so an odd exponent costs a half-used leading byte), one byte of
/// exponent, and negative numbers carry one terminator byte.
fn number_size(n: &Number) -> usize {
    if n.is_zero() {
        return 1;
    }
    let (digits, exponent) = n.digits_and_exponent();
    let misaligned = usize::from(exponent.rem_euclid(2) == 1);
    1 + (digits + misaligned).div_ceil(2) + usize::from(n.is_negative())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> AttrValue {
        AttrValue::N(Number::parse(text).unwrap())
    }

    #[test]
    fn sizes_follow_the_documented_rules() {
        // Each case: value, size without the name. Rules from the developer guide ("Item sizes and
        // formats"); number sizes as measured against DynamoDB by dynalite's test suite.
        let cases = [
            (AttrValue::S("héllo".into()), 6),
            (AttrValue::B(vec![1, 2, 3]), 3),
            (AttrValue::Bool(true), 1),
            (AttrValue::Null, 1),
            (n("0"), 1),
            (n("1"), 2),
            (n("12"), 2),
            (n("1.2"), 3),
            (n("123"), 3),
            (n("1234"), 3),
            (n("-1"), 3),
            (n("0.5"), 2),
            (AttrValue::L(vec![]), 3),
            (AttrValue::M(Item::new()), 3),
            (
                AttrValue::L(vec![AttrValue::S("ab".into()), AttrValue::Null]),
                3 + 3 + 2,
            ),
            (
                AttrValue::M(Item::from([("k".to_owned(), AttrValue::S("v".into()))])),
                3 + 1 + 2,
            ),
            (AttrValue::Ss(vec!["a".into(), "bc".into()]), 3),
        ];
        for (value, size) in cases {
            assert_eq!(value_size(&value), size, "{value:?}");
        }
        let item = Item::from([
            ("id".to_owned(), AttrValue::S("abc".into())),
            ("n".to_owned(), n("7")),
        ]);
        assert_eq!(item_size(&item), 2 + 3 + 1 + 2);
    }
}
