//! Projection expressions (and legacy `AttributesToGet`): the attributes a read returns.

use crate::{ExprError, Item, Params, Path};

/// A parsed `ProjectionExpression`: the document paths to return.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    pub(crate) paths: Vec<Path>,
}

impl Projection {
    /// Parses a `ProjectionExpression`.
    pub fn parse(text: &str, params: &mut Params) -> Result<Projection, ExprError> {
        let _ = (text, params);
        Err(ExprError::new("ProjectionExpression is not supported yet"))
    }

    /// The paths, in the order written.
    pub fn paths(&self) -> &[Path] {
        &self.paths
    }

    /// The part of `item` the projection selects.
    pub fn apply(&self, item: &Item) -> Item {
        let _ = item;
        Item::new()
    }
}
