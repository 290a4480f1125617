//! Parsing update expressions, with DynamoDB's checks and their order.

use crate::lexer::Tok;
use crate::parser::{
    Parsed, Parser, Problem, Raw, check_paths, needs_path, operand_count, operand_type, type_code,
};
use crate::update::{Action, SetOperand, SetValue};
use crate::{AttrValue, ExprError, Params, Path};

const KEYWORDS: &[&str] = &["SET", "REMOVE", "ADD", "DELETE"];

/// The order DynamoDB reports problems of a syntactically valid update.
const ORDER: &[Problem] = &[
    Problem::Reserved,
    Problem::UnknownFunction,
    Problem::Section,
    Problem::UndefinedName,
    Problem::UndefinedValue,
    Problem::PathOverlap,
    Problem::PathConflict,
    Problem::Operand,
    Problem::Function,
];

pub(crate) fn parse(text: &str, params: &mut Params) -> Result<Vec<Action>, ExprError> {
    let prefixed = |message: String| ExprError::new(format!("Invalid UpdateExpression: {message}"));
    let mut parser = Parser::new(text, params, KEYWORDS).map_err(|e| prefixed(e.message))?;
    let Ok(actions) = sections(&mut parser) else {
        return Err(prefixed(parser.syntax_error()));
    };
    check_paths(&mut parser.problems, actions.iter().map(Action::path));
    if let Some(message) = parser.problems.first_of(ORDER) {
        return Err(prefixed(message));
    }
    Ok(actions)
}

fn sections(parser: &mut Parser) -> Parsed<Vec<Action>> {
    let mut actions = Vec::new();
    let mut seen: Vec<&'static str> = Vec::new();
    loop {
        let Some(&section) = KEYWORDS.iter().find(|k| parser.at_keyword(k)) else {
            return parser.fail();
        };
        parser.advance();
        loop {
            actions.push(action(parser, section)?);
            if parser.peek() != Tok::Comma {
                break;
            }
            parser.advance();
        }
        if seen.contains(&section) {
            parser.problems.note(Problem::Section, || {
                format!("The \"{section}\" section can only be used once in an update expression;")
            });
        }
        seen.push(section);
        if parser.peek() == Tok::Eof {
            return Ok(actions);
        }
    }
}

fn action(parser: &mut Parser, section: &str) -> Parsed<Action> {
    let path = parser.path()?;
    match section {
        "SET" => {
            parser.expect(Tok::Eq)?;
            Ok(Action::Set(path, set_value(parser)?))
        }
        "REMOVE" => Ok(Action::Remove(path)),
        _ => {
            let value = parser.value()?;
            check_set_operand(parser, section, &value);
            Ok(if section == "ADD" {
                Action::Add(path, value)
            } else {
                Action::Delete(path, value)
            })
        }
    }
}

/// ADD takes a number or a set, DELETE a set.
fn check_set_operand(parser: &mut Parser, section: &str, value: &AttrValue) {
    let name = match value {
        AttrValue::S(_) => "STRING",
        AttrValue::N(_) if section == "ADD" => return,
        AttrValue::N(_) => "NUMBER",
        AttrValue::B(_) => "BINARY",
        AttrValue::Null => "NULL",
        AttrValue::Bool(_) => "BOOLEAN",
        AttrValue::L(_) => "LIST",
        AttrValue::M(_) => "MAP",
        AttrValue::Ss(_) | AttrValue::Ns(_) | AttrValue::Bs(_) => return,
    };
    parser.problems.note(Problem::Operand, || {
        format!("Incorrect operand type for operator or function; operator: {section}, operand type: {name}")
    });
}

/// `operand`, `operand + operand` or `operand - operand`, optionally in parentheses.
fn set_value(parser: &mut Parser) -> Parsed<SetValue> {
    if parser.peek() == Tok::LParen {
        let mark = parser.mark();
        parser.advance();
        if let Ok(value) = arithmetic(parser)
            && parser.peek() == Tok::RParen
        {
            parser.advance();
            return Ok(value);
        }
        parser.reset(mark);
    }
    arithmetic(parser)
}

fn arithmetic(parser: &mut Parser) -> Parsed<SetValue> {
    let first = parser.operand(check_call)?;
    let operator = match parser.peek() {
        Tok::Plus => "+",
        Tok::Minus => "-",
        _ => return Ok(SetValue::Operand(set_operand(first))),
    };
    parser.advance();
    let second = parser.operand(check_call)?;
    for raw in [&first, &second] {
        check_typed(parser, operator, raw, "N");
    }
    let (a, b) = (set_operand(first), set_operand(second));
    Ok(if operator == "+" {
        SetValue::Plus(a, b)
    } else {
        SetValue::Minus(a, b)
    })
}

/// A literal operand of `operator` must have type `wanted`.
fn check_typed(parser: &mut Parser, operator: &str, raw: &Raw, wanted: &str) {
    if let Raw::Value(value) = raw
        && type_code(value) != wanted
    {
        let found = type_code(value);
        parser
            .problems
            .note(Problem::Function, || operand_type(operator, found));
    }
}

fn check_call(parser: &mut Parser, name: &str, args: &[Raw]) {
    if !matches!(name, "if_not_exists" | "list_append") {
        parser.problems.note(Problem::UnknownFunction, || {
            format!("Invalid function name; function: {name}")
        });
        return;
    }
    if args.len() != 2 {
        parser
            .problems
            .note(Problem::Function, || operand_count(name, args.len()));
        return;
    }
    if name == "if_not_exists" {
        if !matches!(args[0], Raw::Path(_)) {
            parser.problems.note(Problem::Function, || needs_path(name));
        }
    } else {
        for raw in args {
            check_typed(parser, name, raw, "L");
        }
    }
}

fn set_operand(raw: Raw) -> SetOperand {
    match raw {
        Raw::Path(path) => SetOperand::Path(path),
        Raw::Value(value) => SetOperand::Value(value),
        Raw::Call(name, args) => {
            let mut args = args.into_iter();
            match (name.as_str(), args.next(), args.next()) {
                ("if_not_exists", Some(Raw::Path(path)), Some(default)) => {
                    SetOperand::IfNotExists(path, Box::new(set_operand(default)))
                }
                ("list_append", Some(a), Some(b)) => {
                    SetOperand::ListAppend(Box::new(set_operand(a)), Box::new(set_operand(b)))
                }
                // Reported as a problem; never part of a returned update.
                _ => SetOperand::Value(AttrValue::Null),
            }
        }
    }
}

impl Action {
    pub(crate) fn path(&self) -> &Path {
        match self {
            Action::Set(p, _)
            | Action::Remove(p)
            | Action::Add(p, _)
            | Action::Delete(p, _)
            | Action::LegacyAdd(p, _)
            | Action::LegacyDelete(p, _) => p,
        }
    }
}
