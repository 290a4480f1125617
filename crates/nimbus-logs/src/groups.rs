//! Log groups and streams: creation, description with paging, retention and tags.

use std::collections::BTreeMap;

use nimbus_core::ServiceError;
use nimbus_store::{DbError, Row, Tx, TxError, params};

use crate::{Logs, Scope, errors};

/// A log group as DescribeLogGroups reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupInfo {
    pub name: String,
    pub created_at: i64,
    pub retention_days: Option<i64>,
    pub log_class: String,
    pub kms_key_id: Option<String>,
    pub stored_bytes: i64,
}

/// A log stream as DescribeLogStreams reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamInfo {
    pub name: String,
    pub created_at: i64,
    pub first_event_at: Option<i64>,
    pub last_event_at: Option<i64>,
    pub last_ingestion_at: Option<i64>,
    pub stored_bytes: i64,
}

/// The DescribeLogStreams query.
#[derive(Debug, Clone, Default)]
pub struct StreamQuery {
    pub prefix: Option<String>,
    /// Order by last event time instead of name.
    pub by_last_event: bool,
    pub descending: bool,
    pub token: Option<String>,
    pub limit: i64,
}

/// The retention periods PutRetentionPolicy accepts.
const RETENTION_DAYS: &[i64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

pub(crate) fn check_group_name(name: &str) -> Result<(), ServiceError> {
    let valid = !name.is_empty()
        && name.len() <= 512
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#'));
    if valid {
        Ok(())
    } else {
        Err(errors::invalid(format!(
            "1 validation error detected: Value '{name}' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"
        )))
    }
}

pub(crate) fn check_stream_name(name: &str) -> Result<(), ServiceError> {
    if name.is_empty() || name.len() > 512 || name.contains([':', '*']) {
        return Err(errors::invalid(format!(
            "1 validation error detected: Value '{name}' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*"
        )));
    }
    Ok(())
}

/// The id of a group, if it exists.
pub(crate) fn group_id(tx: &mut dyn Tx, scope: &Scope, name: &str) -> Result<Option<i64>, DbError> {
    tx.query_one(
        "SELECT id FROM logs_groups WHERE account = ?1 AND region = ?2 AND name = ?3",
        &params![&scope.account, &scope.region, name],
    )?
    .map(|row| row.i64(0))
    .transpose()
}

/// The id of a stream in a group, if it exists.
pub(crate) fn stream_id(tx: &mut dyn Tx, group: i64, name: &str) -> Result<Option<i64>, DbError> {
    tx.query_one(
        "SELECT id FROM logs_streams WHERE group_id = ?1 AND name = ?2",
        &params![group, name],
    )?
    .map(|row| row.i64(0))
    .transpose()
}

fn abort<T>(err: ServiceError) -> Result<T, TxError<ServiceError>> {
    Err(TxError::Abort(err))
}

fn stream_info(row: &Row) -> Result<StreamInfo, DbError> {
    Ok(StreamInfo {
        name: row.string(0)?,
        created_at: row.i64(1)?,
        first_event_at: row.opt_i64(2)?,
        last_event_at: row.opt_i64(3)?,
        last_ingestion_at: row.opt_i64(4)?,
        stored_bytes: row.i64(5)?,
    })
}

/// Paging for Describe* calls: the token is the offset of the next page.
pub(crate) fn page_offset(token: Option<&str>) -> Result<i64, ServiceError> {
    match token {
        None => Ok(0),
        Some(t) => t
            .strip_prefix("o/")
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .ok_or_else(|| errors::invalid("The specified nextToken is invalid.")),
    }
}

impl Logs {
    pub async fn create_group(
        &self,
        scope: &Scope,
        name: &str,
        log_class: Option<String>,
        kms_key_id: Option<String>,
        tags: BTreeMap<String, String>,
    ) -> Result<(), ServiceError> {
        check_group_name(name)?;
        let (scope, name) = (scope.clone(), name.to_owned());
        let now = self.clock.now_ms();
        let tags = serde_json::to_string(&tags).unwrap_or_default();
        self.db.write(move |tx| {
            if group_id(tx, &scope, &name)?.is_some() {
                return abort(errors::group_exists());
            }
            tx.execute(
                "INSERT INTO logs_groups (account, region, name, created_at, log_class, kms_key_id, tags) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                &params![&scope.account, &scope.region, &name, now, log_class.unwrap_or_else(|| "STANDARD".into()), kms_key_id, tags],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn delete_group(&self, scope: &Scope, name: &str) -> Result<(), ServiceError> {
        let (scope, name) = (scope.clone(), name.to_owned());
        self.db
            .write(move |tx| {
                let Some(id) = group_id(tx, &scope, &name)? else {
                    return abort(errors::group_not_found());
                };
                tx.execute("DELETE FROM logs_events WHERE group_id = ?1", &params![id])?;
                tx.execute("DELETE FROM logs_streams WHERE group_id = ?1", &params![id])?;
                tx.execute("DELETE FROM logs_groups WHERE id = ?1", &params![id])?;
                Ok(())
            })
            .await
    }

    /// Groups whose name starts with `prefix`, in name order, a page at a time.
    pub fn describe_groups(
        &self,
        scope: &Scope,
        prefix: Option<&str>,
        token: Option<&str>,
        limit: i64,
    ) -> Result<(Vec<GroupInfo>, Option<String>), ServiceError> {
        let offset = page_offset(token)?;
        let like = format!("{}%", escape_like(prefix.unwrap_or("")));
        let mut groups = self.db.read(|tx| {
            tx.query(
                "SELECT g.name, g.created_at, g.retention_days, g.log_class, g.kms_key_id,
                        (SELECT COALESCE(SUM(s.stored_bytes), 0) FROM logs_streams s WHERE s.group_id = g.id)
                 FROM logs_groups g WHERE g.account = ?1 AND g.region = ?2 AND g.name LIKE ?3 ESCAPE '\\'
                 ORDER BY g.name LIMIT ?4 OFFSET ?5",
                &params![&scope.account, &scope.region, like, limit + 1, offset],
            )?
            .iter()
            .map(|row| {
                Ok(GroupInfo {
                    name: row.string(0)?,
                    created_at: row.i64(1)?,
                    retention_days: row.opt_i64(2)?,
                    log_class: row.string(3)?,
                    kms_key_id: row.opt_string(4)?,
                    stored_bytes: row.i64(5)?,
                })
            })
            .collect::<Result<Vec<_>, DbError>>()
        })?;
        let next = next_token(&mut groups, limit, offset);
        Ok((groups, next))
    }

    pub async fn create_stream(
        &self,
        scope: &Scope,
        group: &str,
        name: &str,
    ) -> Result<(), ServiceError> {
        check_stream_name(name)?;
        let (scope, group, name) = (scope.clone(), group.to_owned(), name.to_owned());
        let now = self.clock.now_ms();
        self.db
            .write(move |tx| {
                let Some(gid) = group_id(tx, &scope, &group)? else {
                    return abort(errors::group_not_found());
                };
                if stream_id(tx, gid, &name)?.is_some() {
                    return abort(errors::stream_exists());
                }
                tx.execute(
                    "INSERT INTO logs_streams (group_id, name, created_at) VALUES (?1, ?2, ?3)",
                    &params![gid, &name, now],
                )?;
                Ok(())
            })
            .await
    }

    pub async fn delete_stream(
        &self,
        scope: &Scope,
        group: &str,
        name: &str,
    ) -> Result<(), ServiceError> {
        let (scope, group, name) = (scope.clone(), group.to_owned(), name.to_owned());
        self.db
            .write(move |tx| {
                let Some(gid) = group_id(tx, &scope, &group)? else {
                    return abort(errors::group_not_found());
                };
                let Some(sid) = stream_id(tx, gid, &name)? else {
                    return abort(errors::stream_not_found());
                };
                tx.execute(
                    "DELETE FROM logs_events WHERE stream_id = ?1",
                    &params![sid],
                )?;
                tx.execute("DELETE FROM logs_streams WHERE id = ?1", &params![sid])?;
                Ok(())
            })
            .await
    }

    /// Streams of a group by name (or by last event time), a page at a time.
    pub fn describe_streams(
        &self,
        scope: &Scope,
        group: &str,
        query: &StreamQuery,
    ) -> Result<(Vec<StreamInfo>, Option<String>), ServiceError> {
        let (prefix, by_last_event, limit) =
            (query.prefix.as_deref(), query.by_last_event, query.limit);
        let (descending, token) = (query.descending, query.token.as_deref());
        if by_last_event && prefix.is_some() {
            return Err(errors::invalid(
                "Cannot order by LastEventTime with a logStreamNamePrefix.",
            ));
        }
        let offset = page_offset(token)?;
        let like = format!("{}%", escape_like(prefix.unwrap_or("")));
        let order = match (by_last_event, descending) {
            (false, false) => "name ASC",
            (false, true) => "name DESC",
            (true, false) => "COALESCE(last_event_at, 0) ASC, name ASC",
            (true, true) => "COALESCE(last_event_at, 0) DESC, name DESC",
        };
        let mut streams = self.db.read(|tx| {
            let Some(gid) = group_id(tx, scope, group)? else {
                return Ok(None);
            };
            tx.query(
                &format!(
                    "SELECT name, created_at, first_event_at, last_event_at, last_ingestion_at, stored_bytes
                     FROM logs_streams WHERE group_id = ?1 AND name LIKE ?2 ESCAPE '\\'
                     ORDER BY {order} LIMIT ?3 OFFSET ?4"
                ),
                &params![gid, like, limit + 1, offset],
            )?
            .iter()
            .map(stream_info)
            .collect::<Result<Vec<_>, DbError>>()
            .map(Some)
        })?
        .ok_or_else(errors::group_not_found)?;
        let next = next_token(&mut streams, limit, offset);
        Ok((streams, next))
    }

    pub async fn set_retention(
        &self,
        scope: &Scope,
        group: &str,
        days: Option<i64>,
    ) -> Result<(), ServiceError> {
        if let Some(days) = days
            && !RETENTION_DAYS.contains(&days)
        {
            return Err(errors::invalid(format!(
                "1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: {RETENTION_DAYS:?}"
            )));
        }
        let (scope, group) = (scope.clone(), group.to_owned());
        self.db.write(move |tx| {
            let changed = tx.execute(
                "UPDATE logs_groups SET retention_days = ?4 WHERE account = ?1 AND region = ?2 AND name = ?3",
                &params![&scope.account, &scope.region, &group, days],
            )?;
            if changed == 0 {
                return abort(errors::group_not_found());
            }
            Ok(())
        })
        .await
    }

    /// A group's tags.
    pub fn group_tags(
        &self,
        scope: &Scope,
        group: &str,
    ) -> Result<BTreeMap<String, String>, ServiceError> {
        let tags = self.db.read(|tx| {
            tx.query_one(
                "SELECT tags FROM logs_groups WHERE account = ?1 AND region = ?2 AND name = ?3",
                &params![&scope.account, &scope.region, group],
            )?
            .map(|row| row.string(0))
            .transpose()
        })?;
        let tags = tags.ok_or_else(errors::group_not_found)?;
        Ok(serde_json::from_str(&tags).unwrap_or_default())
    }

    /// Adds `add` and removes `remove` from a group's tags.
    pub async fn change_tags(
        &self,
        scope: &Scope,
        group: &str,
        add: BTreeMap<String, String>,
        remove: Vec<String>,
    ) -> Result<(), ServiceError> {
        let (scope, group) = (scope.clone(), group.to_owned());
        self.db
            .write(move |tx| {
                let row = tx.query_one(
                    "SELECT tags FROM logs_groups WHERE account = ?1 AND region = ?2 AND name = ?3",
                    &params![&scope.account, &scope.region, &group],
                )?;
                let Some(row) = row else {
                    return abort(errors::group_not_found());
                };
                let mut tags: BTreeMap<String, String> =
                    serde_json::from_str(row.str(0)?).unwrap_or_default();
                tags.extend(add);
                for key in &remove {
                    tags.remove(key);
                }
                if tags.len() > 50 {
                    return abort(nimbus_model::logs::errors::too_many_tags_exception(
                        "A resource can have no more than 50 tags.",
                    ));
                }
                tx.execute(
                "UPDATE logs_groups SET tags = ?4 WHERE account = ?1 AND region = ?2 AND name = ?3",
                &params![
                    &scope.account,
                    &scope.region,
                    &group,
                    serde_json::to_string(&tags).unwrap_or_default()
                ],
            )?;
                Ok(())
            })
            .await
    }
}

fn next_token<T>(items: &mut Vec<T>, limit: i64, offset: i64) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    (items.len() > limit).then(|| {
        items.truncate(limit);
        format!("o/{}", offset + i64::try_from(limit).unwrap_or(0))
    })
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
