//! DynamoDB's data model and expression language, independent of storage and wire: attribute
//! values as DynamoDB types them ([`AttrValue`], exact decimal [`Number`]s), and (to come) the
//! condition, update, projection and key-condition expressions parsed, validated and evaluated
//! with AWS's error messages.

mod number;
mod value;

pub use number::Number;
pub use value::{AttrValue, Item, ValueError, item_from_json, item_to_json};
