//! Log events: ingestion (PutLogEvents and the platform writer), reading a stream with
//! forward and backward tokens, filtering a group, and retention.

use nimbus_core::ServiceError;
use nimbus_core::effects::LogEvent;
use nimbus_store::{DbError, Row, Tx, TxError, params};

use crate::groups::{group_id, stream_id};
use crate::{Logs, Pattern, Scope, errors};

/// AWS counts 26 bytes of overhead per event against the 1 MB batch limit.
const EVENT_OVERHEAD: usize = 26;
const MAX_BATCH_BYTES: usize = 1_048_576;
const MAX_BATCH_EVENTS: usize = 10_000;
const MAX_EVENT_BYTES: usize = 1_048_576 - EVENT_OVERHEAD;
/// Events may be at most 14 days old and 2 hours in the future.
const MAX_AGE_MS: i64 = 14 * 24 * 3600 * 1000;
const MAX_FUTURE_MS: i64 = 2 * 3600 * 1000;
const DAY_MS: i64 = 24 * 3600 * 1000;
/// Rows read per step while filtering.
const SCAN_CHUNK: i64 = 1000;

/// An event as GetLogEvents returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub id: i64,
    pub timestamp: i64,
    pub ingestion_time: i64,
    pub message: String,
}

/// A page of a stream with the tokens to move on.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPage {
    pub events: Vec<StoredEvent>,
    pub forward_token: String,
    pub backward_token: String,
}

/// An event as FilterLogEvents returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct FilteredEvent {
    pub stream: String,
    pub event: StoredEvent,
}

/// The FilterLogEvents query.
#[derive(Debug, Clone, Default)]
pub struct FilterQuery {
    pub streams: Option<Vec<String>>,
    pub stream_prefix: Option<String>,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub pattern: Option<String>,
    pub token: Option<String>,
    pub limit: usize,
}

/// The GetLogEvents query.
#[derive(Debug, Clone, Default)]
pub struct StreamRead {
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub token: Option<String>,
    /// Without a token: the oldest events first instead of the newest.
    pub from_head: bool,
    pub limit: i64,
}

/// Which events PutLogEvents refused.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rejected {
    pub too_new_start: Option<usize>,
    pub too_old_end: Option<usize>,
    pub expired_end: Option<usize>,
}

fn event(row: &Row) -> Result<StoredEvent, DbError> {
    Ok(StoredEvent {
        id: row.i64(0)?,
        timestamp: row.i64(1)?,
        ingestion_time: row.i64(2)?,
        message: row.string(3)?,
    })
}

/// A position in a stream: events are ordered by (timestamp, id).
fn cursor_token(direction: char, timestamp: i64, id: i64) -> String {
    format!("{direction}/{timestamp:020}/{id:020}")
}

fn parse_cursor(token: &str) -> Option<(char, i64, i64)> {
    let mut parts = token.splitn(3, '/');
    let direction = parts.next()?.chars().next()?;
    let timestamp = parts.next()?.parse().ok()?;
    let id = parts.next()?.parse().ok()?;
    matches!(direction, 'f' | 'b').then_some((direction, timestamp, id))
}

fn insert_events(
    tx: &mut dyn Tx,
    group: i64,
    stream: i64,
    now: i64,
    events: &[LogEvent],
) -> Result<(), DbError> {
    let mut bytes = 0_i64;
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for e in events {
        tx.execute(
            "INSERT INTO logs_events (group_id, stream_id, timestamp, ingestion_time, message) VALUES (?1, ?2, ?3, ?4, ?5)",
            &params![group, stream, e.timestamp_ms, now, e.message.as_str()],
        )?;
        bytes += i64::try_from(e.message.len()).unwrap_or(0);
        first = first.min(e.timestamp_ms);
        last = last.max(e.timestamp_ms);
    }
    if !events.is_empty() {
        tx.execute(
            "UPDATE logs_streams SET first_event_at = MIN(COALESCE(first_event_at, ?2), ?2),
                last_event_at = MAX(COALESCE(last_event_at, ?3), ?3), last_ingestion_at = ?4,
                stored_bytes = stored_bytes + ?5 WHERE id = ?1",
            &params![stream, first, last, now, bytes],
        )?;
    }
    Ok(())
}

impl Logs {
    /// The platform's writer (function output): creates the group and stream when missing.
    /// The lines ride along with the next commit; a crash may lose the last few milliseconds
    /// of output, as it may lose what a function printed but had not yet been forwarded.
    pub async fn append(
        &self,
        scope: &Scope,
        group: &str,
        stream: &str,
        events: Vec<LogEvent>,
    ) -> Result<(), ServiceError> {
        let (scope, group, stream) = (scope.clone(), group.to_owned(), stream.to_owned());
        let now = self.clock.now_ms();
        self.db.write_deferred(move |tx| {
            let gid = match group_id(tx, &scope, &group)? {
                Some(id) => id,
                None => {
                    tx.execute(
                        "INSERT INTO logs_groups (account, region, name, created_at, log_class, tags) VALUES (?1, ?2, ?3, ?4, 'STANDARD', '{}')",
                        &params![&scope.account, &scope.region, &group, now],
                    )?;
                    group_id(tx, &scope, &group)?.unwrap_or_default()
                }
            };
            let sid = match stream_id(tx, gid, &stream)? {
                Some(id) => id,
                None => {
                    tx.execute(
                        "INSERT INTO logs_streams (group_id, name, created_at) VALUES (?1, ?2, ?3)",
                        &params![gid, &stream, now],
                    )?;
                    stream_id(tx, gid, &stream)?.unwrap_or_default()
                }
            };
            insert_events(tx, gid, sid, now, &events)?;
            Ok(())
        })
        .await
    }

    /// PutLogEvents: checks the batch, stores what is in range, reports the rest.
    pub async fn put_events(
        &self,
        scope: &Scope,
        group: &str,
        stream: &str,
        events: Vec<LogEvent>,
    ) -> Result<Rejected, ServiceError> {
        if events.is_empty() || events.len() > MAX_BATCH_EVENTS {
            return Err(errors::invalid(
                "1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length between 1 and 10000",
            ));
        }
        let size: usize = events
            .iter()
            .map(|e| e.message.len() + EVENT_OVERHEAD)
            .sum();
        if size > MAX_BATCH_BYTES || events.iter().any(|e| e.message.len() > MAX_EVENT_BYTES) {
            return Err(errors::invalid(
                "Upload too large: the batch exceeds 1048576 bytes.",
            ));
        }
        if events
            .windows(2)
            .any(|w| w[1].timestamp_ms < w[0].timestamp_ms)
        {
            return Err(errors::invalid(
                "Log events in a single PutLogEvents request must be in chronological order.",
            ));
        }
        let now = self.clock.now_ms();
        let (scope, group, stream) = (scope.clone(), group.to_owned(), stream.to_owned());
        self.db
            .write(move |tx| {
                let Some(gid) = group_id(tx, &scope, &group)? else {
                    return Err(TxError::Abort(errors::group_not_found()));
                };
                let Some(sid) = stream_id(tx, gid, &stream)? else {
                    return Err(TxError::Abort(errors::stream_not_found()));
                };
                let retention = tx
                    .query_one(
                        "SELECT retention_days FROM logs_groups WHERE id = ?1",
                        &params![gid],
                    )?
                    .map(|row| row.opt_i64(0))
                    .transpose()?
                    .flatten();
                let mut rejected = Rejected::default();
                let mut accepted = Vec::with_capacity(events.len());
                for (i, e) in events.into_iter().enumerate() {
                    if e.timestamp_ms > now + MAX_FUTURE_MS {
                        rejected.too_new_start.get_or_insert(i);
                    } else if e.timestamp_ms < now - MAX_AGE_MS {
                        rejected.too_old_end = Some(i);
                    } else if retention.is_some_and(|days| e.timestamp_ms < now - days * DAY_MS) {
                        rejected.expired_end = Some(i);
                    } else {
                        accepted.push(e);
                    }
                }
                insert_events(tx, gid, sid, now, &accepted)?;
                Ok(rejected)
            })
            .await
    }

    /// GetLogEvents. Without a token, the newest `limit` events (or the oldest with
    /// `from_head`); a forward token reads on, a backward token reads back. At the end of
    /// the stream the token given comes back, which is how readers know to stop.
    pub fn get_events(
        &self,
        scope: &Scope,
        group: &str,
        stream: &str,
        read: &StreamRead,
    ) -> Result<EventPage, ServiceError> {
        let (from_head, limit) = (read.from_head, read.limit);
        let cursor = match read.token.as_deref() {
            Some(t) => Some(
                parse_cursor(t)
                    .ok_or_else(|| errors::invalid("The specified nextToken is invalid."))?,
            ),
            None => None,
        };
        let (start, end) = (read.start.unwrap_or(i64::MIN), read.end.unwrap_or(i64::MAX));
        let rows = self.db.read(|tx| {
            let Some(gid) = group_id(tx, scope, group)? else {
                return Ok(Err(errors::group_not_found()));
            };
            let Some(sid) = stream_id(tx, gid, stream)? else {
                return Ok(Err(errors::stream_not_found()));
            };
            let select = "SELECT id, timestamp, ingestion_time, message FROM logs_events WHERE stream_id = ?1 AND timestamp >= ?2 AND timestamp < ?3";
            let (sql, args) = match cursor {
                Some(('f', ts, id)) => (
                    format!("{select} AND (timestamp > ?4 OR (timestamp = ?4 AND id > ?5)) ORDER BY timestamp, id LIMIT ?6"),
                    params![sid, start, end, ts, id, limit].to_vec(),
                ),
                Some((_, ts, id)) => (
                    format!("{select} AND (timestamp < ?4 OR (timestamp = ?4 AND id < ?5)) ORDER BY timestamp DESC, id DESC LIMIT ?6"),
                    params![sid, start, end, ts, id, limit].to_vec(),
                ),
                None if from_head => (
                    format!("{select} ORDER BY timestamp, id LIMIT ?4"),
                    params![sid, start, end, limit].to_vec(),
                ),
                None => (
                    format!("{select} ORDER BY timestamp DESC, id DESC LIMIT ?4"),
                    params![sid, start, end, limit].to_vec(),
                ),
            };
            let mut events = tx
                .query(&sql, &args)?
                .iter()
                .map(event)
                .collect::<Result<Vec<_>, DbError>>()?;
            let ascending = matches!(cursor, Some(('f', _, _))) || (cursor.is_none() && from_head);
            if !ascending {
                events.reverse();
            }
            Ok(Ok(events))
        })??;
        let (forward, backward) = match (rows.first(), rows.last()) {
            (Some(first), Some(last)) => (
                cursor_token('f', last.timestamp, last.id),
                cursor_token('b', first.timestamp, first.id),
            ),
            _ => {
                let (ts, id) = cursor.map_or((0, 0), |(_, ts, id)| (ts, id));
                (cursor_token('f', ts, id), cursor_token('b', ts, id))
            }
        };
        Ok(EventPage {
            events: rows,
            forward_token: forward,
            backward_token: backward,
        })
    }

    /// FilterLogEvents over a group in (timestamp, id) order. Returns the events and the
    /// token of the next page when `limit` was reached.
    pub fn filter_events(
        &self,
        scope: &Scope,
        group: &str,
        query: &FilterQuery,
    ) -> Result<(Vec<FilteredEvent>, Option<String>), ServiceError> {
        let pattern = Pattern::parse(query.pattern.as_deref().unwrap_or(""))
            .map_err(|_| errors::invalid("Invalid filter pattern"))?;
        let (mut ts, mut id) = match query.token.as_deref() {
            Some(t) => parse_cursor(t)
                .map(|(_, ts, id)| (ts, id))
                .ok_or_else(|| errors::invalid("The specified nextToken is invalid."))?,
            None => (query.start.unwrap_or(i64::MIN), i64::MIN),
        };
        let end = query.end.unwrap_or(i64::MAX);
        let retention_floor = self.retention_floor(scope, group)?;
        let mut found = Vec::new();
        loop {
            let rows = self.db.read(|tx| {
                let Some(gid) = group_id(tx, scope, group)? else {
                    return Ok(Err(errors::group_not_found()));
                };
                let rows = tx.query(
                    "SELECT e.id, e.timestamp, e.ingestion_time, e.message, s.name
                     FROM logs_events e JOIN logs_streams s ON s.id = e.stream_id
                     WHERE e.group_id = ?1 AND (e.timestamp > ?2 OR (e.timestamp = ?2 AND e.id > ?3))
                       AND e.timestamp < ?4 AND e.timestamp >= ?5
                     ORDER BY e.timestamp, e.id LIMIT ?6",
                    &params![gid, ts, id, end, retention_floor, SCAN_CHUNK],
                )?;
                rows.iter()
                    .map(|row| Ok((event(row)?, row.string(4)?)))
                    .collect::<Result<Vec<_>, DbError>>()
                    .map(Ok)
            })??;
            let exhausted = rows.len() < usize::try_from(SCAN_CHUNK).unwrap_or(0);
            for (event, stream) in rows {
                (ts, id) = (event.timestamp, event.id);
                let stream_ok = query
                    .streams
                    .as_ref()
                    .is_none_or(|names| names.contains(&stream))
                    && query
                        .stream_prefix
                        .as_ref()
                        .is_none_or(|p| stream.starts_with(p.as_str()));
                if stream_ok && pattern.matches(&event.message) {
                    found.push(FilteredEvent { stream, event });
                    if found.len() == query.limit {
                        return Ok((found, Some(cursor_token('f', ts, id))));
                    }
                }
            }
            if exhausted {
                return Ok((found, None));
            }
        }
    }

    /// The oldest timestamp a group's retention keeps (or the minimum without retention).
    fn retention_floor(&self, scope: &Scope, group: &str) -> Result<i64, ServiceError> {
        let days = self.db.read(|tx| {
            tx.query_one(
                "SELECT retention_days FROM logs_groups WHERE account = ?1 AND region = ?2 AND name = ?3",
                &params![&scope.account, &scope.region, group],
            )?
            .map(|row| row.opt_i64(0))
            .transpose()
            .map(Option::flatten)
        })?;
        Ok(days.map_or(i64::MIN, |d| self.clock.now_ms() - d * DAY_MS))
    }

    /// Deletes events older than their group's retention.
    pub async fn expire_events(&self) -> Result<(), ServiceError> {
        let now = self.clock.now_ms();
        self.db.write(move |tx| {
            tx.execute(
                "DELETE FROM logs_events WHERE id IN (SELECT e.id FROM logs_events e JOIN logs_groups g ON g.id = e.group_id
                 WHERE g.retention_days IS NOT NULL AND e.timestamp < ?1 - g.retention_days * ?2)",
                &params![now, DAY_MS],
            )?;
            Ok(())
        })
        .await
    }
}
