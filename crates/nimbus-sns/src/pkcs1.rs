//! RSASSA-PKCS1-v1_5 signatures (RFC 8017 §8.2) with a multi-prime key, by the Chinese
//! remainder theorem over its primes, each exponentiation in [`crate::montgomery`].

use num_bigint_dig::ModInverse;
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BigUint, RsaPrivateKey};

use crate::montgomery::{Modulus, from_limbs, limbs_of_be_bytes};

/// DER DigestInfo prefixes (RFC 8017 §9.2, note 1).
pub(crate) const SHA1_PREFIX: &[u8] = &[
    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
];
pub(crate) const SHA256_PREFIX: &[u8] = &[
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// How one prime's exponentiation is done: the specialised sizes of the eight-, four- and
/// two-prime RSA-2048 keys, the general code otherwise.
enum Exponentiation {
    Limbs4(Modulus<4>),
    Limbs8(Modulus<8>),
    Limbs16(Modulus<16>),
    General,
}

struct PrimePart {
    prime: BigUint,
    /// d mod (p − 1), big-endian.
    exponent: Vec<u8>,
    /// (n/p)·((n/p)⁻¹ mod p): 1 modulo p, 0 modulo the other primes.
    coefficient: BigUint,
    exponentiation: Exponentiation,
}

/// A private key prepared for signing.
pub(crate) struct PrivateKey {
    modulus: BigUint,
    size: usize,
    parts: Vec<PrimePart>,
}

impl PrivateKey {
    /// `None` when the key's numbers do not fit together (not a valid key).
    pub fn new(key: &RsaPrivateKey) -> Option<PrivateKey> {
        let modulus = key.n().clone();
        let mut parts = Vec::new();
        for prime in key.primes() {
            let cofactor = &modulus / prime;
            let inverse = (&cofactor % prime).mod_inverse(prime)?.to_biguint()?;
            let exponentiation = if let Some(m) = Modulus::<4>::new(prime) {
                Exponentiation::Limbs4(m)
            } else if let Some(m) = Modulus::<8>::new(prime) {
                Exponentiation::Limbs8(m)
            } else if let Some(m) = Modulus::<16>::new(prime) {
                Exponentiation::Limbs16(m)
            } else {
                Exponentiation::General
            };
            parts.push(PrimePart {
                prime: prime.clone(),
                exponent: (key.d() % (prime - BigUint::from(1_u32))).to_bytes_be(),
                coefficient: (cofactor * inverse) % &modulus,
                exponentiation,
            });
        }
        Some(PrivateKey {
            size: modulus.bits().div_ceil(8),
            modulus,
            parts,
        })
    }

    /// The signature of `digest` (whose DigestInfo prefix is `prefix`), `size` bytes long.
    pub fn sign(&self, prefix: &[u8], digest: &[u8]) -> Vec<u8> {
        let k = self.size;
        let t_len = prefix.len() + digest.len();
        // EM = 0x00 0x01 PS 0x00 T, PS at least eight 0xff bytes.
        let mut encoded = vec![0xff_u8; k];
        encoded[0] = 0;
        encoded[1] = 1;
        encoded[k - t_len - 1] = 0;
        encoded[k - t_len..k - digest.len()].copy_from_slice(prefix);
        encoded[k - digest.len()..].copy_from_slice(digest);
        let message = limbs_of_be_bytes(&encoded);
        let mut signature = BigUint::from(0_u32);
        for part in &self.parts {
            let exponent = &part.exponent;
            let power = match &part.exponentiation {
                Exponentiation::Limbs4(m) => from_limbs(&m.pow_of(&message, exponent)),
                Exponentiation::Limbs8(m) => from_limbs(&m.pow_of(&message, exponent)),
                Exponentiation::Limbs16(m) => from_limbs(&m.pow_of(&message, exponent)),
                Exponentiation::General => (from_limbs(&message) % &part.prime)
                    .modpow(&BigUint::from_bytes_be(exponent), &part.prime),
            };
            signature += power * &part.coefficient;
        }
        let bytes = (signature % &self.modulus).to_bytes_be();
        let mut out = vec![0_u8; k - bytes.len()];
        out.extend_from_slice(&bytes);
        out
    }
}

#[cfg(test)]
mod tests {
    use rsa::pkcs1v15::SigningKey;
    use rsa::signature::{SignatureEncoding, Signer};
    use sha1::Digest as _;

    use super::*;

    fn same_as_the_rsa_crate(key: &RsaPrivateKey) {
        let prepared = PrivateKey::new(key).unwrap();
        for text in ["", "Message\nhello\n", &"x".repeat(5000)] {
            let ours = prepared.sign(SHA1_PREFIX, &sha1::Sha1::digest(text.as_bytes()));
            let theirs = SigningKey::<sha1::Sha1>::new(key.clone()).sign(text.as_bytes());
            assert_eq!(ours, theirs.to_vec());
            let ours = prepared.sign(SHA256_PREFIX, &sha2::Sha256::digest(text.as_bytes()));
            let theirs = SigningKey::<sha2::Sha256>::new(key.clone()).sign(text.as_bytes());
            assert_eq!(ours, theirs.to_vec());
        }
    }

    #[test]
    fn signatures_equal_the_rsa_crate_for_multi_and_two_prime_keys() {
        same_as_the_rsa_crate(&crate::signing::new_key().unwrap());
        same_as_the_rsa_crate(&crate::signing::multi_prime_key(4).unwrap());
        let two_prime = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        same_as_the_rsa_crate(&two_prime);
        // A size without a specialised exponentiation takes the general path.
        let small = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1536).unwrap();
        same_as_the_rsa_crate(&small);
    }
}
