//! CreateTable's checks (key schema, attribute definitions, indexes, billing) with AWS's
//! messages, producing the table definition to store.

use std::collections::BTreeSet;

use nimbus_core::ServiceError;
use nimbus_model::dynamodb as wire;

use crate::errors::{self, invalid_parameter, validation};
use crate::table::{IndexMeta, KeyAttr, KeySchema, KeyType, ProjectionKind};

const MAX_LSIS: usize = 5;
const MAX_GSIS: usize = 20;

/// Checks a name against DynamoDB's table and index name pattern `[a-zA-Z0-9_.-]+`.
pub fn check_name(name: &str, member: &str) -> Result<(), ServiceError> {
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Ok(());
    }
    Err(validation(format!(
        "1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
    )))
}

/// The attribute definitions as (name, type), checked for known types and duplicates.
pub fn definitions(
    defs: &[wire::AttributeDefinition],
) -> Result<Vec<(String, KeyType)>, ServiceError> {
    let mut out: Vec<(String, KeyType)> = Vec::new();
    for def in defs {
        let ty = KeyType::parse(&def.attribute_type).ok_or_else(|| {
            validation(format!(
                "1 validation error detected: Value '{}' at 'attributeDefinitions.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]",
                def.attribute_type
            ))
        })?;
        if out.iter().any(|(n, _)| *n == def.attribute_name) {
            return Err(invalid_parameter(format!(
                "Duplicate AttributeName: {}",
                def.attribute_name
            )));
        }
        out.push((def.attribute_name.clone(), ty));
    }
    Ok(out)
}

/// A key schema checked against the definitions.
pub fn key_schema(
    elements: &[wire::KeySchemaElement],
    defs: &[(String, KeyType)],
) -> Result<KeySchema, ServiceError> {
    let names: Vec<&str> = elements.iter().map(|e| e.attribute_name.as_str()).collect();
    let defined = |name: &str| defs.iter().find(|(n, _)| n == name).map(|(_, t)| *t);
    if elements.is_empty() || elements.len() > 2 {
        return Err(validation(format!(
            "1 validation error detected: Value '{}' at 'keySchema' failed to satisfy constraint: Member must have length less than or equal to 2",
            names.join(", ")
        )));
    }
    if names.iter().any(|n| defined(n).is_none()) {
        if elements.len() == 2 {
            return Err(validation(
                "Invalid KeySchema: Some index key attribute have no definition",
            ));
        }
        let defined_names: Vec<&str> = defs.iter().map(|(n, _)| n.as_str()).collect();
        return Err(invalid_parameter(format!(
            "Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
            names.join(", "),
            defined_names.join(", ")
        )));
    }
    if elements.len() == 2 && names[0] == names[1] {
        return Err(validation(
            "Both the Hash Key and the Range Key element in the KeySchema have the same name",
        ));
    }
    if elements[0].key_type != "HASH" {
        return Err(validation(
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ));
    }
    if elements.len() == 2 && elements[1].key_type != "RANGE" {
        return Err(validation(
            "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
        ));
    }
    let attr = |name: &str| KeyAttr {
        name: name.to_owned(),
        ty: defined(name).unwrap_or(KeyType::S),
    };
    Ok(KeySchema {
        partition: attr(names[0]),
        sort: names.get(1).map(|n| attr(n)),
    })
}

/// A projection checked as DynamoDB checks it.
pub fn projection(projection: &wire::Projection) -> Result<ProjectionKind, ServiceError> {
    let kind = projection.projection_type.as_deref();
    if projection.non_key_attributes.is_some() && kind != Some("INCLUDE") {
        return Err(invalid_parameter(format!(
            "ProjectionType is {}, but NonKeyAttributes is specified",
            kind.unwrap_or("null")
        )));
    }
    match kind {
        Some("ALL") => Ok(ProjectionKind::All),
        Some("KEYS_ONLY") => Ok(ProjectionKind::KeysOnly),
        Some("INCLUDE") => {
            let names = projection.non_key_attributes.clone().unwrap_or_default();
            if names.is_empty() {
                return Err(invalid_parameter(
                    "NonKeyAttributes must not be empty when ProjectionType is INCLUDE",
                ));
            }
            Ok(ProjectionKind::Include(names))
        }
        other => Err(invalid_parameter(format!(
            "Unknown ProjectionType: {}",
            other.unwrap_or("null")
        ))),
    }
}

/// Checks provisioned throughput against the billing mode; returns what to record.
pub fn throughput(
    billing_mode: &str,
    throughput: Option<&wire::ProvisionedThroughput>,
    index: Option<&str>,
) -> Result<Option<wire::ProvisionedThroughput>, ServiceError> {
    match (billing_mode, throughput) {
        ("PAY_PER_REQUEST", None) => Ok(None),
        ("PAY_PER_REQUEST", Some(_)) => Err(invalid_parameter(
            "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
        )),
        (_, None) => Err(match index {
            Some(name) => invalid_parameter(format!(
                "ProvisionedThroughput must be specified for index: {name}"
            )),
            None => invalid_parameter(
                "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
            ),
        }),
        (_, Some(t)) => {
            for (value, member) in [
                (t.read_capacity_units, "ReadCapacityUnits"),
                (t.write_capacity_units, "WriteCapacityUnits"),
            ] {
                if value < 1 {
                    return Err(validation(format!(
                        "1 validation error detected: Value '{value}' at 'provisionedThroughput.{}' failed to satisfy constraint: Member must have value greater than or equal to 1",
                        lower_first(member)
                    )));
                }
                if value > 1_000_000_000_000 {
                    return Err(validation(format!(
                        "Given value {value} for {member} is out of bounds"
                    )));
                }
            }
            Ok(Some(t.clone()))
        }
    }
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

pub fn billing_mode(mode: Option<&str>) -> Result<String, ServiceError> {
    match mode.unwrap_or("PROVISIONED") {
        m @ ("PROVISIONED" | "PAY_PER_REQUEST") => Ok(m.to_owned()),
        other => Err(validation(format!(
            "1 validation error detected: Value '{other}' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]"
        ))),
    }
}

pub fn table_class(class: Option<&str>) -> Result<String, ServiceError> {
    match class.unwrap_or("STANDARD") {
        c @ ("STANDARD" | "STANDARD_INFREQUENT_ACCESS") => Ok(c.to_owned()),
        other => Err(validation(format!(
            "1 validation error detected: Value '{other}' at 'tableClass' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, STANDARD_INFREQUENT_ACCESS]"
        ))),
    }
}

/// The view type of an enabled stream, or `None` for a disabled one.
pub fn stream_view_type(spec: &wire::StreamSpecification) -> Result<Option<String>, ServiceError> {
    if !spec.stream_enabled {
        return Ok(None);
    }
    match spec.stream_view_type.as_deref() {
        Some(v @ ("KEYS_ONLY" | "NEW_IMAGE" | "OLD_IMAGE" | "NEW_AND_OLD_IMAGES")) => {
            Ok(Some(v.to_owned()))
        }
        Some(other) => Err(validation(format!(
            "1 validation error detected: Value '{other}' at 'streamSpecification.streamViewType' failed to satisfy constraint: Member must satisfy enum value set: [NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY]"
        ))),
        None => Err(invalid_parameter(
            "You must specify a StreamViewType when enabling a stream",
        )),
    }
}

/// One global secondary index of CreateTable or UpdateTable.
pub fn global_index(
    name: &str,
    key: &[wire::KeySchemaElement],
    proj: &wire::Projection,
    throughput_in: Option<&wire::ProvisionedThroughput>,
    on_demand: Option<&wire::OnDemandThroughput>,
    defs: &[(String, KeyType)],
    billing: &str,
) -> Result<IndexMeta, ServiceError> {
    check_name(name, "globalSecondaryIndexes.member.indexName")?;
    let key = index_key_schema(key, defs)?;
    let projection = projection(proj)?;
    let throughput = throughput(billing, throughput_in, Some(name))?;
    Ok(IndexMeta {
        name: name.to_owned(),
        key,
        projection,
        throughput,
        on_demand: on_demand.cloned(),
    })
}

fn index_key_schema(
    key: &[wire::KeySchemaElement],
    defs: &[(String, KeyType)],
) -> Result<KeySchema, ServiceError> {
    let names: Vec<&str> = key.iter().map(|e| e.attribute_name.as_str()).collect();
    if names.iter().any(|n| !defs.iter().any(|(d, _)| d == n)) {
        let defined: Vec<&str> = defs.iter().map(|(n, _)| n.as_str()).collect();
        return Err(invalid_parameter(format!(
            "Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
            names.join(", "),
            defined.join(", ")
        )));
    }
    key_schema(key, defs)
}

/// Every index of CreateTable, checked; returns (global, local).
pub fn indexes(
    input: &wire::CreateTableInput,
    table_key: &KeySchema,
    defs: &[(String, KeyType)],
    billing: &str,
) -> Result<(Vec<IndexMeta>, Vec<IndexMeta>), ServiceError> {
    let mut seen = BTreeSet::new();
    let mut locals = Vec::new();
    if let Some(lsis) = &input.local_secondary_indexes {
        if lsis.is_empty() {
            return Err(invalid_parameter("List of LocalSecondaryIndexes is empty"));
        }
        if table_key.sort.is_none() {
            return Err(invalid_parameter(
                "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex",
            ));
        }
        for lsi in lsis {
            check_name(&lsi.index_name, "localSecondaryIndexes.member.indexName")?;
            let key = index_key_schema(&lsi.key_schema, defs)?;
            if key.sort.is_none() {
                return Err(invalid_parameter(format!(
                    "Index KeySchema does not have a range key for index: {}",
                    lsi.index_name
                )));
            }
            if key.partition.name != table_key.partition.name {
                return Err(invalid_parameter(format!(
                    "Index KeySchema does not have the same leading hash key as table KeySchema for index: {}. index hash key: {}, table hash key: {}",
                    lsi.index_name, key.partition.name, table_key.partition.name
                )));
            }
            let projection = projection(&lsi.projection)?;
            if !seen.insert(lsi.index_name.clone()) {
                return Err(invalid_parameter(format!(
                    "Duplicate index name: {}",
                    lsi.index_name
                )));
            }
            locals.push(IndexMeta {
                name: lsi.index_name.clone(),
                key,
                projection,
                throughput: None,
                on_demand: None,
            });
        }
        if lsis.len() > MAX_LSIS {
            return Err(invalid_parameter(format!(
                "Number of LocalSecondaryIndexes exceeds per-table limit of {MAX_LSIS}"
            )));
        }
    }
    let mut globals = Vec::new();
    if let Some(gsis) = &input.global_secondary_indexes {
        if gsis.is_empty() {
            return Err(invalid_parameter("List of GlobalSecondaryIndexes is empty"));
        }
        for gsi in gsis {
            let index = global_index(
                &gsi.index_name,
                &gsi.key_schema,
                &gsi.projection,
                gsi.provisioned_throughput.as_ref(),
                gsi.on_demand_throughput.as_ref(),
                defs,
                billing,
            )?;
            if !seen.insert(gsi.index_name.clone()) {
                return Err(invalid_parameter(format!(
                    "Duplicate index name: {}",
                    gsi.index_name
                )));
            }
            globals.push(index);
        }
        if gsis.len() > MAX_GSIS {
            return Err(errors::limit_exceeded(format!(
                "One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of {MAX_GSIS}"
            )));
        }
    }
    Ok((globals, locals))
}

/// Every attribute definition must be used by the table's or an index's key.
pub fn check_definitions_used(
    defs: &[(String, KeyType)],
    schemas: &[&KeySchema],
    has_indexes: bool,
) -> Result<(), ServiceError> {
    let used: BTreeSet<&str> = schemas
        .iter()
        .flat_map(|s| s.attributes().map(|a| a.name.as_str()))
        .collect();
    if defs.iter().all(|(n, _)| used.contains(n.as_str())) {
        return Ok(());
    }
    if !has_indexes {
        return Err(invalid_parameter(
            "Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
        ));
    }
    let defined: Vec<&str> = defs.iter().map(|(n, _)| n.as_str()).collect();
    let used: Vec<&str> = used.into_iter().collect();
    Err(invalid_parameter(format!(
        "Some AttributeDefinitions are not used. AttributeDefinitions: [{}], keys used: [{}]",
        defined.join(", "),
        used.join(", ")
    )))
}
