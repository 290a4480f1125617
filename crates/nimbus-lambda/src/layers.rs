//! Layers: published versions of a zip, unpacked beside function code and put on the
//! runtime's search paths (what AWS mounts at `/opt`).

use std::path::PathBuf;

use nimbus_core::{RequestContext, ServiceError};
use nimbus_store::{DbError, Row, TxError, params};
use serde::{Deserialize, Serialize};

use crate::code;
use crate::functions::now_iso;
use crate::schema::RECORD_FORMAT;
use crate::{Lambda, errors};

/// A layer version's settings (stored as JSON, format 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerVersion {
    pub name: String,
    pub version: i64,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub compatible_runtimes: Vec<String>,
    #[serde(default)]
    pub compatible_architectures: Vec<String>,
    #[serde(default)]
    pub license_info: Option<String>,
    pub code_sha256: String,
    pub code_size: i64,
    pub created: String,
}

/// What PublishLayerVersion takes besides the zip.
#[derive(Debug, Clone, Default)]
pub struct NewLayer {
    pub name: String,
    pub description: String,
    pub compatible_runtimes: Vec<String>,
    pub compatible_architectures: Vec<String>,
    pub license_info: Option<String>,
}

pub fn layer_arn(ctx: &RequestContext, name: &str) -> String {
    format!(
        "arn:aws:lambda:{}:{}:layer:{name}",
        ctx.region, ctx.account_id
    )
}

fn layer_not_found() -> ServiceError {
    nimbus_model::lambda::errors::resource_not_found_exception(
        "The resource you requested does not exist.",
    )
}

fn valid_layer_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `(name, version)` of `arn:aws:lambda:<region>:<account>:layer:<name>:<version>` in the
/// caller's account and region.
pub fn parse_layer_version_arn(ctx: &RequestContext, arn: &str) -> Option<(String, i64)> {
    let prefix = layer_arn(ctx, "");
    let rest = arn.strip_prefix(prefix.as_str())?;
    let (name, version) = rest.rsplit_once(':')?;
    Some((name.to_owned(), version.parse().ok()?))
}

fn decode(row: &Row) -> Result<LayerVersion, DbError> {
    if row.i64(0)? != RECORD_FORMAT {
        return Err(DbError::Engine("lambda layer record format".into()));
    }
    serde_json::from_str(row.str(1)?).map_err(|e| DbError::Engine(e.to_string()))
}

impl Lambda {
    pub async fn publish_layer_version(
        &self,
        ctx: &RequestContext,
        layer: NewLayer,
        zip: Vec<u8>,
    ) -> Result<LayerVersion, ServiceError> {
        if !valid_layer_name(&layer.name) {
            return Err(errors::invalid(format!(
                "1 validation error detected: Value '{}' at 'layerName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+",
                layer.name
            )));
        }
        if layer.compatible_runtimes.len() > 15 {
            return Err(errors::invalid(
                "CompatibleRuntimes may list at most 15 runtimes.",
            ));
        }
        code::check(&zip).map_err(|e| errors::zip_refused(&e))?;
        let code_sha256 = code::sha256_base64(&zip);
        // Unpacked as it arrives, so the first cold start of a function using it finds it.
        let zip = code::unpack_off_runtime(zip, self.layer_dir(ctx, &layer.name, &code_sha256))
            .await
            .map_err(|e| errors::zip_refused(&e))?;
        let (account, region) = (ctx.account_id.clone(), ctx.region.clone());
        let created = now_iso(self);
        self.db.write(move |tx| {
            let last = tx
                .query_one(
                    "SELECT last_version FROM lambda_layer_names WHERE account = ?1 AND region = ?2 AND name = ?3",
                    &params![&account, &region, &layer.name],
                )?
                .map(|row| row.i64(0))
                .transpose()?
                .unwrap_or(0);
            let version = last + 1;
            tx.execute(
                "INSERT INTO lambda_layer_names (account, region, name, last_version) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (account, region, name) DO UPDATE SET last_version = excluded.last_version",
                &params![&account, &region, &layer.name, version],
            )?;
            let record = LayerVersion {
                name: layer.name,
                version,
                description: layer.description,
                compatible_runtimes: layer.compatible_runtimes,
                compatible_architectures: layer.compatible_architectures,
                license_info: layer.license_info,
                code_sha256,
                code_size: i64::try_from(zip.len()).unwrap_or(i64::MAX),
                created,
            };
            tx.execute(
                "INSERT INTO lambda_layers (account, region, name, version, format, record, zip) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                &params![&account, &region, &record.name, version, RECORD_FORMAT, serde_json::to_string(&record).unwrap_or_default(), zip],
            )?;
            Ok(record)
        })
        .await
    }

    pub fn get_layer_version(
        &self,
        ctx: &RequestContext,
        name: &str,
        version: i64,
    ) -> Result<LayerVersion, ServiceError> {
        self.find_layer_version(ctx, name, version)?
            .ok_or_else(layer_not_found)
    }

    fn find_layer_version(
        &self,
        ctx: &RequestContext,
        name: &str,
        version: i64,
    ) -> Result<Option<LayerVersion>, ServiceError> {
        self.db.read(|tx| {
            tx.query_one(
                "SELECT format, record FROM lambda_layers WHERE account = ?1 AND region = ?2 AND name = ?3 AND version = ?4",
                &params![&ctx.account_id, &ctx.region, name, version],
            )?
            .map(|row| decode(&row))
            .transpose()
        })
    }

    /// Every version of every layer (or of `name`), newest version first within a layer.
    pub fn list_layer_versions(
        &self,
        ctx: &RequestContext,
        name: Option<&str>,
    ) -> Result<Vec<LayerVersion>, ServiceError> {
        self.db.read(|tx| {
            tx.query(
                "SELECT format, record FROM lambda_layers WHERE account = ?1 AND region = ?2 AND (?3 IS NULL OR name = ?3) ORDER BY name, version DESC",
                &params![&ctx.account_id, &ctx.region, name],
            )?
            .iter()
            .map(decode)
            .collect()
        })
    }

    pub async fn delete_layer_version(
        &self,
        ctx: &RequestContext,
        name: &str,
        version: i64,
    ) -> Result<(), ServiceError> {
        let (account, region, name) = (ctx.account_id.clone(), ctx.region.clone(), name.to_owned());
        // Deleting a version that does not exist succeeds, as on AWS.
        self.db.write(move |tx| {
            tx.execute(
                "DELETE FROM lambda_layers WHERE account = ?1 AND region = ?2 AND name = ?3 AND version = ?4",
                &params![&account, &region, &name, version],
            )?;
            Ok::<(), TxError<ServiceError>>(())
        })
        .await
    }

    /// Checks that every layer a function names exists here; at most five.
    pub fn check_layers(&self, ctx: &RequestContext, arns: &[String]) -> Result<(), ServiceError> {
        if arns.len() > 5 {
            return Err(errors::invalid("Cannot reference more than 5 layers."));
        }
        for arn in arns {
            let found = parse_layer_version_arn(ctx, arn)
                .and_then(|(name, version)| self.get_layer_version(ctx, &name, version).ok());
            if found.is_none() {
                return Err(errors::invalid(format!(
                    "Layer version {arn} does not exist."
                )));
            }
        }
        Ok(())
    }

    /// The stored zip of a layer version.
    pub(crate) fn layer_zip(
        &self,
        ctx: &RequestContext,
        name: &str,
        version: i64,
    ) -> Result<Option<Vec<u8>>, ServiceError> {
        self.db.read(|tx| {
            tx.query_one(
                "SELECT zip FROM lambda_layers WHERE account = ?1 AND region = ?2 AND name = ?3 AND version = ?4",
                &params![&ctx.account_id, &ctx.region, name, version],
            )?
            .map(|row| row.blob(0).map(<[u8]>::to_vec))
            .transpose()
        })
    }

    /// Where a layer's content with this `CodeSha256` is unpacked; versions with the same
    /// content share it.
    fn layer_dir(&self, ctx: &RequestContext, name: &str, code_sha256: &str) -> PathBuf {
        self.unpacked_dir("layers", ctx, name, code_sha256)
    }

    /// A function's layers, unpacked; their directories in the function's order.
    pub(crate) async fn unpack_layers(
        &self,
        ctx: &RequestContext,
        arns: &[String],
    ) -> Result<Vec<PathBuf>, ServiceError> {
        let mut dirs = Vec::new();
        for arn in arns {
            let Some((name, version)) = parse_layer_version_arn(ctx, arn) else {
                continue;
            };
            // A layer deleted after the function was configured keeps working on AWS, but
            // its content is gone here; the function runs without it.
            let Some(record) = self.find_layer_version(ctx, &name, version)? else {
                continue;
            };
            let dir = self.layer_dir(ctx, &name, &record.code_sha256);
            if !dir.is_dir() {
                let Some(zip) = self.layer_zip(ctx, &name, version)? else {
                    continue;
                };
                code::unpack_off_runtime(zip, dir.clone())
                    .await
                    .map_err(|_| errors::bad_zip())?;
            }
            dirs.push(dir);
        }
        Ok(dirs)
    }
}
