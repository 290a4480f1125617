//! The tokens shared by every expression kind.

/// What a token is; its text is the source slice `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A letter or `_`, then letters, digits, `_` (attribute names, keywords, functions).
    Ident,
    /// `#name` placeholder.
    Name,
    /// `:value` placeholder.
    Value,
    /// Digits (list indexes).
    Number,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Plus,
    Minus,
    /// Any other character, always a syntax error where it appears.
    Other,
    Eof,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Token {
    pub kind: Tok,
    pub start: usize,
    pub end: usize,
}

fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Splits `text` into tokens, ending with one `Eof` token.
pub(crate) fn tokenize(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::with_capacity(bytes.len() / 3 + 2);
    let mut i = 0;
    let run = |from: usize, pred: fn(u8) -> bool| {
        from + bytes[from..].iter().take_while(|&&b| pred(b)).count()
    };
    while i < bytes.len() {
        let b = bytes[i];
        if matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
            continue;
        }
        let (kind, end) = match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => (Tok::Ident, run(i, word_byte)),
            b'0'..=b'9' => (Tok::Number, run(i, |b| b.is_ascii_digit())),
            b'#' | b':' => {
                let end = run(i + 1, word_byte);
                match (b, end > i + 1) {
                    (b'#', true) => (Tok::Name, end),
                    (b':', true) => (Tok::Value, end),
                    _ => (Tok::Other, i + 1),
                }
            }
            b'<' => match bytes.get(i + 1) {
                Some(b'>') => (Tok::Ne, i + 2),
                Some(b'=') => (Tok::Le, i + 2),
                _ => (Tok::Lt, i + 1),
            },
            b'>' => match bytes.get(i + 1) {
                Some(b'=') => (Tok::Ge, i + 2),
                _ => (Tok::Gt, i + 1),
            },
            b'=' => (Tok::Eq, i + 1),
            b'(' => (Tok::LParen, i + 1),
            b')' => (Tok::RParen, i + 1),
            b'[' => (Tok::LBracket, i + 1),
            b']' => (Tok::RBracket, i + 1),
            b',' => (Tok::Comma, i + 1),
            b'.' => (Tok::Dot, i + 1),
            b'+' => (Tok::Plus, i + 1),
            b'-' => (Tok::Minus, i + 1),
            _ => {
                let width = text[i..].chars().next().map_or(1, char::len_utf8);
                (Tok::Other, i + width)
            }
        };
        tokens.push(Token {
            kind,
            start: i,
            end,
        });
        i = end;
    }
    tokens.push(Token {
        kind: Tok::Eof,
        start: bytes.len(),
        end: bytes.len(),
    });
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_operators_placeholders_and_words() {
        let kinds: Vec<Tok> = tokenize("#a.b[12] <>:v_1 AND x>=y # : é")
            .iter()
            .map(|t| t.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                Tok::Name,
                Tok::Dot,
                Tok::Ident,
                Tok::LBracket,
                Tok::Number,
                Tok::RBracket,
                Tok::Ne,
                Tok::Value,
                Tok::Ident,
                Tok::Ident,
                Tok::Ge,
                Tok::Ident,
                Tok::Other,
                Tok::Other,
                Tok::Other,
                Tok::Eof
            ]
        );
    }
}
