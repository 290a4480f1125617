//! Filter patterns for FilterLogEvents: terms (`ERROR`, `"exact phrase"`, `?a ?b`, `-x`) and
//! JSON selectors (`{ $.level = "error" && $.ms > 100 }`), as the CloudWatch Logs
//! documentation describes them. Term matching is case sensitive.

use serde_json::Value;

/// A parsed pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    /// Matches everything (an empty pattern).
    All,
    /// Every `required` term, none of the `excluded`, and one of `any` (when there are some).
    Terms {
        required: Vec<String>,
        excluded: Vec<String>,
        any: Vec<String>,
    },
    /// A JSON selector expression.
    Json(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Compare {
        path: Vec<String>,
        op: Op,
        value: Literal,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Text(String),
    Number(f64),
    Bool(bool),
    Null,
}

/// Why a pattern was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternError;

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Pattern::All);
        }
        if let Some(inner) = text.strip_prefix('{') {
            let inner = inner.strip_suffix('}').ok_or(PatternError)?;
            let tokens = tokenize(inner)?;
            let mut parser = Parser { tokens, at: 0 };
            let expr = parser.or()?;
            if parser.at != parser.tokens.len() {
                return Err(PatternError);
            }
            return Ok(Pattern::Json(expr));
        }
        let (mut required, mut excluded, mut any) = (Vec::new(), Vec::new(), Vec::new());
        for term in split_terms(text)? {
            if let Some(t) = term.strip_prefix('?') {
                any.push(unquote(t));
            } else if let Some(t) = term.strip_prefix('-').filter(|t| !t.is_empty()) {
                excluded.push(unquote(t));
            } else {
                required.push(unquote(&term));
            }
        }
        Ok(Pattern::Terms {
            required,
            excluded,
            any,
        })
    }

    pub fn matches(&self, message: &str) -> bool {
        match self {
            Pattern::All => true,
            Pattern::Terms {
                required,
                excluded,
                any,
            } => {
                required.iter().all(|t| message.contains(t.as_str()))
                    && !excluded.iter().any(|t| message.contains(t.as_str()))
                    && (any.is_empty() || any.iter().any(|t| message.contains(t.as_str())))
            }
            Pattern::Json(expr) => {
                serde_json::from_str::<Value>(message.trim()).is_ok_and(|doc| eval(expr, &doc))
            }
        }
    }
}

fn unquote(term: &str) -> String {
    term.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(term)
        .to_owned()
}

fn split_terms(text: &str) -> Result<Vec<String>, PatternError> {
    let mut terms = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    terms.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if quoted {
        return Err(PatternError);
    }
    if !current.is_empty() {
        terms.push(current);
    }
    Ok(terms)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Path(Vec<String>),
    Op(Op),
    Lit(Literal),
    And,
    Or,
    Open,
    Close,
}

fn tokenize(text: &str) -> Result<Vec<Token>, PatternError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            '&' if next == Some('&') => {
                tokens.push(Token::And);
                i += 2;
            }
            '|' if next == Some('|') => {
                tokens.push(Token::Or);
                i += 2;
            }
            '=' => {
                tokens.push(Token::Op(Op::Eq));
                i += 1;
            }
            '!' if next == Some('=') => {
                tokens.push(Token::Op(Op::Ne));
                i += 2;
            }
            '<' | '>' => {
                let eq = next == Some('=');
                tokens.push(Token::Op(match (c, eq) {
                    ('<', false) => Op::Lt,
                    ('<', true) => Op::Le,
                    ('>', false) => Op::Gt,
                    _ => Op::Ge,
                }));
                i += if eq { 2 } else { 1 };
            }
            '"' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&c| c == '"')
                    .ok_or(PatternError)?;
                tokens.push(Token::Lit(Literal::Text(
                    chars[i + 1..i + 1 + end].iter().collect(),
                )));
                i += end + 2;
            }
            '$' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '$' | '.' | '_' | '-'))
                {
                    i += 1;
                }
                let path: String = chars[start..i].iter().collect();
                let fields = path
                    .strip_prefix("$.")
                    .ok_or(PatternError)?
                    .split('.')
                    .map(str::to_owned)
                    .collect();
                tokens.push(Token::Path(fields));
            }
            _ => {
                let start = i;
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(chars[i], ')' | '&' | '|')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let literal = match word.as_str() {
                    "true" => Literal::Bool(true),
                    "false" => Literal::Bool(false),
                    "NULL" | "null" => Literal::Null,
                    w => w
                        .parse::<f64>()
                        .map_or_else(|_| Literal::Text(w.to_owned()), Literal::Number),
                };
                tokens.push(Token::Lit(literal));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn or(&mut self) -> Result<Expr, PatternError> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Or) {
            self.at += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, PatternError> {
        let mut left = self.primary()?;
        while self.peek() == Some(&Token::And) {
            self.at += 1;
            left = Expr::And(Box::new(left), Box::new(self.primary()?));
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<Expr, PatternError> {
        match self.tokens.get(self.at).cloned() {
            Some(Token::Open) => {
                self.at += 1;
                let inner = self.or()?;
                if self.peek() != Some(&Token::Close) {
                    return Err(PatternError);
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Token::Path(path)) => {
                let (Some(Token::Op(op)), Some(Token::Lit(value))) = (
                    self.tokens.get(self.at + 1).cloned(),
                    self.tokens.get(self.at + 2).cloned(),
                ) else {
                    return Err(PatternError);
                };
                self.at += 3;
                Ok(Expr::Compare { path, op, value })
            }
            _ => Err(PatternError),
        }
    }
}

fn lookup<'a>(doc: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(doc, |node, field| node.get(field))
}

fn eval(expr: &Expr, doc: &Value) -> bool {
    match expr {
        Expr::And(a, b) => eval(a, doc) && eval(b, doc),
        Expr::Or(a, b) => eval(a, doc) || eval(b, doc),
        Expr::Compare { path, op, value } => {
            let found = lookup(doc, path);
            match (found, value) {
                (Some(Value::Number(n)), Literal::Number(want)) => {
                    let n = n.as_f64().unwrap_or(f64::NAN);
                    match op {
                        Op::Eq => n == *want,
                        Op::Ne => n != *want,
                        Op::Lt => n < *want,
                        Op::Le => n <= *want,
                        Op::Gt => n > *want,
                        Op::Ge => n >= *want,
                    }
                }
                (Some(Value::String(s)), Literal::Text(want)) => {
                    let equal = glob(want, s);
                    match op {
                        Op::Eq => equal,
                        Op::Ne => !equal,
                        _ => false,
                    }
                }
                (Some(Value::Bool(b)), Literal::Bool(want)) => match op {
                    Op::Eq => b == want,
                    Op::Ne => b != want,
                    _ => false,
                },
                (Some(Value::Null), Literal::Null) => *op == Op::Eq,
                (None, _) => false,
                _ => *op == Op::Ne,
            }
        }
    }
}

/// String comparison with `*` wildcards, as JSON patterns allow.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(after) = rest.strip_prefix(part) else {
                return false;
            };
            rest = after;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(at) = rest.find(part) {
            rest = &rest[at + part.len()..];
        } else {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, message: &str) -> bool {
        Pattern::parse(pattern).is_ok_and(|p| p.matches(message))
    }

    #[test]
    fn term_patterns() {
        let cases = [
            ("", "anything", true),
            ("ERROR", "an ERROR here", true),
            ("ERROR", "an error here", false),
            ("ERROR Exception", "ERROR without the other", false),
            ("ERROR Exception", "ERROR and Exception", true),
            ("\"bad thing\"", "a bad thing happened", true),
            ("\"bad thing\"", "bad and thing", false),
            ("?ERROR ?WARN", "WARN: x", true),
            ("?ERROR ?WARN", "INFO: x", false),
            ("ERROR -timeout", "ERROR timeout", false),
            ("ERROR -timeout", "ERROR other", true),
        ];
        for (pattern, message, want) in cases {
            assert_eq!(m(pattern, message), want, "{pattern:?} on {message:?}");
        }
    }

    #[test]
    fn json_patterns() {
        let doc = r#"{"level":"error","ms":150,"user":{"id":"u-1"},"ok":false}"#;
        let cases = [
            ("{ $.level = \"error\" }", true),
            ("{ $.level = \"err*\" }", true),
            ("{ $.level != \"error\" }", false),
            ("{ $.ms > 100 }", true),
            ("{ $.ms <= 100 }", false),
            ("{ $.user.id = \"u-1\" && $.ms >= 150 }", true),
            ("{ ($.level = \"info\") || $.ok = false }", true),
            ("{ $.missing = \"x\" }", false),
        ];
        for (pattern, want) in cases {
            assert_eq!(m(pattern, doc), want, "{pattern}");
        }
        assert!(!m("{ $.level = \"error\" }", "not json"));
        assert!(Pattern::parse("{ $.level = }").is_err());
        assert!(Pattern::parse("\"unclosed").is_err());
    }
}
