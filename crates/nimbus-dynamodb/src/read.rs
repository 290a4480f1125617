//! Query and Scan: a key range (or hash range) read in key order, a page at a time, with
//! DynamoDB's limits (Limit and 1 MB of items read, both counted before the filter).

use nimbus_core::{RequestContext, ServiceError};
use nimbus_dynamodb_expr::{
    AttrValue, Condition, Item, KeyCondition, Projection, SortCondition, item_to_json, legacy,
};
use serde_json::{Map, Value, json};

use crate::capacity::{Consumed, Report, read_units};
use crate::errors::{invalid_parameter, validation};
use crate::keys::{key_bytes, partition_hash, segment_start};
use crate::request::{self, expr_error, str_field};
use crate::rows::{self, Bound, Found, Position, Range};
use crate::table::{IndexMeta, KeySchema, Table};
use crate::write::decode;
use crate::{Dynamodb, errors};

/// DynamoDB stops a page after reading this much.
const PAGE_BYTES: i64 = 1024 * 1024;
/// Rows fetched per statement while filling a page.
const CHUNK: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Select {
    All,
    Projected,
    Specific,
    Count,
}

/// A Query or Scan, parsed.
struct Plan<'t> {
    table: &'t Table,
    index: Option<(&'t IndexMeta, bool)>,
    range: Range,
    start: Option<Position>,
    limit: Option<usize>,
    filter: Option<Condition>,
    projection: Option<Projection>,
    select: Select,
    consistent: bool,
    report: Report,
}

fn select_of(
    input: &Value,
    projection: &Option<Projection>,
    index: Option<(&IndexMeta, bool)>,
) -> Result<Select, ServiceError> {
    let what = if input.get("AttributesToGet").is_some_and(|v| !v.is_null()) {
        "AttributesToGet"
    } else {
        "ProjectionExpression"
    };
    let select = match str_field(input, "Select") {
        None if projection.is_some() => Select::Specific,
        None if index.is_some() => Select::Projected,
        None => Select::All,
        Some("ALL_ATTRIBUTES") => Select::All,
        Some("ALL_PROJECTED_ATTRIBUTES") => Select::Projected,
        Some("SPECIFIC_ATTRIBUTES") => Select::Specific,
        Some("COUNT") => Select::Count,
        Some(other) => {
            return Err(validation(format!(
                "1 validation error detected: Value '{other}' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"
            )));
        }
    };
    match select {
        Select::Specific if projection.is_none() => Err(validation(
            "Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES",
        )),
        Select::Count if projection.is_some() => Err(validation(format!(
            "1 validation error detected: Cannot specify the {what} when choosing to get only the Count"
        ))),
        Select::All if projection.is_some() => Err(validation(format!(
            "1 validation error detected: Cannot specify the {what} when choosing to get ALL_ATTRIBUTES"
        ))),
        Select::Projected if projection.is_some() => Err(validation(format!(
            "1 validation error detected: Cannot specify the {what} when choosing to get ALL_PROJECTED_ATTRIBUTES"
        ))),
        Select::Projected if index.is_none() => Err(invalid_parameter(
            "Select type ALL_PROJECTED_ATTRIBUTES is not supported for a table; it requires an IndexName",
        )),
        Select::All => match index {
            Some((index, true)) if index.projection != crate::table::ProjectionKind::All => {
                Err(invalid_parameter(format!(
                    "Select type ALL_ATTRIBUTES is not supported for global secondary index {} because its projection type is not ALL",
                    index.name
                )))
            }
            _ => Ok(select),
        },
        _ => Ok(select),
    }
}

fn invalid_start_key() -> ServiceError {
    validation(
        "The provided starting key is invalid: The provided key element does not match the schema",
    )
}

/// The position an `ExclusiveStartKey` names.
fn start_position(
    table: &Table,
    index: Option<&IndexMeta>,
    start: &Item,
) -> Result<Position, ServiceError> {
    let table_key_item = table.meta.key.key_item(start);
    let key = table
        .meta
        .key
        .key_of_request(&table_key_item)
        .map_err(|_| invalid_start_key())?;
    let index_key = match index {
        Some(index) => {
            let expected = table_key_item.len()
                + index
                    .key
                    .attributes()
                    .filter(|a| !table.meta.key.contains(&a.name))
                    .count();
            if start.len() != expected {
                return Err(invalid_start_key());
            }
            Some(
                crate::keys::index_key(index, start)
                    .ok()
                    .flatten()
                    .ok_or_else(invalid_start_key)?,
            )
        }
        None => {
            if start.len() != table_key_item.len() {
                return Err(invalid_start_key());
            }
            None
        }
    };
    Ok(Position { index_key, key })
}

/// The smallest byte string greater than every string starting with `prefix`.
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

fn type_mismatch() -> ServiceError {
    invalid_parameter("Condition parameter type does not match schema type")
}

/// A Query's partition (hash and key bytes) and sort key bounds.
type KeyRange = (i64, Vec<u8>, Option<Bound>, Option<Bound>);

/// The partition and sort bounds of a key condition over `schema`.
fn key_range(schema: &KeySchema, condition: KeyCondition) -> Result<KeyRange, ServiceError> {
    let pk = key_bytes(&condition.partition.1, schema.partition.ty).ok_or_else(type_mismatch)?;
    let hash = partition_hash(&pk);
    let Some((_, sort)) = condition.sort else {
        return Ok((hash, pk, None, None));
    };
    let ty = schema
        .sort
        .as_ref()
        .map(|s| s.ty)
        .ok_or_else(|| validation("Query key condition not supported"))?;
    let bytes = |v: &AttrValue| key_bytes(v, ty).ok_or_else(type_mismatch);
    let incl = |bytes| {
        Some(Bound {
            bytes,
            inclusive: true,
        })
    };
    let excl = |bytes| {
        Some(Bound {
            bytes,
            inclusive: false,
        })
    };
    let (lower, upper) = match &sort {
        SortCondition::Eq(v) => (incl(bytes(v)?), incl(bytes(v)?)),
        SortCondition::Lt(v) => (None, excl(bytes(v)?)),
        SortCondition::Le(v) => (None, incl(bytes(v)?)),
        SortCondition::Gt(v) => (excl(bytes(v)?), None),
        SortCondition::Ge(v) => (incl(bytes(v)?), None),
        SortCondition::Between(a, b) => {
            let (low, high) = (bytes(a)?, bytes(b)?);
            if low > high {
                return Err(validation(format!(
                    "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {}, upper bound operand: AttributeValue: {}",
                    a.to_json(),
                    b.to_json()
                )));
            }
            (incl(low), incl(high))
        }
        SortCondition::BeginsWith(v) => {
            if matches!(v, AttrValue::N(_)) {
                return Err(validation(
                    "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
                ));
            }
            let prefix = bytes(v)?;
            let upper = prefix_end(&prefix).map(|b| Bound {
                bytes: b,
                inclusive: false,
            });
            (incl(prefix), upper)
        }
    };
    Ok((hash, pk, lower, upper))
}

impl Dynamodb {
    pub fn query(&self, ctx: &RequestContext, input: &Value) -> Result<Value, ServiceError> {
        self.read_page(ctx, input, true)
    }

    pub fn scan(&self, ctx: &RequestContext, input: &Value) -> Result<Value, ServiceError> {
        self.read_page(ctx, input, false)
    }

    fn read_page(
        &self,
        ctx: &RequestContext,
        input: &Value,
        is_query: bool,
    ) -> Result<Value, ServiceError> {
        let table = self.table(ctx, request::required_str(input, "TableName")?)?;
        let index = match str_field(input, "IndexName") {
            Some(name) => Some(table.index(name).ok_or_else(|| {
                validation(format!(
                    "The table does not have the specified index: {name}"
                ))
            })?),
            None => None,
        };
        let consistent = request::bool_field(input, "ConsistentRead");
        if consistent && index.is_some_and(|(_, global)| global) {
            return Err(validation(
                "Consistent reads are not supported on global secondary indexes",
            ));
        }
        let schema = index.map_or(&table.meta.key, |(i, _)| &i.key);
        let mut params = request::params(input)?;
        let mut range = Range {
            table_id: table.id,
            index: index.map(|(i, _)| i.name.clone()),
            partition: None,
            lower: None,
            upper: None,
            hashes: None,
            forward: input
                .get("ScanIndexForward")
                .and_then(Value::as_bool)
                .is_none_or(|f| f),
        };
        if is_query {
            let condition = match (
                str_field(input, "KeyConditionExpression"),
                input.get("KeyConditions"),
            ) {
                (Some(text), _) => KeyCondition::parse(text, &mut params).map_err(expr_error)?,
                (None, Some(legacy_value)) if !legacy_value.is_null() => {
                    legacy::key_conditions(legacy_value).map_err(expr_error)?
                }
                _ => {
                    return Err(validation(
                        "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
                    ));
                }
            };
            let condition = condition
                .for_key_schema(
                    &schema.partition.name,
                    schema.sort.as_ref().map(|s| s.name.as_str()),
                )
                .map_err(expr_error)?;
            let (hash, pk, lower, upper) = key_range(schema, condition)?;
            range.partition = Some((hash, pk));
            range.lower = lower;
            range.upper = upper;
        } else {
            range.forward = true;
            range.hashes = segment(input)?;
        }
        let filter = request::filter(
            input,
            &mut params,
            if is_query {
                "QueryFilter"
            } else {
                "ScanFilter"
            },
        )?;
        if is_query
            && let Some(filter) = &filter
            && let Some(name) = filter
                .top_level_attributes()
                .iter()
                .find(|n| schema.contains(n))
        {
            return Err(validation(format!(
                "Filter Expression can only contain non-primary key attributes: Primary key attribute: {name}"
            )));
        }
        let projection = request::projection(input, &mut params)?;
        params.finish().map_err(expr_error)?;
        let select = select_of(input, &projection, index)?;
        let start = match request::item_field(input, "ExclusiveStartKey")? {
            Some(start) => Some(start_position(&table, index.map(|(i, _)| i), &start)?),
            None => None,
        };
        let limit = input
            .get("Limit")
            .and_then(Value::as_i64)
            .map(|l| usize::try_from(l.max(1)).unwrap_or(usize::MAX));
        let plan = Plan {
            table: &table,
            index,
            range,
            start,
            limit,
            filter,
            projection,
            select,
            consistent,
            report: Report::of(input),
        };
        self.run(plan)
    }

    fn run(&self, plan: Plan<'_>) -> Result<Value, ServiceError> {
        let (rows, more) = self.db.read(|tx| {
            let mut found: Vec<Found> = Vec::new();
            let mut after = plan.start.clone();
            let mut bytes = 0;
            loop {
                let room = plan.limit.map_or(CHUNK, |l| (l - found.len()).min(CHUNK));
                let chunk = rows::read_range(tx, &plan.range, after.as_ref(), room)?;
                let exhausted = chunk.len() < room;
                for row in chunk {
                    bytes += row.size;
                    found.push(row);
                    if bytes >= PAGE_BYTES {
                        return Ok((found, true));
                    }
                }
                if plan.limit.is_some_and(|l| found.len() >= l) {
                    return Ok((found, true));
                }
                if exhausted {
                    return Ok((found, false));
                }
                after = found.last().map(|f| f.position.clone());
            }
        })?;
        let mut items = Vec::new();
        let mut count = 0;
        let mut bytes_read = 0usize;
        let mut last: Option<Item> = None;
        let scanned = rows.len();
        for row in &rows {
            let item = decode(&row.item).map_err(|e| errors::internal(&e))?;
            let base = match plan.index {
                Some((index, true)) => plan.table.project(index, &item),
                _ => item,
            };
            bytes_read += usize::try_from(row.size).unwrap_or(0);
            let keep = match &plan.filter {
                Some(filter) => filter.evaluate(&base).map_err(expr_error)?,
                None => true,
            };
            if keep {
                count += 1;
                let shown = match (plan.select, plan.index) {
                    (Select::Count, _) => None,
                    (Select::Specific, _) => plan.projection.as_ref().map(|p| p.apply(&base)),
                    (Select::Projected, Some((index, _))) => Some(plan.table.project(index, &base)),
                    _ => Some(base.clone()),
                };
                if let Some(shown) = shown {
                    items.push(item_to_json(&shown));
                }
            }
            last = Some(base);
        }
        let mut out = Map::new();
        if plan.select != Select::Count {
            out.insert("Items".into(), Value::Array(items));
        }
        out.insert("Count".into(), json!(count));
        out.insert("ScannedCount".into(), json!(scanned));
        if more && let Some(last) = last {
            let mut key = plan.table.meta.key.key_item(&last);
            if let Some((index, _)) = plan.index {
                key.extend(index.key.key_item(&last));
            }
            out.insert("LastEvaluatedKey".into(), item_to_json(&key));
        }
        let units = read_units(bytes_read, plan.consistent);
        let mut consumed = Consumed::default();
        match plan.index {
            Some((index, global)) => consumed.add_index(&index.name, global, units),
            None => consumed.table = units,
        }
        if let Some(c) = consumed.to_json(plan.report, &plan.table.meta.name, "ReadCapacityUnits") {
            out.insert("ConsumedCapacity".into(), c);
        }
        Ok(Value::Object(out))
    }
}

/// A parallel scan's hash range, checked as DynamoDB checks Segment and TotalSegments.
fn segment(input: &Value) -> Result<Option<(i64, i64)>, ServiceError> {
    let segment = input.get("Segment").and_then(Value::as_i64);
    let total = input.get("TotalSegments").and_then(Value::as_i64);
    match (segment, total) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(validation(
            "The TotalSegments parameter is required but was not present in the request when parameter Segment is present",
        )),
        (None, Some(_)) => Err(validation(
            "The Segment parameter is required but was not present in the request when parameter TotalSegments is present",
        )),
        (Some(segment), Some(total)) => {
            if segment >= total {
                return Err(validation(format!(
                    "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {segment} is not less than TotalSegments: {total}"
                )));
            }
            Ok(Some((
                segment_start(segment, total),
                segment_start(segment + 1, total),
            )))
        }
    }
}
