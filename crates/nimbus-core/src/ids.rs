//! Generated identifiers, and the accounts that access keys name.

/// A request id in AWS's UUID form.
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A random UUID string.
pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// 16 random bytes.
pub fn random_bytes() -> [u8; 16] {
    *uuid::Uuid::new_v4().as_bytes()
}

/// Prefix of temporary (STS-issued) access key ids.
pub const TEMPORARY_KEY_PREFIX: &str = "ASIA";

/// RFC 4648 base32, the alphabet of AWS access key ids.
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The largest 12-digit account id.
const MAX_ACCOUNT: u64 = 999_999_999_999;

/// Bits of the first six key bytes that hold the account (bits 7 to 46), as in AWS's own
/// key ids, so tools that read the account out of a key id read ours the same way.
const ACCOUNT_MASK: u64 = 0x7fff_ffff_ff80;

/// An account id from an access key: a 12-digit key id is the account itself, and a
/// temporary key (`ASIA…`) carries its account in its bits; any other key belongs to
/// `default_account`.
pub fn account_from_access_key(access_key_id: &str, default_account: &str) -> String {
    if access_key_id.len() == 12 && access_key_id.bytes().all(|b| b.is_ascii_digit()) {
        access_key_id.to_owned()
    } else if let Some(account) = account_in_temporary_key(access_key_id) {
        account
    } else {
        default_account.to_owned()
    }
}

/// A new temporary access key id for `account_id` (12 digits): `ASIA` and 16 base32
/// characters (80 bits: the account in bits 7–46 of the first 48, the rest random).
/// `None` when `account_id` is not a 12-digit account.
pub fn temporary_access_key_id(account_id: &str) -> Option<String> {
    let account = parse_account(account_id)?;
    let random = random_bytes();
    let head = (account << 7) | u64::from(random[0] & 0x7f);
    let mut bytes = [0u8; 10];
    bytes[..6].copy_from_slice(&head.to_be_bytes()[2..]);
    bytes[6..].copy_from_slice(&random[1..5]);
    Some(format!("{TEMPORARY_KEY_PREFIX}{}", base32_encode(&bytes)))
}

/// The account a temporary access key id carries, or `None` for any other key.
pub fn account_in_temporary_key(access_key_id: &str) -> Option<String> {
    let encoded = access_key_id.strip_prefix(TEMPORARY_KEY_PREFIX)?;
    let bytes = base32_decode_80(encoded)?;
    let mut head = [0u8; 8];
    head[2..].copy_from_slice(&bytes[..6]);
    let account = (u64::from_be_bytes(head) & ACCOUNT_MASK) >> 7;
    (account <= MAX_ACCOUNT).then(|| format!("{account:012}"))
}

fn parse_account(account_id: &str) -> Option<u64> {
    if account_id.len() == 12 && account_id.bytes().all(|b| b.is_ascii_digit()) {
        account_id.parse().ok()
    } else {
        None
    }
}

/// Base32 of exactly 10 bytes: 16 characters, no padding.
fn base32_encode(bytes: &[u8; 10]) -> String {
    let mut bits = 0u128;
    for byte in bytes {
        bits = (bits << 8) | u128::from(*byte);
    }
    (0..16)
        .rev()
        .map(|i| char::from(BASE32[usize::try_from((bits >> (i * 5)) & 31).unwrap_or(0)]))
        .collect()
}

/// The 10 bytes of a 16-character base32 text, or `None` if it is not one.
fn base32_decode_80(text: &str) -> Option<[u8; 10]> {
    if text.len() != 16 {
        return None;
    }
    let mut bits = 0u128;
    for c in text.bytes() {
        let value = BASE32.iter().position(|&b| b == c)?;
        bits = (bits << 5) | u128::try_from(value).ok()?;
    }
    let mut bytes = [0u8; 10];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::try_from((bits >> (8 * (9 - i))) & 0xff).ok()?;
    }
    Some(bytes)
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

    #[test]
    fn temporary_keys_carry_their_account() {
        for account in [
            "000000000000",
            "123456789012",
            "999999999999",
            "000000000001",
        ] {
            let key = temporary_access_key_id(account).unwrap();
            assert_eq!(key.len(), 20, "{key}");
            assert!(key.starts_with("ASIA"), "{key}");
            assert!(key.bytes().all(|b| BASE32.contains(&b)), "{key}");
            assert_eq!(account_from_access_key(&key, "555555555555"), account);
        }
    }

    #[test]
    fn temporary_keys_differ() {
        let a = temporary_access_key_id("123456789012").unwrap();
        let b = temporary_access_key_id("123456789012").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn the_layout_matches_aws_key_ids() {
        // AWS's documented example key id `ASIAY34FZKBOKMUTVV7A` decodes to account
        // 609629065308 with this layout.
        assert_eq!(
            account_in_temporary_key("ASIAY34FZKBOKMUTVV7A").as_deref(),
            Some("609629065308")
        );
    }

    #[test]
    fn other_keys_fall_back_to_the_default_account() {
        for key in [
            "AKIAIOSFODNN7EXAMPLE",
            "ASIA",
            "ASIA0000000000000000",
            "ASIAAAAAAAAAAAAAAAAAA",
            "asiaaaaaaaaaaaaaaaaa",
            "ASIA7777777777777777",
        ] {
            assert_eq!(
                account_from_access_key(key, "000000000000"),
                "000000000000",
                "{key}"
            );
        }
        assert!(temporary_access_key_id("12345").is_none());
        assert!(temporary_access_key_id("12345678901a").is_none());
    }
}
