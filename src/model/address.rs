//! How a client address is counted: by the brute-force counters (`login::throttle`)
//! and the text messages sent per address (`sources::sms_otp`), the same way in both.

use std::net::IpAddr;

/// The address as it is counted: an IPv4 address as itself (an IPv4-mapped IPv6
/// address as the IPv4 one), an IPv6 client by its /64, which one subscriber usually
/// holds whole (counting single IPv6 addresses would give each subscriber 2^64 fresh
/// counters).
pub fn counted_as(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::counted_as;

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_and_a_mapped_one_as_ipv4() {
        let at = |s: &str| counted_as(s.parse().unwrap());
        assert_eq!(at("2001:db8:1:2::1"), at("2001:db8:1:2:ffff::9"));
        assert_ne!(at("2001:db8:1:2::1"), at("2001:db8:1:3::1"));
        assert_eq!(at("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(at("192.0.2.1"), "192.0.2.1");
    }
}
