//! Subject identifiers (OIDC Core section 8): `public` (the account id) or `pairwise`
//! per sector, so portals of different sectors cannot correlate a person.

use super::error::OAuthError;
use crate::crypto::MasterKey;
use crate::ids::AccountId;
use crate::model::{Client, SubjectType};
use crate::store::Store;

/// The `sub` this client sees for the account: computed, never looked up.
pub fn subject_for(secrets: &MasterKey, client: &Client, account: &AccountId) -> String {
    match (client.subject_type, &client.sector) {
        (SubjectType::Pairwise, Some(sector)) => secrets.pairwise_subject(sector, account.as_str()),
        _ => account.to_string(),
    }
}

/// Records a pairwise `sub` so that it leads back to its account (userinfo,
/// introspection); once per grant, when its first tokens are issued.
pub async fn record(
    store: &Store,
    client: &Client,
    account: &AccountId,
    sub: &str,
) -> Result<(), OAuthError> {
    if let (SubjectType::Pairwise, Some(sector)) = (client.subject_type, &client.sector) {
        store
            .pairwise_subjects()
            .record(sector, sub, account)
            .await?;
    }
    Ok(())
}

/// The account behind a `sub` this client was given.
pub async fn account_of(
    store: &Store,
    client: &Client,
    sub: &str,
) -> Result<Option<AccountId>, OAuthError> {
    match (client.subject_type, &client.sector) {
        (SubjectType::Pairwise, Some(sector)) => {
            Ok(store.pairwise_subjects().account(sector, sub).await?)
        }
        _ => Ok(Some(AccountId::new(sub))),
    }
}

/// The sector of a pairwise client (OIDC Core section 8.1): the host of its
/// `sector_identifier_uri` when it has one, else the single host of its redirect URIs.
pub fn sector_from_redirect_uris(redirect_uris: &[String]) -> Result<String, String> {
    let mut hosts: Vec<String> = redirect_uris
        .iter()
        .filter_map(|u| url::Url::parse(u).ok())
        .filter_map(|u| u.host_str().map(str::to_owned))
        .collect();
    hosts.sort();
    hosts.dedup();
    match hosts.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err("the redirect URIs have no host".into()),
        _ => Err(format!(
            "the redirect URIs span several hosts ({}); give a sector identifier URI",
            hosts.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sector_is_the_single_redirect_host() {
        let uris = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            sector_from_redirect_uris(&uris(&[
                "https://tax.gov.example/a",
                "https://tax.gov.example/b"
            ]))
            .unwrap(),
            "tax.gov.example"
        );
        assert!(
            sector_from_redirect_uris(&uris(&["https://a.example/cb", "https://b.example/cb"]))
                .is_err()
        );
    }

    #[test]
    fn pairwise_subjects_differ_by_sector_and_are_stable() {
        let k = crate::crypto::MasterKey::from_bytes(&[3; 32]);
        let a = k.pairwise_subject("tax.example", "acc-1");
        assert_eq!(a, k.pairwise_subject("tax.example", "acc-1"));
        assert_ne!(a, k.pairwise_subject("health.example", "acc-1"));
        assert_ne!(a, k.pairwise_subject("tax.example", "acc-2"));
    }
}
