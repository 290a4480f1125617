//! Message attributes and the checks SQS applies to a message before accepting it.

use std::collections::BTreeMap;

use base64::Engine;
use nimbus_core::ServiceError;
use serde::{Deserialize, Serialize};

use crate::errors;

/// Most message attributes one message may carry.
pub const MAX_ATTRIBUTES: usize = 10;

/// A message attribute value in its canonical form (binary kept base64-encoded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeValue {
    pub data_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_value: Option<String>,
}

impl AttributeValue {
    /// The decoded bytes of a binary attribute.
    pub fn binary_bytes(&self) -> Option<Vec<u8>> {
        let encoded = self.binary_value.as_ref()?;
        if !self.data_type.starts_with("Binary") {
            return None;
        }
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
    }

    /// Bytes this attribute counts toward the message size: name, type and value.
    fn size(&self, name: &str) -> usize {
        let value = match self.binary_bytes() {
            Some(bytes) => bytes.len(),
            None => self.string_value.as_ref().map_or(0, String::len),
        };
        name.len() + self.data_type.len() + value
    }
}

/// Attributes as received: raw JSON (so a malformed value is our error, not a decoder's).
pub type Attributes = BTreeMap<String, AttributeValue>;

/// Checks the body's characters against the set SQS allows.
pub fn check_body(body: &str) -> Result<(), ServiceError> {
    if body.is_empty() {
        return Err(errors::missing_parameter("MessageBody"));
    }
    // SQS allows #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
    // A `str` holds no surrogates, so beyond the control characters only U+FFFE and U+FFFF
    // are refused; checking bytes keeps this off the profile of every send.
    let controls_allowed = body
        .bytes()
        .all(|b| b >= 0x20 || matches!(b, 0x9 | 0xA | 0xD));
    let non_characters = !body.is_ascii() && body.contains(['\u{FFFE}', '\u{FFFF}']);
    if controls_allowed && !non_characters {
        Ok(())
    } else {
        Err(errors::invalid_message_contents())
    }
}

/// Validates message attributes the way SQS does and returns their size in bytes.
pub fn check_attributes(attributes: &Attributes) -> Result<usize, ServiceError> {
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(errors::invalid_parameter_value(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [{MAX_ATTRIBUTES}].",
            attributes.len()
        )));
    }
    let mut size = 0;
    for (name, value) in attributes {
        check_attribute_name(name)?;
        check_attribute_value(name, value)?;
        size += value.size(name);
    }
    Ok(size)
}

fn check_attribute_name(name: &str) -> Result<(), ServiceError> {
    let invalid = |why: &str| {
        errors::invalid_parameter_value(format!(
            "Message attribute name '{name}' is invalid. {why}"
        ))
    };
    if name.is_empty() || name.len() > 256 {
        return Err(invalid(
            "The message attribute name must be between 1 and 256 characters.",
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(invalid(
            "Only alphanumeric characters, hyphens (-), underscores (_), and periods (.) are allowed.",
        ));
    }
    if name.starts_with('.') || name.ends_with('.') || name.contains("..") {
        return Err(invalid(
            "Periods cannot start or end the name, or appear in succession.",
        ));
    }
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("aws.") || lower.starts_with("amazon.") {
        return Err(invalid("The prefixes AWS. and Amazon. are reserved."));
    }
    Ok(())
}

fn check_attribute_value(name: &str, value: &AttributeValue) -> Result<(), ServiceError> {
    let data_type = value.data_type.as_str();
    let base = data_type.split('.').next().unwrap_or("");
    if data_type.is_empty()
        || data_type.len() > 256
        || !matches!(base, "String" | "Number" | "Binary")
    {
        return Err(errors::invalid_parameter_value(format!(
            "The type of message (user) attribute '{name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String."
        )));
    }
    if let Some(custom) = data_type
        .strip_prefix(base)
        .and_then(|rest| rest.strip_prefix('.'))
    {
        if custom.is_empty() {
            return Err(errors::invalid_parameter_value(format!(
                "Message attribute '{name}' has an invalid custom type."
            )));
        }
    } else if data_type != base {
        return Err(errors::invalid_parameter_value(format!(
            "The type of message (user) attribute '{name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String."
        )));
    }
    let empty = || {
        errors::invalid_parameter_value(format!(
            "Message (user) attribute '{name}' must contain a non-empty value of type '{base}'."
        ))
    };
    match base {
        "Binary" => {
            let encoded = value.binary_value.as_deref().ok_or_else(empty)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| {
                    errors::invalid_parameter_value(format!(
                        "Message attribute '{name}' has an invalid binary value."
                    ))
                })?;
            if bytes.is_empty() {
                return Err(empty());
            }
        }
        _ => {
            let text = value
                .string_value
                .as_deref()
                .filter(|s| !s.is_empty())
                .ok_or_else(empty)?;
            check_body(text).map_err(|_| errors::invalid_message_contents())?;
            if base == "Number" && !is_sqs_number(text) {
                return Err(errors::invalid_parameter_value(format!(
                    "Can't cast the value of message (user) attribute '{name}' to a number."
                )));
            }
        }
    }
    Ok(())
}

/// SQS numbers: up to 38 significant digits, exponent within ±128.
fn is_sqs_number(text: &str) -> bool {
    let trimmed = text.trim();
    if trimmed.parse::<f64>().is_err() || trimmed.contains(['i', 'I', 'n', 'N']) {
        return false;
    }
    let digits = trimmed.split(['e', 'E']).next().unwrap_or("");
    let significant = digits
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>();
    significant.trim_start_matches('0').len() <= 38
}

/// The system attributes a sender may set: only `AWSTraceHeader`, a String.
pub fn check_system_attributes(attributes: &Attributes) -> Result<(), ServiceError> {
    for (name, value) in attributes {
        if name != "AWSTraceHeader" {
            return Err(errors::invalid_parameter_value(format!(
                "Message system attribute name '{name}' is invalid."
            )));
        }
        if value.data_type != "String" || value.string_value.as_deref().is_none_or(str::is_empty) {
            return Err(errors::invalid_parameter_value(
                "Message system attribute 'AWSTraceHeader' must be of type String and not empty.",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(v: &str) -> AttributeValue {
        AttributeValue {
            data_type: "String".into(),
            string_value: Some(v.into()),
            binary_value: None,
        }
    }

    #[test]
    fn body_characters() {
        assert!(check_body("hello\tworld\n").is_ok());
        assert!(check_body("emoji 😀").is_ok());
        assert_eq!(
            check_body("bad \u{1}").unwrap_err().code,
            "InvalidMessageContents"
        );
        assert_eq!(check_body("").unwrap_err().code, "MissingParameter");
        assert!(check_body("del \u{7F}, private \u{E000}, last \u{10FFFF}, \u{FFFD}").is_ok());
        for refused in ["nul \u{0}", "unit \u{1F}", "not \u{FFFE}", "not \u{FFFF}"] {
            assert_eq!(
                check_body(refused).unwrap_err().code,
                "InvalidMessageContents",
                "{refused:?}"
            );
        }
    }

    #[test]
    fn attribute_rules() {
        let ok: Attributes = [("a.b-c_d".to_owned(), string("x"))].into();
        assert_eq!(
            check_attributes(&ok).unwrap(),
            "a.b-c_d".len() + "String".len() + 1
        );
        for bad in ["AWS.x", "amazon.y", ".a", "a.", "a..b", "sp ace", ""] {
            let attrs: Attributes = [(bad.to_owned(), string("x"))].into();
            assert!(check_attributes(&attrs).is_err(), "{bad}");
        }
        let number = |v: &str| {
            [(
                "n".to_owned(),
                AttributeValue {
                    data_type: "Number".into(),
                    string_value: Some(v.into()),
                    binary_value: None,
                },
            )]
            .into()
        };
        assert!(check_attributes(&number("12.5e3")).is_ok());
        assert!(check_attributes(&number("abc")).is_err());
        let custom: Attributes = [(
            "c".to_owned(),
            AttributeValue {
                data_type: "Number.float".into(),
                string_value: Some("1".into()),
                binary_value: None,
            },
        )]
        .into();
        assert!(check_attributes(&custom).is_ok());
        let wrong_type: Attributes = [(
            "c".to_owned(),
            AttributeValue {
                data_type: "Integer".into(),
                string_value: Some("1".into()),
                binary_value: None,
            },
        )]
        .into();
        assert!(check_attributes(&wrong_type).is_err());
        let too_many: Attributes = (0..11).map(|i| (format!("a{i}"), string("x"))).collect();
        assert!(check_attributes(&too_many).is_err());
    }
}
