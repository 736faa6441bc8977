//! The client's address behind reverse proxies (`serve --trusted-proxy`).
//!
//! `X-Forwarded-For` is written by whoever sends the request, so it is believed only
//! when the direct peer is a proxy this server was told to trust, and then only the
//! entries the trusted proxies appended: read from the right, the first address that
//! is not a trusted proxy is the client. Anything a client puts on the left of the list
//! is ignored. With no trusted proxy configured the header is ignored altogether.

use actix_web::http::header::HeaderMap;
use actix_web::HttpRequest;
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpAddr>);

/// An address as compared here: an IPv4 address in IPv6 form (`::ffff:10.0.0.1`, as a
/// dual-stack listener reports it) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// One entry of `X-Forwarded-For`: an address, possibly with a port (`1.2.3.4:80`,
/// `[::1]:80`), which some proxies add.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| entry.strip_prefix('[').and_then(|e| e.strip_suffix(']')).and_then(|e| e.parse().ok()))
        .map(canonical)
}

impl TrustedProxies {
    pub fn new(addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        let mut v: Vec<IpAddr> = addrs.into_iter().map(canonical).collect();
        v.sort();
        v.dedup();
        TrustedProxies(v)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.contains(&canonical(ip))
    }

    /// The client's address for a request from `peer` with these headers.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        // Several header lines are one list, in order (RFC 9110 §5.3).
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        let mut client = peer;
        for entry in entries.iter().rev() {
            match parse_entry(entry) {
                // a trusted proxy passed it on: look one hop further left
                Some(ip) if self.trusts(ip) => client = ip,
                Some(ip) => return ip,
                // Not an address: a trusted proxy would not have written it, so the
                // hop that passed it on is the last one known.
                None => return client,
            }
        }
        client
    }

    /// The client's address of `req` as text, the key of per-address limits; empty when
    /// the connection has no peer address (a test request).
    pub fn client_addr(&self, req: &HttpRequest) -> String {
        match req.peer_addr() {
            Some(peer) => self.client_ip(peer.ip(), req.headers()).to_string(),
            None => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append(HeaderName::from_static("x-forwarded-for"), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let t = TrustedProxies::default();
        assert_eq!(t.client_ip(ip("198.51.100.1"), &headers(&["203.0.113.9"])), ip("198.51.100.1"));
    }

    #[test]
    fn an_untrusted_peer_cannot_claim_another_address() {
        let t = TrustedProxies::new([ip("10.0.0.1")]);
        assert_eq!(t.client_ip(ip("198.51.100.1"), &headers(&["10.0.0.1", "203.0.113.9"])), ip("198.51.100.1"));
    }

    #[test]
    fn the_right_most_untrusted_entry_is_the_client() {
        let t = TrustedProxies::new([ip("10.0.0.1"), ip("10.0.0.2")]);
        assert_eq!(t.client_ip(ip("10.0.0.1"), &headers(&["203.0.113.9"])), ip("203.0.113.9"));
        // what the client wrote on the left is not believed
        assert_eq!(t.client_ip(ip("10.0.0.1"), &headers(&["1.1.1.1, 203.0.113.9"])), ip("203.0.113.9"));
        // through two trusted proxies, several header lines
        assert_eq!(t.client_ip(ip("10.0.0.1"), &headers(&["1.1.1.1, 203.0.113.9", "10.0.0.2"])), ip("203.0.113.9"));
        // ports and brackets, and IPv4 in IPv6 form
        assert_eq!(t.client_ip(ip("10.0.0.1"), &headers(&["203.0.113.9:4711"])), ip("203.0.113.9"));
        assert_eq!(t.client_ip(ip("10.0.0.1"), &headers(&["[2001:db8::7]:80"])), ip("2001:db8::7"));
        assert_eq!(t.client_ip(ip("::ffff:10.0.0.1"), &headers(&["::ffff:203.0.113.9"])), ip("203.0.113.9"));
    }

    #[test]
    fn a_trusted_peer_without_a_usable_header_is_the_client() {
        let t = TrustedProxies::new([ip("10.0.0.1"), ip("10.0.0.2")]);
        assert_eq!(t.client_ip(ip("10.0.0.1"), &headers(&[])), ip("10.0.0.1"));
        assert_eq!(t.client_ip(ip("10.0.0.1"), &headers(&["10.0.0.2"])), ip("10.0.0.2"));
        assert_eq!(t.client_ip(ip("10.0.0.1"), &headers(&["203.0.113.9, unknown"])), ip("10.0.0.1"));
        assert_eq!(t.client_ip(ip("10.0.0.1"), &headers(&["203.0.113.9, not-an-ip", "10.0.0.2"])), ip("10.0.0.2"));
    }
}
