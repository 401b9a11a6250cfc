use std::fmt;
use std::str::FromStr;

/// Where a price came from; stored with every usage record (`UsageRecord::price_source`)
/// so a cost can be traced to the table version or the configuration that produced it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PriceSource {
    /// The embedded table, by its `version`.
    Table(String),
    /// An operator override from forge.toml `[[prices]]`.
    Config,
    /// A price set on the forge.toml deployment that served the request.
    Deployment,
    /// No price matched: the cost is unknown, never zero.
    Unknown,
}

impl fmt::Display for PriceSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PriceSource::Table(version) => write!(f, "table:{version}"),
            PriceSource::Config => f.write_str("config"),
            PriceSource::Deployment => f.write_str("deployment"),
            PriceSource::Unknown => f.write_str("unknown"),
        }
    }
}

/// Reads back what `Display` wrote; anything else is not a price source.
impl FromStr for PriceSource {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "config" => Ok(PriceSource::Config),
            "deployment" => Ok(PriceSource::Deployment),
            "unknown" => Ok(PriceSource::Unknown),
            _ => match s.strip_prefix("table:") {
                Some(version) if !version.is_empty() => Ok(PriceSource::Table(version.to_owned())),
                _ => Err(()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for source in [
            PriceSource::Table("2026-12-07".into()),
            PriceSource::Config,
            PriceSource::Deployment,
            PriceSource::Unknown,
        ] {
            assert_eq!(source.to_string().parse::<PriceSource>(), Ok(source));
        }
        assert_eq!(
            PriceSource::Table("2026-12-07".into()).to_string(),
            "table:2026-12-07"
        );
        assert_eq!("table:".parse::<PriceSource>(), Err(()));
    }
}
