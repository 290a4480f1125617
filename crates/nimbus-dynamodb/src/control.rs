//! Table operations: create, describe, list, update (indexes, streams, billing), delete.

use std::sync::Arc;

use nimbus_core::{RequestContext, ServiceError};
use nimbus_dynamodb_expr::item_from_json;
use nimbus_model::dynamodb as wire;
use nimbus_store::{Tx, TxError};

use crate::create::{self, check_name};
use crate::errors::{self, invalid_parameter, validation};
use crate::keys::index_key;
use crate::table::{IndexMeta, StreamMeta, Table, TableMeta, Usage};
use crate::{Dynamodb, abort, rows};

const MAX_LIST_TABLES: i64 = 100;

/// The label DynamoDB gives a stream: its creation time, ISO-8601 with milliseconds.
pub fn stream_label(now_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(now_ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3f")
        .to_string()
}

impl Dynamodb {
    pub async fn create_table(
        &self,
        ctx: &RequestContext,
        input: wire::CreateTableInput,
    ) -> Result<wire::TableDescription, ServiceError> {
        check_name(&input.table_name, "tableName")?;
        let defs = create::definitions(input.attribute_definitions.as_deref().unwrap_or_default())?;
        let key = create::key_schema(input.key_schema.as_deref().unwrap_or_default(), &defs)?;
        let billing_mode = create::billing_mode(input.billing_mode.as_deref())?;
        let throughput =
            create::throughput(&billing_mode, input.provisioned_throughput.as_ref(), None)?;
        let (gsis, lsis) = create::indexes(&input, &key, &defs, &billing_mode)?;
        let schemas: Vec<_> = std::iter::once(&key)
            .chain(gsis.iter().chain(&lsis).map(|i| &i.key))
            .collect();
        create::check_definitions_used(&defs, &schemas, !gsis.is_empty() || !lsis.is_empty())?;
        let now = self.clock.now_ms();
        let stream = match &input.stream_specification {
            Some(spec) => create::stream_view_type(spec)?.map(|view_type| StreamMeta {
                enabled: true,
                view_type,
                label: stream_label(now),
            }),
            None => None,
        };
        let table_class = create::table_class(input.table_class.as_deref())?;
        let arn = nimbus_core::arn::build(
            "dynamodb",
            &ctx.region,
            &ctx.account_id,
            &format!("table/{}", input.table_name),
        );
        let meta = TableMeta {
            name: input.table_name.clone(),
            arn,
            table_id: nimbus_core::ids::uuid(),
            created_ms: now,
            attribute_definitions: input.attribute_definitions.clone().unwrap_or_default(),
            key,
            billing_mode,
            billing_changed_ms: None,
            throughput,
            on_demand: input.on_demand_throughput.clone(),
            gsis,
            lsis,
            stream,
            sse: input.sse_specification.clone(),
            table_class,
            deletion_protection: input.deletion_protection_enabled.unwrap_or(false),
            ttl: None,
            point_in_time_recovery: false,
            tags: input.tags.clone().unwrap_or_default(),
        };
        let (account, region) = (ctx.account_id.clone(), ctx.region.clone());
        let stored = meta.clone();
        self.db
            .write(
                move |tx| match rows::insert_table(tx, &account, &region, &stored)? {
                    Some(_) => Ok(()),
                    None => abort(errors::table_exists(&stored.name)),
                },
            )
            .await?;
        self.forget_table(ctx, &input.table_name);
        // The table is usable at once; only this answer reports the creation in progress.
        Ok(meta.describe("CREATING", &Usage::default()))
    }

    pub fn describe_table(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<wire::TableDescription, ServiceError> {
        let table = self
            .find_table(ctx, name)?
            .ok_or_else(|| errors::table_not_found_named(name))?;
        let usage = self.db.read(|tx| rows::usage(tx, &table))?;
        Ok(table.meta.describe("ACTIVE", &usage))
    }

    pub fn list_tables(
        &self,
        ctx: &RequestContext,
        input: &wire::ListTablesInput,
    ) -> Result<wire::ListTablesOutput, ServiceError> {
        // The protocol layer has checked Limit against the model's 1..=100.
        let limit = input
            .limit
            .map_or(MAX_LIST_TABLES, i64::from)
            .clamp(1, MAX_LIST_TABLES);
        let start = input.exclusive_start_table_name.as_deref();
        let mut names = self
            .db
            .read(|tx| rows::table_names(tx, &ctx.account_id, &ctx.region, start, limit + 1))?;
        let more = names.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        names.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(wire::ListTablesOutput {
            last_evaluated_table_name: more.then(|| names.last().cloned()).flatten(),
            table_names: Some(names),
        })
    }

    pub async fn delete_table(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<wire::TableDescription, ServiceError> {
        let table = self
            .find_table(ctx, name)?
            .ok_or_else(|| errors::table_not_found_named(name))?;
        if table.meta.deletion_protection {
            return Err(validation(
                "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.",
            ));
        }
        let usage = self.db.read(|tx| rows::usage(tx, &table))?;
        let key = Self::table_key(ctx, name);
        let id = table.id;
        let owner = name.to_owned();
        self.db
            .write(move |tx| match rows::load_table(tx, &key)? {
                Some(current) if current.id == id => Ok(rows::delete_table(tx, id)?),
                _ => abort(errors::table_not_found_named(&owner)),
            })
            .await?;
        self.forget_table(ctx, name);
        Ok(table.meta.describe("DELETING", &usage))
    }

    /// Applies `change` to a table's definition in one write; `change` may touch its rows
    /// (index backfill) in the same transaction. Returns the updated table.
    pub(crate) async fn change_table<F>(
        &self,
        ctx: &RequestContext,
        name: &str,
        change: F,
    ) -> Result<Arc<Table>, ServiceError>
    where
        F: FnOnce(&mut dyn Tx, &mut Table) -> Result<(), TxError<ServiceError>> + Send + 'static,
    {
        let key = Self::table_key(ctx, name);
        let owner = name.to_owned();
        let table = self
            .db
            .write(move |tx| {
                let Some(mut table) = rows::load_table(tx, &key)? else {
                    return abort(errors::table_not_found_named(&owner));
                };
                change(tx, &mut table)?;
                rows::update_table_meta(tx, table.id, &table.meta)?;
                Ok(table)
            })
            .await?;
        self.forget_table(ctx, name);
        Ok(Arc::new(table))
    }

    pub async fn update_table(
        &self,
        ctx: &RequestContext,
        input: wire::UpdateTableInput,
    ) -> Result<wire::TableDescription, ServiceError> {
        let current = self
            .find_table(ctx, &input.table_name)?
            .ok_or_else(|| errors::table_not_found_named(&input.table_name))?;
        if input.billing_mode.is_none()
            && input.provisioned_throughput.is_none()
            && input.global_secondary_index_updates.is_none()
            && input.stream_specification.is_none()
            && input.sse_specification.is_none()
            && input.table_class.is_none()
            && input.deletion_protection_enabled.is_none()
            && input.on_demand_throughput.is_none()
            && input.replica_updates.is_none()
        {
            return Err(validation(
                "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required",
            ));
        }
        let mut meta = current.meta.clone();
        let now = self.clock.now_ms();
        if let Some(mode) = input.billing_mode.as_deref() {
            let mode = create::billing_mode(Some(mode))?;
            if mode != meta.billing_mode {
                meta.billing_changed_ms = Some(now);
            }
            meta.billing_mode = mode;
        }
        if meta.billing_mode == "PAY_PER_REQUEST" {
            create::throughput(
                &meta.billing_mode,
                input.provisioned_throughput.as_ref(),
                None,
            )?;
            meta.throughput = None;
            for index in &mut meta.gsis {
                index.throughput = None;
            }
        } else if let Some(t) = &input.provisioned_throughput {
            meta.throughput = create::throughput("PROVISIONED", Some(t), None)?;
        } else if meta.throughput.is_none() {
            create::throughput("PROVISIONED", None, None)?;
        }
        if let Some(spec) = &input.stream_specification {
            let view_type = create::stream_view_type(spec)?;
            let enabled = meta.stream.as_ref().is_some_and(|s| s.enabled);
            match (view_type, enabled) {
                (Some(_), true) => {
                    return Err(validation(format!(
                        "Table already has an enabled stream: TableName: {}",
                        meta.name
                    )));
                }
                (None, false) => {
                    return Err(validation(format!(
                        "Table already has no stream enabled: TableName: {}",
                        meta.name
                    )));
                }
                (Some(view_type), false) => {
                    meta.stream = Some(StreamMeta {
                        enabled: true,
                        view_type,
                        label: stream_label(now),
                    });
                }
                (None, true) => {
                    if let Some(stream) = &mut meta.stream {
                        stream.enabled = false;
                    }
                }
            }
        }
        if let Some(sse) = &input.sse_specification {
            meta.sse = Some(sse.clone());
        }
        if let Some(class) = input.table_class.as_deref() {
            meta.table_class = create::table_class(Some(class))?;
        }
        if let Some(protect) = input.deletion_protection_enabled {
            meta.deletion_protection = protect;
        }
        if let Some(on_demand) = &input.on_demand_throughput {
            meta.on_demand = Some(on_demand.clone());
        }
        let (created, deleted) = self.index_updates(&input, &mut meta)?;
        let table_id = current.id;
        let new_meta = meta.clone();
        let backfill = created.clone();
        let table = self
            .change_table(ctx, &input.table_name, move |tx, table| {
                if table.id != table_id {
                    return abort(errors::table_not_found_named(&new_meta.name));
                }
                for name in &deleted {
                    rows::delete_index(tx, table_id, name)?;
                }
                table.meta = new_meta;
                if let Some(index) = backfill.as_ref() {
                    backfill_index(tx, table_id, index)?;
                }
                Ok(())
            })
            .await?;
        let usage = self.db.read(|tx| rows::usage(tx, &table))?;
        let mut description = table.meta.describe("UPDATING", &usage);
        if let (Some(created), Some(gsis)) =
            (created, description.global_secondary_indexes.as_mut())
        {
            for gsi in gsis
                .iter_mut()
                .filter(|g| g.index_name.as_deref() == Some(&created.name))
            {
                gsi.index_status = Some("CREATING".into());
                gsi.backfilling = Some(false);
            }
        }
        Ok(description)
    }

    /// Applies GlobalSecondaryIndexUpdates to `meta`; returns the index to build and the
    /// indexes whose entries to drop.
    fn index_updates(
        &self,
        input: &wire::UpdateTableInput,
        meta: &mut TableMeta,
    ) -> Result<(Option<IndexMeta>, Vec<String>), ServiceError> {
        let Some(updates) = &input.global_secondary_index_updates else {
            return Ok((None, Vec::new()));
        };
        let changes = updates
            .iter()
            .filter(|u| u.create.is_some() || u.delete.is_some())
            .count();
        if changes > 1 {
            return Err(errors::limit_exceeded(
                "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table",
            ));
        }
        let mut created = None;
        let mut deleted = Vec::new();
        for update in updates {
            if let Some(create) = &update.create {
                if meta
                    .gsis
                    .iter()
                    .chain(&meta.lsis)
                    .any(|i| i.name == create.index_name)
                {
                    return Err(invalid_parameter(format!(
                        "Index already exists: {}",
                        create.index_name
                    )));
                }
                if meta.gsis.len() >= 20 {
                    return Err(errors::limit_exceeded(
                        "One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of 20",
                    ));
                }
                let mut defs_wire = meta.attribute_definitions.clone();
                for def in input.attribute_definitions.iter().flatten() {
                    match defs_wire
                        .iter()
                        .find(|d| d.attribute_name == def.attribute_name)
                    {
                        Some(existing) if existing.attribute_type != def.attribute_type => {
                            return Err(invalid_parameter(format!(
                                "Cannot change the type of attribute {} from {} to {}",
                                def.attribute_name, existing.attribute_type, def.attribute_type
                            )));
                        }
                        Some(_) => {}
                        None => defs_wire.push(def.clone()),
                    }
                }
                let defs = create::definitions(&defs_wire)?;
                let index = create::global_index(
                    &create.index_name,
                    &create.key_schema,
                    &create.projection,
                    create.provisioned_throughput.as_ref(),
                    create.on_demand_throughput.as_ref(),
                    &defs,
                    &meta.billing_mode,
                )?;
                meta.attribute_definitions = defs_wire;
                meta.gsis.push(index.clone());
                created = Some(index);
            }
            if let Some(delete) = &update.delete {
                let before = meta.gsis.len();
                meta.gsis.retain(|i| i.name != delete.index_name);
                if meta.gsis.len() == before {
                    return Err(errors::resource_not_found(format!(
                        "Requested resource not found: Index: {} not found",
                        delete.index_name
                    )));
                }
                deleted.push(delete.index_name.clone());
            }
            if let Some(change) = &update.update {
                let Some(index) = meta.gsis.iter_mut().find(|i| i.name == change.index_name) else {
                    return Err(errors::resource_not_found(format!(
                        "Requested resource not found: Index: {} not found",
                        change.index_name
                    )));
                };
                if let Some(t) = &change.provisioned_throughput {
                    index.throughput =
                        create::throughput(&meta.billing_mode, Some(t), Some(&change.index_name))?;
                }
                if let Some(o) = &change.on_demand_throughput {
                    index.on_demand = Some(o.clone());
                }
            }
        }
        // Definitions no key uses any more are dropped, as DynamoDB does.
        let used: Vec<String> = std::iter::once(&meta.key)
            .chain(meta.gsis.iter().chain(&meta.lsis).map(|i| &i.key))
            .flat_map(|k| k.attributes().map(|a| a.name.clone()))
            .collect();
        meta.attribute_definitions
            .retain(|d| used.contains(&d.attribute_name));
        Ok((created, deleted))
    }
}

/// Indexes every existing item that has the new index's key attributes. Items whose key
/// attribute has another type are left out of the index, as DynamoDB's backfill does.
fn backfill_index(
    tx: &mut dyn Tx,
    table_id: i64,
    index: &IndexMeta,
) -> Result<(), TxError<ServiceError>> {
    for (key, bytes) in rows::all_items(tx, table_id)? {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            continue;
        };
        let Ok(item) = item_from_json(&value) else {
            continue;
        };
        if let Ok(Some(ikey)) = index_key(index, &item) {
            rows::insert_index_entry(tx, table_id, &index.name, &ikey, &key)?;
        }
    }
    Ok(())
}
