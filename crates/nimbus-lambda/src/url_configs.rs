//! Function URL configurations: one for `$LATEST` (kept in the function's record) and one per
//! alias (kept in the alias's record). A URL id leads to its function and alias.

use std::sync::Arc;

use nimbus_core::{RequestContext, ServiceError};
use nimbus_model::lambda::errors as wire_errors;
use nimbus_store::{TxError, params};
use serde_json::Value;

use crate::aliases::{alias_not_found, load_alias, store_alias};
use crate::functions::{encode, load_function, now_iso};
use crate::record::{UrlConfig, function_arn};
use crate::versions::qualified_arn;
use crate::{Lambda, errors};

/// What a URL change sets; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct UrlChange {
    pub auth_type: Option<String>,
    pub invoke_mode: Option<String>,
    pub cors: Option<Value>,
}

/// Reads the `Qualifier` of the URL operations: an alias, or `$LATEST` (returned as `None`).
/// Version numbers are refused, as AWS's pattern does.
pub fn url_qualifier(qualifier: Option<&str>) -> Result<Option<String>, ServiceError> {
    match qualifier {
        None | Some("$LATEST") => Ok(None),
        Some(alias) => {
            crate::aliases::check_alias_name(alias).map_err(|_| {
                ServiceError::validation(
                    "ValidationException",
                    format!(
                        "1 validation error detected: Value '{alias}' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)"
                    ),
                )
            })?;
            Ok(Some(alias.to_owned()))
        }
    }
}

fn target_arn(ctx: &RequestContext, name: &str, alias: Option<&str>) -> String {
    alias.map_or_else(
        || function_arn(ctx, name),
        |alias| qualified_arn(ctx, name, alias),
    )
}

fn url_not_found(ctx: &RequestContext, name: &str, alias: Option<&str>) -> ServiceError {
    wire_errors::resource_not_found_exception(format!(
        "The resource you requested does not exist. (Function URL of {})",
        target_arn(ctx, name, alias)
    ))
}

fn check_modes(change: &UrlChange) -> Result<(), ServiceError> {
    if let Some(auth) = change.auth_type.as_deref()
        && !matches!(auth, "NONE" | "AWS_IAM")
    {
        return Err(errors::invalid(format!(
            "1 validation error detected: Value '{auth}' at 'authType' failed to satisfy constraint: Member must satisfy enum value set: [NONE, AWS_IAM]"
        )));
    }
    if let Some(mode) = change.invoke_mode.as_deref()
        && !matches!(mode, "BUFFERED" | "RESPONSE_STREAM")
    {
        return Err(errors::invalid(format!(
            "1 validation error detected: Value '{mode}' at 'invokeMode' failed to satisfy constraint: Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]"
        )));
    }
    Ok(())
}

/// The configuration after a create or an update of `existing`.
fn changed(
    existing: Option<UrlConfig>,
    create: bool,
    change: UrlChange,
    new_id: String,
    now: String,
) -> Option<UrlConfig> {
    match (existing, create) {
        (Some(_), true) | (None, false) => None,
        (None, true) => Some(UrlConfig {
            id: new_id,
            auth_type: change.auth_type.unwrap_or_else(|| "NONE".into()),
            invoke_mode: change.invoke_mode.unwrap_or_else(|| "BUFFERED".into()),
            cors: change.cors,
            created: now.clone(),
            last_modified: now,
        }),
        (Some(mut config), false) => {
            if let Some(auth) = change.auth_type {
                config.auth_type = auth;
            }
            if let Some(mode) = change.invoke_mode {
                config.invoke_mode = mode;
            }
            if change.cors.is_some() {
                config.cors = change.cors;
            }
            config.last_modified = now;
            Some(config)
        }
    }
}

impl Lambda {
    /// The URL a client should request for `id`: the path form on the nimbus endpoint, which
    /// works without any DNS setup.
    pub fn function_url(&self, ctx: &RequestContext, id: &str) -> String {
        format!("{}/_nimbus/function-url/{id}/", ctx.base_url)
    }

    /// Creates (`create`) or changes the URL of `$LATEST` (`alias` is `None`) or of an alias.
    pub async fn put_url(
        &self,
        ctx: &RequestContext,
        name: &str,
        alias: Option<String>,
        change: UrlChange,
        create: bool,
    ) -> Result<UrlConfig, ServiceError> {
        check_modes(&change)?;
        let (account, region, name_owned) =
            (ctx.account_id.clone(), ctx.region.clone(), name.to_owned());
        let function_missing = errors::function_not_found(&function_arn(ctx, name));
        let arn = target_arn(ctx, name, alias.as_deref());
        let alias_missing = alias.as_deref().map(|a| alias_not_found(ctx, name, a));
        let not_found = url_not_found(ctx, name, alias.as_deref());
        let now = now_iso(self);
        let new_id = uuid::Uuid::new_v4().simple().to_string();
        let latest = alias.is_none();
        let config = self.db
            .write(move |tx| {
                let (account, region, name) = (&account, &region, &name_owned);
                let Some(mut function) = load_function(tx, account, region, name)? else {
                    return Err(TxError::Abort(function_missing));
                };
                let mut alias_record = match &alias {
                    None => None,
                    Some(a) => match load_alias(tx, account, region, name, a)? {
                        Some(record) => Some(record),
                        None => return Err(TxError::Abort(alias_missing.unwrap_or(not_found))),
                    },
                };
                let existing = match &mut alias_record {
                    None => function.record.url.take(),
                    Some(record) => record.url.take(),
                };
                let had_one = existing.is_some();
                let Some(config) = changed(existing, create, change, new_id, now) else {
                    if had_one {
                        return Err(TxError::Abort(wire_errors::resource_conflict_exception(format!(
                            "Failed to create function url config for [functionArn = {arn}]. Error message:  FunctionUrlConfig exists for this Lambda function"
                        ))));
                    }
                    return Err(TxError::Abort(not_found));
                };
                if !had_one {
                    tx.execute(
                        "INSERT INTO lambda_url_ids (url_id, account, region, name, qualifier) VALUES (?1, ?2, ?3, ?4, ?5)",
                        &params![&config.id, account, region, name, alias.clone()],
                    )?;
                }
                match alias_record {
                    None => {
                        function.record.url = Some(config.clone());
                        tx.execute(
                            "UPDATE lambda_functions SET record = ?4 WHERE account = ?1 AND region = ?2 AND name = ?3",
                            &params![account, region, name, encode(&function.record)],
                        )?;
                    }
                    Some(mut record) => {
                        record.url = Some(config.clone());
                        store_alias(tx, account, region, name, &record)?;
                    }
                }
                Ok(config)
            })
            .await?;
        if latest {
            self.forget(ctx, name);
        }
        Ok(config)
    }

    /// The URL configuration of `$LATEST` or of an alias.
    pub fn get_url(
        &self,
        ctx: &RequestContext,
        name: &str,
        alias: Option<&str>,
    ) -> Result<UrlConfig, ServiceError> {
        let url = match alias {
            None => self.cached_function(ctx, name)?.record.url.clone(),
            Some(alias) => self.get_alias(ctx, name, alias)?.url,
        };
        url.ok_or_else(|| url_not_found(ctx, name, alias))
    }

    /// Every URL of a function: `$LATEST`'s first, then its aliases' in name order.
    pub fn list_urls(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<Vec<(Option<String>, UrlConfig)>, ServiceError> {
        let mut urls: Vec<(Option<String>, UrlConfig)> = self
            .get_function(ctx, name)?
            .record
            .url
            .into_iter()
            .map(|url| (None, url))
            .collect();
        for alias in self.list_aliases(ctx, name, None)? {
            if let Some(url) = alias.url {
                urls.push((Some(alias.name), url));
            }
        }
        Ok(urls)
    }

    pub async fn delete_url(
        &self,
        ctx: &RequestContext,
        name: &str,
        alias: Option<&str>,
    ) -> Result<(), ServiceError> {
        let config = self.get_url(ctx, name, alias)?;
        match alias {
            None => {
                self.update_function(ctx, name, None, None, |f| {
                    f.record.url = None;
                    Ok(())
                })
                .await?;
            }
            Some(alias) => self.clear_alias_url(ctx, name, alias).await?,
        }
        let id = config.id.clone();
        self.db
            .write(move |tx| {
                tx.execute(
                    "DELETE FROM lambda_url_ids WHERE url_id = ?1",
                    &params![&config.id],
                )?;
                Ok(())
            })
            .await?;
        self.url_owners.forget(&id);
        Ok(())
    }

    /// The account, region, function and alias a URL id belonged to when made; kept until
    /// the URL is deleted. An id is never reused, and whether the URL still exists is the
    /// owner's current URL configuration's to say.
    pub(crate) fn url_owner(&self, id: &str) -> Result<Option<Arc<UrlOwner>>, ServiceError> {
        self.url_owners.get_or_load(id.to_owned(), || {
            self.db.read(|tx| {
                tx.query_one(
                    "SELECT account, region, name, qualifier FROM lambda_url_ids WHERE url_id = ?1",
                    &params![id],
                )?
                .map(|row| {
                    Ok(UrlOwner {
                        account: row.string(0)?,
                        region: row.string(1)?,
                        name: row.string(2)?,
                        alias: row.opt_string(3)?,
                    })
                })
                .transpose()
            })
        })
    }
}

/// Whose URL an id is.
pub(crate) struct UrlOwner {
    pub account: String,
    pub region: String,
    pub name: String,
    pub alias: Option<String>,
}
