//! The time-to-live sweep: deletes items whose TTL attribute (epoch seconds) has passed by the
//! server clock, keeping indexes in step. As on DynamoDB, expiry times more than five years in
//! the past are ignored, and an expired item stays readable until the sweep removes it.

use std::sync::Arc;
use std::time::Duration;

use nimbus_core::ServiceError;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::write::{Change, ItemWrite, decode, expiry};
use crate::{Dynamodb, rows};

/// How often the sweep runs when the clock runs on its own.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);
/// Deletions per commit.
const SWEEP_BATCH: i64 = 100;
const FIVE_YEARS_SECS: i64 = 5 * 365 * 24 * 3600;

impl Dynamodb {
    /// Starts the TTL sweep; it stops when `shutdown` turns true.
    pub fn spawn_workers(self: &Arc<Self>, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        let ddb = Arc::clone(self);
        let sweeper = tokio::spawn(async move {
            let clock = ddb.clock.clone();
            clock
                .repeat(SWEEP_INTERVAL, shutdown, || async {
                    if let Err(err) = ddb.sweep_expired().await {
                        tracing::warn!(%err, "dynamodb ttl sweep failed");
                    }
                })
                .await;
        });
        vec![sweeper]
    }

    /// Deletes every item whose time to live has passed; returns how many.
    pub async fn sweep_expired(&self) -> Result<usize, ServiceError> {
        let now_ms = self.clock.now_ms();
        let now = now_ms.div_euclid(1000);
        let trim_before = now_ms - crate::streams::RETENTION_MS;
        // Looked for first: an idle server does not commit (and fsync) every second.
        if self
            .db
            .read(|tx| rows::has_stream_records_before(tx, trim_before))?
        {
            self.db
                .write(move |tx| Ok(rows::trim_stream_records(tx, trim_before)?))
                .await?;
        }
        let since = now - FIVE_YEARS_SECS;
        let tables = self.db.read(rows::ttl_tables)?;
        let mut deleted = 0;
        for table in tables {
            let table = Arc::new(table);
            loop {
                let keys = self
                    .db
                    .read(|tx| rows::expired_keys(tx, table.id, since, now, SWEEP_BATCH))?;
                if keys.is_empty() {
                    break;
                }
                let batch = keys.len();
                let table = Arc::clone(&table);
                deleted += self
                    .db
                    .write(move |tx| {
                        let mut done = 0;
                        for key in keys {
                            // Still expired now, inside the commit: a write may have moved it.
                            let Some(bytes) = rows::get_item(tx, table.id, &key)? else {
                                continue;
                            };
                            let item = decode(&bytes)?;
                            if !expiry(&table, &item).is_some_and(|at| (since..=now).contains(&at))
                            {
                                rows::set_expiry(tx, table.id, &key, expiry(&table, &item))?;
                                continue;
                            }
                            let write = ItemWrite {
                                table: Arc::clone(&table),
                                key_item: table.meta.key.key_item(&item),
                                key,
                                condition: None,
                                change: Change::Delete,
                                want_old: true,
                                now_ms,
                                by_ttl: true,
                            };
                            if write.apply(tx)?.is_ok() {
                                done += 1;
                            }
                        }
                        Ok(done)
                    })
                    .await?;
                if batch < usize::try_from(SWEEP_BATCH).unwrap_or(usize::MAX) {
                    break;
                }
            }
        }
        Ok(deleted)
    }
}
