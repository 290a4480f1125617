//! Mapping rows: one JSON record per mapping, keyed by UUID.

use nimbus_core::ServiceError;
use nimbus_store::{DbError, Row, Tx, TxError, params};

use super::{MAPPING_FORMAT, MappingRecord};
use crate::Lambda;

fn decode(row: &Row) -> Result<MappingRecord, DbError> {
    let format = row.i64(0)?;
    if format != MAPPING_FORMAT {
        return Err(DbError::Engine(format!(
            "event source mapping record format {format}"
        )));
    }
    serde_json::from_str(row.str(1)?).map_err(|e| DbError::Engine(e.to_string()))
}

fn encode(record: &MappingRecord) -> String {
    serde_json::to_string(record).unwrap_or_default()
}

pub(crate) fn load(tx: &mut dyn Tx, uuid: &str) -> Result<Option<MappingRecord>, DbError> {
    tx.query_one(
        "SELECT format, record FROM lambda_event_source_mappings WHERE uuid = ?1",
        &params![uuid],
    )?
    .map(|row| decode(&row))
    .transpose()
}

/// The mapping of a source and function, if there is one.
pub(crate) fn find_pair(
    tx: &mut dyn Tx,
    record: &MappingRecord,
) -> Result<Option<MappingRecord>, DbError> {
    tx.query_one(
        "SELECT format, record FROM lambda_event_source_mappings
         WHERE account = ?1 AND region = ?2 AND source_arn = ?3 AND function_arn = ?4 AND uuid <> ?5",
        &params![
            &record.account,
            &record.region,
            &record.source_arn,
            &record.function_arn,
            &record.uuid
        ],
    )?
    .map(|row| decode(&row))
    .transpose()
}

pub(crate) fn put(tx: &mut dyn Tx, record: &MappingRecord) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO lambda_event_source_mappings (uuid, account, region, source_arn, function_arn, format, record)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (uuid) DO UPDATE SET source_arn = excluded.source_arn,
            function_arn = excluded.function_arn, format = excluded.format, record = excluded.record",
        &params![
            &record.uuid,
            &record.account,
            &record.region,
            &record.source_arn,
            &record.function_arn,
            MAPPING_FORMAT,
            encode(record)
        ],
    )?;
    Ok(())
}

/// Which mappings a list asks for.
pub(crate) struct ListQuery<'a> {
    pub account: &'a str,
    pub region: &'a str,
    pub source_arn: Option<&'a str>,
    pub function_arn: Option<&'a str>,
    /// The last UUID of the previous page.
    pub after: &'a str,
    pub limit: usize,
}

impl Lambda {
    /// A page of mappings in UUID order; the second value is the marker of the next page.
    pub(crate) fn list_mappings(
        &self,
        query: &ListQuery<'_>,
    ) -> Result<(Vec<MappingRecord>, Option<String>), ServiceError> {
        let limit = i64::try_from(query.limit + 1).unwrap_or(i64::MAX);
        let mut page = self.db.read(|tx| {
            tx.query(
                "SELECT format, record FROM lambda_event_source_mappings
                 WHERE account = ?1 AND region = ?2 AND uuid > ?3
                   AND (?4 IS NULL OR source_arn = ?4) AND (?5 IS NULL OR function_arn = ?5)
                 ORDER BY uuid LIMIT ?6",
                &params![
                    query.account,
                    query.region,
                    query.after,
                    query.source_arn,
                    query.function_arn,
                    limit
                ],
            )?
            .iter()
            .map(decode)
            .collect::<Result<Vec<_>, _>>()
        })?;
        let next = if page.len() > query.limit {
            page.truncate(query.limit);
            page.last().map(|m| m.uuid.clone())
        } else {
            None
        };
        Ok((page, next))
    }

    /// Every mapping of every account, for the supervisor.
    pub(crate) fn all_mappings(&self) -> Result<Vec<MappingRecord>, ServiceError> {
        self.db.read(|tx| {
            tx.query(
                "SELECT format, record FROM lambda_event_source_mappings ORDER BY uuid",
                &[],
            )?
            .iter()
            .map(decode)
            .collect()
        })
    }

    /// Records where a transition ended, unless the mapping changed again meanwhile.
    pub(crate) async fn settle_mapping(
        &self,
        uuid: String,
        generation: u64,
    ) -> Result<(), ServiceError> {
        self.db
            .write(move |tx| {
                let Some(mut record) = load(tx, &uuid)? else {
                    return Ok(());
                };
                if record.generation != generation {
                    return Ok(());
                }
                if record.state == super::MappingState::Deleting {
                    tx.execute(
                        "DELETE FROM lambda_event_source_mappings WHERE uuid = ?1",
                        &params![&uuid],
                    )?;
                    return Ok(());
                }
                record.state = if record.enabled {
                    super::MappingState::Enabled
                } else {
                    super::MappingState::Disabled
                };
                put(tx, &record).map_err(TxError::Db)
            })
            .await
    }
}
