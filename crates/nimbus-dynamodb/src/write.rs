//! One item write — put, update, delete or condition check — inside a store transaction:
//! read the current item, check the condition, apply the change, keep the index entries in
//! step. Single-item operations, batches and transactions all run through here.

use std::sync::Arc;

use nimbus_core::ServiceError;
use nimbus_dynamodb_expr::{
    Condition, Item, Update, item_from_json, item_size, item_to_json_bytes,
};
use nimbus_store::{DbError, Tx};

use crate::capacity::{Consumed, write_units};
use crate::errors::{self, validation};
use crate::keys::{StoredKey, index_key};
use crate::rows;
use crate::table::Table;

/// DynamoDB's item size limit.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// What a write does to its item.
#[derive(Debug, Clone)]
pub enum Change {
    Put(NewItem),
    /// An update; `None` (no UpdateExpression) only makes sure the item exists.
    Update(Option<Arc<Update>>),
    Delete,
    /// A transaction's ConditionCheck: read and test only.
    Check,
}

/// An item to put, measured and encoded before it reaches the store's single writer thread,
/// so the writer only runs SQL for it.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub item: Item,
    /// `item_size` of the item.
    pub size: usize,
    /// The stored form (`encode`).
    pub stored: Vec<u8>,
}

/// One item write, parsed and validated outside the transaction.
#[derive(Debug, Clone)]
pub struct ItemWrite {
    pub table: Arc<Table>,
    pub key: StoredKey,
    /// The key attributes (an update of a missing item starts from them).
    pub key_item: Item,
    pub condition: Option<Condition>,
    pub change: Change,
    /// Whether the caller needs the old item even when nothing else does.
    pub want_old: bool,
    /// When the write happens (server clock), for its stream record.
    pub now_ms: i64,
    /// A deletion by the TTL sweep: its stream record names the service as the actor.
    pub by_ttl: bool,
}

/// The item before and after a write.
#[derive(Debug, Clone, Default)]
pub struct Written {
    pub old: Option<Item>,
    pub new: Option<Item>,
    pub consumed: Consumed,
}

/// Why a write did not happen.
#[derive(Debug, Clone)]
pub enum Refused {
    /// The condition was false; the current item, if any.
    Condition(Option<Item>),
    /// The change cannot apply to this item (update expression errors, sizes, index keys).
    Invalid(ServiceError),
}

/// Parses a stored item.
pub fn decode(bytes: &[u8]) -> Result<Item, DbError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| DbError::Engine(format!("stored item: {e}")))?;
    item_from_json(&value).map_err(|e| DbError::Engine(format!("stored item: {}", e.message)))
}

pub fn encode(item: &Item) -> Vec<u8> {
    item_to_json_bytes(item)
}

impl ItemWrite {
    fn needs_old(&self) -> bool {
        self.want_old
            || self.table.meta.stream.as_ref().is_some_and(|s| s.enabled)
            || self.condition.is_some()
            || !matches!(self.change, Change::Put(_))
            || self.table.indexes().next().is_some()
    }

    /// Runs the write in `tx`. `Ok(Err(_))` means nothing was written.
    pub fn apply(&self, tx: &mut dyn Tx) -> Result<Result<Written, Refused>, DbError> {
        let table_id = self.table.id;
        let old = if self.needs_old() {
            rows::get_item(tx, table_id, &self.key)?
                .map(|bytes| decode(&bytes))
                .transpose()?
        } else {
            None
        };
        if let Some(condition) = &self.condition {
            let empty = Item::new();
            match condition.evaluate(old.as_ref().unwrap_or(&empty)) {
                Ok(true) => {}
                Ok(false) => return Ok(Err(Refused::Condition(old))),
                Err(err) => return Ok(Err(Refused::Invalid(validation(err.message)))),
            }
        }
        let new = match &self.change {
            Change::Check => {
                return Ok(Ok(Written {
                    new: old.clone(),
                    old,
                    consumed: Consumed::default(),
                }));
            }
            Change::Delete => None,
            Change::Put(put) => Some(put.item.clone()),
            Change::Update(update) => {
                let mut item = old.clone().unwrap_or_else(|| self.key_item.clone());
                if let Some(update) = update
                    && let Err(err) = update.apply(&mut item)
                {
                    return Ok(Err(Refused::Invalid(validation(err.message))));
                }
                if item_size(&item) > MAX_ITEM_BYTES {
                    return Ok(Err(Refused::Invalid(validation(
                        "Item size to update has exceeded the maximum allowed size",
                    ))));
                }
                Some(item)
            }
        };
        let mut consumed = Consumed::default();
        let old_size = old.as_ref().map_or(0, item_size);
        let new_size = match (&self.change, &new) {
            (Change::Put(put), _) => put.size,
            (_, new) => new.as_ref().map_or(0, item_size),
        };
        consumed.table = write_units(old_size.max(new_size));
        // Every index key is checked before the first change, so a refusal never leaves part
        // of a write behind.
        let mut index_keys = Vec::new();
        for index in self.table.indexes() {
            let old_key = match &old {
                Some(item) => index_key(index, item).ok().flatten(),
                None => None,
            };
            let new_key = match &new {
                Some(item) => match index_key(index, item) {
                    Ok(key) => key,
                    Err(err) => return Ok(Err(Refused::Invalid(err))),
                },
                None => None,
            };
            index_keys.push((index, old_key, new_key));
        }
        for (index, old_key, new_key) in index_keys {
            let global = self.table.meta.gsis.iter().any(|g| g.name == index.name);
            let projected_size = |item: &Option<Item>| {
                item.as_ref()
                    .map_or(0, |i| item_size(&self.table.project(index, i)))
            };
            if old_key.is_some() && old_key == new_key {
                // The entry stays; it costs a write only when its projected attributes change.
                let (before, after) = (
                    old.as_ref().map(|i| self.table.project(index, i)),
                    new.as_ref().map(|i| self.table.project(index, i)),
                );
                if before != after {
                    consumed.add_index(&index.name, global, write_units(projected_size(&new)));
                }
                continue;
            }
            if let Some(key) = &old_key {
                rows::delete_index_entry(tx, table_id, &index.name, key, &self.key)?;
                consumed.add_index(&index.name, global, write_units(projected_size(&old)));
            }
            if let Some(key) = &new_key {
                rows::insert_index_entry(tx, table_id, &index.name, key, &self.key)?;
                consumed.add_index(&index.name, global, write_units(projected_size(&new)));
            }
        }
        match &new {
            Some(item) => {
                let expires = expiry(&self.table, item);
                let stored = match &self.change {
                    Change::Put(put) => put.stored.clone(),
                    _ => encode(item),
                };
                rows::put_item(tx, table_id, &self.key, new_size, stored, expires)?;
            }
            None if old.is_some() => rows::delete_item(tx, table_id, &self.key)?,
            None => {}
        }
        if old != new {
            crate::streams::record_change(tx, self, old.as_ref(), new.as_ref())?;
        }
        Ok(Ok(Written { old, new, consumed }))
    }
}

/// The item's time-to-live attribute in epoch seconds, while the table has TTL enabled. Only
/// a number counts, as DynamoDB's TTL only reads numbers.
pub fn expiry(table: &Table, item: &Item) -> Option<i64> {
    let ttl = table.meta.ttl.as_ref().filter(|t| t.enabled)?;
    match item.get(&ttl.attribute)? {
        nimbus_dynamodb_expr::AttrValue::N(n) => n.to_string().split('.').next()?.parse().ok(),
        _ => None,
    }
}

/// Checks an item to put — its key, its size and its index keys — and prepares it for the
/// writer.
pub fn check_put(table: &Table, item: Item) -> Result<(StoredKey, NewItem), ServiceError> {
    let key = table.meta.key.key_of_item(&item)?;
    let size = item_size(&item);
    if size > MAX_ITEM_BYTES {
        return Err(errors::item_too_large());
    }
    for index in table.indexes() {
        index_key(index, &item)?;
    }
    let stored = encode(&item);
    Ok((key, NewItem { item, size, stored }))
}
