//! Message signatures: an RSA key generated once and kept in the store, SignatureVersion 1
//! (SHA1withRSA) and 2 (SHA256withRSA) over AWS's canonical strings, and the self-signed
//! certificate served at SigningCertURL.
//!
//! <https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html>
//!
//! The key is a 2048-bit modulus of eight 256-bit primes (RFC 8017's multi-prime RSA).
//! Verifiers see only the modulus and exponent, so signatures are the same to them as a
//! two-prime key's, while signing, one exponentiation per prime, costs about ten times less:
//! every message delivered to a function or an SQS queue is signed, which made signing the
//! largest part of the CPU a fan-out costs. Small primes make the key easier to factor; it
//! signs for a local emulator and protects no secret. Keys of earlier releases (two or four
//! primes) are kept and still used.

use base64::Engine;
use nimbus_store::{DbError, Store, TxError, params};
use num_bigint_dig::RandPrime;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
use rsa::signature::{SignatureEncoding, Signer as _};
use rsa::traits::PrivateKeyParts;
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use sha1::Digest as _;

use crate::der;
use crate::pkcs1::{self, PrivateKey};

const MODULUS_BITS: usize = 2048;
const PRIMES: usize = 8;
const PUBLIC_EXPONENT: u32 = 65_537;
/// A two-prime key in PKCS#8, as earlier releases stored it; still used where present.
const PKCS8_KEY_NAME: &str = "signing-key";
/// The primes of a multi-prime key (PKCS#8 encoders take two primes only).
const PRIMES_KEY_NAME: &str = "signing-key-primes";
const CERT_NAME: &str = "signing-cert";

/// The signing key and its certificate.
pub struct Signer {
    key: PrivateKey,
    certificate_pem: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer { .. }")
    }
}

fn engine(err: impl std::fmt::Display) -> DbError {
    DbError::Engine(format!("sns signing key: {err}"))
}

/// Stores key material under its names. Two nodes racing on first start keep whichever
/// key committed first.
async fn store_keys(store: &Store, entries: [(&'static str, Vec<u8>); 2]) -> Result<(), DbError> {
    store
        .write(move |tx| -> Result<(), TxError<DbError>> {
            for (name, value) in entries {
                tx.execute(
                    "INSERT INTO sns_keys (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
                    &params![name, value],
                )?;
            }
            Ok(())
        })
        .await
        .map_err(|e| match e {
            TxError::Abort(e) | TxError::Db(e) => e,
        })
}

impl Signer {
    /// Loads the key and certificate from the store, creating them on first use.
    pub async fn load_or_create(store: &Store) -> Result<Signer, DbError> {
        let stored = store.read(|tx| {
            let mut found = Vec::new();
            for name in [PKCS8_KEY_NAME, PRIMES_KEY_NAME, CERT_NAME] {
                let row =
                    tx.query_one("SELECT value FROM sns_keys WHERE name = ?1", &params![name])?;
                found.push(row.map(|r| r.blob(0).map(<[u8]>::to_vec)).transpose()?);
            }
            Ok(found)
        })?;
        let (key, cert_der) = match stored.as_slice() {
            [Some(pkcs8), _, Some(cert)] => {
                (RsaPrivateKey::from_pkcs8_der(pkcs8).map_err(engine)?, cert)
            }
            [None, Some(primes), Some(cert)] => (decode_primes(primes)?, cert),
            _ => {
                let (primes, cert_der) = tokio::task::spawn_blocking(generate)
                    .await
                    .map_err(engine)??;
                store_keys(store, [(PRIMES_KEY_NAME, primes), (CERT_NAME, cert_der)]).await?;
                return Box::pin(Self::load_or_create(store)).await;
            }
        };
        Ok(Signer {
            key: PrivateKey::new(&key).ok_or_else(|| engine("inconsistent key"))?,
            certificate_pem: pem("CERTIFICATE", cert_der),
        })
    }

    /// Signs AWS's canonical string; `version` is `1` (SHA1withRSA) or `2` (SHA256withRSA).
    pub fn sign(&self, version: &str, string_to_sign: &str) -> String {
        let bytes = if version == "2" {
            let digest = sha2::Sha256::digest(string_to_sign.as_bytes());
            self.key.sign(pkcs1::SHA256_PREFIX, &digest)
        } else {
            let digest = sha1::Sha1::digest(string_to_sign.as_bytes());
            self.key.sign(pkcs1::SHA1_PREFIX, &digest)
        };
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// The certificate served at SigningCertURL.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }
}

/// A new multi-prime key's primes (encoded) and its self-signed certificate (DER).
fn generate() -> Result<(Vec<u8>, Vec<u8>), DbError> {
    let key = new_key()?;
    let primes = encode_primes(key.primes());
    let spki = RsaPublicKey::from(&key)
        .to_public_key_der()
        .map_err(engine)?
        .as_bytes()
        .to_vec();
    let serial: [u8; 16] = *uuid::Uuid::new_v4().as_bytes();
    let name = der::common_name("sns.amazonaws.com");
    let tbs = der::sequence(&[
        der::explicit0(&der::unsigned(&[2])),
        der::unsigned(&serial),
        der::sha256_with_rsa(),
        name.clone(),
        der::sequence(&[
            der::utc_time("240101000000Z"),
            der::utc_time("491231235959Z"),
        ]),
        name,
        spki,
    ]);
    let signature = SigningKey::<sha2::Sha256>::new(key).sign(&tbs).to_vec();
    let cert = der::sequence(&[tbs, der::sha256_with_rsa(), der::bit_string(&signature)]);
    Ok((primes, cert))
}

/// [`PRIMES`] primes whose product has exactly [`MODULUS_BITS`] bits and for which the public
/// exponent is invertible.
pub(crate) fn new_key() -> Result<RsaPrivateKey, DbError> {
    multi_prime_key(PRIMES)
}

/// A key of `count` primes of about equal size whose product has [`MODULUS_BITS`] bits.
pub(crate) fn multi_prime_key(count: usize) -> Result<RsaPrivateKey, DbError> {
    let mut rng = rsa::rand_core::OsRng;
    loop {
        let mut bits_left = MODULUS_BITS;
        let primes: Vec<BigUint> = (0..count)
            .map(|i| {
                let bits = bits_left / (count - i);
                bits_left -= bits;
                rng.gen_prime(bits)
            })
            .collect();
        let modulus = primes.iter().fold(BigUint::from(1_u32), |n, p| n * p);
        let distinct = (1..primes.len()).all(|i| !primes[..i].contains(&primes[i]));
        if modulus.bits() != MODULUS_BITS || !distinct {
            continue;
        }
        // Refused when the exponent shares a factor with some p - 1: draw again.
        if let Ok(key) = RsaPrivateKey::from_primes(primes, BigUint::from(PUBLIC_EXPONENT)) {
            key.validate().map_err(engine)?;
            return Ok(key);
        }
    }
}

/// Each prime as a two-byte big-endian length and its big-endian bytes.
fn encode_primes(primes: &[BigUint]) -> Vec<u8> {
    let mut out = Vec::new();
    for prime in primes {
        let bytes = prime.to_bytes_be();
        out.extend_from_slice(&u16::try_from(bytes.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(&bytes);
    }
    out
}

fn decode_primes(mut data: &[u8]) -> Result<RsaPrivateKey, DbError> {
    let mut primes = Vec::new();
    while let [high, low, rest @ ..] = data {
        let len = usize::from(u16::from_be_bytes([*high, *low]));
        let Some((prime, rest)) = rest.split_at_checked(len) else {
            return Err(engine("truncated primes"));
        };
        primes.push(BigUint::from_bytes_be(prime));
        data = rest;
    }
    if !data.is_empty() {
        return Err(engine("truncated primes"));
    }
    RsaPrivateKey::from_primes(primes, BigUint::from(PUBLIC_EXPONENT)).map_err(engine)
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier as _;
    use rsa::traits::PublicKeyParts;

    use super::*;

    #[test]
    fn multi_prime_key_signs_what_its_public_key_verifies() {
        let key = new_key().unwrap();
        assert_eq!(key.primes().len(), PRIMES);
        assert_eq!(key.n().bits(), MODULUS_BITS);
        let again = decode_primes(&encode_primes(key.primes())).unwrap();
        assert_eq!(again.n(), key.n());
        assert_eq!(again.d(), key.d());
        let public = RsaPublicKey::from(&again);
        for (version, text) in [("1", "Message\nhello\n"), ("2", "Message\nworld\n")] {
            let signer = Signer {
                key: PrivateKey::new(&again).unwrap(),
                certificate_pem: String::new(),
            };
            let signature = base64::engine::general_purpose::STANDARD
                .decode(signer.sign(version, text))
                .unwrap();
            let signature = Signature::try_from(signature.as_slice()).unwrap();
            let verified = if version == "2" {
                VerifyingKey::<sha2::Sha256>::new(public.clone())
                    .verify(text.as_bytes(), &signature)
            } else {
                VerifyingKey::<sha1::Sha1>::new(public.clone()).verify(text.as_bytes(), &signature)
            };
            assert!(verified.is_ok(), "SignatureVersion {version}");
        }
    }

    async fn store() -> Store {
        let store = Store::open(nimbus_store::StoreConfig::in_memory())
            .await
            .unwrap();
        store
            .migrate("sns", crate::schema::MIGRATIONS)
            .await
            .unwrap();
        store
    }

    #[tokio::test]
    async fn a_new_store_gets_a_multi_prime_key_that_is_kept() {
        let store = store().await;
        let first = Signer::load_or_create(&store).await.unwrap();
        let again = Signer::load_or_create(&store).await.unwrap();
        // PKCS#1 v1.5 signatures are deterministic: the same key signs the same text alike.
        assert_eq!(first.sign("1", "text"), again.sign("1", "text"));
        assert_eq!(first.certificate_pem(), again.certificate_pem());
        let primes = store
            .read(|tx| {
                tx.query_one(
                    "SELECT value FROM sns_keys WHERE name = ?1",
                    &params![PRIMES_KEY_NAME],
                )
            })
            .unwrap();
        assert!(primes.is_some());
    }

    #[tokio::test]
    async fn a_two_prime_key_stored_by_an_earlier_release_is_still_used() {
        use rsa::pkcs8::EncodePrivateKey;
        let store = store().await;
        let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, MODULUS_BITS).unwrap();
        let pkcs8 = key.to_pkcs8_der().unwrap().as_bytes().to_vec();
        store_keys(
            &store,
            [(PKCS8_KEY_NAME, pkcs8), (CERT_NAME, b"cert".to_vec())],
        )
        .await
        .unwrap();
        let signer = Signer::load_or_create(&store).await.unwrap();
        let signature = base64::engine::general_purpose::STANDARD
            .decode(signer.sign("1", "text"))
            .unwrap();
        let signature = Signature::try_from(signature.as_slice()).unwrap();
        let public = RsaPublicKey::from(&key);
        assert!(
            VerifyingKey::<sha1::Sha1>::new(public)
                .verify(b"text", &signature)
                .is_ok()
        );
    }

    #[test]
    fn truncated_primes_are_an_error_not_a_panic() {
        assert!(decode_primes(&[0, 64, 1, 2, 3]).is_err());
        assert!(decode_primes(&[0]).is_err());
        assert!(decode_primes(&[]).is_err());
    }
}
