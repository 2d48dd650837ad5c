//! Calls a portal's registration makes Portico perform: its `jwks_uri` (for
//! `private_key_jwt`), its back-channel logout URI, its sector identifier URI. Whoever
//! writes such a URI chooses where Portico connects, so without a check a registration
//! could make it call inside its own network (server-side request forgery): a cloud
//! metadata service at 169.254.169.254, an admin interface on loopback, a database.
//!
//! With `outbound.allow_private_addresses = false` (the default) such calls never
//! connect to an address that is not public: checked once at registration (the URI's
//! literal address, or every address its name resolves to), and again at every connect
//! on the address actually used, so a name that resolves elsewhere later (DNS
//! rebinding) is refused too. The identity sources and the SMS gateway are the
//! operator's own configuration and are not checked (`app.rs` gives them another
//! client).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::config::OutboundConfig;

/// The configuration key that allows these addresses, named in every refusal.
pub const SETTING: &str = "outbound.allow_private_addresses";

/// How long registration waits for a name to resolve before it leaves the check to
/// connect time.
const REGISTRATION_LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether `ip` is an address a portal must not make Portico call: anything but a
/// public unicast address. IPv6 forms that embed an IPv4 address (mapped, compatible,
/// NAT64, 6to4) are judged by that address, since they reach it.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6),
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    a == 0 // "this network", 0.0.0.0 reaching the local host
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT, 100.64/10
        || (a == 169 && b == 254) // link-local, cloud metadata services
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || a >= 224 // multicast, reserved, broadcast
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_internal_v4(v4);
    }
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    if s[..6] == [0; 6] {
        // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d.
        return ip.is_unspecified() || ip.is_loopback() || is_internal_v4(embedded(s[6], s[7]));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64 (RFC 6052): a translator connects to the embedded IPv4 address.
        return is_internal_v4(embedded(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        // 6to4 (RFC 3056): the relay is the embedded IPv4 address.
        return is_internal_v4(embedded(s[1], s[2]));
    }
    (s[0] & 0xfe00) == 0xfc00 // unique local, fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local, fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated), fec0::/10
        || (s[0] & 0xff00) == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] == 0) // Teredo: the IPv4 server it relays through is hidden
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard-only, 100::/64
}

/// The URI's host when it is an IP address literal (in any form the URL standard
/// reads as one, `http://2130706433/` included).
fn literal_address(url: &url::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

fn refusal(what: &str, uri: &str, address: IpAddr) -> String {
    format!(
        "{what} `{uri}` reaches {address}, a private, loopback, link-local or otherwise \
         non-public address; Portico calls such addresses for a portal only with \
         `{SETTING} = true`"
    )
}

/// Refuses a URI whose host is a literal non-public address (the check a request
/// makes before it is sent: a literal address never reaches the resolver).
pub fn check_literal(
    policy: OutboundConfig,
    what: &str,
    url: &url::Url,
    uri: &str,
) -> Result<(), String> {
    match literal_address(url) {
        Some(ip) if !policy.allow_private_addresses && is_internal(ip) => {
            Err(refusal(what, uri, ip))
        }
        _ => Ok(()),
    }
}

/// [`check_literal`] on a URI given as text (an unparsable one is left to the request,
/// which fails on it).
pub fn check_literal_uri(policy: OutboundConfig, what: &str, uri: &str) -> Result<(), String> {
    match url::Url::parse(uri) {
        Ok(url) => check_literal(policy, what, &url, uri),
        Err(_) => Ok(()),
    }
}

/// Registration's check: the literal address, or every address the name resolves to
/// now. A name that does not resolve (yet) is accepted: each connect checks the
/// address it would use anyway, and a portal's DNS may be set up after its
/// registration.
pub async fn check_registered(
    policy: OutboundConfig,
    what: &str,
    url: &url::Url,
    uri: &str,
) -> Result<(), String> {
    if policy.allow_private_addresses {
        return Ok(());
    }
    check_literal(policy, what, url, uri)?;
    let Some(url::Host::Domain(name)) = url.host() else {
        return Ok(());
    };
    let port = url.port_or_known_default().unwrap_or(443);
    let lookup = tokio::net::lookup_host((name, port));
    let Ok(Ok(addresses)) = tokio::time::timeout(REGISTRATION_LOOKUP_TIMEOUT, lookup).await else {
        return Ok(());
    };
    for address in addresses {
        if is_internal(address.ip()) {
            return Err(refusal(what, uri, address.ip()));
        }
    }
    Ok(())
}

/// An HTTP client for portal-driven calls: no redirects (a redirect would be a second,
/// unchecked destination), and under the default policy a resolver that drops every
/// non-public address, so the connection is made only to an address that passed. The
/// check on, no proxy is used either: through one, the proxy would pick the address.
pub fn http_client(policy: OutboundConfig, timeout: Option<Duration>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if let Some(t) = timeout {
        builder = builder.timeout(t);
    }
    if !policy.allow_private_addresses {
        builder = builder.no_proxy().dns_resolver(Arc::new(PublicOnly));
    }
    builder.build().expect("HTTP client")
}

/// Resolves with the system's resolver and keeps only public addresses.
struct PublicOnly;

#[derive(Debug, thiserror::Error)]
#[error(
    "`{name}` resolves only to non-public addresses ({addresses}); refused without `{SETTING} = true`"
)]
struct OnlyInternal {
    name: String,
    addresses: String,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = all
                .iter()
                .copied()
                .filter(|a| !is_internal(a.ip()))
                .collect();
            if public.is_empty() {
                let addresses: Vec<String> = all.iter().map(|a| a.ip().to_string()).collect();
                return Err(Box::new(OnlyInternal {
                    name,
                    addresses: addresses.join(", "),
                })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// A request error with its causes: reqwest's own text omits them, and the cause is
/// what says that an address was refused.
pub fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: OutboundConfig = OutboundConfig {
        allow_private_addresses: false,
    };

    #[test]
    fn every_non_public_range_is_internal() {
        for internal in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.8.9.10",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "192.0.0.8",
            "192.0.2.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "2001:0:4136:e378::1",
            "100::1",
        ] {
            assert!(is_internal(internal.parse().unwrap()), "{internal}");
        }
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.0.1",
            "172.32.0.1",
            "192.169.0.1",
            "203.113.131.1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "2001:4860:4860::8888",
            "2405:4800::1",
        ] {
            assert!(!is_internal(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn literal_hosts_in_every_spelling_are_refused_naming_the_setting() {
        for uri in [
            "http://127.0.0.1:8080/jwks",
            "https://[::1]/jwks",
            "https://[::ffff:7f00:1]/jwks",
            "https://2130706433/jwks",
            "https://0x7f.1/jwks",
            "https://169.254.169.254/latest/meta-data/",
            "https://[fe80::1]/jwks",
            "https://0.0.0.0/jwks",
            "https://100.64.1.1/jwks",
        ] {
            let url = url::Url::parse(uri).unwrap();
            let e = check_literal(STRICT, "jwks_uri", &url, uri).unwrap_err();
            assert!(e.contains(uri) && e.contains(SETTING), "{e}");
            let allowed = OutboundConfig {
                allow_private_addresses: true,
            };
            assert!(check_literal(allowed, "jwks_uri", &url, uri).is_ok());
        }
        let public = "https://portal.example.gov/jwks";
        let url = url::Url::parse(public).unwrap();
        assert!(check_literal(STRICT, "jwks_uri", &url, public).is_ok());
    }

    #[tokio::test]
    async fn registration_refuses_a_name_resolving_to_loopback() {
        let uri = "http://localhost:9/jwks";
        let url = url::Url::parse(uri).unwrap();
        let e = check_registered(STRICT, "jwks_uri", &url, uri)
            .await
            .unwrap_err();
        assert!(e.contains(uri) && e.contains(SETTING), "{e}");
    }
}
