//! DynamoDB Streams: a change record per item write, written in the write's own transaction,
//! and the Streams API (ListStreams, DescribeStream, GetShardIterator, GetRecords) over them.
//! Each stream has one shard; records are kept 24 hours.

use std::sync::Arc;

use nimbus_core::{RequestContext, ServiceError};
use nimbus_dynamodb_expr::{Item, item_size, item_to_json};
use nimbus_model::Timestamp;
use nimbus_model::dynamodbstreams::{self as wire, DynamodbstreamsApi, errors as model};
use nimbus_store::{DbError, Tx};
use serde_json::{Value, json};

use crate::errors::validation;
use crate::table::Table;
use crate::write::ItemWrite;
use crate::{Dynamodb, rows};

/// How long records stay readable.
pub const RETENTION_MS: i64 = 24 * 3600 * 1000;
/// How long a shard iterator stays valid.
const ITERATOR_TTL_MS: i64 = 15 * 60 * 1000;
const MAX_RECORDS: i64 = 1000;
const SHARD_ID: &str = "shardId-00000001000000000000-00000001";
/// Sequence numbers are the stored sequence plus this, so they have DynamoDB's 21 digits.
const SEQUENCE_BASE: i128 = 100_000_000_000_000_000_000;

fn sequence_number(seq: i64) -> String {
    (SEQUENCE_BASE + i128::from(seq)).to_string()
}

fn parse_sequence(text: &str) -> Option<i64> {
    let value: i128 = text.parse().ok()?;
    i64::try_from(value - SEQUENCE_BASE)
        .ok()
        .filter(|s| *s >= 0)
}

/// Writes the change record of one item write, when the table's stream is on.
pub fn record_change(
    tx: &mut dyn Tx,
    write: &ItemWrite,
    old: Option<&Item>,
    new: Option<&Item>,
) -> Result<(), DbError> {
    let Some(stream) = write.table.meta.stream.as_ref().filter(|s| s.enabled) else {
        return Ok(());
    };
    let event = match (old, new) {
        (None, Some(_)) => "INSERT",
        (Some(_), Some(_)) => "MODIFY",
        (Some(_), None) => "REMOVE",
        (None, None) => return Ok(()),
    };
    let keys = write
        .table
        .meta
        .key
        .key_item(new.or(old).unwrap_or(&Item::new()));
    let mut size = item_size(&keys);
    let mut dynamodb = json!({
        "ApproximateCreationDateTime": write.now_ms / 1000,
        "Keys": item_to_json(&keys),
        "StreamViewType": stream.view_type,
    });
    let view = stream.view_type.as_str();
    if let Some(new) = new.filter(|_| matches!(view, "NEW_IMAGE" | "NEW_AND_OLD_IMAGES")) {
        size += item_size(new);
        dynamodb["NewImage"] = item_to_json(new);
    }
    if let Some(old) = old.filter(|_| matches!(view, "OLD_IMAGE" | "NEW_AND_OLD_IMAGES")) {
        size += item_size(old);
        dynamodb["OldImage"] = item_to_json(old);
    }
    dynamodb["SizeBytes"] = json!(size);
    let mut record = json!({ "eventName": event, "dynamodb": dynamodb });
    if write.by_ttl {
        record["userIdentity"] =
            json!({"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"});
    }
    rows::insert_stream_record(
        tx,
        write.table.id,
        &stream.label,
        &record.to_string(),
        write.now_ms,
    )
}

/// A shard iterator: which stream, the last sequence already read, when it was issued.
struct Iterator {
    table: String,
    label: String,
    after: i64,
    issued_ms: i64,
}

impl Iterator {
    fn encode(&self) -> String {
        hex::encode(format!(
            "{}\n{}\n{}\n{}",
            self.table, self.label, self.after, self.issued_ms
        ))
    }

    fn decode(text: &str) -> Option<Iterator> {
        let bytes = hex::decode(text).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let mut parts = text.split('\n');
        Some(Iterator {
            table: parts.next()?.to_owned(),
            label: parts.next()?.to_owned(),
            after: parts.next()?.parse().ok()?,
            issued_ms: parts.next()?.parse().ok()?,
        })
    }
}

fn stream_not_found(arn: &str) -> ServiceError {
    model::resource_not_found_exception(format!(
        "Requested resource not found: Stream: {arn} not found"
    ))
}

/// The DynamoDB Streams API over the DynamoDB service's tables.
#[derive(Clone)]
pub struct StreamsService(pub Arc<Dynamodb>);

impl StreamsService {
    /// The table and stream label a stream ARN names.
    fn stream(
        &self,
        ctx: &RequestContext,
        arn: &str,
    ) -> Result<(Arc<Table>, String), ServiceError> {
        let resource = nimbus_core::arn::parse(arn)
            .filter(|a| {
                a.service == "dynamodb" && a.account == ctx.account_id && a.region == ctx.region
            })
            .map(|a| a.resource.to_owned())
            .ok_or_else(|| stream_not_found(arn))?;
        let rest = resource
            .strip_prefix("table/")
            .ok_or_else(|| stream_not_found(arn))?;
        let (name, label) = rest
            .split_once("/stream/")
            .ok_or_else(|| stream_not_found(arn))?;
        let table = self
            .0
            .find_table(ctx, name)?
            .ok_or_else(|| stream_not_found(arn))?;
        match &table.meta.stream {
            Some(stream) if stream.label == label => Ok((table, label.to_owned())),
            _ => Err(stream_not_found(arn)),
        }
    }
}

impl DynamodbstreamsApi for StreamsService {
    async fn list_streams(
        &self,
        ctx: &RequestContext,
        input: wire::ListStreamsInput,
    ) -> Result<wire::ListStreamsOutput, ServiceError> {
        let db = &self.0;
        let limit = usize::try_from(input.limit.unwrap_or(100).clamp(1, 100)).unwrap_or(100);
        let names = match &input.table_name {
            Some(name) => vec![name.clone()],
            None => db
                .db
                .read(|tx| rows::table_names(tx, &ctx.account_id, &ctx.region, None, i64::MAX))?,
        };
        let mut streams = Vec::new();
        for name in names {
            let Some(table) = db.find_table(ctx, &name)? else {
                if input.table_name.is_some() {
                    return Err(model::resource_not_found_exception(format!(
                        "Requested resource not found: Table: {name} not found"
                    )));
                }
                continue;
            };
            if let (Some(stream), Some(arn)) = (&table.meta.stream, table.stream_arn()) {
                streams.push(wire::Stream {
                    stream_arn: Some(arn),
                    table_name: Some(name),
                    stream_label: Some(stream.label.clone()),
                });
            }
        }
        if let Some(start) = &input.exclusive_start_stream_arn
            && let Some(at) = streams
                .iter()
                .position(|s| s.stream_arn.as_ref() == Some(start))
        {
            streams.drain(..=at);
        }
        let more = streams.len() > limit;
        streams.truncate(limit);
        Ok(wire::ListStreamsOutput {
            last_evaluated_stream_arn: more
                .then(|| streams.last().and_then(|s| s.stream_arn.clone()))
                .flatten(),
            streams: Some(streams),
        })
    }

    async fn describe_stream(
        &self,
        ctx: &RequestContext,
        input: wire::DescribeStreamInput,
    ) -> Result<wire::DescribeStreamOutput, ServiceError> {
        let (table, label) = self.stream(ctx, &input.stream_arn)?;
        let since = self.0.clock.now_ms() - RETENTION_MS;
        let (first, last) = self
            .0
            .db
            .read(|tx| rows::stream_bounds(tx, table.id, &label, since))?;
        let stream = table
            .meta
            .stream
            .clone()
            .unwrap_or_else(|| unreachable_stream(&label));
        let created_ms = chrono::NaiveDateTime::parse_from_str(&label, "%Y-%m-%dT%H:%M:%S%.3f")
            .map(|t| t.and_utc().timestamp_millis())
            .unwrap_or(table.meta.created_ms);
        let shard = wire::Shard {
            shard_id: Some(SHARD_ID.into()),
            sequence_number_range: Some(wire::SequenceNumberRange {
                starting_sequence_number: Some(sequence_number(first.unwrap_or(0))),
                ending_sequence_number: (!stream.enabled)
                    .then(|| sequence_number(last.unwrap_or(0))),
            }),
            parent_shard_id: None,
        };
        let key_schema = table
            .meta
            .key
            .to_wire()
            .into_iter()
            .map(|k| wire::KeySchemaElement {
                attribute_name: k.attribute_name,
                key_type: k.key_type,
            })
            .collect();
        Ok(wire::DescribeStreamOutput {
            stream_description: Some(wire::StreamDescription {
                stream_arn: Some(input.stream_arn),
                stream_label: Some(label),
                stream_status: Some(
                    if stream.enabled {
                        "ENABLED"
                    } else {
                        "DISABLED"
                    }
                    .into(),
                ),
                stream_view_type: Some(stream.view_type),
                creation_request_date_time: Some(Timestamp::from_millis(created_ms)),
                table_name: Some(table.meta.name.clone()),
                key_schema: Some(key_schema),
                shards: Some(vec![shard]),
                last_evaluated_shard_id: None,
            }),
        })
    }

    async fn get_shard_iterator(
        &self,
        ctx: &RequestContext,
        input: wire::GetShardIteratorInput,
    ) -> Result<wire::GetShardIteratorOutput, ServiceError> {
        let (table, label) = self.stream(ctx, &input.stream_arn)?;
        if input.shard_id != SHARD_ID {
            return Err(model::resource_not_found_exception(format!(
                "Requested resource not found: Shard does not exist: {}",
                input.shard_id
            )));
        }
        let now = self.0.clock.now_ms();
        let (first, _) = self
            .0
            .db
            .read(|tx| rows::stream_bounds(tx, table.id, &label, now - RETENTION_MS))?;
        let sequence = || -> Result<i64, ServiceError> {
            let text = input.sequence_number.as_deref().ok_or_else(|| {
                validation("Must provide a SequenceNumber for AT_SEQUENCE_NUMBER and AFTER_SEQUENCE_NUMBER iterators")
            })?;
            let seq = parse_sequence(text)
                .ok_or_else(|| validation(format!("Invalid SequenceNumber: {text}")))?;
            if first.is_some_and(|f| seq < f) {
                return Err(model::trimmed_data_access_exception(
                    "The operation attempted to read past the oldest stream record in a shard.",
                ));
            }
            Ok(seq)
        };
        let after = match input.shard_iterator_type.as_str() {
            "TRIM_HORIZON" => 0,
            "LATEST" => self.0.db.read(rows::last_stream_seq)?,
            "AT_SEQUENCE_NUMBER" => sequence()? - 1,
            "AFTER_SEQUENCE_NUMBER" => sequence()?,
            other => {
                return Err(validation(format!(
                    "1 validation error detected: Value '{other}' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]"
                )));
            }
        };
        let iterator = Iterator {
            table: table.meta.name.clone(),
            label,
            after,
            issued_ms: now,
        };
        Ok(wire::GetShardIteratorOutput {
            shard_iterator: Some(iterator.encode()),
        })
    }

    async fn get_records(
        &self,
        ctx: &RequestContext,
        input: wire::GetRecordsInput,
    ) -> Result<wire::GetRecordsOutput, ServiceError> {
        let iterator = Iterator::decode(&input.shard_iterator)
            .ok_or_else(|| validation("Invalid ShardIterator"))?;
        let now = self.0.clock.now_ms();
        if now - iterator.issued_ms > ITERATOR_TTL_MS {
            return Err(model::expired_iterator_exception(
                "Iterator expired. The iterator was created more than 15 minutes ago.",
            ));
        }
        let table = self
            .0
            .find_table(ctx, &iterator.table)?
            .ok_or_else(|| model::resource_not_found_exception("Requested resource not found"))?;
        let stream = table
            .meta
            .stream
            .clone()
            .filter(|s| s.label == iterator.label)
            .ok_or_else(|| model::resource_not_found_exception("Requested resource not found"))?;
        let limit = i64::from(input.limit.unwrap_or(1000)).clamp(1, MAX_RECORDS);
        let found = self.0.db.read(|tx| {
            rows::stream_records(
                tx,
                table.id,
                &iterator.label,
                iterator.after,
                now - RETENTION_MS,
                limit,
            )
        })?;
        let mut records = Vec::with_capacity(found.len());
        let mut after = iterator.after;
        for (seq, text, _) in &found {
            after = *seq;
            let mut record: Value =
                serde_json::from_str(text).map_err(|_| ServiceError::internal())?;
            record["eventID"] = json!(format!("{:032x}", *seq));
            record["eventVersion"] = json!("1.1");
            record["eventSource"] = json!("aws:dynamodb");
            record["awsRegion"] = json!(ctx.region);
            record["dynamodb"]["SequenceNumber"] = json!(sequence_number(*seq));
            records.push(
                serde_json::from_value::<wire::Record>(record)
                    .map_err(|_| ServiceError::internal())?,
            );
        }
        // A disabled stream's shard is closed: once read to its end there is no next iterator.
        let closed = !stream.enabled && found.is_empty();
        let next = (!closed).then(|| {
            Iterator {
                after,
                issued_ms: now,
                ..iterator
            }
            .encode()
        });
        Ok(wire::GetRecordsOutput {
            records: Some(records),
            next_shard_iterator: next,
        })
    }
}

fn unreachable_stream(label: &str) -> crate::table::StreamMeta {
    crate::table::StreamMeta {
        enabled: false,
        view_type: "KEYS_ONLY".into(),
        label: label.to_owned(),
    }
}
