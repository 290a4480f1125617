//! Creating, reading, changing and deleting functions.

use std::collections::BTreeMap;
use std::sync::Arc;

use nimbus_core::{RequestContext, ServiceError};
use nimbus_store::{TxError, params};

use crate::code;
use crate::record::{FunctionRecord, function_arn};
use crate::schema::RECORD_FORMAT;
use crate::{Lambda, errors};

/// A function with its tags.
#[derive(Debug, Clone)]
pub struct StoredFunction {
    pub record: FunctionRecord,
    pub tags: BTreeMap<String, String>,
}

pub(crate) fn now_iso(lambda: &Lambda) -> String {
    chrono::DateTime::from_timestamp_millis(lambda.clock.now_ms())
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
        .to_string()
}

/// A function's stored row, inside a read or a write.
pub(crate) fn load_function(
    tx: &mut dyn nimbus_store::Tx,
    account: &str,
    region: &str,
    name: &str,
) -> Result<Option<StoredFunction>, nimbus_store::DbError> {
    tx.query_one(
        "SELECT format, record, tags FROM lambda_functions WHERE account = ?1 AND region = ?2 AND name = ?3",
        &params![account, region, name],
    )?
    .map(|row| decode_row(&row))
    .transpose()
}

pub(crate) fn decode_row(row: &nimbus_store::Row) -> Result<StoredFunction, nimbus_store::DbError> {
    let record = decode_record(row.i64(0)?, row.str(1)?)?;
    let tags = serde_json::from_str(row.str(2)?)
        .map_err(|e| nimbus_store::DbError::Engine(e.to_string()))?;
    Ok(StoredFunction { record, tags })
}

/// A stored settings document of the given format.
pub(crate) fn decode_record(
    format: i64,
    text: &str,
) -> Result<FunctionRecord, nimbus_store::DbError> {
    if format != RECORD_FORMAT {
        return Err(nimbus_store::DbError::Engine(format!(
            "lambda function record format {format}"
        )));
    }
    serde_json::from_str(text).map_err(|e| nimbus_store::DbError::Engine(e.to_string()))
}

pub(crate) fn encode(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

impl Lambda {
    /// Checks and stores a new function with its zip. `record`'s code fields, revision and
    /// modification time are filled in here.
    pub async fn create_function(
        &self,
        ctx: &RequestContext,
        mut record: FunctionRecord,
        zip: Vec<u8>,
        tags: BTreeMap<String, String>,
    ) -> Result<FunctionRecord, ServiceError> {
        if zip.len() > code::MAX_ZIP_BYTES {
            return Err(nimbus_model::lambda::errors::request_too_large_exception(
                "Request must be smaller than 70167211 bytes for the CreateFunction operation",
            ));
        }
        code::check(&zip).map_err(|e| errors::zip_refused(&e))?;
        record.code_sha256 = code::sha256_base64(&zip);
        record.code_size = i64::try_from(zip.len()).unwrap_or(i64::MAX);
        let zip = self
            .unpack_new_code(ctx, &record.name, &record.code_sha256, zip)
            .await?;
        record.last_modified = now_iso(self);
        record.revision_id = nimbus_core::ids::uuid();
        let (account, region) = (ctx.account_id.clone(), ctx.region.clone());
        let stored = record.clone();
        self.db.write(move |tx| {
            let exists = tx.query_one(
                "SELECT 1 FROM lambda_functions WHERE account = ?1 AND region = ?2 AND name = ?3",
                &params![&account, &region, &stored.name],
            )?;
            if exists.is_some() {
                return Err(TxError::Abort(errors::function_exists(&stored.name)));
            }
            tx.execute(
                "INSERT INTO lambda_functions (account, region, name, format, record, tags, zip) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                &params![&account, &region, &stored.name, RECORD_FORMAT, encode(&stored), encode(&tags), zip],
            )?;
            Ok(())
        })
        .await?;
        Ok(record)
    }

    /// Unpacks code as it arrives, so the first invoke finds it ready (AWS prepares code
    /// while a function is Pending). A zip whose entries do not inflate is refused here.
    async fn unpack_new_code(
        &self,
        ctx: &RequestContext,
        name: &str,
        code_sha256: &str,
        zip: Vec<u8>,
    ) -> Result<Vec<u8>, ServiceError> {
        let dir = self.code_dir(ctx, name, code_sha256);
        code::unpack_off_runtime(zip, dir)
            .await
            .map_err(|e| errors::zip_refused(&e))
    }

    /// A function and its tags.
    pub fn get_function(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<StoredFunction, ServiceError> {
        let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
        let row = self
            .db
            .read(|tx| load_function(tx, account, region, name))?;
        row.ok_or_else(|| errors::function_not_found(&function_arn(ctx, name)))
    }

    /// A function and its tags as last changed, without a store read when unchanged since
    /// the last call: for the reads every invocation makes.
    pub(crate) fn cached_function(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<Arc<StoredFunction>, ServiceError> {
        let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
        self.functions
            .get_or_load(Self::function_key(ctx, name), || {
                self.db.read(|tx| load_function(tx, account, region, name))
            })?
            .ok_or_else(|| errors::function_not_found(&function_arn(ctx, name)))
    }

    /// The stored zip of a function.
    pub fn function_zip(&self, ctx: &RequestContext, name: &str) -> Result<Vec<u8>, ServiceError> {
        let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
        let zip = self.db.read(|tx| {
            tx.query_one(
                "SELECT zip FROM lambda_functions WHERE account = ?1 AND region = ?2 AND name = ?3",
                &params![account, region, name],
            )?
            .map(|row| row.blob(0).map(<[u8]>::to_vec))
            .transpose()
        })?;
        zip.ok_or_else(|| errors::function_not_found(&function_arn(ctx, name)))
    }

    /// Functions in name order, `max` at a time after `marker` (the last name of a page).
    pub fn list_functions(
        &self,
        ctx: &RequestContext,
        marker: Option<&str>,
        max: usize,
    ) -> Result<(Vec<FunctionRecord>, Option<String>), ServiceError> {
        let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
        let limit = i64::try_from(max + 1).unwrap_or(i64::MAX);
        let mut functions = self.db.read(|tx| {
            tx.query(
                "SELECT format, record, tags FROM lambda_functions WHERE account = ?1 AND region = ?2 AND name > ?3 ORDER BY name LIMIT ?4",
                &params![account, region, marker.unwrap_or(""), limit],
            )?
            .iter()
            .map(|row| decode_row(row).map(|f| f.record))
            .collect::<Result<Vec<_>, _>>()
        })?;
        let next = if functions.len() > max {
            functions.truncate(max);
            functions.last().map(|f| f.name.clone())
        } else {
            None
        };
        Ok((functions, next))
    }

    /// Function count, reserved concurrency and code bytes of the caller's account and region.
    pub fn account_usage(&self, ctx: &RequestContext) -> Result<(i64, u64, i64), ServiceError> {
        let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
        self.db.read(|tx| {
            let rows = tx.query(
                "SELECT format, record, tags FROM lambda_functions WHERE account = ?1 AND region = ?2",
                &params![account, region],
            )?;
            let mut usage = (0_i64, 0_u64, 0_i64);
            for row in &rows {
                let function = decode_row(row)?;
                usage.0 += 1;
                usage.1 += u64::from(function.record.reserved_concurrency.unwrap_or(0));
                usage.2 += function.record.code_size;
            }
            Ok(usage)
        })
    }

    /// Changes a function's settings with `change`, which may refuse. `expected_revision` is
    /// the caller's `RevisionId` precondition.
    pub async fn update_function<F>(
        &self,
        ctx: &RequestContext,
        name: &str,
        expected_revision: Option<String>,
        new_zip: Option<Vec<u8>>,
        change: F,
    ) -> Result<FunctionRecord, ServiceError>
    where
        F: FnOnce(&mut StoredFunction) -> Result<(), ServiceError> + Send + 'static,
    {
        let new_code = match new_zip {
            Some(zip) => {
                code::check(&zip).map_err(|e| errors::zip_refused(&e))?;
                let sha256 = code::sha256_base64(&zip);
                Some((self.unpack_new_code(ctx, name, &sha256, zip).await?, sha256))
            }
            None => None,
        };
        let (account, region, name_owned) =
            (ctx.account_id.clone(), ctx.region.clone(), name.to_owned());
        let arn = function_arn(ctx, name);
        let modified = now_iso(self);
        let record = self.db
            .write(move |tx| {
                let Some(mut function) = load_function(tx, &account, &region, &name_owned)? else {
                    return Err(TxError::Abort(errors::function_not_found(&arn)));
                };
                if expected_revision.as_ref().is_some_and(|r| *r != function.record.revision_id) {
                    return Err(TxError::Abort(errors::revision_mismatch()));
                }
                change(&mut function).map_err(TxError::Abort)?;
                if let Some((zip, sha256)) = &new_code {
                    function.record.code_sha256.clone_from(sha256);
                    function.record.code_size = i64::try_from(zip.len()).unwrap_or(i64::MAX);
                }
                function.record.last_modified = modified;
                function.record.revision_id = nimbus_core::ids::uuid();
                tx.execute(
                    "UPDATE lambda_functions SET record = ?4, tags = ?5 WHERE account = ?1 AND region = ?2 AND name = ?3",
                    &params![&account, &region, &name_owned, encode(&function.record), encode(&function.tags)],
                )?;
                if let Some((zip, _)) = new_code {
                    tx.execute(
                        "UPDATE lambda_functions SET zip = ?4 WHERE account = ?1 AND region = ?2 AND name = ?3",
                        &params![&account, &region, &name_owned, zip],
                    )?;
                }
                Ok(function.record)
            })
            .await?;
        self.forget(ctx, name);
        Ok(record)
    }

    /// Deletes a function with its versions and aliases, and stops its instances.
    pub async fn delete_function(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<(), ServiceError> {
        let (account, region, name_owned) =
            (ctx.account_id.clone(), ctx.region.clone(), name.to_owned());
        let arn = function_arn(ctx, name);
        self.db
            .write(move |tx| {
                let deleted = tx.execute(
                    "DELETE FROM lambda_functions WHERE account = ?1 AND region = ?2 AND name = ?3",
                    &params![&account, &region, &name_owned],
                )?;
                if deleted == 0 {
                    return Err(TxError::Abort(errors::function_not_found(&arn)));
                }
                tx.execute(
                    "DELETE FROM lambda_url_ids WHERE account = ?1 AND region = ?2 AND name = ?3",
                    &params![&account, &region, &name_owned],
                )?;
                tx.execute(
                    "DELETE FROM lambda_event_invoke_configs WHERE account = ?1 AND region = ?2 AND name = ?3",
                    &params![&account, &region, &name_owned],
                )?;
                tx.execute(
                    "DELETE FROM lambda_provisioned_concurrency WHERE account = ?1 AND region = ?2 AND name = ?3",
                    &params![&account, &region, &name_owned],
                )?;
                crate::versions::delete_all_versions(tx, &account, &region, &name_owned)?;
                Ok(())
            })
            .await?;
        self.async_configs.write().clear();
        self.forget_function(ctx, name);
        Ok(())
    }
}
