//! The parsing machinery every expression kind shares: token navigation, syntax errors in
//! DynamoDB's words, document paths, placeholders, function-call operands, and the semantic
//! problems DynamoDB reports once the syntax is valid (each kind ranks them in its own order).

use crate::lexer::{Tok, Token, tokenize};
use crate::reserved::is_reserved;
use crate::{AttrValue, ExprError, Params, Path, PathElem};

/// A syntax failure; where it happened is kept in [`Parser::farthest`].
pub(crate) struct Fail;

pub(crate) type Parsed<T> = Result<T, Fail>;

/// Kinds of semantic problem; the first message of each kind is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Problem {
    Parens,
    UnknownFunction,
    MisusedFunction,
    Reserved,
    /// The first undefined `#name` or `:value`, whichever came first.
    Undefined,
    UndefinedName,
    UndefinedValue,
    Operand,
    Distinct,
    Function,
    Section,
    PathOverlap,
    PathConflict,
    /// Condition problems as of the first comparison or function that had one.
    Condition,
}

const PROBLEM_KINDS: usize = 14;

#[derive(Debug, Clone, Default)]
pub(crate) struct Problems {
    first: [Option<String>; PROBLEM_KINDS],
}

impl Problems {
    pub fn note(&mut self, kind: Problem, message: impl FnOnce() -> String) {
        let slot = &mut self.first[kind as usize];
        if slot.is_none() {
            *slot = Some(message());
        }
    }

    pub fn get(&self, kind: Problem) -> Option<&String> {
        self.first[kind as usize].as_ref()
    }

    /// The first problem in `order`, if any.
    pub fn first_of(&self, order: &[Problem]) -> Option<String> {
        order.iter().find_map(|&kind| self.get(kind).cloned())
    }
}

/// An operand as written, before each expression kind gives it meaning.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Raw {
    Path(Path),
    Value(AttrValue),
    Call(String, Vec<Raw>),
}

/// Attribute type names as DynamoDB spells them in messages.
pub(crate) fn type_code(value: &AttrValue) -> &'static str {
    match value {
        AttrValue::S(_) => "S",
        AttrValue::N(_) => "N",
        AttrValue::B(_) => "B",
        AttrValue::Bool(_) => "BOOL",
        AttrValue::Null => "NULL",
        AttrValue::M(_) => "M",
        AttrValue::L(_) => "L",
        AttrValue::Ss(_) => "SS",
        AttrValue::Ns(_) => "NS",
        AttrValue::Bs(_) => "BS",
    }
}

pub(crate) struct Parser<'t, 'p> {
    text: &'t str,
    tokens: Vec<Token>,
    pub pos: usize,
    farthest: usize,
    pub params: &'p mut Params,
    pub problems: Problems,
    /// Words of this expression kind that can never be attribute names (`AND`, `SET`, …).
    keywords: &'static [&'static str],
}

impl<'t, 'p> Parser<'t, 'p> {
    /// A parser over `text`; an empty expression is DynamoDB's own error.
    pub fn new(
        text: &'t str,
        params: &'p mut Params,
        keywords: &'static [&'static str],
    ) -> Result<Parser<'t, 'p>, ExprError> {
        if text.trim_matches([' ', '\t', '\r', '\n']).is_empty() {
            return Err(ExprError::new("The expression can not be empty;"));
        }
        Ok(Parser {
            text,
            tokens: tokenize(text),
            pos: 0,
            farthest: 0,
            params,
            problems: Problems::default(),
            keywords,
        })
    }

    pub fn peek(&self) -> Tok {
        self.tokens[self.pos].kind
    }

    pub fn peek_at(&self, ahead: usize) -> Tok {
        self.tokens
            .get(self.pos + ahead)
            .map_or(Tok::Eof, |t| t.kind)
    }

    pub fn text_of(&self, index: usize) -> &'t str {
        let token = self.tokens[index];
        &self.text[token.start..token.end]
    }

    /// Whether the current token is the keyword `word` (any case).
    pub fn at_keyword(&self, word: &str) -> bool {
        self.peek() == Tok::Ident && self.text_of(self.pos).eq_ignore_ascii_case(word)
    }

    fn is_keyword(&self, index: usize) -> bool {
        let text = self.text_of(index);
        self.keywords.iter().any(|k| k.eq_ignore_ascii_case(text))
    }

    /// Records a syntax failure at the current token.
    pub fn fail<T>(&mut self) -> Parsed<T> {
        self.farthest = self.farthest.max(self.pos);
        Err(Fail)
    }

    pub fn advance(&mut self) {
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
    }

    /// Consumes a token of `kind` or fails.
    pub fn expect(&mut self, kind: Tok) -> Parsed<()> {
        if self.peek() == kind {
            self.advance();
            Ok(())
        } else {
            self.fail()
        }
    }

    pub fn expect_keyword(&mut self, word: &str) -> Parsed<()> {
        if self.at_keyword(word) {
            self.advance();
            Ok(())
        } else {
            self.fail()
        }
    }

    /// Fails unless all input was consumed.
    pub fn expect_end(&mut self) -> Parsed<()> {
        self.expect(Tok::Eof)
    }

    /// DynamoDB's syntax error: the offending token and the source around it.
    pub fn syntax_error(&self) -> String {
        let at = self.farthest.min(self.tokens.len() - 1);
        let token = self.tokens[at];
        let shown = if token.kind == Tok::Eof {
            "<EOF>"
        } else {
            &self.text[token.start..token.end]
        };
        let start = if at > 0 {
            self.tokens[at - 1].start
        } else {
            token.start
        };
        let end = self
            .tokens
            .get(at + 1)
            .map_or(self.text.len(), |next| next.end);
        format!(
            "Syntax error; token: \"{shown}\", near: \"{}\"",
            &self.text[start..end]
        )
    }

    /// One attribute-name step of a path: a word or a `#name`.
    fn path_name(&mut self) -> Parsed<String> {
        match self.peek() {
            Tok::Ident if !self.is_keyword(self.pos) => {
                let word = self.text_of(self.pos);
                if is_reserved(word) {
                    self.problems.note(Problem::Reserved, || {
                        format!("Attribute name is a reserved keyword; reserved keyword: {word}")
                    });
                }
                self.advance();
                Ok(word.to_owned())
            }
            Tok::Name => {
                let key = self.text_of(self.pos);
                self.advance();
                match self.params.name(key) {
                    Some(name) => Ok(name.to_owned()),
                    None => {
                        let message = || {
                            format!(
                                "An expression attribute name used in the document path is not defined; attribute name: {key}"
                            )
                        };
                        self.problems.note(Problem::Undefined, message);
                        self.problems.note(Problem::UndefinedName, message);
                        Ok(key.to_owned())
                    }
                }
            }
            _ => self.fail(),
        }
    }

    /// A document path: `name ( .name | [index] )*`.
    pub fn path(&mut self) -> Parsed<Path> {
        let mut elems = vec![PathElem::Attr(self.path_name()?)];
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.advance();
                    elems.push(PathElem::Attr(self.path_name()?));
                }
                Tok::LBracket => {
                    self.advance();
                    if self.peek() != Tok::Number {
                        return self.fail();
                    }
                    let Ok(index) = self.text_of(self.pos).parse::<usize>() else {
                        return self.fail();
                    };
                    self.advance();
                    self.expect(Tok::RBracket)?;
                    elems.push(PathElem::Index(index));
                }
                _ => return Ok(Path::from_elems(elems)),
            }
        }
    }

    /// A `:value` placeholder, resolved (an undefined one is noted and read as NULL).
    pub fn value(&mut self) -> Parsed<AttrValue> {
        if self.peek() != Tok::Value {
            return self.fail();
        }
        let key = self.text_of(self.pos);
        self.advance();
        if let Some(value) = self.params.value(key) {
            return Ok(value.clone());
        }
        let message = || {
            format!(
                "An expression attribute value used in expression is not defined; attribute value: {key}"
            )
        };
        self.problems.note(Problem::Undefined, message);
        self.problems.note(Problem::UndefinedValue, message);
        Ok(AttrValue::Null)
    }

    /// An operand: a parenthesised operand, a function call, a value or a path.
    /// `on_call` checks each call as it is read (names, operand counts, types).
    pub fn operand(&mut self, on_call: fn(&mut Parser, &str, &[Raw])) -> Parsed<Raw> {
        match self.peek() {
            Tok::LParen => {
                self.advance();
                if self.peek() == Tok::LParen {
                    self.problems.note(Problem::Parens, || {
                        "The expression has redundant parentheses;".to_owned()
                    });
                }
                let inner = self.operand(on_call)?;
                self.expect(Tok::RParen)?;
                Ok(inner)
            }
            Tok::Value => Ok(Raw::Value(self.value()?)),
            Tok::Ident if self.peek_at(1) == Tok::LParen && !self.is_keyword(self.pos) => {
                let name = self.text_of(self.pos);
                self.advance();
                self.advance();
                let mut args = vec![self.operand(on_call)?];
                while self.peek() == Tok::Comma {
                    self.advance();
                    args.push(self.operand(on_call)?);
                }
                self.expect(Tok::RParen)?;
                on_call(self, name, &args);
                Ok(Raw::Call(name.to_owned(), args))
            }
            _ => Ok(Raw::Path(self.path()?)),
        }
    }

    /// Saves the position and problems, to try an alternative.
    pub fn mark(&self) -> (usize, Problems) {
        (self.pos, self.problems.clone())
    }

    pub fn reset(&mut self, mark: (usize, Problems)) {
        self.pos = mark.0;
        self.problems = mark.1;
    }
}

/// Messages of the checks shared by conditions and updates.
pub(crate) fn operand_count(name: &str, count: usize) -> String {
    format!(
        "Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {count}"
    )
}

pub(crate) fn operand_type(name: &str, type_code: &str) -> String {
    format!(
        "Incorrect operand type for operator or function; operator or function: {name}, operand type: {type_code}"
    )
}

pub(crate) fn needs_path(name: &str) -> String {
    format!("Operator or function requires a document path; operator or function: {name}")
}

/// Checks that no two paths overlap (one a prefix of the other) or conflict (a map key
/// where the other has a list index), as updates and projections require.
pub(crate) fn check_paths<'a>(problems: &mut Problems, paths: impl Iterator<Item = &'a Path>) {
    let mut seen: Vec<&Path> = Vec::new();
    for path in paths {
        for earlier in &seen {
            let (a, b) = (earlier.elems(), path.elems());
            let mut overlap = true;
            for (x, y) in a.iter().zip(b) {
                let same_kind = matches!(
                    (x, y),
                    (PathElem::Attr(_), PathElem::Attr(_))
                        | (PathElem::Index(_), PathElem::Index(_))
                );
                if !same_kind {
                    problems.note(Problem::PathConflict, || {
                        format!(
                            "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {earlier}, path two: {path}"
                        )
                    });
                    overlap = false;
                    break;
                }
                if x != y {
                    overlap = false;
                    break;
                }
            }
            if overlap {
                problems.note(Problem::PathOverlap, || {
                    format!(
                        "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {earlier}, path two: {path}"
                    )
                });
            }
        }
        seen.push(path);
    }
}
