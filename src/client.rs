//! Who is asking: the client's address, from the TCP peer or, behind a proxy the operator
//! trusts, from `X-Forwarded-For` (`TRUSTED_PROXIES`). The login throttle counts per client.
//!
//! A header is only as trustworthy as whoever wrote it. Any client can send
//! `X-Forwarded-For: 1.2.3.4`; only a proxy the operator names can be believed, and only about
//! the hop before it. So the list is read from the right (the entry the nearest proxy appended)
//! and every entry written by a trusted proxy is stepped over; the first address that is not a
//! trusted proxy is the client. From an untrusted peer the header is ignored altogether: a
//! forged header changes nothing.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`): IP addresses or CIDR
/// networks. Empty (the default): the TCP peer is the client. Shared, not copied, by a clone
/// (axum clones the state on every request).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Arc<[IpNet]>,
}

impl TrustedProxies {
    /// Parses `10.0.0.1, 10.1.0.0/16, ::1`. An entry that is neither an address nor a network is
    /// an error naming it.
    pub fn parse(value: &str) -> Result<TrustedProxies, String> {
        let mut networks = Vec::new();
        for entry in value.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
            let network = match entry.parse::<IpNet>() {
                Ok(network) => network,
                Err(_) => match entry.parse::<IpAddr>() {
                    Ok(address) => IpNet::from(address),
                    Err(_) => {
                        return Err(format!(
                            "{entry:?} is neither an IP address nor a network such as 10.0.0.0/8"
                        ));
                    }
                },
            };
            let network = ipv4_if_mapped(network.trunc());
            if network.prefix_len() == 0 {
                return Err(format!(
                    "{entry:?} covers every address: every client could then name its own address in \
                     X-Forwarded-For; list your proxies' addresses or networks instead"
                ));
            }
            networks.push(network);
        }
        Ok(TrustedProxies { networks: networks.into() })
    }

    /// True when `address` is one of the trusted proxies.
    pub fn trusts(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.networks.iter().any(|network| network.contains(&address))
    }

    /// True when no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }
}

// ANCHOR: client_address
/// The client's address: the TCP `peer`, or, when the peer is a trusted proxy, the right-most
/// `X-Forwarded-For` entry that is not a trusted proxy itself.
///
/// Every `X-Forwarded-For` header counts, in order (a proxy may add its own header rather than
/// extend the last one). An entry that is not an IP address (`unknown`, garbage) stops the walk
/// at the last address a trusted proxy vouched for: whoever wrote the garbage does not get to
/// choose an address.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let mut client = canonical(peer);
    if trusted.is_empty() || !trusted.trusts(client) {
        return client;
    }
    // A header line that is not visible ASCII is garbage too: `None`, which stops the walk like
    // an entry that is not an address (it must not be skipped, letting earlier lines speak).
    let entries = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| match value.to_str() {
            Ok(text) => text.split(',').map(|entry| Some(entry.trim())).collect::<Vec<_>>(),
            Err(_) => vec![None],
        })
        .collect::<Vec<_>>();
    for entry in entries.into_iter().rev() {
        match entry.and_then(parse_entry) {
            Some(address) if trusted.trusts(address) => client = address,
            Some(address) => return address,
            None => return client,
        }
    }
    client
}
// ANCHOR_END: client_address

/// One `X-Forwarded-For` entry: `1.2.3.4`, `2001:db8::1`, or with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:5678`), as some proxies write it.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    if let Ok(address) = entry.parse::<IpAddr>() {
        return Some(canonical(address));
    }
    entry.parse::<std::net::SocketAddr>().ok().map(|socket| canonical(socket.ip()))
}

/// A network written as IPv4-mapped IPv6 (`::ffff:10.0.0.0/104`) as the IPv4 network it names
/// (`10.0.0.0/8`): addresses are compared in their IPv4 form ([`canonical`]), so the mapped form
/// would never match.
fn ipv4_if_mapped(network: IpNet) -> IpNet {
    match network {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.network().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).map_or(network, IpNet::V4),
            None => network,
        },
        other => other,
    }
}

/// An IPv4 client seen through an IPv6 socket (`::ffff:1.2.3.4`) is the IPv4 client.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

// ANCHOR: client_key
/// The name a client is counted under: its IPv4 address, or the /64 network of its IPv6 one.
///
/// One IPv6 subscriber is usually handed a whole /64 (2^64 addresses); counting per address
/// would give one attacker 2^64 fresh budgets. The /64 is what one household or one server has.
pub fn client_key(address: IpAddr) -> String {
    match canonical(address) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", Ipv6Addr::from(network))
        }
    }
}
// ANCHOR_END: client_key

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).expect("a header value"));
        }
        headers
    }

    #[test]
    fn parses_addresses_and_networks_and_names_a_bad_entry() {
        let trusted = TrustedProxies::parse(" 10.0.0.1, 10.1.0.0/16 ,::1,").expect("valid");
        assert!(trusted.trusts(ip("10.0.0.1")));
        assert!(!trusted.trusts(ip("10.0.0.2")));
        assert!(trusted.trusts(ip("10.1.200.3")));
        assert!(trusted.trusts(ip("::1")));
        assert!(trusted.trusts(ip("::ffff:10.0.0.1")), "an IPv4-mapped peer is the IPv4 peer");
        assert!(TrustedProxies::parse("").expect("empty").is_empty());
        for bad in ["10.0.0.300", "localhost", "10.0.0.0/33", "10.0.0.1,, nope"] {
            let error = TrustedProxies::parse(bad).expect_err(bad);
            assert!(error.contains("neither an IP address"), "{bad}: {error}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let none = TrustedProxies::default();
        let other = TrustedProxies::parse("10.0.0.1").expect("valid");
        let forged = forwarded(&["1.2.3.4"]);
        assert_eq!(client_address(ip("203.0.113.9"), &forged, &none), ip("203.0.113.9"));
        assert_eq!(client_address(ip("203.0.113.9"), &forged, &other), ip("203.0.113.9"));
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_entry_is_the_client() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").expect("valid");
        let peer = ip("10.0.0.1");
        // The client forged the first entry; the proxy appended the address it saw.
        let headers = forwarded(&["6.6.6.6, 198.51.100.7"]);
        assert_eq!(client_address(peer, &headers, &trusted), ip("198.51.100.7"));
        // Two proxies, each appending; the second one in its own header line.
        let headers = forwarded(&["6.6.6.6, 198.51.100.7", "10.2.3.4"]);
        assert_eq!(client_address(peer, &headers, &trusted), ip("198.51.100.7"));
        // With ports, and IPv6 in brackets.
        let headers = forwarded(&["198.51.100.7:4711"]);
        assert_eq!(client_address(peer, &headers, &trusted), ip("198.51.100.7"));
        let headers = forwarded(&["[2001:db8::5]:4711"]);
        assert_eq!(client_address(peer, &headers, &trusted), ip("2001:db8::5"));
        // No header: the proxy itself. Only trusted hops: the left-most of them.
        assert_eq!(client_address(peer, &HeaderMap::new(), &trusted), peer);
        let headers = forwarded(&["10.9.9.9, 10.8.8.8"]);
        assert_eq!(client_address(peer, &headers, &trusted), ip("10.9.9.9"));
        // Garbage stops the walk at the last vouched-for hop: it cannot pick an address.
        let headers = forwarded(&["1.2.3.4, unknown, 10.8.8.8"]);
        assert_eq!(client_address(peer, &headers, &trusted), ip("10.8.8.8"));
        // So does a whole line that is not visible ASCII: the lines before it are not read.
        let mut headers = forwarded(&["6.6.6.6", "10.8.8.8"]);
        headers.append("x-forwarded-for", HeaderValue::from_bytes(b"\xff\xfe").expect("opaque bytes"));
        assert_eq!(client_address(peer, &headers, &trusted), peer, "not 6.6.6.6");
        let mut headers = forwarded(&["6.6.6.6"]);
        headers.append("x-forwarded-for", HeaderValue::from_bytes(b"caf\xc3\xa9").expect("bytes"));
        headers.append("x-forwarded-for", HeaderValue::from_static("10.8.8.8"));
        assert_eq!(client_address(peer, &headers, &trusted), ip("10.8.8.8"));
    }

    #[test]
    fn a_range_of_every_address_is_refused_and_mapped_ipv6_is_its_ipv4() {
        for every in ["0.0.0.0/0", "::/0", "10.0.0.1, ::/0", "::ffff:0.0.0.0/96"] {
            let error = TrustedProxies::parse(every).expect_err(every);
            assert!(error.contains("covers every address"), "{every}: {error}");
        }
        assert!(TrustedProxies::parse("0.0.0.0/1").is_ok(), "half of them is a choice, not a slip");
        let mapped = TrustedProxies::parse("::ffff:10.0.0.1, ::ffff:192.0.2.0/120").expect("valid");
        assert!(mapped.trusts(ip("10.0.0.1")));
        assert!(mapped.trusts(ip("::ffff:10.0.0.1")));
        assert!(mapped.trusts(ip("192.0.2.77")));
        assert!(!mapped.trusts(ip("192.0.3.1")));
        assert!(!mapped.trusts(ip("10.0.0.2")));
    }

    #[test]
    fn ipv6_clients_count_per_64() {
        assert_eq!(client_key(ip("198.51.100.7")), "198.51.100.7");
        assert_eq!(client_key(ip("::ffff:198.51.100.7")), "198.51.100.7");
        assert_eq!(client_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")), "2001:db8:1:2::/64");
        assert_eq!(client_key(ip("2001:db8:1:2::1")), client_key(ip("2001:db8:1:2:ffff::9")));
        assert_ne!(client_key(ip("2001:db8:1:2::1")), client_key(ip("2001:db8:1:3::1")));
    }
}
