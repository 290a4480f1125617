//! Message signatures: an RSA key generated once and kept in the store, SignatureVersion 1
//! (SHA1withRSA) and 2 (SHA256withRSA) over AWS's canonical strings, and the self-signed
//! certificate served at SigningCertURL.
//!
//! <https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html>

use base64::Engine;
use nimbus_store::{DbError, Store, TxError, params};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::signature::{SignatureEncoding, Signer as _};
use rsa::{RsaPrivateKey, RsaPublicKey};

use crate::der;

const KEY_BITS: usize = 2048;
const KEY_NAME: &str = "signing-key";
const CERT_NAME: &str = "signing-cert";

/// The signing key and its certificate.
pub struct Signer {
    v1: SigningKey<sha1::Sha1>,
    v2: SigningKey<sha2::Sha256>,
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

impl Signer {
    /// Loads the key and certificate from the store, creating them on first use.
    pub async fn load_or_create(store: &Store) -> Result<Signer, DbError> {
        let stored = store.read(|tx| {
            let key = tx.query_one(
                "SELECT value FROM sns_keys WHERE name = ?1",
                &params![KEY_NAME],
            )?;
            let cert = tx.query_one(
                "SELECT value FROM sns_keys WHERE name = ?1",
                &params![CERT_NAME],
            )?;
            Ok(match (key, cert) {
                (Some(k), Some(c)) => Some((k.blob(0)?.to_vec(), c.blob(0)?.to_vec())),
                _ => None,
            })
        })?;
        let (key_der, cert_der) = match stored {
            Some(pair) => pair,
            None => {
                let (key_der, cert_der) = tokio::task::spawn_blocking(generate)
                    .await
                    .map_err(engine)??;
                let (k, c) = (key_der.clone(), cert_der.clone());
                // Two nodes racing on first start keep whichever key committed first.
                store
                    .write(move |tx| -> Result<(), TxError<DbError>> {
                        for (name, value) in [(KEY_NAME, k), (CERT_NAME, c)] {
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
                    })?;
                return Box::pin(Self::load_or_create(store)).await;
            }
        };
        let key = RsaPrivateKey::from_pkcs8_der(&key_der).map_err(engine)?;
        Ok(Signer {
            v1: SigningKey::<sha1::Sha1>::new(key.clone()),
            v2: SigningKey::<sha2::Sha256>::new(key),
            certificate_pem: pem("CERTIFICATE", &cert_der),
        })
    }

    /// Signs AWS's canonical string; `version` is `1` (SHA1withRSA) or `2` (SHA256withRSA).
    pub fn sign(&self, version: &str, string_to_sign: &str) -> String {
        let bytes = if version == "2" {
            self.v2.sign(string_to_sign.as_bytes()).to_vec()
        } else {
            self.v1.sign(string_to_sign.as_bytes()).to_vec()
        };
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// The certificate served at SigningCertURL.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }
}

/// A new key (PKCS#8 DER) and its self-signed certificate (DER).
fn generate() -> Result<(Vec<u8>, Vec<u8>), DbError> {
    let mut rng = rsa::rand_core::OsRng;
    let key = RsaPrivateKey::new(&mut rng, KEY_BITS).map_err(engine)?;
    let key_der = key.to_pkcs8_der().map_err(engine)?.as_bytes().to_vec();
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
    Ok((key_der, cert))
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
