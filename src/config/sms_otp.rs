//! `kind = "sms_otp"`: a six-digit code sent by text message to a mobile number
//! (`sources::sms_otp`). The keys `gateway_url` and `gateway_token` are a contract
//! (issue 21); `gateway_token` may come from `PORTICO_SOURCES__<ID>__GATEWAY_TOKEN`.

use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::sources::RawDisplayName;
use super::{ConfigError, err};
use crate::secret::Secret;

/// Where the codes go.
#[derive(Debug, Clone)]
pub enum SmsGateway {
    /// POST `{"to", "text"}` (and `sender` when set) as JSON with
    /// `Authorization: Bearer <token>`; any non-2xx is a failure.
    Http {
        url: Url,
        token: Secret,
        /// Tries again this many times when the gateway cannot be reached (a
        /// connection error); never after it answered, whatever it answered.
        connect_retries: u32,
    },
    /// Development only: the message is written to the log (and nothing is sent).
    /// Never the default: `gateway = "log"` must be written.
    Log,
}

/// Which numbers are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberPolicy {
    /// Vietnamese mobile numbers only (`0912 345 678`, `+84 912 345 678`, `84912345678`).
    VietnamMobile,
    /// Those, and any other number written in E.164 (`+` and 8 to 15 digits).
    AnyE164,
}

#[derive(Debug, Clone)]
pub struct SmsOtpSourceConfig {
    pub gateway: SmsGateway,
    /// The sender name sent to the gateway (`"sender"` in the JSON), if any.
    pub sender: Option<String>,
    pub timeout: Duration,
    pub numbers: NumberPolicy,
    /// Codes sent to one number per hour.
    pub per_number_per_hour: u32,
    /// Codes this source sends per hour in all (a ceiling against SMS pumping).
    pub per_source_per_hour: u32,
    /// Codes sent per hour at the request of one client address, whatever the numbers
    /// (an IPv6 client counted by its /64).
    pub per_address_per_hour: u32,
}

/// The default of `per_address_per_hour`: enough for the people behind one carrier
/// NAT or office address signing in by text message within an hour, far below what
/// pumping needs to pay.
pub const DEFAULT_PER_ADDRESS_PER_HOUR: u32 = 30;

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawDuration {
    Text(String),
    Seconds(u64),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSmsOtp {
    pub(super) id: String,
    pub(super) display_name: Option<RawDisplayName>,
    pub(super) loa: Option<u8>,
    /// "http" (default) or "log"
    gateway: Option<String>,
    gateway_url: Option<String>,
    gateway_token: Option<Secret>,
    sender: Option<String>,
    /// default "10s"
    timeout: Option<RawDuration>,
    /// default 1
    connect_retries: Option<u32>,
    /// "vn" (default) or "e164"
    numbers: Option<String>,
    /// default 5
    per_number_per_hour: Option<u32>,
    /// default 1000
    per_source_per_hour: Option<u32>,
    /// default 30
    per_address_per_hour: Option<u32>,
}

pub(super) fn validate(
    key: &dyn Fn(&str) -> String,
    raw: RawSmsOtp,
) -> Result<SmsOtpSourceConfig, ConfigError> {
    let env = format!(
        "PORTICO_SOURCES__{}__GATEWAY_TOKEN",
        raw.id.to_ascii_uppercase().replace('-', "_")
    );
    let gateway = match raw.gateway.as_deref().unwrap_or("http") {
        "http" => {
            let url = raw.gateway_url.as_deref().ok_or_else(|| {
                err(
                    key("gateway_url"),
                    "is needed: the gateway's HTTPS address the codes are POSTed to",
                )
            })?;
            let url =
                Url::parse(url).map_err(|e| err(key("gateway_url"), format!("not a URL: {e}")))?;
            if url.scheme() != "https" && url.scheme() != "http" {
                return Err(err(key("gateway_url"), "must be an https:// address"));
            }
            let token = raw
                .gateway_token
                .filter(|t| !t.expose().is_empty())
                .ok_or_else(|| {
                    err(
                        key("gateway_token"),
                        format!(
                            "is needed (sent as Authorization: Bearer); set it here or in {env}"
                        ),
                    )
                })?;
            let connect_retries = raw.connect_retries.unwrap_or(1);
            if connect_retries > 3 {
                return Err(err(key("connect_retries"), "must be 0 to 3"));
            }
            SmsGateway::Http {
                url,
                token,
                connect_retries,
            }
        }
        "log" => {
            for (name, set) in [
                ("gateway_url", raw.gateway_url.is_some()),
                ("gateway_token", raw.gateway_token.is_some()),
                ("connect_retries", raw.connect_retries.is_some()),
            ] {
                if set {
                    return Err(err(
                        key(name),
                        "is not used with gateway = \"log\" (which sends nothing); remove it",
                    ));
                }
            }
            SmsGateway::Log
        }
        other => {
            return Err(err(
                key("gateway"),
                format!("`{other}` is not a gateway; use \"http\" or \"log\" (development only)"),
            ));
        }
    };
    let timeout = match raw.timeout {
        None => Duration::from_secs(10),
        Some(RawDuration::Seconds(n)) => Duration::from_secs(n),
        Some(RawDuration::Text(t)) => super::parse_duration(&key("timeout"), &t)?,
    };
    if timeout.as_secs() == 0 || timeout.as_secs() > 60 {
        return Err(err(key("timeout"), "must be between 1s and 60s"));
    }
    let numbers = match raw.numbers.as_deref().unwrap_or("vn") {
        "vn" => NumberPolicy::VietnamMobile,
        "e164" => NumberPolicy::AnyE164,
        other => {
            return Err(err(
                key("numbers"),
                format!("`{other}` is not a number policy; use \"vn\" or \"e164\""),
            ));
        }
    };
    let positive = |name: &str, v: Option<u32>, default: u32| match v.unwrap_or(default) {
        0 => Err(err(key(name), "must be at least 1")),
        n => Ok(n),
    };
    Ok(SmsOtpSourceConfig {
        gateway,
        sender: raw.sender.filter(|s| !s.is_empty()),
        timeout,
        numbers,
        per_number_per_hour: positive("per_number_per_hour", raw.per_number_per_hour, 5)?,
        per_source_per_hour: positive("per_source_per_hour", raw.per_source_per_hour, 1000)?,
        per_address_per_hour: positive(
            "per_address_per_hour",
            raw.per_address_per_hour,
            DEFAULT_PER_ADDRESS_PER_HOUR,
        )?,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, SourceKindConfig};

    const BASE: &str = "[[sources]]\nid = \"mobile\"\nkind = \"sms_otp\"\ndisplay_name = \"Mobile number\"\nloa = 3\n";

    #[test]
    fn the_contract_keys_and_the_token_from_the_environment() {
        let c = Config::from_parts(
            &format!("{BASE}gateway_url = \"https://sms.example.gov/send\"\n"),
            &[(
                "PORTICO_SOURCES__MOBILE__GATEWAY_TOKEN".into(),
                "t0ken".into(),
            )],
        )
        .unwrap();
        let SourceKindConfig::SmsOtp(s) = &c.sources[0].kind else {
            panic!("not sms_otp")
        };
        let super::SmsGateway::Http { token, url, .. } = &s.gateway else {
            panic!("not http")
        };
        assert_eq!(token.expose(), "t0ken");
        assert_eq!(url.as_str(), "https://sms.example.gov/send");
        assert_eq!(c.sources[0].loa.level(), 3);
    }

    #[test]
    fn refusals_name_the_key() {
        let e = Config::from_parts(BASE, &[]).unwrap_err();
        assert_eq!(e.key, "sources[0].gateway_url", "{e}");
        let e = Config::from_parts(&format!("{BASE}gateway_url = \"https://x/send\"\n"), &[])
            .unwrap_err();
        assert_eq!(e.key, "sources[0].gateway_token", "{e}");
        assert!(
            e.message.contains("PORTICO_SOURCES__MOBILE__GATEWAY_TOKEN"),
            "{e}"
        );
        let e =
            Config::from_parts(&format!("{BASE}gateway = \"log\"\ncolour = 1\n"), &[]).unwrap_err();
        assert!(e.message.contains("colour"), "{e}");
        let e = Config::from_parts(
            &format!("{BASE}gateway = \"log\"\ngateway_token = \"x\"\n"),
            &[],
        )
        .unwrap_err();
        assert_eq!(e.key, "sources[0].gateway_token", "{e}");
        let c = Config::from_parts(&format!("{BASE}gateway = \"log\"\n"), &[]).unwrap();
        assert_eq!(c.sources[0].kind.name(), "sms_otp");
        let e = Config::from_parts(
            &format!("{BASE}gateway = \"log\"\nper_address_per_hour = 0\n"),
            &[],
        )
        .unwrap_err();
        assert_eq!(e.key, "sources[0].per_address_per_hour", "{e}");
    }

    #[test]
    fn the_per_address_limit_has_a_default_and_a_key() {
        let limit = |extra: &str| {
            let c = Config::from_parts(&format!("{BASE}gateway = \"log\"\n{extra}"), &[]).unwrap();
            let SourceKindConfig::SmsOtp(s) = &c.sources[0].kind else {
                panic!("not sms_otp")
            };
            s.per_address_per_hour
        };
        assert_eq!(limit(""), super::DEFAULT_PER_ADDRESS_PER_HOUR);
        assert_eq!(limit("per_address_per_hour = 4\n"), 4);
    }
}
