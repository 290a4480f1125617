//! A table's definition as stored (one JSON document per table) and its wire description.

use nimbus_model::Timestamp;
use nimbus_model::dynamodb as wire;
use serde::{Deserialize, Serialize};

/// The scalar types a key attribute may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyType {
    S,
    N,
    B,
}

impl KeyType {
    pub fn parse(text: &str) -> Option<KeyType> {
        match text {
            "S" => Some(KeyType::S),
            "N" => Some(KeyType::N),
            "B" => Some(KeyType::B),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::S => "S",
            KeyType::N => "N",
            KeyType::B => "B",
        }
    }
}

/// One key attribute: its name and type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAttr {
    pub name: String,
    pub ty: KeyType,
}

/// The partition key and optional sort key of a table or index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySchema {
    pub partition: KeyAttr,
    pub sort: Option<KeyAttr>,
}

impl KeySchema {
    pub fn to_wire(&self) -> Vec<wire::KeySchemaElement> {
        let mut out = vec![wire::KeySchemaElement {
            attribute_name: self.partition.name.clone(),
            key_type: "HASH".into(),
        }];
        if let Some(sort) = &self.sort {
            out.push(wire::KeySchemaElement {
                attribute_name: sort.name.clone(),
                key_type: "RANGE".into(),
            });
        }
        out
    }

    pub fn attributes(&self) -> impl Iterator<Item = &KeyAttr> {
        std::iter::once(&self.partition).chain(self.sort.as_ref())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.attributes().any(|a| a.name == name)
    }
}

/// Which attributes an index copies from the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProjectionKind {
    All,
    KeysOnly,
    Include(Vec<String>),
}

impl ProjectionKind {
    pub fn to_wire(&self) -> wire::Projection {
        match self {
            ProjectionKind::All => wire::Projection {
                projection_type: Some("ALL".into()),
                non_key_attributes: None,
            },
            ProjectionKind::KeysOnly => wire::Projection {
                projection_type: Some("KEYS_ONLY".into()),
                non_key_attributes: None,
            },
            ProjectionKind::Include(names) => wire::Projection {
                projection_type: Some("INCLUDE".into()),
                non_key_attributes: Some(names.clone()),
            },
        }
    }
}

/// A global or local secondary index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexMeta {
    pub name: String,
    pub key: KeySchema,
    pub projection: ProjectionKind,
    pub throughput: Option<wire::ProvisionedThroughput>,
    pub on_demand: Option<wire::OnDemandThroughput>,
}

/// The table's stream, while it has one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamMeta {
    pub enabled: bool,
    pub view_type: String,
    /// Creation time of the stream in ISO-8601 form, as DynamoDB labels streams.
    pub label: String,
}

/// The table's time-to-live setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TtlMeta {
    pub attribute: String,
    pub enabled: bool,
}

/// Everything a table is, apart from its items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableMeta {
    pub name: String,
    pub arn: String,
    pub table_id: String,
    pub created_ms: i64,
    pub attribute_definitions: Vec<wire::AttributeDefinition>,
    pub key: KeySchema,
    pub billing_mode: String,
    pub billing_changed_ms: Option<i64>,
    pub throughput: Option<wire::ProvisionedThroughput>,
    pub on_demand: Option<wire::OnDemandThroughput>,
    pub gsis: Vec<IndexMeta>,
    pub lsis: Vec<IndexMeta>,
    pub stream: Option<StreamMeta>,
    pub sse: Option<wire::SSESpecification>,
    pub table_class: String,
    pub deletion_protection: bool,
    pub ttl: Option<TtlMeta>,
    pub point_in_time_recovery: bool,
    pub tags: Vec<wire::Tag>,
}

/// A table as the item operations use it: its row id and definition.
#[derive(Debug, Clone)]
pub struct Table {
    pub id: i64,
    pub meta: TableMeta,
}

impl Table {
    /// The secondary index named `name`.
    pub fn index(&self, name: &str) -> Option<(&IndexMeta, bool)> {
        let global = self.meta.gsis.iter().find(|i| i.name == name);
        global.map(|i| (i, true)).or_else(|| {
            self.meta
                .lsis
                .iter()
                .find(|i| i.name == name)
                .map(|i| (i, false))
        })
    }

    /// Every secondary index.
    pub fn indexes(&self) -> impl Iterator<Item = &IndexMeta> {
        self.meta.gsis.iter().chain(&self.meta.lsis)
    }

    pub fn stream_arn(&self) -> Option<String> {
        let stream = self.meta.stream.as_ref()?;
        Some(format!("{}/stream/{}", self.meta.arn, stream.label))
    }
}

/// Item count and size of a table and of each of its indexes.
#[derive(Debug, Default, Clone)]
pub struct Usage {
    pub items: i64,
    pub bytes: i64,
    pub indexes: Vec<(String, i64, i64)>,
}

impl Usage {
    fn of_index(&self, name: &str) -> (i64, i64) {
        self.indexes
            .iter()
            .find(|(n, _, _)| n == name)
            .map_or((0, 0), |(_, count, bytes)| (*count, *bytes))
    }
}

fn throughput_description(
    throughput: Option<&wire::ProvisionedThroughput>,
) -> wire::ProvisionedThroughputDescription {
    wire::ProvisionedThroughputDescription {
        number_of_decreases_today: Some(0),
        read_capacity_units: Some(throughput.map_or(0, |t| t.read_capacity_units)),
        write_capacity_units: Some(throughput.map_or(0, |t| t.write_capacity_units)),
        ..Default::default()
    }
}

impl TableMeta {
    /// The wire description with the given status and usage.
    pub fn describe(&self, status: &str, usage: &Usage) -> wire::TableDescription {
        let gsis = self.gsis.iter().map(|index| {
            let (count, bytes) = usage.of_index(&index.name);
            wire::GlobalSecondaryIndexDescription {
                index_name: Some(index.name.clone()),
                key_schema: Some(index.key.to_wire()),
                projection: Some(index.projection.to_wire()),
                index_status: Some(if status == "ACTIVE" { "ACTIVE" } else { status }.into()),
                backfilling: None,
                provisioned_throughput: Some(throughput_description(index.throughput.as_ref())),
                index_size_bytes: Some(bytes),
                item_count: Some(count),
                index_arn: Some(format!("{}/index/{}", self.arn, index.name)),
                on_demand_throughput: index.on_demand.clone(),
                warm_throughput: None,
            }
        });
        let lsis = self.lsis.iter().map(|index| {
            let (count, bytes) = usage.of_index(&index.name);
            wire::LocalSecondaryIndexDescription {
                index_name: Some(index.name.clone()),
                key_schema: Some(index.key.to_wire()),
                projection: Some(index.projection.to_wire()),
                index_size_bytes: Some(bytes),
                item_count: Some(count),
                index_arn: Some(format!("{}/index/{}", self.arn, index.name)),
            }
        });
        let stream = self.stream.as_ref();
        wire::TableDescription {
            attribute_definitions: Some(self.attribute_definitions.clone()),
            table_name: Some(self.name.clone()),
            key_schema: Some(self.key.to_wire()),
            table_status: Some(status.into()),
            creation_date_time: Some(Timestamp::from_millis(self.created_ms)),
            provisioned_throughput: Some(throughput_description(self.throughput.as_ref())),
            table_size_bytes: Some(usage.bytes),
            item_count: Some(usage.items),
            table_arn: Some(self.arn.clone()),
            table_id: Some(self.table_id.clone()),
            billing_mode_summary: (self.billing_mode == "PAY_PER_REQUEST"
                || self.billing_changed_ms.is_some())
            .then(|| wire::BillingModeSummary {
                billing_mode: Some(self.billing_mode.clone()),
                last_update_to_pay_per_request_date_time: Some(Timestamp::from_millis(
                    self.billing_changed_ms.unwrap_or(self.created_ms),
                )),
            }),
            local_secondary_indexes: (!self.lsis.is_empty()).then(|| lsis.collect()),
            global_secondary_indexes: (!self.gsis.is_empty()).then(|| gsis.collect()),
            stream_specification: stream
                .filter(|s| s.enabled)
                .map(|s| wire::StreamSpecification {
                    stream_enabled: true,
                    stream_view_type: Some(s.view_type.clone()),
                }),
            latest_stream_label: stream.map(|s| s.label.clone()),
            latest_stream_arn: stream.map(|s| format!("{}/stream/{}", self.arn, s.label)),
            sse_description: self
                .sse
                .as_ref()
                .filter(|s| s.enabled == Some(true))
                .map(|s| wire::SSEDescription {
                    status: Some("ENABLED".into()),
                    sse_type: Some(s.sse_type.clone().unwrap_or_else(|| "KMS".into())),
                    kms_master_key_arn: Some(kms_key_arn(
                        &self.arn,
                        s.kms_master_key_id.as_deref(),
                    )),
                    inaccessible_encryption_date_time: None,
                }),
            table_class_summary: (self.table_class != "STANDARD").then(|| {
                wire::TableClassSummary {
                    table_class: Some(self.table_class.clone()),
                    last_update_date_time: None,
                }
            }),
            deletion_protection_enabled: Some(self.deletion_protection),
            on_demand_throughput: self.on_demand.clone(),
            ..Default::default()
        }
    }
}

/// The key ARN DynamoDB reports for a KMS-encrypted table: the given key, else the account's
/// AWS-managed `aws/dynamodb` key.
fn kms_key_arn(table_arn: &str, key: Option<&str>) -> String {
    if let Some(key) = key
        && key.starts_with("arn:")
    {
        return key.to_owned();
    }
    let parts = nimbus_core::arn::parse(table_arn);
    let (region, account) = parts.map_or(("us-east-1", "000000000000"), |a| (a.region, a.account));
    let id = key.unwrap_or("alias/aws/dynamodb");
    if id.starts_with("alias/") {
        nimbus_core::arn::build("kms", region, account, id)
    } else {
        nimbus_core::arn::build("kms", region, account, &format!("key/{id}"))
    }
}

impl Table {
    /// The part of `item` an index holds: the table and index keys, plus what its
    /// projection includes.
    pub fn project(
        &self,
        index: &IndexMeta,
        item: &nimbus_dynamodb_expr::Item,
    ) -> nimbus_dynamodb_expr::Item {
        match &index.projection {
            ProjectionKind::All => item.clone(),
            kind => item
                .iter()
                .filter(|(name, _)| {
                    self.meta.key.contains(name)
                        || index.key.contains(name)
                        || matches!(kind, ProjectionKind::Include(names) if names.contains(name))
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}
