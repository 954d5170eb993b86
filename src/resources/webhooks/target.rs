//! Where a webhook may be delivered: a server-side request must not reach the service's own host, its network's
//! link-local services (cloud metadata) or multicast groups, unless the operator listed the host.
//!
//! The rule is applied to the URL when a subscription is made (422 naming `url`) and again to every address the
//! host resolves to at each delivery, through the HTTP client's resolver, so the address checked is the address
//! connected to: DNS cannot later point a name at an internal address. Redirects are not followed.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use url::{Host, Url};

/// Whether an address is internal: loopback, link-local (169.254.0.0/16 with the cloud metadata service,
/// `fe80::/10`), unspecified, broadcast or multicast, also when written as an IPv4-mapped IPv6 address.
pub fn is_internal(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            v4.is_loopback() || v4.is_link_local() || v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast()
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            // fd00:ec2::254 is a cloud metadata address reached over IPv6.
            let metadata = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6 == metadata
        }
    }
}

/// The operator's list of hosts a webhook may reach although they are internal.
#[derive(Debug, Clone, Default)]
pub struct Allowed(Arc<Vec<String>>);

impl Allowed {
    pub fn new(hosts: Vec<String>) -> Self {
        Allowed(Arc::new(hosts))
    }

    fn lists(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        self.0.contains(&host)
    }

    /// Whether `address`, which `host` resolved to, may be connected to.
    pub fn permits(&self, host: &str, address: IpAddr) -> bool {
        !is_internal(address) || self.lists(host) || self.lists(&address.to_string())
    }
}

/// A URL's host and port, or why it cannot be a webhook's target.
pub fn parse(text: &str) -> Result<(Url, String, u16), String> {
    let url = Url::parse(text).map_err(|e| format!("is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http or https URL".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("may not carry a user name or password".into());
    }
    let host = match url.host() {
        Some(Host::Domain(name)) => name.to_owned(),
        Some(Host::Ipv4(v4)) => v4.to_string(),
        Some(Host::Ipv6(v6)) => v6.to_string(),
        None => return Err("has no host".into()),
    };
    let port = url.port_or_known_default().unwrap_or(80);
    Ok((url, host, port))
}

/// Checks a target as it is subscribed: every address its host resolves to now must be permitted.
pub async fn check(text: &str, allowed: &Allowed) -> Result<Url, String> {
    let (url, host, port) = parse(text)?;
    let addresses = resolve(&host, port).await?;
    match addresses.iter().find(|a| !allowed.permits(&host, a.ip())) {
        Some(internal) => Err(format!(
            "points at an internal address ({}); list its host in PARTYBASE_WEBHOOK_ALLOWED_HOSTS to allow it",
            internal.ip()
        )),
        None => Ok(url),
    }
}

async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    if let Ok(address) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(address, port)]);
    }
    let found = tokio::time::timeout(std::time::Duration::from_secs(5), tokio::net::lookup_host((host, port)))
        .await
        .map_err(|_| format!("host {host:?} did not resolve within 5 seconds"))?
        .map_err(|e| format!("host {host:?} does not resolve: {e}"))?
        .collect::<Vec<_>>();
    if found.is_empty() {
        return Err(format!("host {host:?} has no address"));
    }
    Ok(found)
}

/// The delivery client's resolver: the system's answers, without the addresses the rule forbids.
pub struct Resolver(pub Allowed);

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allowed = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = resolve(&host, 0).await?;
            let permitted: Vec<SocketAddr> = found.into_iter().filter(|a| allowed.permits(&host, a.ip())).collect();
            if permitted.is_empty() {
                return Err(format!("host {host:?} resolves only to internal addresses").into());
            }
            Ok(Box::new(permitted.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused_unless_listed() {
        let none = Allowed::default();
        for internal in [
            "127.0.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!none.permits("x", internal.parse().unwrap()), "{internal}");
        }
        for public in ["203.0.113.7", "10.1.2.3", "2001:db8::1"] {
            assert!(none.permits("x", public.parse().unwrap()), "{public}");
        }
        let listed = Allowed::new(vec!["hooks.local".into(), "127.0.0.1".into()]);
        assert!(listed.permits("hooks.local", "127.0.0.2".parse().unwrap()));
        assert!(listed.permits("other", "127.0.0.1".parse().unwrap()));
        assert!(!listed.permits("other", "127.0.0.2".parse().unwrap()));
    }

    #[test]
    fn only_plain_http_urls_are_targets() {
        assert!(parse("https://example.org/hook").is_ok());
        assert!(parse("ftp://example.org/").is_err());
        assert!(parse("https://user:pw@example.org/").is_err());
        assert!(parse("not a url").is_err());
        assert_eq!(parse("http://[::1]:8080/x").unwrap().1, "::1");
    }
}
