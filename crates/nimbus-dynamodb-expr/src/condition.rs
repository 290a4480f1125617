//! Condition and filter expressions: parsed once per request, evaluated per item.

use crate::{AttrValue, ExprError, Item, Params, Path};

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
    Type(Path, TypeName),
    BeginsWith(Operand, Operand),
    Contains(Operand, Operand),
    /// Legacy `NOT_CONTAINS`: true when the attribute exists and does not contain the value.
    NotContains(Operand, Operand),
}

impl Condition {
    /// Parses a `ConditionExpression`.
    pub fn parse(text: &str, params: &mut Params) -> Result<Condition, ExprError> {
        let _ = (text, params);
        Err(ExprError::new("ConditionExpression is not supported yet"))
    }

    /// Parses a `FilterExpression` (same language, its own error prefix).
    pub fn parse_filter(text: &str, params: &mut Params) -> Result<Condition, ExprError> {
        let _ = (text, params);
        Err(ExprError::new("FilterExpression is not supported yet"))
    }

    /// Whether `item` (empty when absent) satisfies the condition.
    pub fn evaluate(&self, item: &Item) -> Result<bool, ExprError> {
        let _ = item;
        Err(ExprError::new("Condition evaluation is not supported yet"))
    }

    /// The top-level attributes the condition reads (a filter may not name key attributes).
    pub fn top_level_attributes(&self) -> Vec<String> {
        Vec::new()
    }
}
