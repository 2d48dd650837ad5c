//! `[brute_force]`: how failed logins and failed client authentications are slowed
//! down and then locked out for a while (counted in the database, so every node
//! enforces one limit), and `server.trusted_proxies`, the only peers whose
//! `X-Forwarded-For` names the client address.

use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, err};

/// When a counter slows its key down, and when it locks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// From this many failures in the window on, each further attempt waits a delay
    /// that doubles with every failure.
    pub backoff_after: u32,
    /// At this many failures in the window the key is locked for `lock_duration`.
    pub lock_after: u32,
}

/// The brute-force policy, as validated.
#[derive(Debug, Clone)]
pub struct BruteForceConfig {
    /// Per account at a source (the `username` a form names, known or not).
    pub account: Limits,
    /// Per client address (IPv4, or the IPv6 /64), across usernames.
    pub address: Limits,
    /// Per `client_id` at `/token`, `/introspect` and `/revoke`.
    pub client: Limits,
    /// Failures older than this (counted from the first of a run) are forgotten.
    pub window: Duration,
    pub lock_duration: Duration,
    /// The delay after `backoff_after` failures; doubled with each further one.
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl BruteForceConfig {
    /// Seconds a key must wait after its `failures`-th failure (0: none), as in the
    /// store's SQL (`store::throttle`); for the documentation and the tests.
    pub fn delay_after(&self, limits: Limits, failures: u32) -> u64 {
        if failures >= limits.lock_after {
            self.lock_duration.as_secs()
        } else if failures >= limits.backoff_after {
            // first_delay is at most an hour (12 bits): 30 doublings stay in range.
            let shift = failures - limits.backoff_after;
            match shift {
                0..30 => (self.first_delay.as_secs() << shift).min(self.max_delay.as_secs()),
                _ => self.max_delay.as_secs(),
            }
        } else {
            0
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBruteForce {
    /// default 5
    account_backoff_after: Option<u32>,
    /// default 10
    account_lock_after: Option<u32>,
    /// default 20
    address_backoff_after: Option<u32>,
    /// default 100
    address_lock_after: Option<u32>,
    /// default 5
    client_backoff_after: Option<u32>,
    /// default 10
    client_lock_after: Option<u32>,
    /// default "15m"
    window: Option<super::file::DurationText>,
    /// default "15m"
    lock_duration: Option<super::file::DurationText>,
    /// default "1s"
    first_delay: Option<super::file::DurationText>,
    /// default "1m"
    max_delay: Option<super::file::DurationText>,
}

fn limits(
    name: &str,
    backoff_after: Option<u32>,
    lock_after: Option<u32>,
    defaults: (u32, u32),
) -> Result<Limits, ConfigError> {
    let l = Limits {
        backoff_after: backoff_after.unwrap_or(defaults.0),
        lock_after: lock_after.unwrap_or(defaults.1),
    };
    if !(1..=10_000).contains(&l.lock_after) {
        return Err(err(
            format!("brute_force.{name}_lock_after"),
            "must be between 1 and 10000",
        ));
    }
    if l.backoff_after == 0 || l.backoff_after > l.lock_after {
        return Err(err(
            format!("brute_force.{name}_backoff_after"),
            format!("must be between 1 and {name}_lock_after ({})", l.lock_after),
        ));
    }
    Ok(l)
}

impl RawBruteForce {
    pub(super) fn validate(self) -> Result<BruteForceConfig, ConfigError> {
        use super::file::duration;
        let day = Duration::from_secs(86_400);
        let config = BruteForceConfig {
            account: limits(
                "account",
                self.account_backoff_after,
                self.account_lock_after,
                (5, 10),
            )?,
            address: limits(
                "address",
                self.address_backoff_after,
                self.address_lock_after,
                (20, 100),
            )?,
            client: limits(
                "client",
                self.client_backoff_after,
                self.client_lock_after,
                (5, 10),
            )?,
            window: duration(
                "brute_force.window",
                self.window,
                "15m",
                Duration::from_secs(60),
                day,
            )?,
            lock_duration: duration(
                "brute_force.lock_duration",
                self.lock_duration,
                "15m",
                Duration::from_secs(60),
                day,
            )?,
            first_delay: duration(
                "brute_force.first_delay",
                self.first_delay,
                "1s",
                Duration::from_secs(1),
                Duration::from_secs(3600),
            )?,
            max_delay: duration(
                "brute_force.max_delay",
                self.max_delay,
                "1m",
                Duration::from_secs(1),
                Duration::from_secs(3600),
            )?,
        };
        if config.max_delay < config.first_delay {
            return Err(err(
                "brute_force.max_delay",
                "must not be shorter than brute_force.first_delay",
            ));
        }
        Ok(config)
    }
}

/// `server.trusted_proxies`: CIDRs (`"10.0.0.0/8"`) or single addresses.
pub(super) fn trusted_proxies(raw: Option<Vec<String>>) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    raw.unwrap_or_default()
        .iter()
        .map(|text| {
            text.parse::<ipnet::IpNet>()
                .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    err(
                        "server.trusted_proxies",
                        format!(
                            "`{text}` is not an address or CIDR; write e.g. \"10.0.0.0/8\" or \"192.0.2.7\""
                        ),
                    )
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn defaults_back_off_then_lock() {
        let c = Config::from_parts("", &[]).unwrap().brute_force;
        let delays: Vec<u64> = (1..=10).map(|n| c.delay_after(c.account, n)).collect();
        assert_eq!(delays, [0, 0, 0, 0, 1, 2, 4, 8, 16, 900]);
        assert_eq!(c.delay_after(c.address, 19), 0);
        assert_eq!(c.delay_after(c.address, 26), 60, "capped at max_delay");
        assert_eq!(c.delay_after(c.address, 100), 900);
    }

    #[test]
    fn bad_values_name_their_key() {
        for (toml, key) in [
            (
                "[brute_force]\naccount_lock_after = 0",
                "brute_force.account_lock_after",
            ),
            (
                "[brute_force]\naddress_backoff_after = 200",
                "brute_force.address_backoff_after",
            ),
            ("[brute_force]\nwindow = \"5s\"", "brute_force.window"),
            (
                "[brute_force]\nmax_delay = \"1s\"\nfirst_delay = \"5s\"",
                "brute_force.max_delay",
            ),
            (
                "[server]\ntrusted_proxies = [\"10.0.0.0/33\"]",
                "server.trusted_proxies",
            ),
        ] {
            let e = Config::from_parts(toml, &[]).unwrap_err();
            assert_eq!(e.key, key, "{toml}");
        }
        let c = Config::from_parts("[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]", &[])
            .unwrap();
        assert_eq!(c.server.trusted_proxies.len(), 2);
    }
}
