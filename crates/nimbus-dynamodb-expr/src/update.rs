//! Update expressions: parsed once per request, applied to the stored item.

use crate::{AttrValue, ExprError, Item, Params, Path, PathElem, Projection, update_parse};

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
    /// `AttributeUpdates` ADD: also appends to lists; its own type-mismatch error.
    LegacyAdd(Path, AttrValue),
    /// `AttributeUpdates` DELETE with a set value.
    LegacyDelete(Path, AttrValue),
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

fn wrong_type() -> ExprError {
    ExprError::new("An operand in the update expression has an incorrect data type")
}

fn legacy_mismatch() -> ExprError {
    ExprError::new("Type mismatch for attribute to update")
}

fn invalid_path() -> ExprError {
    ExprError::new("The document path provided in the update expression is invalid for update")
}

impl Update {
    /// Parses an `UpdateExpression`.
    pub fn parse(text: &str, params: &mut Params) -> Result<Update, ExprError> {
        update_parse::parse(text, params).map(|actions| Update { actions })
    }

    /// Applies the update to `item` (empty for a new item). All operands read the item as
    /// it was before the update; on error `item` is left unchanged.
    pub fn apply(&self, item: &mut Item) -> Result<(), ExprError> {
        let mut next = item.clone();
        let mut removals: Vec<&Path> = Vec::new();
        for action in &self.actions {
            match action {
                Action::Set(path, value) => set(&mut next, path, evaluate(value, item)?)?,
                Action::Remove(path) => removals.push(path),
                Action::Add(path, value) => add(&mut next, path, value)?,
                Action::Delete(path, value) => delete(&mut next, path, value)?,
                Action::LegacyAdd(path, value) => {
                    add(&mut next, path, value).map_err(|_| legacy_mismatch())?;
                }
                Action::LegacyDelete(path, value) => {
                    delete(&mut next, path, value).map_err(|_| legacy_mismatch())?;
                }
            }
        }
        // Later list indexes first, so each index still means what the original item had.
        removals.sort_by(|a, b| b.elems().cmp_by_index(a.elems()));
        for path in removals {
            remove(&mut next, path)?;
        }
        *item = next;
        Ok(())
    }

    /// The top-level attributes the update writes (SET, REMOVE, ADD, DELETE targets), for
    /// the key-attribute checks, sorted, without repeats.
    pub fn top_level_attributes(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .actions
            .iter()
            .map(|action| action.path().head().to_owned())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The parts of `item` at the paths the update writes, nested as in the item: what
    /// `ReturnValues` `UPDATED_OLD` (given the old item) and `UPDATED_NEW` (given the new
    /// one) answer. Paths that do not resolve in `item` contribute nothing, so a removed
    /// attribute appears only in the old item and a new one only in the new item.
    pub fn updated_parts(&self, item: &Item) -> Item {
        let paths = self.actions.iter().map(|a| a.path().clone()).collect();
        Projection { paths }.apply(item)
    }

    /// The document paths the update writes, in the order written.
    pub fn target_paths(&self) -> Vec<&Path> {
        self.actions.iter().map(Action::path).collect()
    }
}

/// Ordering of paths for removal: by their elements, list indexes numerically.
trait IndexOrder {
    fn cmp_by_index(&self, other: &Self) -> std::cmp::Ordering;
}

impl IndexOrder for [PathElem] {
    fn cmp_by_index(&self, other: &Self) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        for (a, b) in self.iter().zip(other) {
            let order = match (a, b) {
                (PathElem::Attr(x), PathElem::Attr(y)) => x.cmp(y),
                (PathElem::Index(x), PathElem::Index(y)) => x.cmp(y),
                (PathElem::Attr(_), PathElem::Index(_)) => Ordering::Less,
                (PathElem::Index(_), PathElem::Attr(_)) => Ordering::Greater,
            };
            if order != Ordering::Equal {
                return order;
            }
        }
        self.len().cmp(&other.len())
    }
}

fn operand(operand: &SetOperand, item: &Item) -> Result<AttrValue, ExprError> {
    match operand {
        SetOperand::Path(path) => path.get(item).cloned().ok_or_else(|| {
            ExprError::new(
                "The provided expression refers to an attribute that does not exist in the item",
            )
        }),
        SetOperand::Value(value) => Ok(value.clone()),
        SetOperand::IfNotExists(path, default) => match path.get(item) {
            Some(value) => Ok(value.clone()),
            None => self::operand(default, item),
        },
        SetOperand::ListAppend(a, b) => {
            let (AttrValue::L(mut a), AttrValue::L(b)) =
                (self::operand(a, item)?, self::operand(b, item)?)
            else {
                return Err(wrong_type());
            };
            a.extend(b);
            Ok(AttrValue::L(a))
        }
    }
}

fn evaluate(value: &SetValue, item: &Item) -> Result<AttrValue, ExprError> {
    let (a, b, subtract) = match value {
        SetValue::Operand(o) => return operand(o, item),
        SetValue::Plus(a, b) => (a, b, false),
        SetValue::Minus(a, b) => (a, b, true),
    };
    let (AttrValue::N(a), AttrValue::N(b)) = (operand(a, item)?, operand(b, item)?) else {
        return Err(wrong_type());
    };
    let result = if subtract { a.sub(&b) } else { a.add(&b) };
    Ok(AttrValue::N(result?))
}

/// The container holding the last element of `path`, which must exist with the right type.
fn parent<'a>(item: &'a mut Item, path: &Path) -> Result<Slot<'a>, ExprError> {
    let elems = path.elems();
    let (last, inner) = elems.split_last().ok_or_else(invalid_path)?;
    if inner.is_empty() {
        return Ok(Slot::Map(item));
    }
    let mut current = item.get_mut(path.head()).ok_or_else(invalid_path)?;
    for elem in &inner[1..] {
        current = match (elem, current) {
            (PathElem::Attr(key), AttrValue::M(map)) => map.get_mut(key),
            (PathElem::Index(i), AttrValue::L(list)) => list.get_mut(*i),
            _ => None,
        }
        .ok_or_else(invalid_path)?;
    }
    match (last, current) {
        (PathElem::Attr(_), AttrValue::M(map)) => Ok(Slot::Map(map)),
        (PathElem::Index(_), AttrValue::L(list)) => Ok(Slot::List(list)),
        _ => Err(invalid_path()),
    }
}

enum Slot<'a> {
    Map(&'a mut Item),
    List(&'a mut Vec<AttrValue>),
}

fn last_elem(path: &Path) -> &PathElem {
    &path.elems()[path.elems().len() - 1]
}

fn set(item: &mut Item, path: &Path, value: AttrValue) -> Result<(), ExprError> {
    match (parent(item, path)?, last_elem(path)) {
        (Slot::Map(map), PathElem::Attr(key)) => {
            map.insert(key.clone(), value);
        }
        (Slot::List(list), PathElem::Index(i)) => match list.get_mut(*i) {
            Some(slot) => *slot = value,
            // DynamoDB appends when the index is past the end.
            None => list.push(value),
        },
        _ => return Err(invalid_path()),
    }
    Ok(())
}

/// The current value at `path` for read-modify-write, if present.
fn current<'a>(item: &'a mut Item, path: &Path) -> Result<Option<&'a mut AttrValue>, ExprError> {
    Ok(match (parent(item, path)?, last_elem(path)) {
        (Slot::Map(map), PathElem::Attr(key)) => map.get_mut(key),
        (Slot::List(list), PathElem::Index(i)) => list.get_mut(*i),
        _ => return Err(invalid_path()),
    })
}

fn remove(item: &mut Item, path: &Path) -> Result<(), ExprError> {
    match (parent(item, path)?, last_elem(path)) {
        (Slot::Map(map), PathElem::Attr(key)) => {
            map.remove(key);
        }
        (Slot::List(list), PathElem::Index(i)) => {
            if *i < list.len() {
                list.remove(*i);
            }
        }
        _ => return Err(invalid_path()),
    }
    Ok(())
}

fn union<T: PartialEq + Clone>(set: &mut Vec<T>, more: &[T]) {
    for x in more {
        if !set.contains(x) {
            set.push(x.clone());
        }
    }
}

fn add(item: &mut Item, path: &Path, value: &AttrValue) -> Result<(), ExprError> {
    let Some(existing) = current(item, path)? else {
        return set(item, path, value.clone());
    };
    match (existing, value) {
        (AttrValue::N(n), AttrValue::N(m)) => *n = n.add(m)?,
        (AttrValue::Ss(set), AttrValue::Ss(more)) => union(set, more),
        (AttrValue::Ns(set), AttrValue::Ns(more)) => union(set, more),
        (AttrValue::Bs(set), AttrValue::Bs(more)) => union(set, more),
        // Only legacy `AttributeUpdates` ADD takes lists (update expressions have no L).
        (AttrValue::L(list), AttrValue::L(more)) => list.extend(more.iter().cloned()),
        _ => return Err(wrong_type()),
    }
    Ok(())
}

fn delete(item: &mut Item, path: &Path, value: &AttrValue) -> Result<(), ExprError> {
    let Some(existing) = current(item, path)? else {
        return Ok(());
    };
    let empty = match (existing, value) {
        (AttrValue::Ss(set), AttrValue::Ss(gone)) => {
            set.retain(|x| !gone.contains(x));
            set.is_empty()
        }
        (AttrValue::Ns(set), AttrValue::Ns(gone)) => {
            set.retain(|x| !gone.contains(x));
            set.is_empty()
        }
        (AttrValue::Bs(set), AttrValue::Bs(gone)) => {
            set.retain(|x| !gone.contains(x));
            set.is_empty()
        }
        _ => return Err(wrong_type()),
    };
    // A set cannot be empty: removing its last element removes the attribute.
    if empty {
        remove(item, path)?;
    }
    Ok(())
}
