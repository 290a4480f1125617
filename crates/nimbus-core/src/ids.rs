//! Generated identifiers.

/// A request id in AWS's UUID form.
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A random UUID string.
pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// An account id from an access key: a 12-digit key id is the account itself.
pub fn account_from_access_key(access_key_id: &str, default_account: &str) -> String {
    if access_key_id.len() == 12 && access_key_id.bytes().all(|b| b.is_ascii_digit()) {
        access_key_id.to_owned()
    } else {
        default_account.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_digit_keys_are_accounts() {
        assert_eq!(
            account_from_access_key("000000000002", "000000000000"),
            "000000000002"
        );
        assert_eq!(
            account_from_access_key("test", "000000000000"),
            "000000000000"
        );
        assert_eq!(
            account_from_access_key("00000000000a", "111111111111"),
            "111111111111"
        );
    }
}
