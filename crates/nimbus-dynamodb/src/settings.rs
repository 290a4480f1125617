//! Table settings outside the key schema: time to live, tags, continuous backups, and the
//! account-level answers (endpoints, limits).

use nimbus_core::{RequestContext, ServiceError};
use nimbus_model::Timestamp;
use nimbus_model::dynamodb as wire;

use crate::errors::{self, validation};
use crate::table::TtlMeta;
use crate::write::{decode, expiry};
use crate::{Dynamodb, abort, rows};

const MAX_TAGS: usize = 50;
const PITR_DAYS: i32 = 35;

impl Dynamodb {
    pub async fn update_time_to_live(
        &self,
        ctx: &RequestContext,
        input: wire::UpdateTimeToLiveInput,
    ) -> Result<wire::TimeToLiveSpecification, ServiceError> {
        let spec = input.time_to_live_specification;
        if spec.attribute_name.is_empty() {
            return Err(validation(
                "1 validation error detected: Value '' at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member must have length greater than or equal to 1",
            ));
        }
        let wanted = spec.clone();
        self.change_table(ctx, &input.table_name, move |tx, table| {
            let enabled = table.meta.ttl.as_ref().is_some_and(|t| t.enabled);
            match (wanted.enabled, enabled) {
                (true, true) => abort(validation("TimeToLive is already enabled")),
                (false, false) => abort(validation("TimeToLive is already disabled")),
                (true, false) => {
                    table.meta.ttl = Some(TtlMeta {
                        attribute: wanted.attribute_name,
                        enabled: true,
                    });
                    // Existing items become candidates for the sweep at once.
                    for (key, bytes) in rows::all_items(tx, table.id)? {
                        let expires = decode(&bytes).ok().and_then(|item| expiry(table, &item));
                        if expires.is_some() {
                            rows::set_expiry(tx, table.id, &key, expires)?;
                        }
                    }
                    Ok(())
                }
                (false, true) => {
                    let current = table.meta.ttl.as_ref().map(|t| t.attribute.as_str());
                    if current != Some(wanted.attribute_name.as_str()) {
                        return abort(validation(
                            "TimeToLive is active on a different AttributeName: current AttributeName is ".to_owned()
                                + current.unwrap_or_default(),
                        ));
                    }
                    table.meta.ttl = None;
                    rows::clear_expiry(tx, table.id)?;
                    Ok(())
                }
            }
        })
        .await?;
        Ok(spec)
    }

    pub fn describe_time_to_live(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<wire::TimeToLiveDescription, ServiceError> {
        let table = self
            .find_table(ctx, name)?
            .ok_or_else(|| errors::table_not_found_named(name))?;
        Ok(match &table.meta.ttl {
            Some(ttl) if ttl.enabled => wire::TimeToLiveDescription {
                time_to_live_status: Some("ENABLED".into()),
                attribute_name: Some(ttl.attribute.clone()),
            },
            _ => wire::TimeToLiveDescription {
                time_to_live_status: Some("DISABLED".into()),
                attribute_name: None,
            },
        })
    }

    /// The table an ARN names in the caller's account and region.
    fn table_name_of_arn<'a>(ctx: &RequestContext, arn: &'a str) -> Result<&'a str, ServiceError> {
        let parsed = nimbus_core::arn::parse(arn)
            .filter(|a| a.service == "dynamodb")
            .ok_or_else(|| {
                validation(format!(
                    "Invalid TableArn: Invalid ResourceArn provided as input {arn}"
                ))
            })?;
        if parsed.account != ctx.account_id || parsed.region != ctx.region {
            return Err(errors::resource_arn_not_found(arn));
        }
        parsed
            .resource
            .strip_prefix("table/")
            .filter(|n| !n.contains('/'))
            .ok_or_else(|| errors::resource_arn_not_found(arn))
    }

    pub async fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: wire::TagResourceInput,
    ) -> Result<(), ServiceError> {
        let name = Self::table_name_of_arn(ctx, &input.resource_arn)?.to_owned();
        if self.find_table(ctx, &name)?.is_none() {
            return Err(errors::resource_arn_not_found(&input.resource_arn));
        }
        let tags = input.tags;
        self.change_table(ctx, &name, move |_, table| {
            for tag in tags {
                table.meta.tags.retain(|t| t.key != tag.key);
                table.meta.tags.push(tag);
            }
            if table.meta.tags.len() > MAX_TAGS {
                return abort(errors::limit_exceeded(
                    "The number of tags on the resource exceeds the limit of 50",
                ));
            }
            Ok(())
        })
        .await?;
        Ok(())
    }

    pub async fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: wire::UntagResourceInput,
    ) -> Result<(), ServiceError> {
        let name = Self::table_name_of_arn(ctx, &input.resource_arn)?.to_owned();
        if self.find_table(ctx, &name)?.is_none() {
            return Err(errors::resource_arn_not_found(&input.resource_arn));
        }
        let keys = input.tag_keys;
        self.change_table(ctx, &name, move |_, table| {
            table.meta.tags.retain(|t| !keys.contains(&t.key));
            Ok(())
        })
        .await?;
        Ok(())
    }

    pub fn list_tags(
        &self,
        ctx: &RequestContext,
        arn: &str,
    ) -> Result<Vec<wire::Tag>, ServiceError> {
        let name = Self::table_name_of_arn(ctx, arn)?;
        let table = self
            .find_table(ctx, name)?
            .ok_or_else(|| errors::resource_arn_not_found(arn))?;
        Ok(table.meta.tags.clone())
    }

    fn continuous_backups(&self, pitr: bool) -> wire::ContinuousBackupsDescription {
        let now = self.clock.now_ms();
        wire::ContinuousBackupsDescription {
            continuous_backups_status: "ENABLED".into(),
            point_in_time_recovery_description: Some(if pitr {
                wire::PointInTimeRecoveryDescription {
                    point_in_time_recovery_status: Some("ENABLED".into()),
                    recovery_period_in_days: Some(PITR_DAYS),
                    earliest_restorable_date_time: Some(Timestamp::from_millis(now)),
                    latest_restorable_date_time: Some(Timestamp::from_millis(now)),
                }
            } else {
                wire::PointInTimeRecoveryDescription {
                    point_in_time_recovery_status: Some("DISABLED".into()),
                    ..Default::default()
                }
            }),
        }
    }

    pub fn describe_continuous_backups(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<wire::ContinuousBackupsDescription, ServiceError> {
        let table = self
            .find_table(ctx, name)?
            .ok_or_else(|| errors::table_not_found_backups(name))?;
        Ok(self.continuous_backups(table.meta.point_in_time_recovery))
    }

    pub async fn update_continuous_backups(
        &self,
        ctx: &RequestContext,
        input: wire::UpdateContinuousBackupsInput,
    ) -> Result<wire::ContinuousBackupsDescription, ServiceError> {
        if self.find_table(ctx, &input.table_name)?.is_none() {
            return Err(errors::table_not_found_backups(&input.table_name));
        }
        let spec = input.point_in_time_recovery_specification;
        if let Some(days) = spec.recovery_period_in_days
            && !(1..=PITR_DAYS).contains(&days)
        {
            return Err(validation(format!(
                "RecoveryPeriodInDays must be between 1 and {PITR_DAYS}"
            )));
        }
        let enabled = spec.point_in_time_recovery_enabled;
        let table = self
            .change_table(ctx, &input.table_name, move |_, table| {
                table.meta.point_in_time_recovery = enabled;
                Ok(())
            })
            .await?;
        let mut out = self.continuous_backups(table.meta.point_in_time_recovery);
        if let (Some(days), Some(pitr)) = (
            spec.recovery_period_in_days,
            out.point_in_time_recovery_description.as_mut(),
        ) && enabled
        {
            pitr.recovery_period_in_days = Some(days);
        }
        Ok(out)
    }
}

/// DescribeEndpoints: this server itself, so clients that discover endpoints stay here.
pub fn endpoints(ctx: &RequestContext) -> Vec<wire::Endpoint> {
    let address = ctx
        .base_url
        .split_once("://")
        .map_or(ctx.base_url.as_str(), |(_, rest)| rest)
        .to_owned();
    vec![wire::Endpoint {
        address,
        cache_period_in_minutes: 1440,
    }]
}

/// DescribeLimits: DynamoDB's default account and table quotas.
pub fn limits() -> wire::DescribeLimitsOutput {
    wire::DescribeLimitsOutput {
        account_max_read_capacity_units: Some(80_000),
        account_max_write_capacity_units: Some(80_000),
        table_max_read_capacity_units: Some(40_000),
        table_max_write_capacity_units: Some(40_000),
    }
}
