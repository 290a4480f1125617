//! Document paths (`a.b[2].c`) and reading them out of items.

use std::fmt;

use crate::{AttrValue, Item};

/// One step of a document path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathElem {
    /// A top-level attribute or a map key.
    Attr(String),
    /// A list index.
    Index(usize),
}

/// A document path: a top-level attribute name followed by map keys and list indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    elems: Vec<PathElem>,
}

impl Path {
    /// A path to one top-level attribute.
    pub fn attribute(name: impl Into<String>) -> Path {
        Path {
            elems: vec![PathElem::Attr(name.into())],
        }
    }

    /// Builds a path; `elems` must start with an attribute name.
    pub(crate) fn from_elems(elems: Vec<PathElem>) -> Path {
        debug_assert!(matches!(elems.first(), Some(PathElem::Attr(_))));
        Path { elems }
    }

    pub fn elems(&self) -> &[PathElem] {
        &self.elems
    }

    /// The top-level attribute the path starts at.
    pub fn head(&self) -> &str {
        match self.elems.first() {
            Some(PathElem::Attr(name)) => name,
            _ => "",
        }
    }

    /// Whether the path goes below the top-level attribute.
    pub fn is_nested(&self) -> bool {
        self.elems.len() > 1
    }

    /// The value at this path, if the item has one.
    pub fn get<'a>(&self, item: &'a Item) -> Option<&'a AttrValue> {
        let mut current = item.get(self.head())?;
        for elem in &self.elems[1..] {
            current = match (elem, current) {
                (PathElem::Attr(key), AttrValue::M(map)) => map.get(key)?,
                (PathElem::Index(i), AttrValue::L(list)) => list.get(*i)?,
                _ => return None,
            };
        }
        Some(current)
    }
}

/// DynamoDB shows paths in messages as `[a, b, [2]]`.
impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, elem) in self.elems.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match elem {
                PathElem::Attr(name) => f.write_str(name)?,
                PathElem::Index(index) => write!(f, "[{index}]")?,
            }
        }
        f.write_str("]")
    }
}
