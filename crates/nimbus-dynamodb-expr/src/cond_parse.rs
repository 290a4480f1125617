//! Parsing condition, filter and key-condition expressions into [`Cond`] trees, with the
//! checks DynamoDB makes once the syntax is valid, reported in DynamoDB's order.

use crate::compare::compare_values;
use crate::condition::{Comparator, Cond, Operand, TypeName};
use crate::lexer::Tok;
use crate::parser::{
    Parsed, Parser, Problem, Raw, needs_path, operand_count, operand_type, type_code,
};
use crate::{AttrValue, ExprError, Params};

const KEYWORDS: &[&str] = &["AND", "OR", "NOT", "BETWEEN", "IN"];

/// The order DynamoDB reports problems of a syntactically valid condition.
const ORDER: &[Problem] = &[
    Problem::Parens,
    Problem::UnknownFunction,
    Problem::MisusedFunction,
    Problem::Reserved,
    Problem::Condition,
];

/// Problems one comparison or function can have, in the order DynamoDB reports them.
const LEAF_ORDER: &[Problem] = &[
    Problem::Undefined,
    Problem::Operand,
    Problem::Distinct,
    Problem::Function,
];

/// Most values `IN` accepts.
const MAX_IN_VALUES: usize = 100;

/// Parses `text`; errors are prefixed as DynamoDB does ("Invalid FilterExpression: …").
pub(crate) fn parse(text: &str, params: &mut Params, kind: &str) -> Result<Cond, ExprError> {
    let prefixed = |message: String| ExprError::new(format!("Invalid {kind}: {message}"));
    let mut parser = Parser::new(text, params, KEYWORDS).map_err(|e| prefixed(e.message))?;
    let parsed = parse_or(&mut parser).and_then(|(cond, _)| {
        parser.expect_end()?;
        Ok(cond)
    });
    let Ok(cond) = parsed else {
        return Err(prefixed(parser.syntax_error()));
    };
    check_not_size(&mut parser, &cond);
    if let Some(message) = parser.problems.first_of(ORDER) {
        return Err(prefixed(message));
    }
    Ok(cond)
}

/// `size(…)` is not a condition by itself.
fn check_not_size(parser: &mut Parser, cond: &Cond) {
    if let Cond::Misused(name) = cond {
        let name = name.clone();
        parser
            .problems
            .note(Problem::MisusedFunction, || misused(&name));
    }
}

fn misused(name: &str) -> String {
    format!("The function is not allowed to be used this way in an expression; function: {name}")
}

/// The result is the condition and whether it was written as one parenthesised group.
fn parse_or(parser: &mut Parser) -> Parsed<(Cond, bool)> {
    let (mut left, mut grouped) = parse_and(parser)?;
    while parser.at_keyword("OR") {
        parser.advance();
        let (right, _) = parse_and(parser)?;
        check_not_size(parser, &left);
        check_not_size(parser, &right);
        left = Cond::Or(Box::new(left), Box::new(right));
        grouped = false;
    }
    Ok((left, grouped))
}

fn parse_and(parser: &mut Parser) -> Parsed<(Cond, bool)> {
    let (mut left, mut grouped) = parse_not(parser)?;
    while parser.at_keyword("AND") {
        parser.advance();
        let (right, _) = parse_not(parser)?;
        check_not_size(parser, &left);
        check_not_size(parser, &right);
        left = Cond::And(Box::new(left), Box::new(right));
        grouped = false;
    }
    Ok((left, grouped))
}

fn parse_not(parser: &mut Parser) -> Parsed<(Cond, bool)> {
    if parser.at_keyword("NOT") {
        parser.advance();
        let (inner, _) = parse_not(parser)?;
        check_not_size(parser, &inner);
        return Ok((Cond::Not(Box::new(inner)), false));
    }
    parse_primary(parser)
}

fn starts_comparison(parser: &Parser) -> bool {
    matches!(
        parser.peek(),
        Tok::Eq | Tok::Ne | Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge
    ) || parser.at_keyword("BETWEEN")
        || parser.at_keyword("IN")
}

/// A parenthesised condition, or a comparison or function (whose first operand may itself
/// be parenthesised: `(a) = :v`), trying the group first.
fn parse_primary(parser: &mut Parser) -> Parsed<(Cond, bool)> {
    if parser.peek() == Tok::LParen {
        let mark = parser.mark();
        parser.advance();
        if let Ok((inner, inner_grouped)) = parse_or(parser)
            && parser.peek() == Tok::RParen
        {
            parser.advance();
            if !starts_comparison(parser) {
                if inner_grouped {
                    parser.problems.note(Problem::Parens, || {
                        "The expression has redundant parentheses;".to_owned()
                    });
                }
                return Ok((inner, true));
            }
        }
        parser.reset(mark);
    }
    let cond = parse_leaf(parser)?;
    if parser.problems.get(Problem::Condition).is_none()
        && let Some(message) = parser.problems.first_of(LEAF_ORDER)
    {
        parser.problems.note(Problem::Condition, || message);
    }
    Ok((cond, false))
}

fn comparator(tok: Tok) -> Option<(Comparator, &'static str)> {
    Some(match tok {
        Tok::Eq => (Comparator::Eq, "="),
        Tok::Ne => (Comparator::Ne, "<>"),
        Tok::Lt => (Comparator::Lt, "<"),
        Tok::Le => (Comparator::Le, "<="),
        Tok::Gt => (Comparator::Gt, ">"),
        Tok::Ge => (Comparator::Ge, ">="),
        _ => return None,
    })
}

fn parse_leaf(parser: &mut Parser) -> Parsed<Cond> {
    let first = parser.operand(check_call)?;
    if let Some((op, symbol)) = comparator(parser.peek()) {
        parser.advance();
        let second = parser.operand(check_call)?;
        check_misused(parser, &[&first, &second]);
        check_distinct(parser, symbol, &first, &second);
        return Ok(Cond::Compare(op, operand(first), operand(second)));
    }
    if parser.at_keyword("BETWEEN") {
        parser.advance();
        let low = parser.operand(check_call)?;
        parser.expect_keyword("AND")?;
        let high = parser.operand(check_call)?;
        check_misused(parser, &[&first, &low, &high]);
        check_bounds(parser, &low, &high);
        return Ok(Cond::Between(operand(first), operand(low), operand(high)));
    }
    if parser.at_keyword("IN") {
        parser.advance();
        parser.expect(Tok::LParen)?;
        let mut list = vec![parser.operand(check_call)?];
        while parser.peek() == Tok::Comma {
            parser.advance();
            list.push(parser.operand(check_call)?);
        }
        parser.expect(Tok::RParen)?;
        let all: Vec<&Raw> = std::iter::once(&first).chain(&list).collect();
        check_misused(parser, &all);
        if list.len() > MAX_IN_VALUES {
            let count = list.len() + 1;
            parser
                .problems
                .note(Problem::Operand, || operand_count("IN", count));
        }
        return Ok(Cond::In(
            operand(first),
            list.into_iter().map(operand).collect(),
        ));
    }
    match first {
        Raw::Call(name, args) => Ok(function(name, args)),
        _ => parser.fail(),
    }
}

/// A function used as a condition.
fn function(name: String, args: Vec<Raw>) -> Cond {
    let mut args = args.into_iter();
    let (Some(a), b) = (args.next(), args.next()) else {
        return Cond::Invalid;
    };
    match (name.as_str(), a, b) {
        ("attribute_exists", Raw::Path(path), None) => Cond::Exists(path),
        ("attribute_not_exists", Raw::Path(path), None) => Cond::NotExists(path),
        ("attribute_type", a, Some(Raw::Value(AttrValue::S(t)))) => match TypeName::parse(&t) {
            Some(type_name) => Cond::Type(operand(a), type_name),
            None => Cond::Invalid,
        },
        ("begins_with", a, Some(b)) => Cond::BeginsWith(operand(a), operand(b)),
        ("contains", a, Some(b)) => Cond::Contains(operand(a), operand(b)),
        ("size", _, None) => Cond::Misused(name),
        _ => Cond::Invalid,
    }
}

/// The meaning of an operand in a comparison; other functions were reported as misused.
fn operand(raw: Raw) -> Operand {
    match raw {
        Raw::Path(path) => Operand::Path(path),
        Raw::Value(value) => Operand::Value(value),
        Raw::Call(name, args) if name == "size" && args.len() == 1 => {
            Operand::Size(Box::new(operand(
                args.into_iter()
                    .next()
                    .unwrap_or(Raw::Value(AttrValue::Null)),
            )))
        }
        Raw::Call(..) => Operand::Value(AttrValue::Null),
    }
}

/// The type an operand is known to have before evaluation (functions by their result).
fn known_type(raw: &Raw) -> Option<&'static str> {
    match raw {
        Raw::Path(_) => None,
        Raw::Value(value) => Some(type_code(value)),
        Raw::Call(name, _) => match name.as_str() {
            "size" => Some("N"),
            "attribute_type" | "begins_with" | "contains" => Some("BOOL"),
            _ => None,
        },
    }
}

fn check_misused(parser: &mut Parser, operands: &[&Raw]) {
    for raw in operands {
        if let Raw::Call(name, _) = raw
            && name != "size"
        {
            parser
                .problems
                .note(Problem::MisusedFunction, || misused(name));
        }
    }
}

fn check_distinct(parser: &mut Parser, operator: &str, first: &Raw, second: &Raw) {
    if let (Raw::Path(a), Raw::Path(b)) = (first, second)
        && a == b
    {
        parser.problems.note(Problem::Distinct, || {
            format!(
                "The first operand must be distinct from the remaining operands for this operator or function; operator: {operator}, first operand: {a}"
            )
        });
    }
}

/// How DynamoDB shows a value in BETWEEN messages: `{N:5}`.
fn shown(value: &AttrValue) -> String {
    let json = value.to_json();
    let inner = json
        .as_object()
        .and_then(|o| o.values().next())
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        .unwrap_or_default();
    format!("AttributeValue: {{{}:{inner}}}", type_code(value))
}

fn check_bounds(parser: &mut Parser, low: &Raw, high: &Raw) {
    let (Raw::Value(low), Raw::Value(high)) = (low, high) else {
        return;
    };
    let bounds = || {
        format!(
            "lower bound operand: {}, upper bound operand: {}",
            shown(low),
            shown(high)
        )
    };
    if type_code(low) != type_code(high) {
        parser.problems.note(Problem::Function, || {
            format!(
                "The BETWEEN operator requires same data type for lower and upper bounds; {}",
                bounds()
            )
        });
    } else if compare_values(low, high) == Some(std::cmp::Ordering::Greater) {
        parser.problems.note(Problem::Function, || {
            format!(
                "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; {}",
                bounds()
            )
        });
    }
}

/// Checks one call as it is read: known name, operand count, distinct operands, types.
fn check_call(parser: &mut Parser, name: &str, args: &[Raw]) {
    let refs: Vec<&Raw> = args.iter().collect();
    check_misused(parser, &refs);
    let arity = match name {
        "attribute_exists" | "attribute_not_exists" | "size" => 1,
        "attribute_type" | "begins_with" | "contains" => 2,
        _ => {
            parser.problems.note(Problem::UnknownFunction, || {
                format!("Invalid function name; function: {name}")
            });
            return;
        }
    };
    if args.len() != arity {
        parser
            .problems
            .note(Problem::Operand, || operand_count(name, args.len()));
        return;
    }
    if arity == 2 {
        check_distinct(parser, name, &args[0], &args[1]);
    }
    let problem = match name {
        "attribute_exists" | "attribute_not_exists" => {
            (!matches!(args[0], Raw::Path(_))).then(|| needs_path(name))
        }
        "begins_with" => args
            .iter()
            .filter_map(known_type)
            .find(|t| !matches!(*t, "S" | "B"))
            .map(|t| operand_type(name, t)),
        "attribute_type" => match &args[1] {
            Raw::Value(AttrValue::S(t)) => TypeName::parse(t).is_none().then(|| {
                format!(
                    "Invalid attribute type name found; type: {t}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}"
                )
            }),
            other => Some(operand_type(
                name,
                known_type(other).unwrap_or("{NS,SS,L,BS,N,M,B,BOOL,NULL,S}"),
            )),
        },
        "size" => known_type(&args[0])
            .filter(|t| matches!(*t, "N" | "BOOL" | "NULL"))
            .map(|t| operand_type(name, t)),
        _ => None,
    };
    if let Some(message) = problem {
        parser.problems.note(Problem::Function, || message);
    }
}
