//! Primary and index keys: validation with DynamoDB's messages, and the stored byte form whose
//! order is DynamoDB's order (S by UTF-8 bytes, B by bytes, N numerically).

use nimbus_core::ServiceError;
use nimbus_dynamodb_expr::{AttrValue, Item};

use crate::errors;
use crate::table::{IndexMeta, KeyAttr, KeySchema, KeyType};

const MAX_PARTITION_KEY_BYTES: usize = 2048;
const MAX_SORT_KEY_BYTES: usize = 1024;

/// A stored key: the partition hash, partition key bytes and sort key bytes (empty when the
/// schema has no sort key).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoredKey {
    pub hash: i64,
    pub pk: Vec<u8>,
    pub sk: Vec<u8>,
}

/// FNV-1a over the partition key bytes: stable across versions, since stored rows carry it.
pub fn partition_hash(pk: &[u8]) -> i64 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in pk {
        hash ^= u32::from(*byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    i64::from(hash)
}

/// The first hash value of `segment` out of `total` (hashes are 32-bit).
pub fn segment_start(segment: i64, total: i64) -> i64 {
    ((segment << 32) + total - 1) / total
}

fn value_type(value: &AttrValue) -> &'static str {
    match value {
        AttrValue::S(_) => "S",
        AttrValue::N(_) => "N",
        AttrValue::B(_) => "B",
        AttrValue::Bool(_) => "BOOL",
        AttrValue::Null => "NULL",
        AttrValue::M(_) => "M",
        AttrValue::L(_) => "L",
        AttrValue::Ss(_) => "SS",
        AttrValue::Ns(_) => "NS",
        AttrValue::Bs(_) => "BS",
    }
}

/// The order-preserving bytes of a scalar key value of the given type, if it has that type.
pub fn key_bytes(value: &AttrValue, ty: KeyType) -> Option<Vec<u8>> {
    match (value, ty) {
        (AttrValue::S(s), KeyType::S) => Some(s.as_bytes().to_vec()),
        (AttrValue::B(b), KeyType::B) => Some(b.clone()),
        (AttrValue::N(n), KeyType::N) => Some(n.order_bytes()),
        _ => None,
    }
}

fn raw_len(value: &AttrValue) -> usize {
    match value {
        AttrValue::S(s) => s.len(),
        AttrValue::B(b) => b.len(),
        _ => 0,
    }
}

/// One key attribute of an item being written: present, of the right type, not empty, small.
fn item_key_part(item: &Item, attr: &KeyAttr, sort: bool) -> Result<Vec<u8>, ServiceError> {
    let value = item.get(&attr.name).ok_or_else(|| {
        errors::invalid_parameter(format!("Missing the key {} in the item", attr.name))
    })?;
    let bytes = key_bytes(value, attr.ty).ok_or_else(|| {
        errors::invalid_parameter(format!(
            "Type mismatch for key {} expected: {} actual: {}",
            attr.name,
            attr.ty.as_str(),
            value_type(value)
        ))
    })?;
    check_key_value(value, &attr.name, sort)?;
    Ok(bytes)
}

fn check_key_value(value: &AttrValue, name: &str, sort: bool) -> Result<(), ServiceError> {
    let len = raw_len(value);
    if len == 0 && !matches!(value, AttrValue::N(_)) {
        let kind = if matches!(value, AttrValue::B(_)) {
            "binary"
        } else {
            "string"
        };
        return Err(ServiceError::new(
            "ValidationException",
            400,
            format!(
                "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {kind} value. Key: {name}"
            ),
        ));
    }
    if !sort && len > MAX_PARTITION_KEY_BYTES {
        return Err(errors::invalid_parameter(format!(
            "Size of hashkey has exceeded the maximum size limit of{MAX_PARTITION_KEY_BYTES} bytes"
        )));
    }
    if sort && len > MAX_SORT_KEY_BYTES {
        return Err(errors::invalid_parameter(format!(
            "Aggregated size of all range keys has exceeded the size limit of {MAX_SORT_KEY_BYTES} bytes"
        )));
    }
    Ok(())
}

impl KeySchema {
    /// The stored key of an item being written (PutItem's `Item`).
    pub fn key_of_item(&self, item: &Item) -> Result<StoredKey, ServiceError> {
        let pk = item_key_part(item, &self.partition, false)?;
        let sk = match &self.sort {
            Some(sort) => item_key_part(item, sort, true)?,
            None => Vec::new(),
        };
        Ok(StoredKey {
            hash: partition_hash(&pk),
            pk,
            sk,
        })
    }

    /// The stored key a request's `Key` names: exactly the key attributes, of the right types.
    pub fn key_of_request(&self, key: &Item) -> Result<StoredKey, ServiceError> {
        let expected = 1 + usize::from(self.sort.is_some());
        if key.len() != expected {
            return Err(errors::key_schema_mismatch());
        }
        let part = |attr: &KeyAttr, sort: bool| -> Result<Vec<u8>, ServiceError> {
            let value = key
                .get(&attr.name)
                .ok_or_else(errors::key_schema_mismatch)?;
            let bytes = key_bytes(value, attr.ty).ok_or_else(errors::key_schema_mismatch)?;
            check_key_value(value, &attr.name, sort)?;
            Ok(bytes)
        };
        let pk = part(&self.partition, false)?;
        let sk = match &self.sort {
            Some(sort) => part(sort, true)?,
            None => Vec::new(),
        };
        Ok(StoredKey {
            hash: partition_hash(&pk),
            pk,
            sk,
        })
    }

    /// The key attributes of an item, as a `Key` map.
    pub fn key_item(&self, item: &Item) -> Item {
        self.attributes()
            .filter_map(|a| item.get(&a.name).map(|v| (a.name.clone(), v.clone())))
            .collect()
    }
}

/// Where an item sits in an index, or `None` when it lacks the index's key attributes
/// (indexes are sparse). A key attribute of the wrong type or empty is the error AWS gives.
pub fn index_key(index: &IndexMeta, item: &Item) -> Result<Option<StoredKey>, ServiceError> {
    let part = |attr: &KeyAttr| -> Result<Option<Vec<u8>>, ServiceError> {
        let Some(value) = item.get(&attr.name) else {
            return Ok(None);
        };
        let bytes = key_bytes(value, attr.ty).ok_or_else(|| {
            errors::invalid_parameter(format!(
                "Type mismatch for Index Key {} Expected: {} Actual: {} IndexName: {}",
                attr.name,
                attr.ty.as_str(),
                value_type(value),
                index.name
            ))
        })?;
        if bytes.is_empty() {
            return Err(errors::validation(format!(
                "One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: {}, IndexKey: {}",
                index.name, attr.name
            )));
        }
        Ok(Some(bytes))
    };
    let Some(pk) = part(&index.key.partition)? else {
        return Ok(None);
    };
    let sk = match &index.key.sort {
        Some(sort) => match part(sort)? {
            Some(sk) => sk,
            None => return Ok(None),
        },
        None => Vec::new(),
    };
    Ok(Some(StoredKey {
        hash: partition_hash(&pk),
        pk,
        sk,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cover_the_hash_space() {
        assert_eq!(segment_start(0, 4), 0);
        assert_eq!(segment_start(4, 4), 1 << 32);
        for total in [1, 3, 7, 1000] {
            for s in 0..total {
                assert!(segment_start(s, total) < segment_start(s + 1, total));
            }
        }
    }

    #[test]
    fn number_keys_sort_numerically() {
        let n = |s: &str| {
            key_bytes(
                &AttrValue::N(nimbus_dynamodb_expr::Number::parse(s).unwrap()),
                KeyType::N,
            )
            .unwrap()
        };
        assert!(n("-10") < n("-2"));
        assert!(n("-2") < n("0"));
        assert!(n("0") < n("1.5"));
        assert!(n("1.5") < n("10"));
    }
}
