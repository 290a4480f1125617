//! Update expressions: parsed once per request, applied to the stored item.

use crate::{AttrValue, ExprError, Item, Params, Path};

/// A parsed `UpdateExpression` (or legacy `AttributeUpdates`).
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub(crate) actions: Vec<Action>,
}

/// One action of an update, in the order written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    Set(Path, SetValue),
    Remove(Path),
    Add(Path, AttrValue),
    Delete(Path, AttrValue),
}

/// The right-hand side of `SET path = …`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SetValue {
    Operand(SetOperand),
    Plus(SetOperand, SetOperand),
    Minus(SetOperand, SetOperand),
}

/// An operand in a `SET` value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SetOperand {
    Path(Path),
    Value(AttrValue),
    IfNotExists(Path, Box<SetOperand>),
    ListAppend(Box<SetOperand>, Box<SetOperand>),
}

impl Update {
    /// Parses an `UpdateExpression`.
    pub fn parse(text: &str, params: &mut Params) -> Result<Update, ExprError> {
        let _ = (text, params);
        Err(ExprError::new("UpdateExpression is not supported yet"))
    }

    /// Applies the update to `item` (empty for a new item). On error the item may be
    /// partly changed: apply to a copy and keep it only on success.
    pub fn apply(&self, item: &mut Item) -> Result<(), ExprError> {
        let _ = item;
        Err(ExprError::new("UpdateExpression is not supported yet"))
    }

    /// The top-level attributes the update writes (SET, REMOVE, ADD, DELETE targets), for
    /// the key-attribute checks.
    pub fn top_level_attributes(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .actions
            .iter()
            .map(|action| match action {
                Action::Set(p, _)
                | Action::Remove(p)
                | Action::Add(p, _)
                | Action::Delete(p, _) => p.head().to_owned(),
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }
}
