//! `wildcard` matching: `*` stands for any run of characters, `\*` and `\\` are literals.

/// Whether `text` matches the wildcard `pattern`.
pub fn matches(pattern: &str, text: &str) -> bool {
    let tokens = tokens(pattern);
    let text: Vec<char> = text.chars().collect();
    // reachable[j]: the tokens seen so far can consume exactly text[..j].
    let mut reachable = vec![false; text.len() + 1];
    reachable[0] = true;
    for token in &tokens {
        let mut next = vec![false; text.len() + 1];
        match token {
            Token::Star => {
                let mut on = false;
                for j in 0..=text.len() {
                    on |= reachable[j];
                    next[j] = on;
                }
            }
            Token::Char(c) => {
                for j in 0..text.len() {
                    if reachable[j] && text[j] == *c {
                        next[j + 1] = true;
                    }
                }
            }
        }
        reachable = next;
    }
    reachable[text.len()]
}

#[derive(Debug, PartialEq)]
enum Token {
    Star,
    Char(char),
}

fn tokens(pattern: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(Token::Char(chars.next().unwrap_or('\\'))),
            '*' => out.push(Token::Star),
            c => out.push(Token::Char(c)),
        }
    }
    out
}

/// AWS refuses consecutive unescaped wildcards and stray escapes.
pub fn validate(pattern: &str) -> Result<(), &'static str> {
    let mut chars = pattern.chars().peekable();
    let mut previous_star = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                match chars.next() {
                    Some('*' | '\\') => {}
                    _ => return Err("Invalid escape character"),
                }
                previous_star = false;
            }
            '*' if previous_star => return Err("Consecutive wildcard characters are not allowed"),
            '*' => previous_star = true,
            _ => previous_star = false,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(matches("*.png", "dir/a.png"));
        assert!(matches("a*b*c", "aXbYc"));
        assert!(!matches("a*b*c", "aXbY"));
        assert!(matches("a\\*", "a*"));
        assert!(!matches("a\\*", "ab"));
        assert!(matches("*", ""));
        assert!(validate("a**").is_err());
        assert!(validate("a\\x").is_err());
        assert!(validate("a*\\**").is_ok());
    }
}
