//! What an identity source answers once it has proven who someone is.

use serde::{Deserialize, Serialize};

use super::Loa;

/// One attribute a source asserts about the person: a Portico claim name (`national_id`,
/// `given_name`, `phone_number`...), its value, and whether the source verified it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    pub claim: String,
    pub value: String,
    pub verified: bool,
}

/// A login proven at one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedIdentity {
    pub source_id: String,
    /// The source's stable identifier for the person (a username, a certificate's
    /// issuer and serial, an upstream `sub`).
    pub subject: String,
    pub loa: Loa,
    /// Authentication methods, RFC 8176 values (`pwd`, `otp`, `hwk`, `fed`...).
    pub amr: Vec<String>,
    pub attributes: Vec<Attribute>,
}

impl VerifiedIdentity {
    /// The value of an attribute the source verified.
    pub fn verified(&self, claim: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.claim == claim && a.verified)
            .map(|a| a.value.as_str())
    }

    /// The value of an attribute, verified or not.
    pub fn attribute(&self, claim: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.claim == claim)
    }
}
