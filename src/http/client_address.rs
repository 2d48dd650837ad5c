//! The client's address, for brute-force counters and the audit trail: the socket's
//! peer, unless that peer is one of `server.trusted_proxies`; then the right-most
//! address in `X-Forwarded-For` that is not a trusted proxy (each proxy appends the
//! address it received from, so everything left of the first untrusted hop may be
//! forged by the client).

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

pub fn client_address(
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    trusted: &[ipnet::IpNet],
) -> Option<IpAddr> {
    let peer = peer?.ip().to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut nearest = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            // Not an address: nothing left of it can be believed; the proxy that sent
            // it is the best we know.
            return Some(nearest);
        };
        if !is_trusted(&ip) {
            return Some(ip);
        }
        nearest = ip;
    }
    Some(nearest)
}

/// `192.0.2.1`, `2001:db8::1`, or with a port (`192.0.2.1:443`, `[2001:db8::1]:443`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer = |s: &str| Some(s.parse::<SocketAddr>().unwrap());
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // An untrusted peer's header is ignored.
        assert_eq!(
            client_address(
                peer("198.51.100.7:5000"),
                &headers(&["192.0.2.1"]),
                &trusted
            ),
            ip("198.51.100.7")
        );
        // From a trusted proxy: the right-most untrusted hop, not the forgeable left.
        assert_eq!(
            client_address(
                peer("10.0.0.2:5000"),
                &headers(&["203.0.113.9, 192.0.2.1", "10.0.0.3"]),
                &trusted
            ),
            ip("192.0.2.1")
        );
        // Only trusted hops: the left-most of them.
        assert_eq!(
            client_address(peer("10.0.0.2:1"), &headers(&["10.1.1.1"]), &trusted),
            ip("10.1.1.1")
        );
        // Garbage stops the walk at the proxy that sent it.
        assert_eq!(
            client_address(
                peer("10.0.0.2:1"),
                &headers(&["192.0.2.1, nonsense"]),
                &trusted
            ),
            ip("10.0.0.2")
        );
        assert_eq!(
            client_address(
                peer("10.0.0.2:1"),
                &headers(&["[2001:db8::5]:443"]),
                &trusted
            ),
            ip("2001:db8::5")
        );
        // No proxy configured: the peer, whatever the header says.
        assert_eq!(
            client_address(peer("10.0.0.2:1"), &headers(&["192.0.2.1"]), &[]),
            ip("10.0.0.2")
        );
    }
}
