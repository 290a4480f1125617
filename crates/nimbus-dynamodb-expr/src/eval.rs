//! Evaluating conditions against an item with DynamoDB's semantics: a missing attribute or
//! a type mismatch makes a comparison false (and `<>` true), nothing is an error.

use std::cmp::Ordering;

use crate::compare::{compare_values, values_equal};
use crate::condition::{Comparator, Cond, Operand, TypeName};
use crate::{AttrValue, Item, Number};

/// An operand's value: borrowed from the item or the expression, or a computed size.
enum Val<'a> {
    Ref(&'a AttrValue),
    Size(usize),
}

impl Val<'_> {
    /// The value itself; a size becomes a number (only then is anything allocated).
    fn with<R>(&self, f: impl FnOnce(&AttrValue) -> R) -> R {
        match self {
            Val::Ref(v) => f(v),
            Val::Size(n) => f(&AttrValue::N(
                Number::parse(&n.to_string()).unwrap_or_else(|_| Number::zero()),
            )),
        }
    }
}

fn resolve<'a>(operand: &'a Operand, item: &'a Item) -> Option<Val<'a>> {
    match operand {
        Operand::Path(path) => path.get(item).map(Val::Ref),
        Operand::Value(value) => Some(Val::Ref(value)),
        Operand::Size(inner) => {
            let value = match resolve(inner, item)? {
                Val::Ref(v) => v,
                Val::Size(_) => return None,
            };
            size_of(value).map(Val::Size)
        }
    }
}

/// `size()`: string length in bytes, binary length, set, list and map element counts.
fn size_of(value: &AttrValue) -> Option<usize> {
    Some(match value {
        AttrValue::S(s) => s.len(),
        AttrValue::B(b) => b.len(),
        AttrValue::Ss(v) => v.len(),
        AttrValue::Ns(v) => v.len(),
        AttrValue::Bs(v) => v.len(),
        AttrValue::L(v) => v.len(),
        AttrValue::M(m) => m.len(),
        AttrValue::N(_) | AttrValue::Bool(_) | AttrValue::Null => return None,
    })
}

fn equal(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Size(x), Val::Size(y)) => x == y,
        _ => a.with(|x| b.with(|y| values_equal(x, y))),
    }
}

fn order(a: &Val, b: &Val) -> Option<Ordering> {
    match (a, b) {
        (Val::Size(x), Val::Size(y)) => Some(x.cmp(y)),
        _ => a.with(|x| b.with(|y| compare_values(x, y))),
    }
}

fn compare(op: Comparator, a: Option<Val>, b: Option<Val>) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return op == Comparator::Ne;
    };
    match op {
        Comparator::Eq => equal(&a, &b),
        Comparator::Ne => !equal(&a, &b),
        _ => order(&a, &b).is_some_and(|o| match op {
            Comparator::Lt => o.is_lt(),
            Comparator::Le => o.is_le(),
            Comparator::Gt => o.is_gt(),
            _ => o.is_ge(),
        }),
    }
}

fn begins_with(a: &AttrValue, prefix: &AttrValue) -> bool {
    match (a, prefix) {
        (AttrValue::S(s), AttrValue::S(p)) => s.starts_with(p.as_str()),
        (AttrValue::B(s), AttrValue::B(p)) => s.starts_with(p),
        _ => false,
    }
}

/// `contains(a, b)`: substring of a string, subsequence of a binary, member of a set of
/// b's type, or element of a list.
fn contains(a: &AttrValue, b: &AttrValue) -> bool {
    match (a, b) {
        (AttrValue::S(s), AttrValue::S(p)) => s.contains(p.as_str()),
        (AttrValue::B(s), AttrValue::B(p)) => {
            p.is_empty() || s.windows(p.len()).any(|w| w == p.as_slice())
        }
        (AttrValue::Ss(set), AttrValue::S(x)) => set.contains(x),
        (AttrValue::Ns(set), AttrValue::N(x)) => set.contains(x),
        (AttrValue::Bs(set), AttrValue::B(x)) => set.contains(x),
        (AttrValue::L(list), x) => list.iter().any(|v| values_equal(v, x)),
        _ => false,
    }
}

pub(crate) fn holds(cond: &Cond, item: &Item) -> bool {
    let value = |o| resolve(o, item);
    match cond {
        Cond::And(a, b) => holds(a, item) && holds(b, item),
        Cond::Or(a, b) => holds(a, item) || holds(b, item),
        Cond::Not(a) => !holds(a, item),
        Cond::Compare(op, a, b) => compare(*op, value(a), value(b)),
        Cond::Between(x, low, high) => {
            let (Some(x), Some(low), Some(high)) = (value(x), value(low), value(high)) else {
                return false;
            };
            order(&low, &x).is_some_and(Ordering::is_le)
                && order(&x, &high).is_some_and(Ordering::is_le)
        }
        Cond::In(x, list) => value(x).is_some_and(|x| {
            list.iter()
                .any(|candidate| value(candidate).is_some_and(|c| equal(&x, &c)))
        }),
        Cond::Exists(path) => path.get(item).is_some(),
        Cond::NotExists(path) => path.get(item).is_none(),
        Cond::Type(o, type_name) => {
            value(o).is_some_and(|v| v.with(|v| TypeName::of(v) == *type_name))
        }
        Cond::BeginsWith(a, b) => match (value(a), value(b)) {
            (Some(a), Some(b)) => a.with(|a| b.with(|b| begins_with(a, b))),
            _ => false,
        },
        Cond::Contains(a, b) => match (value(a), value(b)) {
            (Some(a), Some(b)) => a.with(|a| b.with(|b| contains(a, b))),
            _ => false,
        },
        Cond::NotContains(a, b) => match (value(a), value(b)) {
            (Some(a), Some(b)) => !a.with(|a| b.with(|b| contains(a, b))),
            _ => true,
        },
        Cond::Always => true,
        Cond::Misused(_) | Cond::Invalid => false,
    }
}
