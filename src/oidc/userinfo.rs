//! The UserInfo endpoint (OIDC Core section 5.3): claims by scope (section 5.4) for a
//! valid access token.

use serde_json::{Map, Value, json};

use super::clients::ClientCache;
use super::error::{ErrorCode, OAuthError};
use super::revocation::{self, AccessTokens};
use super::scopes::ScopeSet;
use crate::store::{Account, AccountForToken, Store};

pub async fn userinfo(
    tokens: &AccessTokens,
    clients: &ClientCache,
    store: &Store,
    token: &str,
    now: i64,
) -> Result<Value, OAuthError> {
    let claims = tokens.verified(token, now).await?;
    let keys = revocation::deny_keys(&claims);
    let client = clients.get(&claims.client_id, now).await?;
    let account_id = match &client {
        Some(client) => super::subject::account_of(store, client, &claims.sub).await?,
        None => None,
    };
    // The deny list and the account in one read where the account is known.
    let found = match &account_id {
        Some(id) => store.accounts().get_unless_revoked(id, &keys).await?,
        None if store.revocations().any_revoked(&keys).await? => AccountForToken::Revoked,
        None => AccountForToken::Gone,
    };
    if matches!(found, AccountForToken::Revoked) {
        return Err(revocation::revoked_error());
    }
    if !claims.aud.contains(tokens.issuer()) {
        return Err(OAuthError::invalid_token(
            "the access token is not for this server",
        ));
    }
    // The token's scopes that the client is still registered for: a client narrowed
    // after the token was issued gets no more than it could be granted now.
    let scopes = match &client {
        Some(client) => super::grants::still_registered(client, ScopeSet::parse(&claims.scope)),
        // A client gone is answered below (no account for the token).
        None => ScopeSet::parse(&claims.scope),
    };
    if !scopes.contains("openid") {
        return Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            "the access token lacks the `openid` scope",
        ));
    }
    let AccountForToken::Found(account) = found else {
        return Err(OAuthError::invalid_token("the account no longer exists"));
    };
    let mut out = claims_for(&account, &claims.sub, &scopes, &claims.userinfo_claims);
    if super::claims::given_by(&scopes, "represents")
        || claims.userinfo_claims.iter().any(|c| c == "represents")
    {
        let represents = represents(store, &account.id).await?;
        if let (Some(list), Value::Object(map)) = (represents, &mut out) {
            map.insert("represents".into(), list);
        }
    }
    Ok(out)
}

/// `represents`: the enterprises the person acts for, each `{"tax_code": ...}` (absent
/// when none, as every claim an account lacks).
pub(super) async fn represents(
    store: &Store,
    account: &crate::ids::AccountId,
) -> Result<Option<Value>, OAuthError> {
    let list = store.representations().of_account(account).await?;
    Ok((!list.is_empty()).then(|| {
        Value::Array(
            list.iter()
                .map(|r| json!({ "tax_code": r.tax_code }))
                .collect(),
        )
    }))
}

/// The claims each scope releases and those the person allowed by name, and nothing
/// else (data minimisation).
pub fn claims_for(account: &Account, sub: &str, scopes: &ScopeSet, named: &[String]) -> Value {
    let mut out = Map::new();
    out.insert("sub".into(), json!(sub));
    super::claims::release(account, scopes, named, &mut out);
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::AccountId;
    use crate::model::Attributes;
    use crate::store::AccountKind;

    fn account() -> Account {
        Account {
            id: AccountId::new("a1"),
            kind: AccountKind::Citizen,
            attributes: Attributes::default()
                .with_entry("name", "Nguyen Van An", false, 5)
                .with_entry("given_name", "An", false, 5)
                .with_entry("family_name", "Nguyen", false, 5)
                .with_entry("email", "an@example.vn", true, 5)
                .with_entry("national_id", "001099012345", true, 5),
            updated_at: 5,
        }
    }

    #[test]
    fn only_the_scopes_claims_are_released() {
        let c = claims_for(&account(), "a1", &ScopeSet::parse("openid"), &[]);
        assert_eq!(c, json!({"sub": "a1"}));
        let c = claims_for(
            &account(),
            "a1",
            &ScopeSet::parse("openid email phone"),
            &[],
        );
        assert_eq!(
            c,
            json!({"sub": "a1", "email": "an@example.vn", "email_verified": true})
        );
        let c = claims_for(
            &account(),
            "a1",
            &ScopeSet::parse("openid national_id"),
            &[],
        );
        assert_eq!(c["national_id"], "001099012345");
        assert_eq!(c["national_id_verified"], true);
        assert!(c.get("name").is_none());
        // By name: released with `openid` alone, the lacked one absent, never null.
        let named = ["national_id".to_owned(), "birthdate".to_owned()];
        let c = claims_for(&account(), "a1", &ScopeSet::parse("openid"), &named);
        assert_eq!(c, json!({"sub": "a1", "national_id": "001099012345"}));
    }
}
