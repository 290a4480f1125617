//! Engine-neutral parameter and row values.

use crate::DbError;

/// A value bound to or read from SQL. The five storage classes both engines share.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl From<i64> for SqlValue {
    fn from(v: i64) -> Self {
        SqlValue::Integer(v)
    }
}
impl From<i32> for SqlValue {
    fn from(v: i32) -> Self {
        SqlValue::Integer(v.into())
    }
}
impl From<u32> for SqlValue {
    fn from(v: u32) -> Self {
        SqlValue::Integer(v.into())
    }
}
impl From<bool> for SqlValue {
    fn from(v: bool) -> Self {
        SqlValue::Integer(v.into())
    }
}
impl From<f64> for SqlValue {
    fn from(v: f64) -> Self {
        SqlValue::Real(v)
    }
}
impl From<&str> for SqlValue {
    fn from(v: &str) -> Self {
        SqlValue::Text(v.to_owned())
    }
}
impl From<String> for SqlValue {
    fn from(v: String) -> Self {
        SqlValue::Text(v)
    }
}
impl From<&String> for SqlValue {
    fn from(v: &String) -> Self {
        SqlValue::Text(v.clone())
    }
}
impl From<Vec<u8>> for SqlValue {
    fn from(v: Vec<u8>) -> Self {
        SqlValue::Blob(v)
    }
}
impl From<&[u8]> for SqlValue {
    fn from(v: &[u8]) -> Self {
        SqlValue::Blob(v.to_vec())
    }
}
impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(SqlValue::Null, Into::into)
    }
}

/// One result row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<SqlValue>);

impl Row {
    fn at(&self, index: usize) -> &SqlValue {
        self.0.get(index).unwrap_or(&SqlValue::Null)
    }

    pub fn i64(&self, index: usize) -> Result<i64, DbError> {
        match self.at(index) {
            SqlValue::Integer(v) => Ok(*v),
            _ => Err(DbError::ColumnType {
                index,
                wanted: "integer",
            }),
        }
    }

    pub fn opt_i64(&self, index: usize) -> Result<Option<i64>, DbError> {
        match self.at(index) {
            SqlValue::Null => Ok(None),
            _ => self.i64(index).map(Some),
        }
    }

    pub fn f64(&self, index: usize) -> Result<f64, DbError> {
        match self.at(index) {
            SqlValue::Real(v) => Ok(*v),
            #[allow(clippy::cast_precision_loss)]
            SqlValue::Integer(v) => Ok(*v as f64),
            _ => Err(DbError::ColumnType {
                index,
                wanted: "real",
            }),
        }
    }

    pub fn bool(&self, index: usize) -> Result<bool, DbError> {
        self.i64(index).map(|v| v != 0)
    }

    pub fn str(&self, index: usize) -> Result<&str, DbError> {
        match self.at(index) {
            SqlValue::Text(v) => Ok(v),
            _ => Err(DbError::ColumnType {
                index,
                wanted: "text",
            }),
        }
    }

    pub fn string(&self, index: usize) -> Result<String, DbError> {
        self.str(index).map(str::to_owned)
    }

    pub fn opt_string(&self, index: usize) -> Result<Option<String>, DbError> {
        match self.at(index) {
            SqlValue::Null => Ok(None),
            _ => self.string(index).map(Some),
        }
    }

    pub fn blob(&self, index: usize) -> Result<&[u8], DbError> {
        match self.at(index) {
            SqlValue::Blob(v) => Ok(v),
            SqlValue::Text(v) => Ok(v.as_bytes()),
            _ => Err(DbError::ColumnType {
                index,
                wanted: "blob",
            }),
        }
    }

    pub fn opt_blob(&self, index: usize) -> Result<Option<&[u8]>, DbError> {
        match self.at(index) {
            SqlValue::Null => Ok(None),
            _ => self.blob(index).map(Some),
        }
    }
}

impl<T> From<&Option<T>> for SqlValue
where
    T: Clone + Into<SqlValue>,
{
    fn from(v: &Option<T>) -> Self {
        v.clone().map_or(SqlValue::Null, Into::into)
    }
}
