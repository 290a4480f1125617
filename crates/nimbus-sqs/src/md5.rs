//! The digests SQS returns with messages, computed exactly as AWS does so SDKs that verify
//! them (boto3, the JavaScript and Java SDKs) accept our answers.

use std::collections::BTreeMap;

use md5::{Digest, Md5};

use crate::message::AttributeValue;

/// MD5 of the message body, as lowercase hex.
pub fn of_body(body: &str) -> String {
    hex::encode(Md5::digest(body.as_bytes()))
}

/// MD5 of message (or system) attributes: for each attribute in name order, the name, the
/// data type, a transport byte (1 string/number, 2 binary) and the value, each length-prefixed
/// (4-byte big endian) except the transport byte.
pub fn of_attributes(attributes: &BTreeMap<String, AttributeValue>) -> Option<String> {
    if attributes.is_empty() {
        return None;
    }
    let mut hasher = Md5::new();
    for (name, value) in attributes {
        put(&mut hasher, name.as_bytes());
        put(&mut hasher, value.data_type.as_bytes());
        match value.binary_bytes() {
            Some(bytes) => {
                hasher.update([2u8]);
                put(&mut hasher, &bytes);
            }
            None => {
                hasher.update([1u8]);
                put(
                    &mut hasher,
                    value.string_value.as_deref().unwrap_or("").as_bytes(),
                );
            }
        }
    }
    Some(hex::encode(hasher.finalize()))
}

fn put(hasher: &mut Md5, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    hasher.update(len.to_be_bytes());
    hasher.update(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_digest_matches_the_documented_example() {
        // MD5("This is a test message") as shown by SQS.
        assert_eq!(
            of_body("This is a test message"),
            "fafb00f5732ab283681e124bf8747ed1"
        );
    }

    #[test]
    fn attribute_digest_matches_an_independent_computation() {
        // Computed with Python's hashlib over the documented encoding:
        // name "Attr", type "String", transport byte 1, value "value".
        let mut attrs = BTreeMap::new();
        attrs.insert(
            "Attr".to_owned(),
            AttributeValue {
                data_type: "String".into(),
                string_value: Some("value".into()),
                binary_value: None,
            },
        );
        assert_eq!(
            of_attributes(&attrs).unwrap(),
            "ca452a6577c5b1dfbb60c46b415587f0"
        );
        assert_eq!(of_attributes(&BTreeMap::new()), None);
    }
}
