//! TransactWriteItems and TransactGetItems: all or nothing in one store transaction, with
//! cancellation reasons in request order and client-token idempotency for ten minutes.

use std::collections::BTreeSet;
use std::sync::Arc;

use nimbus_core::{RequestContext, ServiceError};
use nimbus_dynamodb_expr::{Item, item_from_json, item_size, item_to_json};
use nimbus_model::dynamodb::errors as model;
use nimbus_store::TxError;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::capacity::{Consumed, Report, read_units};
use crate::errors::{invalid_parameter, validation};
use crate::items::parse_update;
use crate::keys::StoredKey;
use crate::request::{self, expr_error, str_field};
use crate::write::{Change, ItemWrite, Refused, check_put, decode};
use crate::{Dynamodb, rows};

const MAX_TRANSACT_ITEMS: usize = 100;
const TOKEN_WINDOW_MS: i64 = 10 * 60 * 1000;

fn one_item_error() -> ServiceError {
    validation("Transaction request cannot include multiple operations on one item")
}

fn too_many(member: &str, n: usize) -> ServiceError {
    validation(format!(
        "1 validation error detected: Value '{n}' at '{member}' failed to satisfy constraint: Member must have length less than or equal to {MAX_TRANSACT_ITEMS}"
    ))
}

/// One transaction item, with what a failed condition should return.
struct Step {
    write: ItemWrite,
    return_old: bool,
}

impl Dynamodb {
    fn transact_step(&self, ctx: &RequestContext, entry: &Value) -> Result<Step, ServiceError> {
        let kinds = ["ConditionCheck", "Put", "Delete", "Update"];
        let mut present = kinds
            .iter()
            .filter_map(|k| entry.get(*k).filter(|v| !v.is_null()).map(|v| (*k, v)));
        let (Some((kind, op)), None) = (present.next(), present.next()) else {
            return Err(validation(
                "TransactItems can only contain one of Check, Put, Update or Delete",
            ));
        };
        let table = self.table(ctx, request::required_str(op, "TableName")?)?;
        let mut params = request::params(op)?;
        let (key, key_item, change, condition) = match kind {
            "Put" => {
                let item = request::required_item(op, "Item")?;
                let (key, put) = check_put(&table, item)?;
                let condition = request::condition(op, &mut params)?;
                (key, Item::new(), Change::Put(put), condition)
            }
            _ => {
                let key_item = request::required_item(op, "Key")?;
                let key = table.meta.key.key_of_request(&key_item)?;
                let change = match kind {
                    "Delete" => Change::Delete,
                    "ConditionCheck" => Change::Check,
                    _ => {
                        let update = parse_update(op, &mut params)?.ok_or_else(|| {
                            validation(
                                "1 validation error detected: Value null at 'transactItems.member.update.updateExpression' failed to satisfy constraint: Member must not be null",
                            )
                        })?;
                        if let Some(name) = update
                            .top_level_attributes()
                            .iter()
                            .find(|n| table.meta.key.contains(n))
                        {
                            return Err(invalid_parameter(format!(
                                "Cannot update attribute {name}. This attribute is part of the key"
                            )));
                        }
                        Change::Update(Some(Arc::new(update)))
                    }
                };
                let condition = request::condition(op, &mut params)?;
                if kind == "ConditionCheck" && condition.is_none() {
                    return Err(validation(
                        "1 validation error detected: Value null at 'transactItems.member.conditionCheck.conditionExpression' failed to satisfy constraint: Member must not be null",
                    ));
                }
                (key, key_item, change, condition)
            }
        };
        params.finish().map_err(expr_error)?;
        Ok(Step {
            return_old: request::old_on_failure(op),
            write: ItemWrite {
                table,
                key,
                key_item,
                condition,
                change,
                want_old: false,
                now_ms: self.clock.now_ms(),
                by_ttl: false,
            },
        })
    }

    pub async fn transact_write_items(
        &self,
        ctx: &RequestContext,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let entries = transact_entries(input)?;
        let mut steps = Vec::with_capacity(entries.len());
        let mut seen: BTreeSet<(i64, StoredKey)> = BTreeSet::new();
        for entry in entries {
            let step = self.transact_step(ctx, entry)?;
            if !seen.insert((step.write.table.id, step.write.key.clone())) {
                return Err(one_item_error());
            }
            steps.push(step);
        }
        let token = str_field(input, "ClientRequestToken").map(str::to_owned);
        let fingerprint = hex::encode(Sha256::digest(
            serde_json::to_vec(input.get("TransactItems").unwrap_or(&Value::Null))
                .unwrap_or_default(),
        ));
        let report = Report::of(input);
        let now = self.clock.now_ms();
        let (account, region) = (ctx.account_id.clone(), ctx.region.clone());
        let consumed = self
            .db
            .write(move |tx| {
                if let Some(token) = &token {
                    match rows::transaction_token(tx, &account, &region, token, now - TOKEN_WINDOW_MS)? {
                        Some(seen) if seen == fingerprint => return Ok(Vec::new()),
                        Some(_) => {
                            return crate::abort(model::idempotent_parameter_mismatch_exception(
                                "Transaction with the provided client token was already processed with different parameters",
                            ));
                        }
                        None => {}
                    }
                }
                let mut reasons = Vec::with_capacity(steps.len());
                let mut failed = false;
                let mut consumed: Vec<(String, Consumed)> = Vec::new();
                for step in &steps {
                    match step.write.apply(tx)? {
                        Ok(done) => {
                            reasons.push(json!({"Code": "None"}));
                            let name = &step.write.table.meta.name;
                            let units = if matches!(step.write.change, Change::Check) {
                                Consumed {
                                    table: read_units(done.old.as_ref().map_or(0, item_size), true),
                                    indexes: Vec::new(),
                                }
                            } else {
                                done.consumed
                            };
                            match consumed.iter_mut().find(|(n, _)| n == name) {
                                Some((_, c)) => c.add(&units),
                                None => consumed.push((name.clone(), units)),
                            }
                        }
                        Err(Refused::Condition(old)) => {
                            failed = true;
                            let mut reason = json!({"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"});
                            if let (true, Some(item)) = (step.return_old, old) {
                                reason["Item"] = item_to_json(&item);
                            }
                            reasons.push(reason);
                        }
                        Err(Refused::Invalid(err)) => {
                            failed = true;
                            reasons.push(json!({"Code": "ValidationError", "Message": err.message}));
                        }
                    }
                }
                if failed {
                    let codes: Vec<&str> = reasons.iter().map(|r| r["Code"].as_str().unwrap_or("None")).collect();
                    let err = model::transaction_canceled_exception(format!(
                        "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
                        codes.join(", ")
                    ))
                    .with_field("CancellationReasons", Value::Array(reasons));
                    return Err(TxError::Abort(err));
                }
                if let Some(token) = &token {
                    rows::record_transaction_token(tx, &account, &region, token, &fingerprint, now)?;
                }
                Ok(consumed)
            })
            .await?;
        let mut out = Map::new();
        if report != Report::None {
            let list: Vec<Value> = consumed
                .into_iter()
                .filter_map(|(table, c)| {
                    c.scaled(2.0).to_json(report, &table, "WriteCapacityUnits")
                })
                .collect();
            out.insert("ConsumedCapacity".into(), Value::Array(list));
        }
        Ok(Value::Object(out))
    }

    pub fn transact_get_items(
        &self,
        ctx: &RequestContext,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let entries = transact_entries(input)?;
        let mut gets = Vec::with_capacity(entries.len());
        let mut seen: BTreeSet<(i64, StoredKey)> = BTreeSet::new();
        for entry in entries {
            let get = entry.get("Get").filter(|v| !v.is_null()).ok_or_else(|| {
                validation(
                    "1 validation error detected: Value null at 'transactItems.member.get' failed to satisfy constraint: Member must not be null",
                )
            })?;
            let table = self.table(ctx, request::required_str(get, "TableName")?)?;
            let key_value = get.get("Key").unwrap_or(&Value::Null);
            let key_item = item_from_json(key_value).map_err(|e| validation(e.message))?;
            let key = table.meta.key.key_of_request(&key_item)?;
            let mut params = request::params(get)?;
            let projection = request::projection(get, &mut params)?;
            params.finish().map_err(expr_error)?;
            if !seen.insert((table.id, key.clone())) {
                return Err(one_item_error());
            }
            gets.push((table, key, projection));
        }
        let report = Report::of(input);
        let found = self.db.read(|tx| {
            gets.iter()
                .map(|(table, key, _)| rows::get_item(tx, table.id, key))
                .collect::<Result<Vec<_>, _>>()
        })?;
        let mut responses = Vec::with_capacity(gets.len());
        let mut consumed: Vec<(String, Consumed)> = Vec::new();
        for ((table, _, projection), stored) in gets.iter().zip(found) {
            let mut response = Map::new();
            let mut size = 0;
            if let Some(bytes) = stored {
                let item = decode(&bytes).map_err(|e| crate::errors::internal(&e))?;
                size = item_size(&item);
                let item = match projection {
                    Some(p) => p.apply(&item),
                    None => item,
                };
                response.insert("Item".into(), item_to_json(&item));
            }
            let units = Consumed {
                table: 2.0 * read_units(size, true),
                indexes: Vec::new(),
            };
            match consumed.iter_mut().find(|(n, _)| *n == table.meta.name) {
                Some((_, c)) => c.add(&units),
                None => consumed.push((table.meta.name.clone(), units)),
            }
            responses.push(Value::Object(response));
        }
        let mut out = Map::new();
        out.insert("Responses".into(), Value::Array(responses));
        if report != Report::None {
            let list: Vec<Value> = consumed
                .iter()
                .filter_map(|(table, c)| c.to_json(report, table, "ReadCapacityUnits"))
                .collect();
            out.insert("ConsumedCapacity".into(), Value::Array(list));
        }
        Ok(Value::Object(out))
    }
}

/// The request's `TransactItems`, within DynamoDB's count limit.
fn transact_entries(input: &Value) -> Result<&[Value], ServiceError> {
    let entries = input
        .get("TransactItems")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    if entries.len() > MAX_TRANSACT_ITEMS {
        return Err(too_many("transactItems", entries.len()));
    }
    Ok(entries)
}
