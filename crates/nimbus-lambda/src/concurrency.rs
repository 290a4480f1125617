//! Reserved concurrency: a function's share of the account limit, shared by all its versions
//! and aliases, and subtracted from the pool the other functions share (AWS keeps at least
//! 100 of it unreserved).

use nimbus_core::{RequestContext, ServiceError};
use nimbus_model::lambda as wire;

use crate::{Lambda, errors};

/// What AWS keeps unreserved at the least (or the whole limit when it is smaller).
const MIN_UNRESERVED: usize = 100;

impl Lambda {
    /// `account/region/`: the scope of the account limit and the unreserved pool.
    pub(crate) fn scope_key(ctx: &RequestContext) -> String {
        format!("{}/{}/", ctx.account_id, ctx.region)
    }

    /// The least the account keeps unreserved.
    pub(crate) fn min_unreserved(&self) -> usize {
        self.config.account_concurrency.min(MIN_UNRESERVED)
    }

    /// The concurrency functions without reserved concurrency share: the account limit
    /// minus what functions reserved. Cached per account and region until a reservation
    /// changes.
    pub(crate) fn unreserved_pool(&self, ctx: &RequestContext) -> Result<usize, ServiceError> {
        let scope = Self::scope_key(ctx);
        if let Some(pool) = self.unreserved_pools.read().get(&scope) {
            return Ok(*pool);
        }
        let (_, reserved, _) = self.account_usage(ctx)?;
        let reserved = usize::try_from(reserved).unwrap_or(usize::MAX);
        let pool = self.config.account_concurrency.saturating_sub(reserved);
        self.unreserved_pools.write().insert(scope, pool);
        Ok(pool)
    }

    /// After a reservation changed: every version must read it again, and the unreserved
    /// pool changed. Warm instances (provisioned ones too) stay.
    pub(crate) fn reservation_changed(&self, ctx: &RequestContext, name: &str) {
        let prefix = Self::function_key(ctx, name);
        self.deployed.write().retain(|k, _| !k.starts_with(&prefix));
        self.unreserved_pools.write().remove(&Self::scope_key(ctx));
    }

    /// PutFunctionConcurrency: refused when it would leave the account less than its
    /// minimum unreserved concurrency.
    pub(crate) async fn put_reserved_concurrency(
        &self,
        ctx: &RequestContext,
        name: &str,
        wanted: i32,
    ) -> Result<wire::Concurrency, ServiceError> {
        let wanted_count = u32::try_from(wanted)
            .map_err(|_| errors::invalid("ReservedConcurrentExecutions must be at least 0."))?;
        let current = self.get_function(ctx, name)?.record.reserved_concurrency;
        let (_, reserved, _) = self.account_usage(ctx)?;
        let others = reserved.saturating_sub(u64::from(current.unwrap_or(0)));
        let limit = u64::try_from(self.config.account_concurrency).unwrap_or(u64::MAX);
        let minimum = u64::try_from(self.min_unreserved()).unwrap_or(u64::MAX);
        if others + u64::from(wanted_count) > limit.saturating_sub(minimum) {
            return Err(errors::invalid(format!(
                "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{minimum}]."
            )));
        }
        self.update_function(ctx, name, None, None, move |f| {
            f.record.reserved_concurrency = Some(wanted_count);
            Ok(())
        })
        .await?;
        self.reservation_changed(ctx, name);
        Ok(wire::Concurrency {
            reserved_concurrent_executions: Some(wanted),
        })
    }

    /// DeleteFunctionConcurrency.
    pub(crate) async fn delete_reserved_concurrency(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<(), ServiceError> {
        self.update_function(ctx, name, None, None, |f| {
            f.record.reserved_concurrency = None;
            Ok(())
        })
        .await?;
        self.reservation_changed(ctx, name);
        Ok(())
    }
}
