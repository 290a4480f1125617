//! DynamoDB as the [`StreamReader`] behind Lambda's event source mappings: the same stored
//! records and formatting GetRecords serves, in Lambda's event shape.

use nimbus_core::effects::{StreamChange, StreamReader, StreamShard};
use nimbus_core::{BoxFuture, RequestContext, ServiceError};
use serde_json::{Value, json};

use crate::errors::validation;
use crate::rows;
use crate::streams::{
    RETENTION_MS, SHARD_ID, StreamsService, parse_sequence, sequence_number, stream_record,
};

/// Lambda events name the TTL service principal in lower camel case, unlike GetRecords.
fn lambda_user_identity(record: &mut Value) {
    if let Some(identity) = record.get("userIdentity").cloned() {
        record["userIdentity"] = json!({
            "type": identity.get("Type").cloned().unwrap_or(Value::Null),
            "principalId": identity.get("PrincipalId").cloned().unwrap_or(Value::Null),
        });
    }
}

impl StreamReader for StreamsService {
    fn describe_shard<'a>(
        &'a self,
        account_id: &'a str,
        region: &'a str,
        stream_arn: &'a str,
    ) -> BoxFuture<'a, Result<StreamShard, ServiceError>> {
        Box::pin(async move {
            let ctx = RequestContext::internal(account_id, region, "");
            let (table, label) = self.stream(&ctx, stream_arn)?;
            let since = self.0.clock.now_ms() - RETENTION_MS;
            let (_, last) = self
                .0
                .db
                .read(|tx| rows::stream_bounds(tx, table.id, &label, since))?;
            Ok(StreamShard {
                shard_id: SHARD_ID.to_owned(),
                latest_sequence_number: last.map(sequence_number),
            })
        })
    }

    fn read_after<'a>(
        &'a self,
        account_id: &'a str,
        region: &'a str,
        stream_arn: &'a str,
        after: Option<&'a str>,
        max: usize,
    ) -> BoxFuture<'a, Result<Vec<StreamChange>, ServiceError>> {
        Box::pin(async move {
            let ctx = RequestContext::internal(account_id, region, "");
            let (table, label) = self.stream(&ctx, stream_arn)?;
            let after = match after {
                None => 0,
                Some(text) => parse_sequence(text)
                    .ok_or_else(|| validation(format!("Invalid SequenceNumber: {text}")))?,
            };
            let since = self.0.clock.now_ms() - RETENTION_MS;
            let limit = i64::try_from(max).unwrap_or(i64::MAX);
            let found = self
                .0
                .db
                .read(|tx| rows::stream_records(tx, table.id, &label, after, since, limit))?;
            found
                .into_iter()
                .map(|(seq, text, created_ms)| {
                    let mut record = stream_record(seq, &text, region)?;
                    lambda_user_identity(&mut record);
                    record["eventSourceARN"] = json!(stream_arn);
                    Ok(StreamChange {
                        sequence_number: sequence_number(seq),
                        created_ms,
                        record,
                    })
                })
                .collect()
        })
    }
}
