//! PutItem, GetItem, DeleteItem and UpdateItem, from request JSON to response JSON.

use std::sync::Arc;

use nimbus_core::{RequestContext, ServiceError};
use nimbus_dynamodb_expr::{Item, Update, item_size, item_to_json, legacy};
use serde_json::{Map, Value};

use crate::capacity::{Consumed, Report, read_units};
use crate::errors::{self, invalid_parameter};
use crate::keys::StoredKey;
use crate::request::{self, expr_error, str_field};
use crate::table::Table;
use crate::write::{Change, ItemWrite, Refused, Written, check_put, decode};
use crate::{Dynamodb, rows};

/// The error a refused single-item write answers with.
pub fn refusal(refused: Refused, return_old: bool) -> ServiceError {
    match refused {
        Refused::Condition(old) => {
            let err = errors::conditional_check_failed();
            match old {
                Some(item) if return_old => err.with_field("Item", item_to_json(&item)),
                _ => err,
            }
        }
        Refused::Invalid(err) => err,
    }
}

/// The whole item as `Attributes`; none when there is no item.
fn attributes_of(item: Option<&Item>) -> Option<Value> {
    item.filter(|i| !i.is_empty()).map(item_to_json)
}

/// Only what the update wrote, as it is in `item`; none when that is nothing.
fn updated_attributes_of(item: Option<&Item>, update: Option<&Update>) -> Option<Value> {
    let parts = update?.updated_parts(item?);
    (!parts.is_empty()).then(|| item_to_json(&parts))
}

fn respond(attributes: Option<Value>, consumed: Option<Value>) -> Value {
    let mut out = Map::new();
    if let Some(attributes) = attributes {
        out.insert("Attributes".into(), attributes);
    }
    if let Some(consumed) = consumed {
        out.insert("ConsumedCapacity".into(), consumed);
    }
    Value::Object(out)
}

impl Dynamodb {
    /// The table a single-item request names, its `Key` as given, and that key as stored.
    fn keyed_item(
        &self,
        ctx: &RequestContext,
        input: &Value,
    ) -> Result<(Arc<Table>, Item, StoredKey), ServiceError> {
        let table = self.table(ctx, request::required_str(input, "TableName")?)?;
        let key_item = request::required_item(input, "Key")?;
        let key = table.meta.key.key_of_request(&key_item)?;
        Ok((table, key_item, key))
    }

    /// Runs one item write in the next group commit. Prechecked: `apply` refuses only
    /// before its first change.
    pub(crate) async fn write_one(
        &self,
        write: ItemWrite,
    ) -> Result<Result<Written, Refused>, ServiceError> {
        self.db
            .write_prechecked(move |tx| Ok(write.apply(tx)?))
            .await
    }

    pub async fn put_item(
        &self,
        ctx: &RequestContext,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let table = self.table(ctx, request::required_str(input, "TableName")?)?;
        let item = request::required_item(input, "Item")?;
        let mut params = request::params(input)?;
        let condition = request::condition(input, &mut params)?;
        params.finish().map_err(expr_error)?;
        let return_values = request::return_values(input, &["NONE", "ALL_OLD"], "PutItem")?;
        let report = Report::of(input);
        let (key, put) = check_put(&table, item)?;
        let write = ItemWrite {
            key_item: Item::new(),
            table: Arc::clone(&table),
            key,
            condition,
            change: Change::Put(put),
            want_old: return_values == "ALL_OLD",
            now_ms: self.clock.now_ms(),
            by_ttl: false,
        };
        self.write_returning_old(write, input, return_values == "ALL_OLD", report)
            .await
    }

    /// Runs a put or a delete and answers as both do: the old item when `ALL_OLD` was asked
    /// for, and the consumed capacity.
    async fn write_returning_old(
        &self,
        write: ItemWrite,
        input: &Value,
        all_old: bool,
        report: Report,
    ) -> Result<Value, ServiceError> {
        let table = Arc::clone(&write.table);
        let written = self
            .write_one(write)
            .await?
            .map_err(|r| refusal(r, request::old_on_failure(input)))?;
        let attributes = all_old
            .then(|| attributes_of(written.old.as_ref()))
            .flatten();
        let consumed = written
            .consumed
            .to_json(report, &table.meta.name, "WriteCapacityUnits");
        Ok(respond(attributes, consumed))
    }

    pub async fn delete_item(
        &self,
        ctx: &RequestContext,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let (table, key_item, key) = self.keyed_item(ctx, input)?;
        let mut params = request::params(input)?;
        let condition = request::condition(input, &mut params)?;
        params.finish().map_err(expr_error)?;
        let return_values = request::return_values(input, &["NONE", "ALL_OLD"], "DeleteItem")?;
        let report = Report::of(input);
        let write = ItemWrite {
            table: Arc::clone(&table),
            key,
            key_item,
            condition,
            change: Change::Delete,
            want_old: true,
            now_ms: self.clock.now_ms(),
            by_ttl: false,
        };
        self.write_returning_old(write, input, return_values == "ALL_OLD", report)
            .await
    }

    pub async fn update_item(
        &self,
        ctx: &RequestContext,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let (table, key_item, key) = self.keyed_item(ctx, input)?;
        let mut params = request::params(input)?;
        let update = parse_update(input, &mut params)?;
        let condition = request::condition(input, &mut params)?;
        params.finish().map_err(expr_error)?;
        let return_values = request::return_values(
            input,
            &["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"],
            "UpdateItem",
        )?;
        let report = Report::of(input);
        let touched = update
            .as_ref()
            .map(|u| u.top_level_attributes())
            .unwrap_or_default();
        if let Some(name) = touched.iter().find(|n| table.meta.key.contains(n)) {
            return Err(invalid_parameter(format!(
                "Cannot update attribute {name}. This attribute is part of the key"
            )));
        }
        let update = update.map(Arc::new);
        let write = ItemWrite {
            table: Arc::clone(&table),
            key,
            key_item,
            condition,
            change: Change::Update(update.clone()),
            want_old: true,
            now_ms: self.clock.now_ms(),
            by_ttl: false,
        };
        let written = self
            .write_one(write)
            .await?
            .map_err(|r| refusal(r, request::old_on_failure(input)))?;
        let attributes = match return_values.as_str() {
            "ALL_OLD" => attributes_of(written.old.as_ref()),
            "UPDATED_OLD" => updated_attributes_of(written.old.as_ref(), update.as_deref()),
            "ALL_NEW" => attributes_of(written.new.as_ref()),
            "UPDATED_NEW" => updated_attributes_of(written.new.as_ref(), update.as_deref()),
            _ => None,
        };
        let consumed = written
            .consumed
            .to_json(report, &table.meta.name, "WriteCapacityUnits");
        Ok(respond(attributes, consumed))
    }

    /// GetItem as a JSON value, for callers other than the awsJson edge (which takes
    /// [`Self::get_item_rendered`]).
    pub fn get_item(&self, ctx: &RequestContext, input: &Value) -> Result<Value, ServiceError> {
        serde_json::from_slice(&self.get_item_rendered(ctx, input)?)
            .map_err(|_| ServiceError::internal())
    }

    /// GetItem's body written straight from the stored item, when the request asks for the
    /// whole item and no consumed capacity (the common case).
    pub fn get_item_rendered(
        &self,
        ctx: &RequestContext,
        input: &Value,
    ) -> Result<Vec<u8>, ServiceError> {
        match self.look_up_item(ctx, input)? {
            Found::Stored(None) => Ok(b"{}".to_vec()),
            Found::Stored(Some(bytes)) => {
                let mut body = Vec::with_capacity(bytes.len() + 9);
                body.extend_from_slice(b"{\"Item\":");
                body.extend_from_slice(&bytes);
                body.push(b'}');
                Ok(body)
            }
            Found::Built(output) => {
                serde_json::to_vec(&output).map_err(|_| ServiceError::internal())
            }
        }
    }

    fn look_up_item(&self, ctx: &RequestContext, input: &Value) -> Result<Found, ServiceError> {
        let (table, _, key) = self.keyed_item(ctx, input)?;
        let mut params = request::params(input)?;
        let projection = request::projection(input, &mut params)?;
        params.finish().map_err(expr_error)?;
        let report = Report::of(input);
        let consistent = request::bool_field(input, "ConsistentRead");
        let stored = self.db.read(|tx| rows::get_item(tx, table.id, &key))?;
        if projection.is_none() && report == Report::None {
            // The stored form is the wire form.
            return Ok(Found::Stored(stored));
        }
        let mut out = Map::new();
        let mut size = 0;
        if let Some(bytes) = stored {
            let item = decode(&bytes).map_err(|e| errors::internal(&e))?;
            size = item_size(&item);
            let item = match &projection {
                Some(p) => p.apply(&item),
                None => item,
            };
            out.insert("Item".into(), item_to_json(&item));
        }
        let consumed = Consumed {
            table: read_units(size, consistent),
            indexes: Vec::new(),
        };
        if let Some(consumed) = consumed.to_json(report, &table.meta.name, "ReadCapacityUnits") {
            out.insert("ConsumedCapacity".into(), consumed);
        }
        Ok(Found::Built(Value::Object(out)))
    }
}

/// What GetItem found: the stored item as it is, or the answer built from it (projected,
/// with consumed capacity).
enum Found {
    Stored(Option<Vec<u8>>),
    Built(Value),
}

/// `UpdateExpression` or legacy `AttributeUpdates`; `None` when the request has neither.
pub fn parse_update(
    input: &Value,
    params: &mut nimbus_dynamodb_expr::Params,
) -> Result<Option<Update>, ServiceError> {
    if let Some(text) = str_field(input, "UpdateExpression") {
        return Update::parse(text, params).map(Some).map_err(expr_error);
    }
    match input.get("AttributeUpdates") {
        Some(updates) if !updates.is_null() => legacy::attribute_updates(updates)
            .map(Some)
            .map_err(expr_error),
        _ => Ok(None),
    }
}
