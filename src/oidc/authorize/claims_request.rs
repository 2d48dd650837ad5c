//! The `claims` request parameter (OIDC Core section 5.5): a JSON object whose
//! `userinfo` and `id_token` members name claims, each `null` or
//! `{"essential": bool, "value": v, "values": [..]}`. It is read once into a
//! [`ClaimsRequest`] holding only what Portico acts on (claims it knows, and `value`s
//! only where they mean something: `sub` and `acr`), and stored in that form.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::super::claims::{is_known, is_personal};
use super::super::error::{ErrorCode, OAuthError};
use crate::model::{Loa, RequestedClaims};

/// The longest `claims` parameter accepted, in bytes.
pub const MAX_CLAIMS: usize = 4096;
/// The most `values` kept for `acr` (as for `acr_values`).
const MAX_ACR_VALUES: usize = 10;

/// One claim as requested (section 5.5.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimRequest {
    pub essential: bool,
    /// `value`, kept for `sub` and `acr` only: for any other claim it does not change
    /// what is released (section 5.5.1).
    pub value: Option<String>,
    /// `values`, kept for `acr` only.
    pub values: Vec<String>,
}

impl ClaimRequest {
    fn to_json(&self) -> Value {
        let mut out = Map::new();
        if self.essential {
            out.insert("essential".into(), json!(true));
        }
        if let Some(v) = &self.value {
            out.insert("value".into(), json!(v));
        }
        if !self.values.is_empty() {
            out.insert("values".into(), json!(self.values));
        }
        if out.is_empty() {
            Value::Null
        } else {
            Value::Object(out)
        }
    }
}

/// A validated `claims` request: known claim names only, per member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimsRequest {
    pub userinfo: BTreeMap<String, ClaimRequest>,
    pub id_token: BTreeMap<String, ClaimRequest>,
}

fn invalid(what: &str) -> OAuthError {
    OAuthError::invalid_request(format!("the `claims` parameter is invalid: {what}"))
}

impl ClaimsRequest {
    /// Parses the parameter; any JSON or shape error is `invalid_request`.
    pub fn parse(raw: &str) -> Result<ClaimsRequest, OAuthError> {
        if raw.len() > MAX_CLAIMS {
            return Err(OAuthError::invalid_request("`claims` is too long"));
        }
        let value: Value =
            serde_json::from_str(raw).map_err(|_| invalid("it is not a JSON object"))?;
        let Value::Object(top) = value else {
            return Err(invalid("it is not a JSON object"));
        };
        // Members other than these two are not understood and ignored (section 5.5).
        Ok(ClaimsRequest {
            userinfo: member(&top, "userinfo")?,
            id_token: member(&top, "id_token")?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.userinfo.is_empty() && self.id_token.is_empty()
    }

    /// The request as stored and read back by [`Self::parse`]: the same meaning in a
    /// normal form, with nothing Portico ignores. `None` when nothing is left.
    pub fn to_json(&self) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let member = |m: &BTreeMap<String, ClaimRequest>| -> Value {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
        };
        let mut out = Map::new();
        if !self.userinfo.is_empty() {
            out.insert("userinfo".into(), member(&self.userinfo));
        }
        if !self.id_token.is_empty() {
            out.insert("id_token".into(), member(&self.id_token));
        }
        Some(Value::Object(out).to_string())
    }

    /// The names marked essential in either member, sorted, without repeats.
    pub fn essential(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .userinfo
            .iter()
            .chain(&self.id_token)
            .filter(|(_, c)| c.essential)
            .map(|(n, _)| n.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The `sub` the ID token must have, if one was asked (section 5.5.1).
    pub fn id_token_sub(&self) -> Option<&str> {
        self.id_token.get("sub").and_then(|c| c.value.as_deref())
    }

    /// The `acr` requested for the ID token (section 5.5.1.1).
    pub fn acr(&self) -> Option<&ClaimRequest> {
        self.id_token.get("acr")
    }

    /// The personal claims asked by name, per member, for the code to carry.
    pub fn requested(&self) -> RequestedClaims {
        let personal = |m: &BTreeMap<String, ClaimRequest>| -> Vec<String> {
            m.keys().filter(|n| is_personal(n)).cloned().collect()
        };
        RequestedClaims {
            id_token: personal(&self.id_token),
            userinfo: personal(&self.userinfo),
        }
    }
}

fn member(
    top: &Map<String, Value>,
    name: &str,
) -> Result<BTreeMap<String, ClaimRequest>, OAuthError> {
    let entries = match top.get(name) {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Object(entries)) => entries,
        Some(_) => return Err(invalid(&format!("`{name}` must be an object"))),
    };
    let mut out = BTreeMap::new();
    // Unknown claims are ignored (section 5.5), their shape included.
    for (claim, request) in entries.iter().filter(|(c, _)| is_known(c)) {
        out.insert(claim.clone(), claim_request(name, claim, request)?);
    }
    Ok(out)
}

fn claim_request(member: &str, claim: &str, request: &Value) -> Result<ClaimRequest, OAuthError> {
    let fields = match request {
        Value::Null => return Ok(ClaimRequest::default()),
        Value::Object(fields) => fields,
        _ => {
            return Err(invalid(&format!(
                "`{member}.{claim}` must be null or an object"
            )));
        }
    };
    let essential = match fields.get("essential") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(invalid(&format!(
                "`{member}.{claim}.essential` must be a boolean"
            )));
        }
    };
    let values = match fields.get("values") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(values)) => values.as_slice(),
        Some(_) => {
            return Err(invalid(&format!(
                "`{member}.{claim}.values` must be an array"
            )));
        }
    };
    let value = fields.get("value").filter(|v| !v.is_null());
    // `value` and `values` mean something for `sub` and `acr` only, and there they
    // must be strings.
    let string = |v: &Value| -> Result<String, OAuthError> {
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| invalid(&format!("`{member}.{claim}` values must be strings")))
    };
    let (value, values) = match claim {
        "sub" => (value.map(string).transpose()?, Vec::new()),
        "acr" => (
            value.map(string).transpose()?,
            values
                .iter()
                .map(string)
                .take(MAX_ACR_VALUES)
                .collect::<Result<_, _>>()?,
        ),
        _ => (None, Vec::new()),
    };
    if value.as_ref().is_some_and(|v| v.is_empty()) {
        return Err(invalid(&format!("`{member}.{claim}.value` is empty")));
    }
    Ok(ClaimRequest {
        essential,
        value,
        values,
    })
}

/// The `acr` values a login must meet, and the lowest level among them: an essential
/// `acr` claim's `value`/`values` (section 5.5.1.1: one of them or the login fails),
/// else `acr_values`, else a voluntary `acr` claim's, which like `acr_values` is met
/// when it can be (a level is asked, never silently lowered).
pub fn acr_requirement(
    acr_values: Vec<String>,
    claims: &ClaimsRequest,
) -> Result<(Vec<String>, Option<Loa>), OAuthError> {
    let from_claim = claims.acr().map(|c| {
        let mut all: Vec<String> = c.value.iter().chain(&c.values).cloned().collect();
        all.dedup();
        (c.essential, all)
    });
    let chosen = match from_claim {
        Some((true, values)) if !values.is_empty() => {
            if !values.iter().any(|v| Loa::from_acr(v).is_some()) {
                return Err(OAuthError::new(
                    ErrorCode::UnmetAuthenticationRequirements,
                    "none of the essential `acr` values is a level this server offers",
                ));
            }
            values
        }
        Some((false, values)) if acr_values.is_empty() => values,
        _ => acr_values,
    };
    let min = chosen.iter().filter_map(|v| Loa::from_acr(v)).min();
    Ok((chosen, min))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_name_claims_with_null_or_a_request() {
        let c = ClaimsRequest::parse(
            r#"{"userinfo":{"national_id":{"essential":true},"email":null},
                "id_token":{"given_name":{"essential":false,"value":"ignored"},
                "acr":{"essential":true,"values":["urn:portico:loa:3","urn:portico:loa:4"]},
                "sub":{"value":"abc"}}}"#,
        )
        .unwrap();
        assert!(c.userinfo["national_id"].essential);
        assert_eq!(c.userinfo["email"], ClaimRequest::default());
        // `value` on an ordinary claim changes nothing and is not kept.
        assert_eq!(c.id_token["given_name"], ClaimRequest::default());
        assert_eq!(c.acr().unwrap().values.len(), 2);
        assert_eq!(c.id_token_sub(), Some("abc"));
        assert_eq!(
            c.essential(),
            vec!["acr".to_owned(), "national_id".to_owned()]
        );
        let r = c.requested();
        assert_eq!(
            r.userinfo,
            vec!["email".to_owned(), "national_id".to_owned()]
        );
        // Protocol claims are not carried as names to release.
        assert_eq!(r.id_token, vec!["given_name".to_owned()]);
    }

    #[test]
    fn unknown_claims_and_members_are_ignored() {
        let c = ClaimsRequest::parse(
            r#"{"userinfo":{"favourite_colour":{"essential":"very"},"email":null},
                "verified_claims":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(c.userinfo.keys().collect::<Vec<_>>(), vec!["email"]);
        assert!(c.id_token.is_empty());
        let only_unknown = ClaimsRequest::parse(r#"{"userinfo":{"shoe_size":null}}"#).unwrap();
        assert!(only_unknown.is_empty());
        assert_eq!(only_unknown.to_json(), None);
    }

    #[test]
    fn the_stored_form_reads_back_the_same() {
        let c = ClaimsRequest::parse(
            r#"{"id_token":{"acr":{"essential":true,"value":"urn:portico:loa:2","values":["urn:portico:loa:3"]},
                "sub":{"value":"s1"},"name":null},"userinfo":{"tax_code":{"essential":true}}}"#,
        )
        .unwrap();
        let stored = c.to_json().unwrap();
        assert_eq!(ClaimsRequest::parse(&stored).unwrap(), c);
        assert!(stored.len() < 200, "{stored}");
    }

    #[test]
    fn malformed_requests_are_invalid_request() {
        for raw in [
            "not json",
            "[]",
            "\"userinfo\"",
            r#"{"userinfo":[]}"#,
            r#"{"id_token":"name"}"#,
            r#"{"userinfo":{"email":true}}"#,
            r#"{"userinfo":{"email":{"essential":"yes"}}}"#,
            r#"{"userinfo":{"email":{"values":"a"}}}"#,
            r#"{"id_token":{"sub":{"value":42}}}"#,
            r#"{"id_token":{"sub":{"value":""}}}"#,
            r#"{"id_token":{"acr":{"values":[3]}}}"#,
        ] {
            let e = ClaimsRequest::parse(raw).expect_err(raw);
            assert_eq!(e.code, ErrorCode::InvalidRequest, "{raw}");
        }
        let long = format!(
            r#"{{"userinfo":{{"email":null}},"pad":"{}"}}"#,
            "x".repeat(MAX_CLAIMS)
        );
        assert_eq!(
            ClaimsRequest::parse(&long).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn an_essential_acr_is_a_requirement_and_a_voluntary_one_a_preference() {
        let claims = |raw: &str| ClaimsRequest::parse(raw).unwrap();
        let loa = |n| Loa::new(n);
        let essential = claims(
            r#"{"id_token":{"acr":{"essential":true,"values":["urn:portico:loa:4","urn:portico:loa:3"]}}}"#,
        );
        // It wins over acr_values.
        let (values, min) = acr_requirement(vec!["urn:portico:loa:1".into()], &essential).unwrap();
        assert_eq!(values, vec!["urn:portico:loa:4", "urn:portico:loa:3"]);
        assert_eq!(min, loa(3));
        let voluntary = claims(r#"{"id_token":{"acr":{"value":"urn:portico:loa:2"}}}"#);
        assert_eq!(acr_requirement(vec![], &voluntary).unwrap().1, loa(2));
        // acr_values wins over a voluntary claim.
        assert_eq!(
            acr_requirement(vec!["urn:portico:loa:3".into()], &voluntary)
                .unwrap()
                .1,
            loa(3)
        );
        let unknown = claims(r#"{"id_token":{"acr":{"essential":true,"value":"urn:other:gold"}}}"#);
        assert_eq!(
            acr_requirement(vec![], &unknown).unwrap_err().code,
            ErrorCode::UnmetAuthenticationRequirements
        );
        // Essential but no value: no requirement beyond acr_values.
        let bare = claims(r#"{"id_token":{"acr":{"essential":true}}}"#);
        assert_eq!(acr_requirement(vec![], &bare).unwrap(), (vec![], None));
    }
}
