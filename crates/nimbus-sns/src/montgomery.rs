//! Modular exponentiation for one prime of the signing key: Montgomery multiplication (CIOS)
//! on fixed-size limb arrays, which the general big-number code cannot specialise for.
//!
//! Not constant-time: the key signs messages of a local emulator and protects no secret.

use rsa::BigUint;

/// Exponentiation modulo one odd modulus of `N` 64-bit limbs.
pub(crate) struct Modulus<const N: usize> {
    limbs: [u64; N],
    /// -limbs[0]⁻¹ mod 2⁶⁴.
    inverse: u64,
    /// R² mod m, R = 2^(64·N): converts into Montgomery form.
    r_squared: [u64; N],
}

/// Window width of the exponentiation: 16 precomputed powers.
const WINDOW: usize = 4;

impl<const N: usize> Modulus<N> {
    /// `None` when `m` is even or does not take exactly `N` limbs.
    pub fn new(m: &BigUint) -> Option<Self> {
        let limbs = to_limbs::<N>(m)?;
        if limbs[0] & 1 == 0 || limbs[N - 1] == 0 {
            return None;
        }
        // Newton's iteration doubles the correct low bits each step: 1 → 64.
        let mut inverse: u64 = 1;
        for _ in 0..6 {
            inverse = inverse.wrapping_mul(2_u64.wrapping_sub(limbs[0].wrapping_mul(inverse)));
        }
        let r_squared = to_limbs::<N>(&((BigUint::from(1_u32) << (128 * N)) % m))?;
        Some(Modulus {
            limbs,
            inverse: inverse.wrapping_neg(),
            r_squared,
        })
    }

    /// a·b·R⁻¹ mod m, for a, b < m.
    fn multiply(&self, a: &[u64; N], b: &[u64; N]) -> [u64; N] {
        let m = &self.limbs;
        let mut t = [0_u64; N];
        let mut high = 0_u64;
        for &b_limb in b {
            let mut carry = 0_u64;
            for j in 0..N {
                let sum =
                    u128::from(t[j]) + u128::from(a[j]) * u128::from(b_limb) + u128::from(carry);
                t[j] = sum as u64;
                carry = (sum >> 64) as u64;
            }
            let sum = u128::from(high) + u128::from(carry);
            high = sum as u64;
            let higher = (sum >> 64) as u64;

            let factor = t[0].wrapping_mul(self.inverse);
            let sum = u128::from(t[0]) + u128::from(factor) * u128::from(m[0]);
            let mut carry = (sum >> 64) as u64;
            for j in 1..N {
                let sum =
                    u128::from(t[j]) + u128::from(factor) * u128::from(m[j]) + u128::from(carry);
                t[j - 1] = sum as u64;
                carry = (sum >> 64) as u64;
            }
            let sum = u128::from(high) + u128::from(carry);
            t[N - 1] = sum as u64;
            high = higher + (sum >> 64) as u64;
        }
        if high != 0 || !less_than(&t, m) {
            subtract(&mut t, m);
        }
        t
    }

    /// value^exponent mod m, for a value of any length given as little-endian limbs and an
    /// exponent as big-endian bytes; the result as limbs.
    pub fn pow_of(&self, value: &[u64], exponent: &[u8]) -> [u64; N] {
        let base = self.reduce(value);
        let mut one = [0_u64; N];
        one[0] = 1;
        let mut table = [[0_u64; N]; 1 << WINDOW];
        table[0] = self.multiply(&one, &self.r_squared);
        for i in 1..table.len() {
            table[i] = self.multiply(&table[i - 1], &base);
        }
        let mut result = table[0];
        for &byte in exponent {
            for nibble in [byte >> 4, byte & 0x0f] {
                for _ in 0..WINDOW {
                    result = self.multiply(&result, &result);
                }
                if nibble != 0 {
                    result = self.multiply(&result, &table[usize::from(nibble)]);
                }
            }
        }
        self.multiply(&result, &one)
    }

    /// value·R mod m (the Montgomery form of value mod m), by Horner's rule over chunks of
    /// `N` limbs: far cheaper than a general division of the whole value.
    fn reduce(&self, value: &[u64]) -> [u64; N] {
        let mut result = [0_u64; N];
        for chunk in value.chunks(N).rev() {
            let mut limbs = [0_u64; N];
            limbs[..chunk.len()].copy_from_slice(chunk);
            // Both products are below m·R (one factor is below R, the other below m).
            let shifted = self.multiply(&result, &self.r_squared);
            let digit = self.multiply(&limbs, &self.r_squared);
            result = self.add(&shifted, &digit);
        }
        result
    }

    /// a + b mod m, for a, b < m.
    fn add(&self, a: &[u64; N], b: &[u64; N]) -> [u64; N] {
        let mut sum = [0_u64; N];
        let mut carry = false;
        for i in 0..N {
            let (s, c1) = a[i].overflowing_add(b[i]);
            let (s, c2) = s.overflowing_add(u64::from(carry));
            sum[i] = s;
            carry = c1 || c2;
        }
        if carry || !less_than(&sum, &self.limbs) {
            subtract(&mut sum, &self.limbs);
        }
        sum
    }
}

fn less_than<const N: usize>(a: &[u64; N], b: &[u64; N]) -> bool {
    for i in (0..N).rev() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
    }
    false
}

fn subtract<const N: usize>(a: &mut [u64; N], b: &[u64; N]) {
    let mut borrow = false;
    for i in 0..N {
        let (d, b1) = a[i].overflowing_sub(b[i]);
        let (d, b2) = d.overflowing_sub(u64::from(borrow));
        a[i] = d;
        borrow = b1 || b2;
    }
}

/// The little-endian limbs of a big-endian number.
pub(crate) fn limbs_of_be_bytes(bytes: &[u8]) -> Vec<u64> {
    bytes
        .rchunks(8)
        .map(|chunk| {
            let mut word = [0_u8; 8];
            word[8 - chunk.len()..].copy_from_slice(chunk);
            u64::from_be_bytes(word)
        })
        .collect()
}

/// Little-endian limbs; `None` when the value needs more than `N`.
fn to_limbs<const N: usize>(value: &BigUint) -> Option<[u64; N]> {
    let bytes = value.to_bytes_le();
    if bytes.len() > N * 8 {
        return None;
    }
    let mut limbs = [0_u64; N];
    for (i, chunk) in bytes.chunks(8).enumerate() {
        let mut word = [0_u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        limbs[i] = u64::from_le_bytes(word);
    }
    Some(limbs)
}

/// The number whose little-endian limbs these are.
pub(crate) fn from_limbs(limbs: &[u64]) -> BigUint {
    let bytes: Vec<u8> = limbs.iter().flat_map(|l| l.to_le_bytes()).collect();
    BigUint::from_bytes_le(&bytes)
}

#[cfg(test)]
mod tests {
    use num_bigint_dig::{RandBigInt, RandPrime};

    use super::*;

    fn agrees_with_general_modpow<const N: usize>(bits: usize) {
        let mut rng = rsa::rand_core::OsRng;
        for round in 0..8 {
            // Primes like the key's, and once an odd composite: Montgomery needs only oddness.
            let m = if round == 0 {
                rng.gen_biguint(bits) | BigUint::from(1_u32) | (BigUint::from(1_u32) << (bits - 1))
            } else {
                rng.gen_prime(bits)
            };
            let modulus = Modulus::<N>::new(&m).unwrap();
            for exponent in [
                BigUint::from(0_u32),
                BigUint::from(1_u32),
                BigUint::from(65_537_u32),
                rng.gen_biguint(bits),
            ] {
                let base = rng.gen_biguint_below(&m);
                assert_eq!(
                    from_limbs(&modulus.pow_of(
                        &limbs_of_be_bytes(&base.to_bytes_be()),
                        &exponent.to_bytes_be()
                    )),
                    base.modpow(&exponent, &m),
                    "{bits}-bit modulus, round {round}"
                );
            }
            let top = &m - BigUint::from(1_u32);
            assert_eq!(
                from_limbs(&modulus.pow_of(&limbs_of_be_bytes(&top.to_bytes_be()), &[2])),
                BigUint::from(1_u32)
            );
        }
    }

    #[test]
    fn matches_the_general_modpow_for_the_key_sizes() {
        agrees_with_general_modpow::<4>(256);
        agrees_with_general_modpow::<8>(512);
        agrees_with_general_modpow::<16>(1024);
    }

    #[test]
    fn long_values_are_reduced_before_exponentiation() {
        let mut rng = rsa::rand_core::OsRng;
        let m = rng.gen_prime(256);
        let modulus = Modulus::<4>::new(&m).unwrap();
        let exponent = rng.gen_biguint(256);
        for bits in [1, 64, 255, 256, 300, 2048] {
            let value = rng.gen_biguint(bits);
            let limbs = limbs_of_be_bytes(&value.to_bytes_be());
            assert_eq!(
                from_limbs(&modulus.pow_of(&limbs, &exponent.to_bytes_be())),
                value.modpow(&exponent, &m),
                "{bits}-bit value"
            );
        }
        assert_eq!(modulus.pow_of(&[], &[1]), [0; 4]);
    }

    #[test]
    fn refuses_even_or_wrongly_sized_moduli() {
        assert!(Modulus::<8>::new(&(BigUint::from(1_u32) << 511)).is_none());
        assert!(Modulus::<8>::new(&BigUint::from(7_u32)).is_none());
        assert!(Modulus::<8>::new(&((BigUint::from(1_u32) << 600) + 1_u32)).is_none());
    }
}
