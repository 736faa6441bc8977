//! Webhooks: the events an endpoint can receive, its checked URL, and which network
//! targets a webhook may reach (private ranges only when the allow-list names them, so
//! an admin cannot aim the server at its own network).

use super::InvalidInput;
use std::net::IpAddr;

/// An event a change sends to the account's webhook endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookEvent {
    /// A chunk of a deletion: the ids it marked deleted.
    ContactDeleted,
    /// A deletion closed (finished or cancelled), with its count.
    DeletionFinished,
    /// A chunk of a restore: the ids it brought back.
    ContactRestored,
    /// Contacts removed for good, by the purge or an erase: ids only.
    ContactPurged,
}

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 4] =
        [WebhookEvent::ContactDeleted, WebhookEvent::DeletionFinished, WebhookEvent::ContactRestored, WebhookEvent::ContactPurged];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::ContactDeleted => "contact.deleted",
            WebhookEvent::DeletionFinished => "deletion.finished",
            WebhookEvent::ContactRestored => "contact.restored",
            WebhookEvent::ContactPurged => "contact.purged",
        }
    }

    pub fn parse(s: &str) -> Option<WebhookEvent> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// What the event means, for the registration form.
    pub fn describe(self) -> &'static str {
        match self {
            WebhookEvent::ContactDeleted => "contacts deleted (one event per chunk of a deletion, with their ids)",
            WebhookEvent::DeletionFinished => "a deletion finished or was cancelled, with its count",
            WebhookEvent::ContactRestored => "contacts restored, with their ids",
            WebhookEvent::ContactPurged => "contacts removed for good by the purge or Erase now (ids only)",
        }
    }
}

/// The event types an endpoint receives: at least one, each once, in [`WebhookEvent::ALL`]'s order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvents(Vec<WebhookEvent>);

impl WebhookEvents {
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<WebhookEvents, InvalidInput> {
        let mut picked = Vec::new();
        for name in names.into_iter().filter(|n| !n.trim().is_empty()) {
            let e = WebhookEvent::parse(name.trim()).ok_or_else(|| InvalidInput::new(format!("There is no webhook event {:?}.", name.trim())))?;
            picked.push(e);
        }
        let events: Vec<WebhookEvent> = WebhookEvent::ALL.into_iter().filter(|e| picked.contains(e)).collect();
        if events.is_empty() {
            return Err(InvalidInput::new("Choose at least one event to send."));
        }
        Ok(WebhookEvents(events))
    }

    pub fn iter(&self) -> impl Iterator<Item = WebhookEvent> + '_ {
        self.0.iter().copied()
    }

    /// As stored: a JSON array of the event names.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0.iter().map(|e| e.as_str()).collect::<Vec<_>>()).unwrap_or_else(|_| "[]".into())
    }

    /// Back from [`WebhookEvents::to_json`]; unknown names are left out.
    pub fn from_json(s: &str) -> Vec<WebhookEvent> {
        serde_json::from_str::<Vec<String>>(s).unwrap_or_default().iter().filter_map(|n| WebhookEvent::parse(n)).collect()
    }
}

/// The longest webhook URL accepted.
const MAX_URL: usize = 2000;

/// A webhook endpoint's URL: http or https, with a host, without a user or password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    pub fn parse(s: &str) -> Result<WebhookUrl, InvalidInput> {
        let s = s.trim();
        if s.is_empty() {
            return Err(InvalidInput::new("Enter the URL that should receive the webhooks."));
        }
        if s.len() > MAX_URL {
            return Err(InvalidInput::new(format!("A webhook URL may have at most {MAX_URL} characters.")));
        }
        let url = url::Url::parse(s).map_err(|e| InvalidInput::new(format!("{s:?} is not a URL ({e}).")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(InvalidInput::new("A webhook URL must start with https:// or http://."));
        }
        if url.host().is_none() {
            return Err(InvalidInput::new("A webhook URL must name a host."));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InvalidInput::new("A webhook URL may not carry a user name or password; verify the signature instead."));
        }
        Ok(WebhookUrl(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The host as written: a name, or an IP address without brackets.
    pub fn host(&self) -> String {
        match self.0.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(h) => h.to_string(),
            None => String::new(),
        }
    }

    /// The port, or the scheme's default.
    pub fn port(&self) -> u16 {
        self.0.port_or_known_default().unwrap_or(443)
    }
}

/// Hosts and networks a webhook may reach although they are not public (loopback,
/// private, link-local…): names (`receiver.internal`), addresses or CIDR ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookAllowList {
    hosts: Vec<String>,
    nets: Vec<ipnet::IpNet>,
}

impl WebhookAllowList {
    /// Parses one entry a line or comma-separated list gives.
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<WebhookAllowList, String> {
        let mut list = WebhookAllowList::default();
        for e in entries.into_iter().map(str::trim).filter(|e| !e.is_empty()) {
            if let Ok(net) = e.parse::<ipnet::IpNet>() {
                list.nets.push(net);
            } else if let Ok(ip) = e.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
                list.nets.push(ipnet::IpNet::from(ip));
            } else if e.contains('/') || e.contains(':') {
                return Err(format!("{e:?} is neither a host name, an IP address nor a CIDR range"));
            } else {
                list.hosts.push(e.to_ascii_lowercase());
            }
        }
        Ok(list)
    }

    /// Whether `host` (as the URL names it) or its address `ip` is allowed.
    pub fn allows(&self, host: &str, ip: IpAddr) -> bool {
        public_address(ip) || self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) || self.nets.iter().any(|n| n.contains(&ip))
    }
}

/// Whether `ip` is a public unicast address: not loopback, private, link-local,
/// unique-local, multicast, unspecified, shared (CGNAT), documentation or broadcast.
pub fn public_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return public_address(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || (s[0] == 0x64 && s[1] == 0xff9b))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_targets_are_not_public() {
        for ip in ["127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "::1", "fd00::1", "fe80::1", "::ffff:10.0.0.1"] {
            assert!(!public_address(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(public_address(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn the_allow_list_names_hosts_addresses_and_ranges() {
        let list = WebhookAllowList::parse(["127.0.0.1", "10.1.0.0/16", "Receiver.Internal"]).unwrap();
        assert!(list.allows("x", "127.0.0.1".parse().unwrap()));
        assert!(!list.allows("x", "127.0.0.2".parse().unwrap()));
        assert!(list.allows("x", "10.1.200.3".parse().unwrap()));
        assert!(!list.allows("x", "10.2.0.1".parse().unwrap()));
        assert!(list.allows("receiver.internal", "192.168.0.9".parse().unwrap()));
        assert!(WebhookAllowList::parse(["10.0.0.0/99"]).is_err());
    }

    #[test]
    fn urls_are_checked() {
        assert!(WebhookUrl::parse("https://hooks.example.com/x").is_ok());
        assert_eq!(WebhookUrl::parse("http://[::1]:8080/").unwrap().host(), "::1");
        for bad in ["", "ftp://x/", "https://u:p@x/", "not a url", "file:///etc/passwd"] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn events_are_parsed_in_order_and_stored_as_json() {
        let e = WebhookEvents::parse(["contact.purged", "contact.deleted", "contact.deleted"]).unwrap();
        assert_eq!(e.to_json(), r#"["contact.deleted","contact.purged"]"#);
        assert_eq!(WebhookEvents::from_json(&e.to_json()), vec![WebhookEvent::ContactDeleted, WebhookEvent::ContactPurged]);
        assert!(WebhookEvents::parse(Vec::<&str>::new()).is_err());
        assert!(WebhookEvents::parse(["contact.exploded"]).is_err());
    }
}
