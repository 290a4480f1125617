//! Just enough DER to write one self-signed X.509 certificate.

pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

pub fn sequence(items: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &items.concat())
}

/// A non-negative INTEGER from big-endian bytes.
pub fn unsigned(bytes: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let mut content = if trimmed.is_empty() { vec![0] } else { trimmed };
    if content[0] & 0x80 != 0 {
        content.insert(0, 0);
    }
    tlv(0x02, &content)
}

pub fn bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut content = vec![0];
    content.extend_from_slice(bytes);
    tlv(0x03, &content)
}

pub fn utc_time(text: &str) -> Vec<u8> {
    tlv(0x17, text.as_bytes())
}

/// `[0] EXPLICIT`.
pub fn explicit0(inner: &[u8]) -> Vec<u8> {
    tlv(0xa0, inner)
}

/// `Name` with one common name.
pub fn common_name(cn: &str) -> Vec<u8> {
    const CN_OID: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x03];
    let attribute = sequence(&[CN_OID.to_vec(), tlv(0x0c, cn.as_bytes())]);
    sequence(&[tlv(0x31, &attribute)])
}

/// `AlgorithmIdentifier` of sha256WithRSAEncryption (1.2.840.113549.1.1.11) with NULL params.
pub fn sha256_with_rsa() -> Vec<u8> {
    sequence(&[
        vec![
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b,
        ],
        vec![0x05, 0x00],
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_integers() {
        assert_eq!(tlv(0x04, &[1, 2]), vec![0x04, 2, 1, 2]);
        assert_eq!(&tlv(0x04, &[0; 200])[..3], &[0x04, 0x81, 200]);
        assert_eq!(&tlv(0x04, &[0; 300])[..4], &[0x04, 0x82, 1, 44]);
        assert_eq!(unsigned(&[0x80]), vec![0x02, 2, 0, 0x80]);
        assert_eq!(unsigned(&[0, 0, 5]), vec![0x02, 1, 5]);
    }
}
