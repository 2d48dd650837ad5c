//! Levels of assurance: 1 (low) to 4 (very high), sent as `acr` = `urn:portico:loa:N`.

use std::fmt;

use serde::{Deserialize, Serialize};

const ACR_PREFIX: &str = "urn:portico:loa:";

/// A level of assurance, 1 to 4. Only [`Loa::new`] and [`Loa::from_acr`] make one, so
/// an out-of-range level cannot exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Loa(u8);

impl Loa {
    pub const LOW: Loa = Loa(1);
    /// "Substantial": the least a login needs to link to an existing account.
    pub const SUBSTANTIAL: Loa = Loa(2);

    pub fn new(level: u8) -> Option<Loa> {
        (1..=4).contains(&level).then_some(Loa(level))
    }

    pub fn level(self) -> u8 {
        self.0
    }

    /// The `acr` value that names this level.
    pub fn acr(self) -> String {
        format!("{ACR_PREFIX}{}", self.0)
    }

    /// The level in an `acr` value we issue, if it is one.
    pub fn from_acr(acr: &str) -> Option<Loa> {
        acr.strip_prefix(ACR_PREFIX)
            .and_then(|n| n.parse().ok())
            .and_then(Loa::new)
    }
}

impl TryFrom<u8> for Loa {
    type Error = String;
    fn try_from(level: u8) -> Result<Loa, String> {
        Loa::new(level).ok_or_else(|| format!("level of assurance {level} is not 1 to 4"))
    }
}

impl From<Loa> for u8 {
    fn from(loa: Loa) -> u8 {
        loa.0
    }
}

impl fmt::Display for Loa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Loa;

    #[test]
    fn acr_values_round_trip_and_reject_what_we_do_not_issue() {
        let l3 = Loa::new(3).unwrap();
        assert_eq!(l3.acr(), "urn:portico:loa:3");
        assert_eq!(Loa::from_acr("urn:portico:loa:3"), Some(l3));
        assert_eq!(Loa::from_acr("urn:portico:loa:5"), None);
        assert_eq!(Loa::from_acr("urn:portico:loa:0"), None);
        assert_eq!(Loa::from_acr("urn:other:loa:2"), None);
        assert!(Loa::new(0).is_none() && Loa::new(5).is_none());
        assert!(Loa::new(2).unwrap() < l3);
    }
}
