use std::fmt;

/// A price table or an operator price that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriceError {
    /// The TOML does not have the table's shape (the message names the field).
    Parse(String),
    /// Well-formed but unusable, e.g. a currency that is not a 3-letter code.
    Invalid(String),
}

impl fmt::Display for PriceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PriceError::Parse(msg) => write!(f, "price table: {msg}"),
            PriceError::Invalid(msg) => write!(f, "invalid price: {msg}"),
        }
    }
}

impl std::error::Error for PriceError {}

/// ISO 4217 style: three ASCII capital letters.
pub(crate) fn check_currency(currency: &str) -> Result<(), PriceError> {
    if currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(PriceError::Invalid(format!(
            "currency {currency:?} is not a 3-letter code such as \"USD\""
        )))
    }
}
