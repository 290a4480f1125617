//! Aliases: named pointers to a version, optionally sending a share of invocations to a
//! second version (weighted routing, the basis of canary deployments).

use std::collections::BTreeMap;
use std::sync::Arc;

use nimbus_core::{RequestContext, ServiceError};
use nimbus_model::lambda::errors as wire_errors;
use nimbus_store::{DbError, Tx, TxError, params};
use serde::{Deserialize, Serialize};

use crate::functions::{encode, load_function};
use crate::record::{UrlConfig, function_arn};
use crate::schema::RECORD_FORMAT;
use crate::versions::{Version, load_version, qualified_arn};
use crate::{Lambda, errors};

/// An alias as stored (format 1 in `schema`); new fields must have defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AliasRecord {
    pub name: String,
    /// `$LATEST` or a version number.
    pub function_version: String,
    #[serde(default)]
    pub description: String,
    /// The additional version and the share (0.0–1.0) of invocations it receives.
    #[serde(default)]
    pub routing: BTreeMap<String, f64>,
    pub revision_id: String,
    /// The alias's function URL.
    #[serde(default)]
    pub url: Option<UrlConfig>,
}

impl AliasRecord {
    /// Whether invocations through the alias can run `version`.
    pub fn routes_to(&self, version: &str) -> bool {
        self.function_version == version || self.routing.contains_key(version)
    }

    /// The version one invocation runs: the additional version with its weight's
    /// probability, else the alias's own version.
    pub fn pick(&self) -> &str {
        let draw: f64 = rand::random();
        let mut cumulative = 0.0;
        for (version, weight) in &self.routing {
            cumulative += weight;
            if draw < cumulative {
                return version;
            }
        }
        &self.function_version
    }
}

/// What CreateAlias and UpdateAlias set; `None` keeps the current value on update.
#[derive(Debug, Clone, Default)]
pub struct AliasChange {
    pub function_version: Option<String>,
    pub description: Option<String>,
    /// `Some(empty)` removes the routing configuration.
    pub routing: Option<BTreeMap<String, f64>>,
    /// `RevisionId` precondition (update only).
    pub revision_id: Option<String>,
}

fn validation(message: String) -> ServiceError {
    ServiceError::validation("ValidationException", message)
}

/// AWS's alias name pattern: `(?!^[0-9]+$)([a-zA-Z0-9-_]+)`, 1 to 128 characters.
pub fn check_alias_name(name: &str) -> Result<(), ServiceError> {
    let allowed = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let numeric = name.chars().all(|c| c.is_ascii_digit());
    if name.is_empty() || name.len() > 128 || !allowed || numeric {
        return Err(validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)"
        )));
    }
    Ok(())
}

fn check_function_version(version: &str) -> Result<(), ServiceError> {
    if Version::parse(version).is_none() || version.len() > 1024 {
        return Err(validation(format!(
            "1 validation error detected: Value '{version}' at 'functionVersion' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\$LATEST|[0-9]+)"
        )));
    }
    Ok(())
}

/// AWS's checks of a routing configuration against the alias's own version, in AWS's order.
fn check_routing(routing: &BTreeMap<String, f64>, primary: &str) -> Result<(), ServiceError> {
    if routing.len() > 1 {
        return Err(errors::invalid(
            "Number of items in AdditionalVersionWeights cannot be greater than 1",
        ));
    }
    for (version, weight) in routing {
        if !(0.0..=1.0).contains(weight) {
            return Err(validation(format!(
                "1 validation error detected: Value '{{{version}={weight}}}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]"
            )));
        }
        if version == primary {
            return Err(errors::invalid(format!(
                "Invalid function version {primary}. Function version {primary} is already included in routing configuration."
            )));
        }
        if primary == "$LATEST" {
            return Err(errors::invalid(
                "$LATEST is not supported for an alias pointing to more than 1 version",
            ));
        }
        if !matches!(Version::parse(version), Some(Version::Published(_))) {
            return Err(validation(format!(
                "1 validation error detected: Value '{{{version}={weight}}}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+, Member must not be null]"
            )));
        }
    }
    Ok(())
}

pub(crate) fn load_aliases(
    tx: &mut dyn Tx,
    account: &str,
    region: &str,
    name: &str,
) -> Result<Vec<AliasRecord>, DbError> {
    tx.query(
        "SELECT record FROM lambda_aliases WHERE account = ?1 AND region = ?2 AND name = ?3 ORDER BY alias",
        &params![account, region, name],
    )?
    .iter()
    .map(|row| decode(row.str(0)?))
    .collect()
}

pub(crate) fn load_alias(
    tx: &mut dyn Tx,
    account: &str,
    region: &str,
    name: &str,
    alias: &str,
) -> Result<Option<AliasRecord>, DbError> {
    tx.query_one(
        "SELECT record FROM lambda_aliases WHERE account = ?1 AND region = ?2 AND name = ?3 AND alias = ?4",
        &params![account, region, name, alias],
    )?
    .map(|row| decode(row.str(0)?))
    .transpose()
}

pub(crate) fn store_alias(
    tx: &mut dyn Tx,
    account: &str,
    region: &str,
    name: &str,
    alias: &AliasRecord,
) -> Result<(), DbError> {
    tx.execute(
        "UPDATE lambda_aliases SET record = ?5 WHERE account = ?1 AND region = ?2 AND name = ?3 AND alias = ?4",
        &params![account, region, name, &alias.name, encode(alias)],
    )?;
    Ok(())
}

fn decode(text: &str) -> Result<AliasRecord, DbError> {
    serde_json::from_str(text).map_err(|e| DbError::Engine(e.to_string()))
}

/// Checks that each version the alias routes to exists.
fn check_versions_exist(
    tx: &mut dyn Tx,
    ctx_arn: &str,
    (account, region, name): (&str, &str, &str),
    alias: &AliasRecord,
) -> Result<(), TxError<ServiceError>> {
    let versions = std::iter::once(&alias.function_version).chain(alias.routing.keys());
    for version in versions {
        if let Some(Version::Published(n)) = Version::parse(version)
            && load_version(tx, account, region, name, n)?.is_none()
        {
            return Err(TxError::Abort(errors::function_not_found(&format!(
                "{ctx_arn}:{n}"
            ))));
        }
    }
    Ok(())
}

pub(crate) fn alias_not_found(ctx: &RequestContext, name: &str, alias: &str) -> ServiceError {
    wire_errors::resource_not_found_exception(format!(
        "Cannot find alias arn: {}",
        qualified_arn(ctx, name, alias)
    ))
}

impl Lambda {
    fn alias_key(ctx: &RequestContext, name: &str, alias: &str) -> String {
        format!("{}{alias}", Self::function_key(ctx, name))
    }

    /// Forgets a changed alias (every alias of a function for its key prefix).
    pub(crate) fn drop_cached_alias(&self, key: &str) {
        self.aliases.forget(key);
    }

    /// Creates an alias (`change.function_version` is required).
    pub async fn create_alias(
        &self,
        ctx: &RequestContext,
        name: &str,
        alias: &str,
        change: AliasChange,
    ) -> Result<AliasRecord, ServiceError> {
        check_alias_name(alias)?;
        let version = change.function_version.unwrap_or_default();
        check_function_version(&version)?;
        let routing = change.routing.unwrap_or_default();
        check_routing(&routing, &version)?;
        let record = AliasRecord {
            name: alias.to_owned(),
            function_version: version,
            description: change.description.unwrap_or_default(),
            routing,
            revision_id: nimbus_core::ids::uuid(),
            url: None,
        };
        let (account, region, name_owned) =
            (ctx.account_id.clone(), ctx.region.clone(), name.to_owned());
        let arn = function_arn(ctx, name);
        let stored = record.clone();
        self.db
            .write(move |tx| {
                let key = (account.as_str(), region.as_str(), name_owned.as_str());
                if load_function(tx, key.0, key.1, key.2)?.is_none() {
                    return Err(TxError::Abort(errors::function_not_found(&arn)));
                }
                if load_alias(tx, key.0, key.1, key.2, &stored.name)?.is_some() {
                    return Err(TxError::Abort(wire_errors::resource_conflict_exception(
                        format!("Alias already exists: {arn}:{}", stored.name),
                    )));
                }
                check_versions_exist(tx, &arn, key, &stored)?;
                tx.execute(
                    "INSERT INTO lambda_aliases (account, region, name, alias, format, record) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    &params![key.0, key.1, key.2, &stored.name, RECORD_FORMAT, encode(&stored)],
                )?;
                Ok(())
            })
            .await?;
        self.drop_cached_alias(&Self::alias_key(ctx, name, alias));
        Ok(record)
    }

    /// Changes an alias.
    pub async fn update_alias(
        &self,
        ctx: &RequestContext,
        name: &str,
        alias: &str,
        change: AliasChange,
    ) -> Result<AliasRecord, ServiceError> {
        if let Some(version) = &change.function_version {
            check_function_version(version)?;
        }
        let (account, region, name_owned, alias_owned) = (
            ctx.account_id.clone(),
            ctx.region.clone(),
            name.to_owned(),
            alias.to_owned(),
        );
        let arn = function_arn(ctx, name);
        let missing = alias_not_found(ctx, name, alias);
        let record = self
            .db
            .write(move |tx| {
                let key = (account.as_str(), region.as_str(), name_owned.as_str());
                if load_function(tx, key.0, key.1, key.2)?.is_none() {
                    return Err(TxError::Abort(errors::function_not_found(&arn)));
                }
                let Some(mut record) = load_alias(tx, key.0, key.1, key.2, &alias_owned)? else {
                    return Err(TxError::Abort(missing));
                };
                if change
                    .revision_id
                    .as_ref()
                    .is_some_and(|r| *r != record.revision_id)
                {
                    return Err(TxError::Abort(errors::revision_mismatch()));
                }
                if let Some(version) = change.function_version {
                    record.function_version = version;
                }
                if let Some(description) = change.description {
                    record.description = description;
                }
                if let Some(routing) = change.routing {
                    record.routing = routing;
                }
                check_routing(&record.routing, &record.function_version).map_err(TxError::Abort)?;
                check_versions_exist(tx, &arn, key, &record)?;
                record.revision_id = nimbus_core::ids::uuid();
                store_alias(tx, key.0, key.1, key.2, &record)?;
                Ok(record)
            })
            .await?;
        self.drop_cached_alias(&Self::alias_key(ctx, name, alias));
        // An alias's provisioned concurrency moves with it to its new version.
        self.sync_provisioned(ctx, name).await;
        Ok(record)
    }

    pub async fn delete_alias(
        &self,
        ctx: &RequestContext,
        name: &str,
        alias: &str,
    ) -> Result<(), ServiceError> {
        let (account, region, name_owned, alias_owned) = (
            ctx.account_id.clone(),
            ctx.region.clone(),
            name.to_owned(),
            alias.to_owned(),
        );
        let arn = function_arn(ctx, name);
        let missing = alias_not_found(ctx, name, alias);
        self.db
            .write(move |tx| {
                if load_function(tx, &account, &region, &name_owned)?.is_none() {
                    return Err(TxError::Abort(errors::function_not_found(&arn)));
                }
                let deleted = tx.execute(
                    "DELETE FROM lambda_aliases WHERE account = ?1 AND region = ?2 AND name = ?3 AND alias = ?4",
                    &params![&account, &region, &name_owned, &alias_owned],
                )?;
                if deleted == 0 {
                    return Err(TxError::Abort(missing));
                }
                tx.execute(
                    "DELETE FROM lambda_url_ids WHERE account = ?1 AND region = ?2 AND name = ?3 AND qualifier = ?4",
                    &params![&account, &region, &name_owned, &alias_owned],
                )?;
                crate::provisioned::delete_config(tx, &account, &region, &name_owned, &alias_owned)?;
                Ok(())
            })
            .await?;
        self.drop_cached_alias(&Self::alias_key(ctx, name, alias));
        self.sync_provisioned(ctx, name).await;
        Ok(())
    }

    /// Removes an alias's function URL (its id is deleted by the caller).
    pub(crate) async fn clear_alias_url(
        &self,
        ctx: &RequestContext,
        name: &str,
        alias: &str,
    ) -> Result<(), ServiceError> {
        let (account, region, name_owned, alias_owned) = (
            ctx.account_id.clone(),
            ctx.region.clone(),
            name.to_owned(),
            alias.to_owned(),
        );
        let missing = alias_not_found(ctx, name, alias);
        self.db
            .write(move |tx| {
                let Some(mut record) =
                    load_alias(tx, &account, &region, &name_owned, &alias_owned)?
                else {
                    return Err(TxError::Abort(missing));
                };
                record.url = None;
                store_alias(tx, &account, &region, &name_owned, &record)?;
                Ok(())
            })
            .await
    }

    /// An alias, read from the store.
    pub fn get_alias(
        &self,
        ctx: &RequestContext,
        name: &str,
        alias: &str,
    ) -> Result<AliasRecord, ServiceError> {
        let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
        self.db.read(|tx| {
            if load_function(tx, account, region, name)?.is_none() {
                return Ok(Err(errors::function_not_found(&function_arn(ctx, name))));
            }
            Ok(load_alias(tx, account, region, name, alias)?
                .ok_or_else(|| alias_not_found(ctx, name, alias)))
        })?
    }

    /// An alias for invocation: cached, since every invoke through an alias reads it.
    pub(crate) fn alias_for_invoke(
        &self,
        ctx: &RequestContext,
        name: &str,
        alias: &str,
    ) -> Result<Arc<AliasRecord>, ServiceError> {
        let key = Self::alias_key(ctx, name, alias);
        self.aliases
            .get_or_load(key, || self.get_alias(ctx, name, alias).map(Some))?
            .ok_or_else(|| alias_not_found(ctx, name, alias))
    }

    /// A function's aliases in name order, optionally only those of one version.
    pub fn list_aliases(
        &self,
        ctx: &RequestContext,
        name: &str,
        version: Option<&str>,
    ) -> Result<Vec<AliasRecord>, ServiceError> {
        let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
        let aliases = self.db.read(|tx| {
            if load_function(tx, account, region, name)?.is_none() {
                return Ok(Err(errors::function_not_found(&function_arn(ctx, name))));
            }
            Ok(Ok(load_aliases(tx, account, region, name)?))
        })??;
        Ok(aliases
            .into_iter()
            .filter(|a| version.is_none_or(|v| a.function_version == v))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alias(primary: &str, routing: &[(&str, f64)]) -> AliasRecord {
        AliasRecord {
            name: "live".into(),
            function_version: primary.into(),
            description: String::new(),
            routing: routing.iter().map(|(v, w)| ((*v).to_owned(), *w)).collect(),
            revision_id: String::new(),
            url: None,
        }
    }

    #[test]
    fn names_and_routing_follow_aws_rules() {
        assert!(check_alias_name("live").is_ok());
        assert!(check_alias_name("123").is_err());
        assert!(check_alias_name("$LATEST").is_err());
        assert!(check_alias_name(&"a".repeat(129)).is_err());
        assert!(check_routing(&alias("1", &[("2", 0.3)]).routing, "1").is_ok());
        let two = alias("1", &[("2", 0.3), ("3", 0.1)]);
        assert!(check_routing(&two.routing, "1").is_err());
        assert!(check_routing(&alias("1", &[("2", 1.5)]).routing, "1").is_err());
        assert!(check_routing(&alias("1", &[("1", 0.5)]).routing, "1").is_err());
        assert!(check_routing(&alias("1", &[("2", 0.5)]).routing, "$LATEST").is_err());
        assert!(check_routing(&alias("1", &[("$LATEST", 0.5)]).routing, "1").is_err());
    }

    #[test]
    fn weights_pick_versions() {
        let never = alias("1", &[("2", 0.0)]);
        let always = alias("1", &[("2", 1.0)]);
        let split = alias("1", &[("2", 0.3)]);
        assert!((0..1000).all(|_| never.pick() == "1"));
        assert!((0..1000).all(|_| always.pick() == "2"));
        let second = (0..20_000).filter(|_| split.pick() == "2").count();
        // 30 % of 20,000 is 6,000; the standard deviation is about 65.
        assert!((5_600..6_400).contains(&second), "{second}");
    }
}
