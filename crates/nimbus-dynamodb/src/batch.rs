//! BatchGetItem and BatchWriteItem. A batch write runs in one group commit; a batch get reads
//! one snapshot.

use std::collections::BTreeSet;
use std::sync::Arc;

use nimbus_core::{RequestContext, ServiceError};
use nimbus_dynamodb_expr::{Item, item_from_json, item_size, item_to_json};
use serde_json::{Map, Value};

use crate::capacity::{Consumed, Report, read_units};
use crate::errors::validation;
use crate::items::refusal;
use crate::keys::StoredKey;
use crate::request::{self, expr_error};
use crate::table::Table;
use crate::write::{Change, ItemWrite, check_put, decode};
use crate::{Dynamodb, rows};

const MAX_BATCH_WRITE: usize = 25;
const MAX_BATCH_GET: usize = 100;
/// BatchGetItem answers at most this much; the rest comes back as UnprocessedKeys.
const MAX_BATCH_GET_BYTES: usize = 16 * 1024 * 1024;

fn duplicates() -> ServiceError {
    validation("Provided list of item keys contains duplicates")
}

fn request_items(input: &Value) -> Result<&Map<String, Value>, ServiceError> {
    input
        .get("RequestItems")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            validation(
                "1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must not be null",
            )
        })
}

fn item_of(value: &Value) -> Result<Item, ServiceError> {
    item_from_json(value).map_err(|e| validation(e.message))
}

fn capacity_list(consumed: &[(String, Consumed)], report: Report, kind: &str) -> Option<Value> {
    (report != Report::None).then(|| {
        Value::Array(
            consumed
                .iter()
                .filter_map(|(table, c)| c.to_json(report, table, kind))
                .collect(),
        )
    })
}

impl Dynamodb {
    pub async fn batch_write_item(
        &self,
        ctx: &RequestContext,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let requests = request_items(input)?;
        let total: usize = requests
            .values()
            .map(|v| v.as_array().map_or(0, Vec::len))
            .sum();
        if total > MAX_BATCH_WRITE {
            return Err(validation(format!(
                "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to {MAX_BATCH_WRITE}, Member must have length greater than or equal to 1]"
            )));
        }
        let mut writes = Vec::with_capacity(total);
        for (name, list) in requests {
            let table = self.table(ctx, name)?;
            let mut seen: BTreeSet<StoredKey> = BTreeSet::new();
            for entry in list.as_array().into_iter().flatten() {
                let put = entry.get("PutRequest").filter(|v| !v.is_null());
                let delete = entry.get("DeleteRequest").filter(|v| !v.is_null());
                let write = match (put, delete) {
                    (Some(put), None) => {
                        let item = item_of(put.get("Item").unwrap_or(&Value::Null))?;
                        let (key, put) = check_put(&table, item)?;
                        ItemWrite {
                            table: Arc::clone(&table),
                            key,
                            key_item: Item::new(),
                            condition: None,
                            change: Change::Put(put),
                            want_old: false,
                            now_ms: self.clock.now_ms(),
                            by_ttl: false,
                        }
                    }
                    (None, Some(delete)) => {
                        let key_item = item_of(delete.get("Key").unwrap_or(&Value::Null))?;
                        let key = table.meta.key.key_of_request(&key_item)?;
                        ItemWrite {
                            table: Arc::clone(&table),
                            key,
                            key_item,
                            condition: None,
                            change: Change::Delete,
                            want_old: false,
                            now_ms: self.clock.now_ms(),
                            by_ttl: false,
                        }
                    }
                    _ => {
                        return Err(validation(
                            "1 validation error detected: WriteRequest must contain exactly one of PutRequest or DeleteRequest",
                        ));
                    }
                };
                if !seen.insert(write.key.clone()) {
                    return Err(duplicates());
                }
                writes.push(write);
            }
        }
        let report = Report::of(input);
        let results = self
            .db
            .write(move |tx| {
                let mut consumed: Vec<(String, Consumed)> = Vec::new();
                for write in &writes {
                    match write.apply(tx)? {
                        Ok(done) => {
                            let name = &write.table.meta.name;
                            match consumed.iter_mut().find(|(n, _)| n == name) {
                                Some((_, c)) => c.add(&done.consumed),
                                None => consumed.push((name.clone(), done.consumed)),
                            }
                        }
                        Err(refused) => return crate::abort(refusal(refused, false)),
                    }
                }
                Ok(consumed)
            })
            .await?;
        let mut out = Map::new();
        out.insert("UnprocessedItems".into(), Value::Object(Map::new()));
        if let Some(c) = capacity_list(&results, report, "WriteCapacityUnits") {
            out.insert("ConsumedCapacity".into(), c);
        }
        Ok(Value::Object(out))
    }

    pub fn batch_get_item(
        &self,
        ctx: &RequestContext,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let requests = request_items(input)?;
        let total: usize = requests
            .values()
            .map(|v| v.get("Keys").and_then(Value::as_array).map_or(0, Vec::len))
            .sum();
        if total > MAX_BATCH_GET {
            return Err(validation(
                "Too many items requested for the BatchGetItem call",
            ));
        }
        struct TableRead {
            name: String,
            table: Arc<Table>,
            request: Value,
            keys: Vec<(Value, StoredKey)>,
            projection: Option<nimbus_dynamodb_expr::Projection>,
            consistent: bool,
        }
        let mut reads = Vec::new();
        for (name, request) in requests {
            let table = self.table(ctx, name)?;
            let mut params = request::params(request)?;
            let projection = request::projection(request, &mut params)?;
            params.finish().map_err(expr_error)?;
            let mut seen = BTreeSet::new();
            let mut keys = Vec::new();
            for key in request
                .get("Keys")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let stored = table.meta.key.key_of_request(&item_of(key)?)?;
                if !seen.insert(stored.clone()) {
                    return Err(duplicates());
                }
                keys.push((key.clone(), stored));
            }
            reads.push(TableRead {
                name: name.clone(),
                consistent: request::bool_field(request, "ConsistentRead"),
                table,
                request: request.clone(),
                keys,
                projection,
            });
        }
        let report = Report::of(input);
        let found = self.db.read(|tx| {
            let mut found = Vec::new();
            for read in &reads {
                let mut items = Vec::new();
                for (_, key) in &read.keys {
                    items.push(rows::get_item(tx, read.table.id, key)?);
                }
                found.push(items);
            }
            Ok(found)
        })?;
        let mut responses = Map::new();
        let mut unprocessed = Map::new();
        let mut consumed = Vec::new();
        let mut answered = 0usize;
        for (read, items) in reads.iter().zip(found) {
            let mut list = Vec::new();
            let mut left = Vec::new();
            let mut units = 0.0;
            for ((wire_key, _), stored) in read.keys.iter().zip(items) {
                if answered > MAX_BATCH_GET_BYTES {
                    left.push(wire_key.clone());
                    continue;
                }
                let Some(bytes) = stored else {
                    units += read_units(0, read.consistent);
                    continue;
                };
                answered += bytes.len();
                let item = decode(&bytes).map_err(|e| crate::errors::internal(&e))?;
                units += read_units(item_size(&item), read.consistent);
                let item = match &read.projection {
                    Some(p) => p.apply(&item),
                    None => item,
                };
                list.push(item_to_json(&item));
            }
            responses.insert(read.name.clone(), Value::Array(list));
            if !left.is_empty() {
                let mut request = read.request.clone();
                if let Some(object) = request.as_object_mut() {
                    object.insert("Keys".into(), Value::Array(left));
                }
                unprocessed.insert(read.name.clone(), request);
            }
            consumed.push((
                read.name.clone(),
                Consumed {
                    table: units,
                    indexes: Vec::new(),
                },
            ));
        }
        let mut out = Map::new();
        out.insert("Responses".into(), Value::Object(responses));
        out.insert("UnprocessedKeys".into(), Value::Object(unprocessed));
        if let Some(c) = capacity_list(&consumed, report, "ReadCapacityUnits") {
            out.insert("ConsumedCapacity".into(), c);
        }
        Ok(Value::Object(out))
    }
}
