//! DynamoDB's data model and expression language, independent of storage and wire: attribute
//! values as DynamoDB types them ([`AttrValue`], exact decimal [`Number`]s), and the condition,
//! filter, update, projection and key-condition expressions parsed once per request, validated
//! and evaluated with AWS's ValidationException messages. The [`legacy`] module turns the
//! older request parameters (`Expected`, `AttributeUpdates`, `KeyConditions`, …) into the same
//! structures.
//!
//! A request's expressions share one [`Params`] (its `ExpressionAttributeNames` and
//! `ExpressionAttributeValues`); after parsing all of them, [`Params::finish`] reports the
//! names and values no expression used.

mod arith;
mod compare;
mod cond_parse;
mod condition;
mod error;
mod eval;
mod key;
pub mod legacy;
mod lexer;
mod number;
mod params;
mod parser;
mod path;
mod projection;
mod reserved;
mod size;
mod update;
mod update_parse;
mod value;

pub use compare::{compare_values, values_equal};
pub use condition::Condition;
pub use error::ExprError;
pub use key::{KeyCondition, SortCondition};
pub use number::Number;
pub use params::Params;
pub use path::{Path, PathElem};
pub use projection::Projection;
pub use size::{item_size, value_size};
pub use update::Update;
pub use value::{AttrValue, Item, ValueError, item_from_json, item_to_json, item_to_json_bytes};

#[cfg(test)]
mod condition_tests;
#[cfg(test)]
mod key_projection_tests;
#[cfg(test)]
mod legacy_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod update_tests;
