//! `application/x-www-form-urlencoded` parsing for awsQuery.

use std::collections::BTreeMap;

use percent_encoding::percent_decode;

/// Parses `a=1&b=x+y` into a sorted map; later duplicates win. Undecodable UTF-8 is replaced,
/// never a panic.
pub fn parse_form(text: &[u8], into: &mut BTreeMap<String, String>) {
    for pair in text.split(|b| *b == b'&') {
        if pair.is_empty() {
            continue;
        }
        let (key, value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        into.insert(decode(key), decode(value));
    }
}

fn decode(part: &[u8]) -> String {
    let plus_as_space: Vec<u8> = part
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    percent_decode(&plus_as_space)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            (
                "Action=SendMessage&MessageBody=a+b%26c",
                &[("Action", "SendMessage"), ("MessageBody", "a b&c")],
            ),
            ("A=1&&B&A=2", &[("A", "2"), ("B", "")]),
            ("%ZZ=%E2%82%AC", &[("%ZZ", "€")]),
            ("X=%FF", &[("X", "\u{FFFD}")]),
        ];
        for (text, want) in cases {
            let mut got = BTreeMap::new();
            parse_form(text.as_bytes(), &mut got);
            let want: BTreeMap<String, String> = want
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(got, want, "{text}");
        }
    }
}
