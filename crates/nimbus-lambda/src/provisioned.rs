//! Provisioned concurrency: per published version or alias, a number of instances started
//! and initialized ahead of invocations (`AWS_LAMBDA_INITIALIZATION_TYPE` is
//! `provisioned-concurrency`) and kept while configured. Configurations are stored, so the
//! instances start again after a restart; an alias's configuration follows its version.

use std::collections::BTreeMap;
use std::sync::Arc;

use nimbus_core::{RequestContext, ServiceError};
use nimbus_model::lambda::errors as wire_errors;
use nimbus_runtime::LaunchSpec;
use nimbus_store::{DbError, Tx, TxError, params};

use crate::aliases::{alias_not_found, load_alias, load_aliases};
use crate::functions::{decode_row, load_function, now_iso};
use crate::record::function_arn;
use crate::versions::{Version, load_version, qualified_arn};
use crate::{Lambda, errors};

/// One stored configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProvisionedConfig {
    /// A version number or an alias name.
    pub qualifier: String,
    pub requested: u32,
    pub last_modified: String,
}

/// A configuration with how far its instances are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProvisionedReport {
    pub config: ProvisionedConfig,
    /// Initialized instances (AWS's Allocated and Available).
    pub ready: u32,
    /// `IN_PROGRESS`, `READY` or `FAILED`.
    pub status: &'static str,
    pub status_reason: Option<String>,
}

/// What AWS reports when instances fail to initialize.
const INIT_FAILURE: &str = "FUNCTION_ERROR_INIT_FAILURE";

fn unpublished() -> ServiceError {
    errors::invalid(
        "Provisioned Concurrency Configs cannot be applied to unpublished function versions.",
    )
}

fn not_alias_or_version() -> ServiceError {
    errors::invalid("The function resource provided must be an alias or a published version.")
}

/// The version number a label names, when it names a published version.
fn published(label: &str) -> Option<u32> {
    match Version::parse(label) {
        Some(Version::Published(n)) => Some(n),
        _ => None,
    }
}

pub(crate) fn load_configs(
    tx: &mut dyn Tx,
    account: &str,
    region: &str,
    name: &str,
) -> Result<Vec<ProvisionedConfig>, DbError> {
    tx.query(
        "SELECT qualifier, requested, last_modified FROM lambda_provisioned_concurrency WHERE account = ?1 AND region = ?2 AND name = ?3 ORDER BY qualifier",
        &params![account, region, name],
    )?
    .iter()
    .map(|row| {
        Ok(ProvisionedConfig {
            qualifier: row.string(0)?,
            requested: u32::try_from(row.i64(1)?).unwrap_or(0),
            last_modified: row.string(2)?,
        })
    })
    .collect()
}

/// Deletes the configuration of one qualifier (a deleted version or alias).
pub(crate) fn delete_config(
    tx: &mut dyn Tx,
    account: &str,
    region: &str,
    name: &str,
    qualifier: &str,
) -> Result<usize, DbError> {
    tx.execute(
        "DELETE FROM lambda_provisioned_concurrency WHERE account = ?1 AND region = ?2 AND name = ?3 AND qualifier = ?4",
        &params![account, region, name, qualifier],
    )
}

/// Names for the errors a configuration request can get.
struct Names {
    function: String,
    qualified: String,
    missing_alias: ServiceError,
}

/// The version a configuration's qualifier provisions, checking that it exists: a version
/// number, or the version an alias points to.
fn provisioned_version(
    tx: &mut dyn Tx,
    (account, region, name): (&str, &str, &str),
    qualifier: &str,
    names: &Names,
) -> Result<u32, TxError<ServiceError>> {
    if load_function(tx, account, region, name)?.is_none() {
        return Err(TxError::Abort(errors::function_not_found(&names.function)));
    }
    match Version::parse(qualifier) {
        Some(Version::Published(n)) => {
            if load_version(tx, account, region, name, n)?.is_none() {
                return Err(TxError::Abort(errors::function_not_found(&names.qualified)));
            }
            Ok(n)
        }
        Some(Version::Latest) => Err(TxError::Abort(unpublished())),
        None => {
            let Some(alias) = load_alias(tx, account, region, name, qualifier)? else {
                return Err(TxError::Abort(names.missing_alias.clone()));
            };
            published(&alias.function_version).ok_or(TxError::Abort(unpublished()))
        }
    }
}

/// AWS's checks on a new configuration: an alias and the version it points to cannot both
/// be provisioned, and the total stays within the reserved concurrency, or else leaves the
/// account its minimum unreserved concurrency.
fn check_put(
    tx: &mut dyn Tx,
    key: (&str, &str, &str),
    qualifier: &str,
    version: u32,
    requested: u32,
    limits: (u64, u64),
) -> Result<(), TxError<ServiceError>> {
    let (account, region, name) = key;
    let configs = load_configs(tx, account, region, name)?;
    let aliases = load_aliases(tx, account, region, name)?;
    let version_label = version.to_string();
    let conflict = |message: &str| {
        Err(TxError::Abort(wire_errors::resource_conflict_exception(
            message,
        )))
    };
    if qualifier == version_label {
        let pointed = aliases.iter().any(|alias| {
            alias.function_version == version_label
                && configs.iter().any(|c| c.qualifier == alias.name)
        });
        if pointed {
            return conflict("Version is pointed by a Provisioned Concurrency alias");
        }
    } else if configs.iter().any(|c| c.qualifier == version_label) {
        return conflict(
            "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version",
        );
    }
    let others: u64 = configs
        .iter()
        .filter(|c| c.qualifier != qualifier)
        .map(|c| u64::from(c.requested))
        .sum();
    let Some(function) = load_function(tx, account, region, name)? else {
        return Ok(());
    };
    if let Some(reserved) = function.record.reserved_concurrency {
        if others + u64::from(requested) > u64::from(reserved) {
            return Err(TxError::Abort(errors::invalid(
                "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function",
            )));
        }
        return Ok(());
    }
    // Provisioned concurrency of functions without a reservation comes out of the pool.
    let (limit, minimum) = limits;
    let mut taken = others;
    for row in tx.query(
        "SELECT format, record, tags FROM lambda_functions WHERE account = ?1 AND region = ?2",
        &params![account, region],
    )? {
        let other = decode_row(&row)?.record;
        match other.reserved_concurrency {
            Some(reserved) => taken += u64::from(reserved),
            None if other.name != name => {
                taken += load_configs(tx, account, region, &other.name)?
                    .iter()
                    .map(|c| u64::from(c.requested))
                    .sum::<u64>();
            }
            None => {}
        }
    }
    if taken + u64::from(requested) > limit.saturating_sub(minimum) {
        return Err(TxError::Abort(errors::invalid(format!(
            "Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{minimum}]."
        ))));
    }
    Ok(())
}

/// The instances of a version started for provisioned concurrency.
fn provisioned_spec(spec: &LaunchSpec) -> LaunchSpec {
    let mut spec = spec.clone();
    for (key, value) in &mut spec.env {
        if key == "AWS_LAMBDA_INITIALIZATION_TYPE" {
            "provisioned-concurrency".clone_into(value);
        }
    }
    spec
}

impl Lambda {
    fn names(ctx: &RequestContext, name: &str, qualifier: &str) -> Names {
        Names {
            function: function_arn(ctx, name),
            qualified: qualified_arn(ctx, name, qualifier),
            missing_alias: alias_not_found(ctx, name, qualifier),
        }
    }

    /// PutProvisionedConcurrencyConfig: stores the configuration and starts the instances.
    pub(crate) async fn put_provisioned(
        &self,
        ctx: &RequestContext,
        name: &str,
        qualifier: Option<&str>,
        requested: i32,
    ) -> Result<ProvisionedReport, ServiceError> {
        let requested = u32::try_from(requested).ok().filter(|r| *r >= 1).ok_or_else(|| {
            ServiceError::validation(
                "ValidationException",
                format!(
                    "1 validation error detected: Value '{requested}' at 'provisionedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 1"
                ),
            )
        })?;
        let qualifier = match qualifier {
            None | Some("$LATEST") => return Err(unpublished()),
            Some(q) => q.to_owned(),
        };
        let names = Self::names(ctx, name, &qualifier);
        let (account, region, name_owned) =
            (ctx.account_id.clone(), ctx.region.clone(), name.to_owned());
        let limits = (
            u64::try_from(self.config.account_concurrency).unwrap_or(u64::MAX),
            u64::try_from(self.min_unreserved()).unwrap_or(u64::MAX),
        );
        let config = ProvisionedConfig {
            qualifier,
            requested,
            last_modified: now_iso(self),
        };
        let stored = config.clone();
        self.db
            .write(move |tx| {
                let key = (account.as_str(), region.as_str(), name_owned.as_str());
                let version = provisioned_version(tx, key, &stored.qualifier, &names)?;
                check_put(tx, key, &stored.qualifier, version, stored.requested, limits)?;
                tx.execute(
                    "INSERT INTO lambda_provisioned_concurrency (account, region, name, qualifier, requested, last_modified) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (account, region, name, qualifier) DO UPDATE SET requested = excluded.requested, last_modified = excluded.last_modified",
                    &params![key.0, key.1, key.2, &stored.qualifier, i64::from(stored.requested), &stored.last_modified],
                )?;
                Ok(())
            })
            .await?;
        self.sync_provisioned(ctx, name).await;
        Ok(self.report(ctx, name, config).await)
    }

    /// The stored configuration of a version or alias, checking that both exist.
    fn provisioned_config(
        &self,
        ctx: &RequestContext,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<Option<ProvisionedConfig>, ServiceError> {
        let qualifier = match qualifier {
            None | Some("$LATEST") => return Err(not_alias_or_version()),
            Some(q) => q,
        };
        let names = Self::names(ctx, name, qualifier);
        let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
        self.db.read(|tx| {
            if load_function(tx, account, region, name)?.is_none() {
                return Ok(Err(errors::function_not_found(&names.function)));
            }
            let missing = match Version::parse(qualifier) {
                Some(Version::Published(n)) => load_version(tx, account, region, name, n)?
                    .is_none()
                    .then(|| errors::function_not_found(&names.qualified)),
                _ => load_alias(tx, account, region, name, qualifier)?
                    .is_none()
                    .then(|| names.missing_alias.clone()),
            };
            if let Some(err) = missing {
                return Ok(Err(err));
            }
            let config = load_configs(tx, account, region, name)?
                .into_iter()
                .find(|c| c.qualifier == qualifier);
            Ok(Ok(config))
        })?
    }

    /// GetProvisionedConcurrencyConfig.
    pub(crate) async fn get_provisioned(
        &self,
        ctx: &RequestContext,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<ProvisionedReport, ServiceError> {
        let config = self
            .provisioned_config(ctx, name, qualifier)?
            .ok_or_else(|| {
                wire_errors::provisioned_concurrency_config_not_found_exception(
                    "No Provisioned Concurrency Config found for this function",
                )
            })?;
        Ok(self.report(ctx, name, config).await)
    }

    /// DeleteProvisionedConcurrencyConfig: stops the instances. Deleting a configuration
    /// that does not exist succeeds, as on AWS.
    pub(crate) async fn delete_provisioned(
        &self,
        ctx: &RequestContext,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<(), ServiceError> {
        let Some(config) = self.provisioned_config(ctx, name, qualifier)? else {
            return Ok(());
        };
        let (account, region, name_owned) =
            (ctx.account_id.clone(), ctx.region.clone(), name.to_owned());
        self.db
            .write(move |tx| {
                delete_config(tx, &account, &region, &name_owned, &config.qualifier)?;
                Ok(())
            })
            .await?;
        self.sync_provisioned(ctx, name).await;
        Ok(())
    }

    /// ListProvisionedConcurrencyConfigs, `max` at a time after the qualifier `marker`.
    pub(crate) async fn list_provisioned(
        &self,
        ctx: &RequestContext,
        name: &str,
        marker: Option<&str>,
        max: usize,
    ) -> Result<(Vec<ProvisionedReport>, Option<String>), ServiceError> {
        let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
        let configs = self.db.read(|tx| {
            if load_function(tx, account, region, name)?.is_none() {
                return Ok(None);
            }
            load_configs(tx, account, region, name).map(Some)
        })?;
        let Some(configs) = configs else {
            return Err(errors::function_not_found(&function_arn(ctx, name)));
        };
        let mut page: Vec<ProvisionedConfig> = configs
            .into_iter()
            .filter(|c| marker.is_none_or(|m| c.qualifier.as_str() > m))
            .take(max + 1)
            .collect();
        let next = (page.len() > max).then(|| {
            page.truncate(max);
            page.last().map(|c| c.qualifier.clone()).unwrap_or_default()
        });
        let mut reports = Vec::with_capacity(page.len());
        for config in page {
            reports.push(self.report(ctx, name, config).await);
        }
        Ok((reports, next))
    }

    /// The version each of a function's configurations provisions, with the instances it
    /// wants.
    fn wanted_instances(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<BTreeMap<u32, usize>, ServiceError> {
        let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
        let (configs, aliases) = self.db.read(|tx| {
            Ok((
                load_configs(tx, account, region, name)?,
                load_aliases(tx, account, region, name)?,
            ))
        })?;
        let mut wanted = BTreeMap::new();
        for config in configs {
            // A version number, or the alias's version ($LATEST provisions nothing).
            let version = match Version::parse(&config.qualifier) {
                Some(Version::Published(n)) => Some(n),
                Some(Version::Latest) => None,
                None => aliases
                    .iter()
                    .find(|a| a.name == config.qualifier)
                    .and_then(|a| published(&a.function_version)),
            };
            if let Some(n) = version {
                *wanted.entry(n).or_default() +=
                    usize::try_from(config.requested).unwrap_or(usize::MAX);
            }
        }
        Ok(wanted)
    }

    /// Makes the function's provisioned instances match its configurations: starts what is
    /// missing, stops what is no longer wanted.
    pub(crate) async fn sync_provisioned(&self, ctx: &RequestContext, name: &str) {
        let _one_at_a_time = self.provisioning.lock().await;
        let wanted = match self.wanted_instances(ctx, name) {
            Ok(wanted) => wanted,
            Err(err) => {
                tracing::warn!(%err, function = name, "reading provisioned concurrency failed");
                return;
            }
        };
        let mut kept = Vec::new();
        for (version, count) in wanted {
            let deployed = match self.deployed(ctx, name, Version::Published(version)).await {
                Ok(deployed) => deployed,
                Err(err) => {
                    tracing::warn!(%err, function = name, version, "preparing a provisioned version failed");
                    continue;
                }
            };
            if let Ok(spec) = &deployed.launch {
                self.executor.provision(
                    &deployed.pool_key,
                    provisioned_spec(spec),
                    count,
                    Arc::clone(&deployed.sink),
                );
                kept.push(deployed.pool_key.clone());
            }
        }
        for key in self
            .executor
            .provisioned_keys(&Self::function_key(ctx, name))
        {
            if !kept.contains(&key) {
                self.executor.unprovision(&key);
            }
        }
    }

    /// Starts the provisioned instances of every stored configuration (after a restart).
    pub(crate) async fn restore_provisioned(&self, base_url: &str) {
        let functions = self.db.read(|tx| {
            tx.query(
                "SELECT DISTINCT account, region, name FROM lambda_provisioned_concurrency",
                &params![],
            )?
            .iter()
            .map(|row| Ok((row.string(0)?, row.string(1)?, row.string(2)?)))
            .collect::<Result<Vec<_>, DbError>>()
        });
        let functions = match functions {
            Ok(functions) => functions,
            Err(err) => {
                tracing::warn!(%err, "reading provisioned concurrency failed");
                return;
            }
        };
        for (account, region, name) in functions {
            let ctx = RequestContext::internal(&account, &region, base_url);
            self.sync_provisioned(&ctx, &name).await;
        }
    }

    /// A configuration with the state of its instances.
    async fn report(
        &self,
        ctx: &RequestContext,
        name: &str,
        config: ProvisionedConfig,
    ) -> ProvisionedReport {
        // An alias reports on its own version, whatever share of invocations another gets.
        let version = match Version::parse(&config.qualifier) {
            Some(version) => Some(version),
            None => self
                .get_alias(ctx, name, &config.qualifier)
                .ok()
                .and_then(|alias| Version::parse(&alias.function_version)),
        };
        let deployed = match version {
            Some(version @ Version::Published(_)) => self.deployed(ctx, name, version).await.ok(),
            _ => None,
        };
        let state = deployed
            .as_ref()
            .map(|d| self.executor.provisioned_state(&d.pool_key))
            .unwrap_or_default();
        let launch_failed = deployed.as_ref().is_some_and(|d| d.launch.is_err());
        let ready = u32::try_from(state.ready)
            .unwrap_or(u32::MAX)
            .min(config.requested);
        let (status, status_reason) = if launch_failed || state.failure.is_some() {
            ("FAILED", Some(INIT_FAILURE.to_owned()))
        } else if state.requested > 0 && state.ready >= state.requested {
            ("READY", None)
        } else {
            ("IN_PROGRESS", None)
        };
        ProvisionedReport {
            config,
            ready,
            status,
            status_reason,
        }
    }
}
