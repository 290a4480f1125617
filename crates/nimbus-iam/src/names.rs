//! Name, path, tag and policy-document rules shared by the STS and IAM operations, and the
//! identifiers IAM hands out.

use nimbus_core::{ServiceError, ids};
use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};

use crate::errors;

/// IAM's name characters: `[\w+=,.@-]`.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// Checks a role, policy or session name against `[\w+=,.@-]+` (lengths are checked by the
/// protocol layer from the model).
pub fn check_name(value: &str, member: &str) -> Result<(), ServiceError> {
    if value.is_empty() || !value.chars().all(is_name_char) {
        return Err(errors::pattern_mismatch(value, member, "[\\w+=,.@-]+"));
    }
    Ok(())
}

/// Checks an entity path: `/` alone, or `/` + printable ASCII + `/`.
pub fn check_path(path: &str) -> Result<(), ServiceError> {
    let printable = path.chars().all(|c| ('!'..='~').contains(&c));
    if path == "/" || (path.len() >= 2 && path.starts_with('/') && path.ends_with('/') && printable)
    {
        Ok(())
    } else {
        Err(errors::invalid_path())
    }
}

/// Checks a `PathPrefix` filter: it starts with `/`.
pub fn check_path_prefix(prefix: &str) -> Result<(), ServiceError> {
    if prefix.starts_with('/') && prefix.chars().all(|c| ('!'..='\u{7f}').contains(&c)) {
        Ok(())
    } else {
        Err(errors::pattern_mismatch(
            prefix,
            "pathPrefix",
            "\\u002F[\\u0021-\\u007F]*",
        ))
    }
}

/// The stored form of a policy document: a JSON object with a `Statement`. Some clients
/// send documents URL-encoded, as IAM returns them; those are decoded first.
pub fn policy_document(text: &str) -> Result<String, ServiceError> {
    if is_policy(text) {
        return Ok(text.to_owned());
    }
    if let Ok(decoded) = percent_decode_str(text).decode_utf8()
        && decoded != text
        && is_policy(&decoded)
    {
        return Ok(decoded.into_owned());
    }
    Err(errors::malformed_policy("Syntax errors in policy."))
}

fn is_policy(text: &str) -> bool {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) => map.contains_key("Statement"),
        _ => false,
    }
}

/// IAM returns policy documents URL-encoded (clients decode them); everything but the
/// unreserved characters is escaped.
pub fn encode_document(document: &str) -> String {
    const ESCAPED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(document, ESCAPED).to_string()
}

/// The most tags an IAM entity holds.
pub const MAX_TAGS: usize = 50;

/// Checks the tags of one request: distinct keys (without case), at most fifty.
pub fn check_tags(tags: &[(String, String)]) -> Result<(), ServiceError> {
    let mut keys: Vec<String> = tags.iter().map(|(k, _)| k.to_lowercase()).collect();
    keys.sort();
    keys.dedup();
    if keys.len() != tags.len() {
        return Err(errors::invalid_input(
            "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
        ));
    }
    if tags.len() > MAX_TAGS {
        return Err(errors::limit_exceeded(
            "The number of tags has reached the maximum limit.",
        ));
    }
    Ok(())
}

/// Merges `new` into `tags`: a key already present (without case) takes the new value.
pub fn merge_tags(tags: &mut Vec<(String, String)>, new: Vec<(String, String)>) {
    for (key, value) in new {
        match tags.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(&key)) {
            Some(existing) => *existing = (key, value),
            None => tags.push((key, value)),
        }
    }
}

/// Base32 characters of IAM's unique ids (`AROA…`, `ANPA…`).
const ID_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A new unique id: `prefix` and 17 random characters.
pub fn unique_id(prefix: &str) -> String {
    let bytes: Vec<u8> = ids::random_bytes()
        .into_iter()
        .chain(ids::random_bytes())
        .collect();
    id_from(prefix, &bytes)
}

/// A unique id that is always the same for `seed` (for entities nimbus does not store, such
/// as AWS-managed policies and roles assumed without being created).
pub fn stable_id(prefix: &str, seed: &str) -> String {
    id_from(prefix, &Sha256::digest(seed.as_bytes()))
}

fn id_from(prefix: &str, bytes: &[u8]) -> String {
    let chars: String = bytes
        .iter()
        .take(17)
        .map(|b| char::from(ID_ALPHABET[usize::from(b & 31)]))
        .collect();
    format!("{prefix}{chars}")
}

/// A random secret of `len` base64 characters.
pub fn secret(len: usize) -> String {
    use base64::Engine as _;
    let mut bytes = Vec::new();
    while bytes.len() * 4 / 3 < len {
        bytes.extend_from_slice(&ids::random_bytes());
    }
    let mut text = base64::engine::general_purpose::STANDARD.encode(bytes);
    text.truncate(len);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["lambda-role", "a", "A_b+c=d,e.f@g-h"] {
            assert!(check_name(ok, "roleName").is_ok(), "{ok}");
        }
        for bad in ["", "has space", "slash/", "ü"] {
            let err = check_name(bad, "roleName").unwrap_err();
            assert_eq!(err.code, "ValidationError", "{bad}");
        }
    }

    #[test]
    fn paths() {
        for ok in ["/", "/service-role/", "/a/b/"] {
            assert!(check_path(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a", "/a", "a/", "/a b/", "//x"] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
        assert!(check_path_prefix("/service").is_ok());
        assert!(check_path_prefix("service").is_err());
    }

    #[test]
    fn documents() {
        let doc = r#"{"Version":"2012-10-17","Statement":[]}"#;
        assert_eq!(policy_document(doc).unwrap(), doc);
        assert_eq!(policy_document(&encode_document(doc)).unwrap(), doc);
        for bad in ["not json", "{}", "[]", r#"{"Version":"2012-10-17"}"#] {
            let err = policy_document(bad).unwrap_err();
            assert_eq!(err.wire_query_code(), "MalformedPolicyDocument", "{bad}");
        }
        assert_eq!(
            encode_document(r#"{"a": "b/c"}"#),
            "%7B%22a%22%3A%20%22b%2Fc%22%7D"
        );
    }

    #[test]
    fn tags() {
        let tags = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect()
        };
        assert!(check_tags(&tags(&[("a", "1"), ("b", "2")])).is_ok());
        assert_eq!(
            check_tags(&tags(&[("a", "1"), ("A", "2")]))
                .unwrap_err()
                .wire_query_code(),
            "InvalidInput"
        );
        let mut current = tags(&[("Team", "x")]);
        merge_tags(&mut current, tags(&[("team", "y"), ("env", "dev")]));
        assert_eq!(current, tags(&[("team", "y"), ("env", "dev")]));
    }

    #[test]
    fn ids_have_aws_shapes() {
        let id = unique_id("AROA");
        assert_eq!(id.len(), 21);
        assert!(id.starts_with("AROA"));
        assert_ne!(unique_id("AROA"), id);
        assert_eq!(stable_id("ANPA", "x"), stable_id("ANPA", "x"));
        assert_eq!(secret(40).len(), 40);
    }
}
