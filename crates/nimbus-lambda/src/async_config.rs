//! Asynchronous invocation settings (`FunctionEventInvokeConfig`): retry attempts, maximum
//! event age and destinations, kept per function and qualifier so versions and aliases can
//! carry their own.

use std::sync::Arc;

use nimbus_core::{RequestContext, ServiceError, arn};
use nimbus_store::{TxError, params};
use serde::{Deserialize, Serialize};

use crate::functions::{encode, load_function};
use crate::record::function_arn;
use crate::{Lambda, errors};

/// AWS's defaults when a function has no configuration.
pub const DEFAULT_RETRY_ATTEMPTS: u32 = 2;
pub const DEFAULT_MAX_EVENT_AGE_SECS: u32 = 21_600;

/// What is stored for one (function, qualifier). Unset fields mean AWS's defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventInvokeConfig {
    pub qualifier: String,
    #[serde(default)]
    pub max_retry_attempts: Option<u32>,
    #[serde(default)]
    pub max_event_age_secs: Option<u32>,
    #[serde(default)]
    pub on_success: Option<String>,
    #[serde(default)]
    pub on_failure: Option<String>,
    /// Epoch milliseconds.
    pub last_modified_ms: i64,
}

impl EventInvokeConfig {
    pub fn retry_attempts(&self) -> u32 {
        self.max_retry_attempts.unwrap_or(DEFAULT_RETRY_ATTEMPTS)
    }

    pub fn max_event_age_ms(&self) -> i64 {
        i64::from(
            self.max_event_age_secs
                .unwrap_or(DEFAULT_MAX_EVENT_AGE_SECS),
        ) * 1000
    }
}

/// A change asked for by Put (everything replaced) or Update (only given fields).
#[derive(Debug, Clone, Default)]
pub struct ConfigChange {
    pub max_retry_attempts: Option<u32>,
    pub max_event_age_secs: Option<u32>,
    /// `Some(None)` clears a destination; `None` leaves it (Update) or clears it (Put).
    pub on_success: Option<Option<String>>,
    pub on_failure: Option<Option<String>>,
}

/// Where a destination ARN points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestinationKind {
    Queue,
    Topic,
    Function,
}

/// Classifies a destination ARN; `None` for services Lambda cannot deliver to.
pub fn destination_kind(destination: &str) -> Option<DestinationKind> {
    match arn::parse(destination)?.service {
        "sqs" => Some(DestinationKind::Queue),
        "sns" => Some(DestinationKind::Topic),
        "lambda" => Some(DestinationKind::Function),
        _ => None,
    }
}

/// The unqualified or `$LATEST` key a configuration is stored under.
pub fn qualifier_key(qualifier: Option<&str>) -> String {
    qualifier.unwrap_or("$LATEST").to_owned()
}

fn config_key(ctx_account: &str, region: &str, name: &str, qualifier: &str) -> String {
    format!("{ctx_account}/{region}/{name}/{qualifier}")
}

fn not_found(ctx: &RequestContext, name: &str, qualifier: &str) -> ServiceError {
    nimbus_model::lambda::errors::resource_not_found_exception(format!(
        "The function {}:{qualifier} doesn't have an EventInvokeConfig",
        function_arn(ctx, name)
    ))
}

fn no_function() -> ServiceError {
    nimbus_model::lambda::errors::resource_not_found_exception("The function doesn't exist.")
}

fn decode(text: &str) -> Result<EventInvokeConfig, nimbus_store::DbError> {
    serde_json::from_str(text).map_err(|e| nimbus_store::DbError::Engine(e.to_string()))
}

impl Lambda {
    /// Put (`replace`) or Update: writes the configuration and returns it.
    pub async fn put_event_invoke_config(
        &self,
        ctx: &RequestContext,
        name: &str,
        qualifier: &str,
        change: ConfigChange,
        replace: bool,
    ) -> Result<EventInvokeConfig, ServiceError> {
        let (account, region) = (ctx.account_id.clone(), ctx.region.clone());
        let (name_owned, qualifier_owned) = (name.to_owned(), qualifier.to_owned());
        let missing = not_found(ctx, name, qualifier);
        let now = self.clock.now_ms();
        let config = self
            .db
            .write(move |tx| {
                if load_function(tx, &account, &region, &name_owned)?.is_none() {
                    return Err(TxError::Abort(no_function()));
                }
                let existing = tx
                    .query_one(
                        "SELECT record FROM lambda_event_invoke_configs WHERE account = ?1 AND region = ?2 AND name = ?3 AND qualifier = ?4",
                        &params![&account, &region, &name_owned, &qualifier_owned],
                    )?
                    .map(|row| row.str(0).and_then(decode))
                    .transpose()?;
                let mut config = match (existing, replace) {
                    (Some(found), false) => found,
                    (None, false) => return Err(TxError::Abort(missing)),
                    (_, true) => EventInvokeConfig {
                        qualifier: qualifier_owned.clone(),
                        ..EventInvokeConfig::default()
                    },
                };
                if replace || change.max_retry_attempts.is_some() {
                    config.max_retry_attempts = change.max_retry_attempts;
                }
                if replace || change.max_event_age_secs.is_some() {
                    config.max_event_age_secs = change.max_event_age_secs;
                }
                if replace || change.on_success.is_some() {
                    config.on_success = change.on_success.flatten();
                }
                if replace || change.on_failure.is_some() {
                    config.on_failure = change.on_failure.flatten();
                }
                config.last_modified_ms = now;
                tx.execute(
                    "INSERT INTO lambda_event_invoke_configs (account, region, name, qualifier, record) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (account, region, name, qualifier) DO UPDATE SET record = excluded.record",
                    &params![&account, &region, &name_owned, &qualifier_owned, encode(&config)],
                )?;
                Ok(config)
            })
            .await?;
        self.async_configs.write().clear();
        Ok(config)
    }

    /// One configuration, or AWS's not-found error.
    pub fn get_event_invoke_config(
        &self,
        ctx: &RequestContext,
        name: &str,
        qualifier: &str,
    ) -> Result<EventInvokeConfig, ServiceError> {
        self.load_event_invoke_config(&ctx.account_id, &ctx.region, name, qualifier)?
            .map(|c| (*c).clone())
            .ok_or_else(|| not_found(ctx, name, qualifier))
    }

    /// The configuration an event of this function runs under (cached until changed).
    pub(crate) fn load_event_invoke_config(
        &self,
        account: &str,
        region: &str,
        name: &str,
        qualifier: &str,
    ) -> Result<Option<Arc<EventInvokeConfig>>, ServiceError> {
        let key = config_key(account, region, name, qualifier);
        if let Some(found) = self.async_configs.read().get(&key) {
            return Ok(found.clone());
        }
        let loaded = self.db.read(|tx| {
            tx.query_one(
                "SELECT record FROM lambda_event_invoke_configs WHERE account = ?1 AND region = ?2 AND name = ?3 AND qualifier = ?4",
                &params![account, region, name, qualifier],
            )?
            .map(|row| decode(row.str(0)?))
            .transpose()
        })?;
        let loaded = loaded.map(Arc::new);
        self.async_configs.write().insert(key, loaded.clone());
        Ok(loaded)
    }

    /// A function's configurations in qualifier order, `max` after `marker`.
    pub fn list_event_invoke_configs(
        &self,
        ctx: &RequestContext,
        name: &str,
        marker: Option<&str>,
        max: usize,
    ) -> Result<(Vec<EventInvokeConfig>, Option<String>), ServiceError> {
        let (account, region) = (ctx.account_id.as_str(), ctx.region.as_str());
        let limit = i64::try_from(max + 1).unwrap_or(i64::MAX);
        let found = self.db.read(|tx| {
            if load_function(tx, account, region, name)?.is_none() {
                return Ok(None);
            }
            tx.query(
                "SELECT record FROM lambda_event_invoke_configs WHERE account = ?1 AND region = ?2 AND name = ?3 AND qualifier > ?4 ORDER BY qualifier LIMIT ?5",
                &params![account, region, name, marker.unwrap_or(""), limit],
            )?
            .iter()
            .map(|row| decode(row.str(0)?))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
        })?;
        let mut configs = found.ok_or_else(no_function)?;
        let next = if configs.len() > max {
            configs.truncate(max);
            configs.last().map(|c| c.qualifier.clone())
        } else {
            None
        };
        Ok((configs, next))
    }

    pub async fn delete_event_invoke_config(
        &self,
        ctx: &RequestContext,
        name: &str,
        qualifier: &str,
    ) -> Result<(), ServiceError> {
        let (account, region) = (ctx.account_id.clone(), ctx.region.clone());
        let (name_owned, qualifier_owned) = (name.to_owned(), qualifier.to_owned());
        let missing = not_found(ctx, name, qualifier);
        self.db
            .write(move |tx| {
                let deleted = tx.execute(
                    "DELETE FROM lambda_event_invoke_configs WHERE account = ?1 AND region = ?2 AND name = ?3 AND qualifier = ?4",
                    &params![&account, &region, &name_owned, &qualifier_owned],
                )?;
                if deleted == 0 {
                    return Err(TxError::Abort(missing));
                }
                Ok(())
            })
            .await?;
        self.async_configs.write().clear();
        Ok(())
    }

    /// Checks a destination as Put and Update do: the ARN's shape, a supported service, and
    /// for functions that the target exists and is not the function itself.
    pub fn check_destination(
        &self,
        ctx: &RequestContext,
        function: &str,
        field: &str,
        destination: &str,
    ) -> Result<(), ServiceError> {
        if !arn_shaped(destination) {
            return Err(ServiceError::validation(
                "ValidationException",
                format!(
                    "1 validation error detected: Value '{destination}' at 'destinationConfig.{field}.destination' failed to satisfy constraint: Member must satisfy regular expression pattern: ^$|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:([a-z]{{2}}((-gov)|(-iso(b?)))?-[a-z]+-\\d{{1}})?:(\\d{{12}})?:(.*)"
                ),
            ));
        }
        let invalid = || errors::invalid(format!("The destination ARN {destination} is invalid."));
        match destination_kind(destination) {
            Some(DestinationKind::Function) => {
                let target = crate::record::parse_function_ref(ctx, destination, None)
                    .map_err(|_| invalid())?;
                if target.name == function {
                    return Err(errors::invalid(
                        "You can't specify the function as a destination for itself.",
                    ));
                }
                self.get_function(ctx, &target.name)
                    .map_err(|_| invalid())?;
                Ok(())
            }
            Some(DestinationKind::Queue | DestinationKind::Topic) => Ok(()),
            // EventBridge buses and S3 buckets are not served by nimbus yet: AWS answers a
            // target it cannot reach this way.
            None => Err(invalid()),
        }
    }
}

/// The model's pattern for destination ARNs: `arn:aws…:service:[region]:[account]:resource`.
fn arn_shaped(text: &str) -> bool {
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, _resource] = parts.as_slice() else {
        return false;
    };
    let region_ok = region.is_empty()
        || (region.len() >= 9
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && region.bytes().last().is_some_and(|b| b.is_ascii_digit()));
    *prefix == "arn"
        && partition.starts_with("aws")
        && partition[3..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !service.is_empty()
        && service
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && region_ok
        && (account.is_empty()
            || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_arns_are_checked_for_shape_and_service() {
        assert!(arn_shaped("arn:aws:sqs:us-east-1:000000000000:q"));
        assert!(arn_shaped(
            "arn:aws:lambda:us-east-1:000000000000:function:f"
        ));
        assert!(!arn_shaped("not-an-arn"));
        assert!(!arn_shaped("arn:aws:sqs:us-east-1:123:q"));
        assert_eq!(
            destination_kind("arn:aws:sns:us-east-1:000000000000:t"),
            Some(DestinationKind::Topic)
        );
        assert_eq!(
            destination_kind("arn:aws:events:us-east-1:000000000000:event-bus/default"),
            None
        );
    }
}
