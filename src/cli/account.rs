//! `portico account add`: a local account with a password read from standard input,
//! and what the operator knows of its person, each value checked and recorded as the
//! operator's entry (`model::attributes::OPERATOR`).

use std::io::Read;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::ValueEnum;
use serde_json::{Value, json};

use crate::app::App;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::model::attributes::{self, OPERATOR};
use crate::model::{AttributeRecord, Attributes};
use crate::secret::Secret;
use crate::store::{AccountKind, Address, NewAccount};

#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum KindArg {
    Citizen,
    Enterprise,
    Official,
}

#[derive(clap::Args)]
pub struct AccountAdd {
    #[arg(long)]
    username: String,
    /// Read the password from standard input (the only way: never on the command line).
    #[arg(long, required = true)]
    password_stdin: bool,
    #[arg(long, value_enum, default_value = "citizen")]
    kind: KindArg,
    /// The full name, as displayed.
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    given_name: Option<String>,
    #[arg(long)]
    family_name: Option<String>,
    #[arg(long)]
    middle_name: Option<String>,
    #[arg(long)]
    nickname: Option<String>,
    #[arg(long)]
    preferred_username: Option<String>,
    /// A profile page URL.
    #[arg(long)]
    profile: Option<String>,
    /// A picture URL.
    #[arg(long)]
    picture: Option<String>,
    #[arg(long)]
    website: Option<String>,
    /// `female`, `male`, or another value.
    #[arg(long)]
    gender: Option<String>,
    /// YYYY-MM-DD, or YYYY.
    #[arg(long)]
    birthdate: Option<String>,
    /// A tz database time zone (Asia/Ho_Chi_Minh).
    #[arg(long)]
    zoneinfo: Option<String>,
    /// A BCP 47 language tag (vi-VN).
    #[arg(long)]
    locale: Option<String>,
    #[arg(long)]
    email: Option<String>,
    /// The operator checked the email address.
    #[arg(long, requires = "email")]
    email_verified: bool,
    /// An E.164 number (+84912345678).
    #[arg(long, alias = "phone-number")]
    phone: Option<String>,
    /// The operator checked the phone number.
    #[arg(long, requires = "phone")]
    phone_verified: bool,
    /// The postal address as one text.
    #[arg(long)]
    address_formatted: Option<String>,
    #[arg(long)]
    street_address: Option<String>,
    #[arg(long)]
    locality: Option<String>,
    #[arg(long)]
    region: Option<String>,
    #[arg(long)]
    postal_code: Option<String>,
    #[arg(long)]
    country: Option<String>,
    /// The place of birth (recorded as its `locality`).
    #[arg(long)]
    place_of_birth: Option<String>,
    /// An ISO 3166-1 country code (VN); repeat for several.
    #[arg(long = "nationality")]
    nationalities: Vec<String>,
    /// A national identifier verified by the operator.
    #[arg(long)]
    national_id: Option<String>,
    #[arg(long)]
    tax_code: Option<String>,
    #[arg(long)]
    json: bool,
}

impl AccountAdd {
    /// The attributes the flags give, each checked; an error names the flag.
    fn attributes(&self, now: i64) -> anyhow::Result<Attributes> {
        let mut out = Attributes::default();
        let mut put = |claim: &str, value: Value, verified: bool| {
            out.set(
                claim,
                AttributeRecord {
                    value,
                    verified,
                    source: OPERATOR.into(),
                    loa: None,
                    at: now,
                },
            );
        };
        let texts: [(&str, &str, &Option<String>, bool); 17] = [
            ("name", "--name", &self.name, false),
            ("given_name", "--given-name", &self.given_name, false),
            ("family_name", "--family-name", &self.family_name, false),
            ("middle_name", "--middle-name", &self.middle_name, false),
            ("nickname", "--nickname", &self.nickname, false),
            (
                "preferred_username",
                "--preferred-username",
                &self.preferred_username,
                false,
            ),
            ("profile", "--profile", &self.profile, false),
            ("picture", "--picture", &self.picture, false),
            ("website", "--website", &self.website, false),
            ("gender", "--gender", &self.gender, false),
            ("birthdate", "--birthdate", &self.birthdate, false),
            ("zoneinfo", "--zoneinfo", &self.zoneinfo, false),
            ("locale", "--locale", &self.locale, false),
            ("email", "--email", &self.email, self.email_verified),
            ("phone_number", "--phone", &self.phone, self.phone_verified),
            // The operator vouches for the national id, as before.
            ("national_id", "--national-id", &self.national_id, true),
            ("tax_code", "--tax-code", &self.tax_code, false),
        ];
        for (claim, flag, value, verified) in texts {
            let Some(value) = value else { continue };
            checked(claim, flag, value)?;
            put(claim, Value::String(value.clone()), verified);
        }
        let address = Address {
            formatted: self.address_formatted.clone(),
            street_address: self.street_address.clone(),
            locality: self.locality.clone(),
            region: self.region.clone(),
            postal_code: self.postal_code.clone(),
            country: self.country.clone(),
        };
        for (flag, part) in [
            ("--address-formatted", &address.formatted),
            ("--street-address", &address.street_address),
            ("--locality", &address.locality),
            ("--region", &address.region),
            ("--postal-code", &address.postal_code),
            ("--country", &address.country),
        ] {
            if let Some(part) = part {
                checked("address", flag, part)?;
            }
        }
        if address != Address::default() {
            put("address", json!(address), false);
        }
        if let Some(place) = &self.place_of_birth {
            checked("place_of_birth", "--place-of-birth", place)?;
            put("place_of_birth", json!({ "locality": place }), false);
        }
        if !self.nationalities.is_empty() {
            for n in &self.nationalities {
                checked("nationalities", "--nationality", n)?;
            }
            put("nationalities", json!(self.nationalities), false);
        }
        Ok(out)
    }
}

fn checked(claim: &str, flag: &str, value: &str) -> anyhow::Result<()> {
    attributes::check(claim, value).map_err(|must| anyhow::anyhow!("`{flag}` must be {must}"))
}

pub async fn account_add(a: AccountAdd, config: Config) -> anyhow::Result<()> {
    // Checked before the password is read: a typo costs nothing.
    a.attributes(0)?;
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .context("reading the password from standard input")?;
    let password = Secret::new(password.trim_end_matches(['\n', '\r']));
    if password.expose().chars().count() < 12 {
        bail!("the password must have at least 12 characters");
    }
    let provider = App::start(config, Arc::new(SystemClock)).await?;
    if provider
        .store
        .accounts()
        .username_exists(&a.username)
        .await?
    {
        bail!("username `{}` is taken", a.username);
    }
    let hash = provider.passwords.hash(&password).await?;
    let kind = match a.kind {
        KindArg::Citizen => AccountKind::Citizen,
        KindArg::Enterprise => AccountKind::Enterprise,
        KindArg::Official => AccountKind::Official,
    };
    let now = provider.now();
    let new = NewAccount {
        kind: Some(kind),
        attributes: a.attributes(now)?,
    };
    let source = provider
        .config
        .sources
        .iter()
        .find(|s| matches!(s.kind, crate::config::SourceKindConfig::Password(_)))
        .context("no password source is configured ([[sources]] with kind = \"password\")")?;
    let id = provider
        .store
        .accounts()
        .create_with_password(&new, &source.id, &a.username, &hash, now)
        .await?;
    let detail = format!("kind={} source={}", kind.as_str(), source.id);
    super::audit::record(
        &provider.store,
        "cli_account_added",
        Some(id.as_str()),
        None,
        &detail,
    )
    .await?;
    if a.json {
        println!(
            "{}",
            json!({"account_id": id, "username": a.username, "kind": kind.as_str()})
        );
    } else {
        println!("created {} account `{}` ({id})", kind.as_str(), a.username);
    }
    Ok(())
}
