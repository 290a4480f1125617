//! Published versions: immutable snapshots of a function's code and settings.
//!
//! A version's settings are a copy of `$LATEST`'s record taken when it was published; its zip
//! is kept once per digest, so versions with the same code share it. Version numbers only
//! grow: a deleted version's number is not used again.

use nimbus_core::{RequestContext, ServiceError};
use nimbus_model::lambda::errors as wire_errors;
use nimbus_store::{DbError, Tx, TxError, params};

use crate::functions::{decode_record, encode, load_function, now_iso};
use crate::record::{FunctionRecord, function_arn};
use crate::schema::RECORD_FORMAT;
use crate::{Lambda, errors};

/// The code and settings a request names: `$LATEST` or a published version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    Latest,
    Published(u32),
}

impl Version {
    /// `$LATEST` or the version number, as AWS prints it.
    pub fn label(self) -> String {
        match self {
            Version::Latest => "$LATEST".to_owned(),
            Version::Published(n) => n.to_string(),
        }
    }

    /// Reads a version qualifier (`$LATEST` or digits); `None` for anything else (an alias).
    pub fn parse(qualifier: &str) -> Option<Version> {
        if qualifier == "$LATEST" {
            return Some(Version::Latest);
        }
        if qualifier.is_empty() || !qualifier.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        qualifier.parse().ok().map(Version::Published)
    }
}

/// What PublishVersion checks before it publishes.
#[derive(Debug, Clone, Default)]
pub struct PublishRequest {
    /// Replaces the function's description in the version.
    pub description: Option<String>,
    /// `CodeSha256` precondition: `$LATEST`'s code must have this digest.
    pub code_sha256: Option<String>,
    /// `RevisionId` precondition on `$LATEST`.
    pub revision_id: Option<String>,
}

/// A version's number and settings.
#[derive(Debug, Clone)]
pub struct PublishedVersion {
    pub number: u32,
    pub record: FunctionRecord,
}

/// `arn:…:function:name:qualifier`.
pub fn qualified_arn(ctx: &RequestContext, name: &str, qualifier: &str) -> String {
    format!("{}:{qualifier}", function_arn(ctx, name))
}

pub(crate) fn version_not_found(ctx: &RequestContext, name: &str, version: u32) -> ServiceError {
    errors::function_not_found(&qualified_arn(ctx, name, &version.to_string()))
}

pub(crate) fn load_version(
    tx: &mut dyn Tx,
    account: &str,
    region: &str,
    name: &str,
    version: u32,
) -> Result<Option<FunctionRecord>, DbError> {
    tx.query_one(
        "SELECT format, record FROM lambda_versions WHERE account = ?1 AND region = ?2 AND name = ?3 AND version = ?4",
        &params![account, region, name, i64::from(version)],
    )?
    .map(|row| decode_record(row.i64(0)?, row.str(1)?))
    .transpose()
}

/// The last version number given out, and `$LATEST`'s revision right after it was published.
fn load_head(
    tx: &mut dyn Tx,
    account: &str,
    region: &str,
    name: &str,
) -> Result<Option<(u32, String)>, DbError> {
    tx.query_one(
        "SELECT last_version, published_revision FROM lambda_version_heads WHERE account = ?1 AND region = ?2 AND name = ?3",
        &params![account, region, name],
    )?
    .map(|row| {
        let last = u32::try_from(row.i64(0)?).unwrap_or(u32::MAX);
        Ok((last, row.string(1)?))
    })
    .transpose()
}

/// The settings a version keeps: `$LATEST`'s, without what belongs to the function as a whole
/// or to `$LATEST` alone (its policy, URL and reserved concurrency).
fn snapshot(latest: &FunctionRecord, description: Option<String>, now: String) -> FunctionRecord {
    let mut record = latest.clone();
    if let Some(description) = description {
        record.description = description;
    }
    record.last_modified = now;
    record.revision_id = nimbus_core::ids::uuid();
    record.policy = Vec::new();
    record.url = None;
    record.reserved_concurrency = None;
    record
}

/// Deletes every version, code copy and counter of a function, inside its deletion.
pub(crate) fn delete_all_versions(
    tx: &mut dyn Tx,
    account: &str,
    region: &str,
    name: &str,
) -> Result<(), DbError> {
    for table in [
        "lambda_versions",
        "lambda_version_code",
        "lambda_version_heads",
        "lambda_aliases",
    ] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE account = ?1 AND region = ?2 AND name = ?3"),
            &params![account, region, name],
        )?;
    }
    Ok(())
}

impl Lambda {
    /// Publishes `$LATEST` as a new version, or returns the last version when `$LATEST` has
    /// not changed since it was published.
    pub async fn publish_version(
        &self,
        ctx: &RequestContext,
        name: &str,
        request: PublishRequest,
    ) -> Result<PublishedVersion, ServiceError> {
        let (account, region, name_owned) =
            (ctx.account_id.clone(), ctx.region.clone(), name.to_owned());
        let arn = function_arn(ctx, name);
        let now = now_iso(self);
        let published = self.db
            .write(move |tx| {
                let (account, region, name) = (&account, &region, &name_owned);
                let Some(mut latest) = load_function(tx, account, region, name)? else {
                    return Err(TxError::Abort(errors::function_not_found(&arn)));
                };
                if request
                    .revision_id
                    .as_ref()
                    .is_some_and(|r| *r != latest.record.revision_id)
                {
                    return Err(TxError::Abort(errors::revision_mismatch()));
                }
                if let Some(sha) = request
                    .code_sha256
                    .as_ref()
                    .filter(|s| **s != latest.record.code_sha256)
                {
                    return Err(TxError::Abort(errors::invalid(format!(
                        "CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST ({}). Please try again with the CodeSHA256 in $LATEST.",
                        latest.record.code_sha256
                    ))));
                }
                let head = load_head(tx, account, region, name)?;
                if let Some((last, published_revision)) = &head
                    && *published_revision == latest.record.revision_id
                    && let Some(record) = load_version(tx, account, region, name, *last)?
                {
                    return Ok(PublishedVersion {
                        number: *last,
                        record,
                    });
                }
                let number = head.map_or(1, |(last, _)| last.saturating_add(1));
                let record = snapshot(&latest.record, request.description, now);
                tx.execute(
                    "INSERT INTO lambda_version_code (account, region, name, code_sha256, zip)
                     SELECT account, region, name, ?4, zip FROM lambda_functions WHERE account = ?1 AND region = ?2 AND name = ?3
                     ON CONFLICT (account, region, name, code_sha256) DO NOTHING",
                    &params![account, region, name, &record.code_sha256],
                )?;
                tx.execute(
                    "INSERT INTO lambda_versions (account, region, name, version, format, record, code_sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    &params![account, region, name, i64::from(number), RECORD_FORMAT, encode(&record), &record.code_sha256],
                )?;
                // Publishing changes `$LATEST`'s revision, as on AWS.
                latest.record.revision_id = nimbus_core::ids::uuid();
                tx.execute(
                    "UPDATE lambda_functions SET record = ?4 WHERE account = ?1 AND region = ?2 AND name = ?3",
                    &params![account, region, name, encode(&latest.record)],
                )?;
                tx.execute(
                    "INSERT INTO lambda_version_heads (account, region, name, last_version, published_revision) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (account, region, name) DO UPDATE SET last_version = excluded.last_version, published_revision = excluded.published_revision",
                    &params![account, region, name, i64::from(number), &latest.record.revision_id],
                )?;
                Ok(PublishedVersion { number, record })
            })
            .await?;
        // `$LATEST`'s revision changed.
        self.functions.forget(&Self::function_key(ctx, name));
        Ok(published)
    }

    /// A published version's settings.
    pub fn get_version(
        &self,
        ctx: &RequestContext,
        name: &str,
        version: u32,
    ) -> Result<FunctionRecord, ServiceError> {
        let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
        self.db
            .read(|tx| load_version(tx, account, region, name, version))?
            .ok_or_else(|| version_not_found(ctx, name, version))
    }

    /// The stored zip of `$LATEST` or of a published version.
    pub(crate) fn version_code_zip(
        &self,
        ctx: &RequestContext,
        name: &str,
        version: Version,
    ) -> Result<Vec<u8>, ServiceError> {
        match version {
            Version::Latest => self.function_zip(ctx, name),
            Version::Published(n) => self.version_zip(ctx, name, n),
        }
    }

    /// The zip of a published version.
    pub fn version_zip(
        &self,
        ctx: &RequestContext,
        name: &str,
        version: u32,
    ) -> Result<Vec<u8>, ServiceError> {
        let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
        let zip = self.db.read(|tx| {
            tx.query_one(
                "SELECT c.zip FROM lambda_versions v JOIN lambda_version_code c
                   ON c.account = v.account AND c.region = v.region AND c.name = v.name AND c.code_sha256 = v.code_sha256
                 WHERE v.account = ?1 AND v.region = ?2 AND v.name = ?3 AND v.version = ?4",
                &params![account, region, name, i64::from(version)],
            )?
            .map(|row| row.blob(0).map(<[u8]>::to_vec))
            .transpose()
        })?;
        zip.ok_or_else(|| version_not_found(ctx, name, version))
    }

    /// Published versions in number order, `max` at a time after version `after`.
    pub fn list_versions(
        &self,
        ctx: &RequestContext,
        name: &str,
        after: u32,
        max: usize,
    ) -> Result<(Vec<PublishedVersion>, bool), ServiceError> {
        let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
        let limit = i64::try_from(max + 1).unwrap_or(i64::MAX);
        let mut versions = self.db.read(|tx| {
            tx.query(
                "SELECT version, format, record FROM lambda_versions WHERE account = ?1 AND region = ?2 AND name = ?3 AND version > ?4 ORDER BY version LIMIT ?5",
                &params![account, region, name, i64::from(after), limit],
            )?
            .iter()
            .map(|row| {
                Ok(PublishedVersion {
                    number: u32::try_from(row.i64(0)?).unwrap_or(u32::MAX),
                    record: decode_record(row.i64(1)?, row.str(2)?)?,
                })
            })
            .collect::<Result<Vec<_>, DbError>>()
        })?;
        let more = versions.len() > max;
        versions.truncate(max);
        Ok((versions, more))
    }

    /// Deletes one published version; refused while an alias routes to it.
    pub async fn delete_version(
        &self,
        ctx: &RequestContext,
        name: &str,
        version: u32,
    ) -> Result<(), ServiceError> {
        let (account, region, name_owned) =
            (ctx.account_id.clone(), ctx.region.clone(), name.to_owned());
        let missing_function = errors::function_not_found(&function_arn(ctx, name));
        let missing_version = version_not_found(ctx, name, version);
        self.db
            .write(move |tx| {
                let (account, region, name) = (&account, &region, &name_owned);
                if load_function(tx, account, region, name)?.is_none() {
                    return Err(TxError::Abort(missing_function));
                }
                let Some(record) = load_version(tx, account, region, name, version)? else {
                    return Err(TxError::Abort(missing_version));
                };
                let label = version.to_string();
                let users: Vec<String> = crate::aliases::load_aliases(tx, account, region, name)?
                    .into_iter()
                    .filter(|a| a.routes_to(&label))
                    .map(|a| a.name)
                    .collect();
                if !users.is_empty() {
                    return Err(TxError::Abort(wire_errors::resource_conflict_exception(
                        format!(
                            "Unable to delete version because the following aliases reference it: [{}]",
                            users.join(", ")
                        ),
                    )));
                }
                tx.execute(
                    "DELETE FROM lambda_versions WHERE account = ?1 AND region = ?2 AND name = ?3 AND version = ?4",
                    &params![account, region, name, i64::from(version)],
                )?;
                crate::provisioned::delete_config(tx, account, region, name, &label)?;
                tx.execute(
                    "DELETE FROM lambda_version_code WHERE account = ?1 AND region = ?2 AND name = ?3 AND code_sha256 = ?4
                       AND NOT EXISTS (SELECT 1 FROM lambda_versions v WHERE v.account = ?1 AND v.region = ?2 AND v.name = ?3 AND v.code_sha256 = ?4)",
                    &params![account, region, name, &record.code_sha256],
                )?;
                Ok(())
            })
            .await?;
        self.forget_version(ctx, name, Version::Published(version));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualifiers() {
        assert_eq!(Version::parse("$LATEST"), Some(Version::Latest));
        assert_eq!(Version::parse("12"), Some(Version::Published(12)));
        assert_eq!(Version::parse("live"), None);
        assert_eq!(Version::parse(""), None);
        assert_eq!(Version::parse("+1"), None);
        assert_eq!(Version::Published(3).label(), "3");
    }
}
