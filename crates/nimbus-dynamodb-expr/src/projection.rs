//! Projection expressions (and legacy `AttributesToGet`): the attributes a read returns.

use std::collections::BTreeMap;

use crate::lexer::Tok;
use crate::parser::{Parsed, Parser, Problem, check_paths};
use crate::{AttrValue, ExprError, Item, Params, Path, PathElem};

/// The order DynamoDB reports problems of a syntactically valid projection.
const ORDER: &[Problem] = &[
    Problem::Reserved,
    Problem::Undefined,
    Problem::PathOverlap,
    Problem::PathConflict,
];

/// A parsed `ProjectionExpression`: the document paths to return.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    pub(crate) paths: Vec<Path>,
}

impl Projection {
    /// Parses a `ProjectionExpression`.
    pub fn parse(text: &str, params: &mut Params) -> Result<Projection, ExprError> {
        let prefixed =
            |message: String| ExprError::new(format!("Invalid ProjectionExpression: {message}"));
        let mut parser = Parser::new(text, params, &[]).map_err(|e| prefixed(e.message))?;
        let Ok(paths) = path_list(&mut parser) else {
            return Err(prefixed(parser.syntax_error()));
        };
        check_paths(&mut parser.problems, paths.iter());
        if let Some(message) = parser.problems.first_of(ORDER) {
            return Err(prefixed(message));
        }
        Ok(Projection { paths })
    }

    /// A projection of whole top-level attributes (legacy `AttributesToGet`).
    pub fn of_attributes(names: impl IntoIterator<Item = String>) -> Projection {
        Projection {
            paths: names.into_iter().map(Path::attribute).collect(),
        }
    }

    /// The paths, in the order written.
    pub fn paths(&self) -> &[Path] {
        &self.paths
    }

    /// The part of `item` the projection selects: nested maps keep the selected keys, and
    /// lists keep the selected elements in their original order, without gaps.
    pub fn apply(&self, item: &Item) -> Item {
        let mut root: BTreeMap<String, Node> = BTreeMap::new();
        for path in &self.paths {
            let Some(value) = path.get(item) else {
                continue;
            };
            let elems = path.elems();
            let node = root
                .entry(path.head().to_owned())
                .or_insert_with(|| Node::empty(elems.get(1)));
            node.insert(&elems[1..], value);
        }
        root.into_iter()
            .filter_map(|(k, node)| node.into_value().map(|v| (k, v)))
            .collect()
    }
}

fn path_list(parser: &mut Parser) -> Parsed<Vec<Path>> {
    let mut paths = vec![parser.path()?];
    while parser.peek() == Tok::Comma {
        parser.advance();
        paths.push(parser.path()?);
    }
    parser.expect_end()?;
    Ok(paths)
}

/// The projected document being built.
enum Node {
    Pending,
    Leaf(AttrValue),
    Map(BTreeMap<String, Node>),
    List(BTreeMap<usize, Node>),
}

impl Node {
    /// A node that will hold the next path element (or the value when there is none).
    fn empty(next: Option<&PathElem>) -> Node {
        match next {
            None => Node::Pending,
            Some(PathElem::Attr(_)) => Node::Map(BTreeMap::new()),
            Some(PathElem::Index(_)) => Node::List(BTreeMap::new()),
        }
    }

    /// Places `value` at `rest` below this node (paths were checked not to overlap).
    fn insert(&mut self, rest: &[PathElem], value: &AttrValue) {
        let Some((elem, deeper)) = rest.split_first() else {
            if let Node::Pending = self {
                *self = Node::Leaf(value.clone());
            }
            return;
        };
        let next = deeper.first();
        let child = match (self, elem) {
            (Node::Map(map), PathElem::Attr(key)) => {
                map.entry(key.clone()).or_insert_with(|| Node::empty(next))
            }
            (Node::List(list), PathElem::Index(index)) => {
                list.entry(*index).or_insert_with(|| Node::empty(next))
            }
            _ => return,
        };
        child.insert(deeper, value);
    }

    fn into_value(self) -> Option<AttrValue> {
        match self {
            Node::Pending => None,
            Node::Leaf(value) => Some(value),
            Node::Map(map) => Some(AttrValue::M(
                map.into_iter()
                    .filter_map(|(k, n)| n.into_value().map(|v| (k, v)))
                    .collect(),
            )),
            Node::List(list) => Some(AttrValue::L(
                list.into_values().filter_map(Node::into_value).collect(),
            )),
        }
    }
}
