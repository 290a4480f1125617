//! Condition and filter expressions: parsed once per request, evaluated per item.

use crate::{AttrValue, ExprError, Item, Params, Path, cond_parse};

/// A parsed `ConditionExpression` or `FilterExpression` (or a legacy `Expected`,
/// `QueryFilter` or `ScanFilter`).
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub(crate) root: Cond,
}

/// An operand of a comparison or function.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Path(Path),
    Value(AttrValue),
    /// `size(operand)`.
    Size(Box<Operand>),
}

/// `=`, `<>`, `<`, `<=`, `>`, `>=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Comparator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The attribute types `attribute_type` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeName {
    S,
    N,
    B,
    Bool,
    Null,
    M,
    L,
    Ss,
    Ns,
    Bs,
}

impl TypeName {
    pub(crate) fn parse(text: &str) -> Option<TypeName> {
        Some(match text {
            "S" => TypeName::S,
            "N" => TypeName::N,
            "B" => TypeName::B,
            "BOOL" => TypeName::Bool,
            "NULL" => TypeName::Null,
            "M" => TypeName::M,
            "L" => TypeName::L,
            "SS" => TypeName::Ss,
            "NS" => TypeName::Ns,
            "BS" => TypeName::Bs,
            _ => return None,
        })
    }

    pub(crate) fn of(value: &AttrValue) -> TypeName {
        match value {
            AttrValue::S(_) => TypeName::S,
            AttrValue::N(_) => TypeName::N,
            AttrValue::B(_) => TypeName::B,
            AttrValue::Bool(_) => TypeName::Bool,
            AttrValue::Null => TypeName::Null,
            AttrValue::M(_) => TypeName::M,
            AttrValue::L(_) => TypeName::L,
            AttrValue::Ss(_) => TypeName::Ss,
            AttrValue::Ns(_) => TypeName::Ns,
            AttrValue::Bs(_) => TypeName::Bs,
        }
    }
}

/// A node of a condition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cond {
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
    Compare(Comparator, Operand, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    Exists(Path),
    NotExists(Path),
    Type(Operand, TypeName),
    BeginsWith(Operand, Operand),
    Contains(Operand, Operand),
    /// Legacy `NOT_CONTAINS`.
    NotContains(Operand, Operand),
    /// No condition (an empty legacy `Expected` or filter): always true.
    Always,
    /// A function that is not a condition (`size`); only while parsing, reported as misused.
    Misused(String),
    /// A function call with invalid operands; only while parsing, the problem is reported.
    Invalid,
}

impl Condition {
    /// Parses a `ConditionExpression`.
    pub fn parse(text: &str, params: &mut Params) -> Result<Condition, ExprError> {
        cond_parse::parse(text, params, "ConditionExpression").map(|root| Condition { root })
    }

    /// Parses a `FilterExpression` (same language, its own error prefix).
    pub fn parse_filter(text: &str, params: &mut Params) -> Result<Condition, ExprError> {
        cond_parse::parse(text, params, "FilterExpression").map(|root| Condition { root })
    }

    /// Whether `item` (empty when absent) satisfies the condition.
    pub fn evaluate(&self, item: &Item) -> Result<bool, ExprError> {
        Ok(crate::eval::holds(&self.root, item))
    }

    /// The top-level attributes the condition reads (a query filter may not name key
    /// attributes), sorted, without repeats.
    pub fn top_level_attributes(&self) -> Vec<String> {
        let mut names = Vec::new();
        collect_heads(&self.root, &mut names);
        names.sort();
        names.dedup();
        names
    }
}

fn operand_heads(operand: &Operand, out: &mut Vec<String>) {
    match operand {
        Operand::Path(path) => out.push(path.head().to_owned()),
        Operand::Value(_) => {}
        Operand::Size(inner) => operand_heads(inner, out),
    }
}

fn collect_heads(cond: &Cond, out: &mut Vec<String>) {
    match cond {
        Cond::And(a, b) | Cond::Or(a, b) => {
            collect_heads(a, out);
            collect_heads(b, out);
        }
        Cond::Not(a) => collect_heads(a, out),
        Cond::Compare(_, a, b)
        | Cond::BeginsWith(a, b)
        | Cond::Contains(a, b)
        | Cond::NotContains(a, b) => {
            operand_heads(a, out);
            operand_heads(b, out);
        }
        Cond::Between(a, b, c) => {
            for o in [a, b, c] {
                operand_heads(o, out);
            }
        }
        Cond::In(a, list) => {
            operand_heads(a, out);
            for o in list {
                operand_heads(o, out);
            }
        }
        Cond::Exists(p) | Cond::NotExists(p) => out.push(p.head().to_owned()),
        Cond::Type(o, _) => operand_heads(o, out),
        Cond::Always | Cond::Misused(_) | Cond::Invalid => {}
    }
}
