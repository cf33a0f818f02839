//! Where a webhook may go. Loopback, link-local, private, shared (CGNAT), unspecified,
//! multicast and broadcast addresses reach the server's own network, not a deploy service on
//! the internet, so they are refused unless the operator allows them
//! (`--allow-private-webhooks`). The rule is checked twice: on the URL when a region is saved
//! (`regions::save_region`: a literal address or a `localhost` name), and on every resolved
//! address when a webhook is sent (`worker::drivers`), which also catches names that resolve
//! inward.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether webhooks may go to internal addresses: the operator's setting
/// (`Settings::allow_private_webhooks`). Refused unless allowed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PrivateDestinations {
    #[default]
    Refused,
    Allowed,
}

impl PrivateDestinations {
    pub fn allowed_if(allow: bool) -> Self {
        if allow {
            PrivateDestinations::Allowed
        } else {
            PrivateDestinations::Refused
        }
    }
}

/// Why an address is internal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Internal {
    Loopback,
    /// RFC 1918 (IPv4), site-local (IPv6, deprecated).
    Private,
    /// fc00::/7.
    UniqueLocal,
    /// 169.254/16 (cloud metadata services live here) and fe80::/10.
    LinkLocal,
    /// 100.64/10, carrier-grade NAT.
    Shared,
    /// 0.0.0.0/8 and `::`: connecting to them reaches this host.
    Unspecified,
    Multicast,
    Broadcast,
}

impl Internal {
    fn label(self) -> &'static str {
        match self {
            Internal::Loopback => "a loopback address",
            Internal::Private => "a private address",
            Internal::UniqueLocal => "a unique local (private) address",
            Internal::LinkLocal => "a link-local address",
            Internal::Shared => "a shared (carrier-grade NAT) address",
            Internal::Unspecified => "an unspecified address (this host)",
            Internal::Multicast => "a multicast address",
            Internal::Broadcast => "the broadcast address",
        }
    }
}

/// What a refused destination is, with the setting that would allow it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The address or host name as the URL or the resolver gave it.
    pub host: String,
    pub kind: Internal,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is {}; an operator can allow it with --allow-private-webhooks \
             (RELEASEDESK_ALLOW_PRIVATE_WEBHOOKS)",
            self.host,
            self.kind.label()
        )
    }
}

impl std::error::Error for Refusal {}

/// Whether `ip` is internal, and why. IPv4 addresses written in IPv6 (mapped `::ffff:a.b.c.d`,
/// compatible `::a.b.c.d`, and NAT64's `64:ff9b::a.b.c.d`) are judged by their IPv4 address,
/// since that is where a connection to them ends up.
pub fn internal(ip: IpAddr) -> Option<Internal> {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => internal_v6(v6),
    }
}

fn internal_v4(ip: Ipv4Addr) -> Option<Internal> {
    let [a, b, ..] = ip.octets();
    Some(match (a, b) {
        (0, _) => Internal::Unspecified,
        (127, _) => Internal::Loopback,
        (10, _) | (172, 16..=31) | (192, 168) => Internal::Private,
        (169, 254) => Internal::LinkLocal,
        (100, 64..=127) => Internal::Shared,
        (224..=239, _) => Internal::Multicast,
        _ if ip.is_broadcast() => Internal::Broadcast,
        _ => return None,
    })
}

fn internal_v6(ip: Ipv6Addr) -> Option<Internal> {
    if ip.is_unspecified() {
        return Some(Internal::Unspecified);
    }
    if ip.is_loopback() {
        return Some(Internal::Loopback);
    }
    let segments = ip.segments();
    let embedded_v4 = || {
        let [.., a, b, c, d] = ip.octets();
        Ipv4Addr::new(a, b, c, d)
    };
    match segments {
        // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible).
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0, 0, _, _] => internal_v4(embedded_v4()),
        // NAT64's well-known prefix (RFC 6052).
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => internal_v4(embedded_v4()),
        [s, ..] if s & 0xffc0 == 0xfe80 => Some(Internal::LinkLocal),
        [s, ..] if s & 0xffc0 == 0xfec0 => Some(Internal::Private),
        [s, ..] if s & 0xfe00 == 0xfc00 => Some(Internal::UniqueLocal),
        [s, ..] if s & 0xff00 == 0xff00 => Some(Internal::Multicast),
        _ => None,
    }
}

/// A resolved address, refused when it is internal and internal addresses are not allowed.
pub fn check_address(ip: IpAddr, private: PrivateDestinations) -> Result<(), Refusal> {
    match internal(ip) {
        Some(kind) if private == PrivateDestinations::Refused => Err(Refusal {
            host: ip.to_string(),
            kind,
        }),
        _ => Ok(()),
    }
}

/// Why a webhook URL cannot be saved.
#[derive(Debug, PartialEq, Eq)]
pub enum UrlProblem {
    /// Not an `http://` or `https://` URL with a host.
    Invalid,
    Refused(Refusal),
}

/// The save-time check of a webhook URL: a host that is an internal address (in any form a URL
/// parser reads as an address, e.g. `2130706433` or `[::ffff:10.0.0.5]`) or a `localhost` name
/// (RFC 6761: `localhost` and `*.localhost` are loopback) is refused unless allowed. Other
/// names are checked when the webhook is sent, on what they resolve to then.
pub fn check_url(url: &str, private: PrivateDestinations) -> Result<(), UrlProblem> {
    let parsed = url::Url::parse(url).map_err(|_| UrlProblem::Invalid)?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(UrlProblem::Invalid);
    }
    let refusal = match parsed.host().ok_or(UrlProblem::Invalid)? {
        url::Host::Ipv4(ip) => check_address(IpAddr::V4(ip), private).err(),
        url::Host::Ipv6(ip) => check_address(IpAddr::V6(ip), private).err(),
        url::Host::Domain(name) => {
            let bare = name.trim_end_matches('.').to_ascii_lowercase();
            let local = bare == "localhost" || bare.ends_with(".localhost");
            (local && private == PrivateDestinations::Refused).then_some(Refusal {
                host: bare,
                kind: Internal::Loopback,
            })
        }
    };
    refusal.map_or(Ok(()), |r| Err(UrlProblem::Refused(r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> Option<Internal> {
        internal(s.parse().unwrap())
    }

    #[test]
    fn internal_ipv4_ranges_are_recognised_at_their_edges() {
        use Internal::*;
        for (ip, expected) in [
            ("0.0.0.0", Some(Unspecified)),
            ("0.255.255.255", Some(Unspecified)),
            ("1.0.0.0", None),
            ("9.255.255.255", None),
            ("10.0.0.0", Some(Private)),
            ("10.255.255.255", Some(Private)),
            ("11.0.0.0", None),
            ("100.63.255.255", None),
            ("100.64.0.0", Some(Shared)),
            ("100.127.255.255", Some(Shared)),
            ("100.128.0.0", None),
            ("126.255.255.255", None),
            ("127.0.0.1", Some(Loopback)),
            ("127.255.255.254", Some(Loopback)),
            ("128.0.0.0", None),
            ("169.253.255.255", None),
            ("169.254.169.254", Some(LinkLocal)),
            ("169.255.0.0", None),
            ("172.15.255.255", None),
            ("172.16.0.0", Some(Private)),
            ("172.31.255.255", Some(Private)),
            ("172.32.0.0", None),
            ("192.167.255.255", None),
            ("192.168.0.1", Some(Private)),
            ("192.169.0.0", None),
            ("223.255.255.255", None),
            ("224.0.0.1", Some(Multicast)),
            ("239.255.255.255", Some(Multicast)),
            ("255.255.255.255", Some(Broadcast)),
            ("8.8.8.8", None),
            ("93.184.216.34", None),
        ] {
            assert_eq!(kind(ip), expected, "{ip}");
        }
    }

    #[test]
    fn internal_ipv6_ranges_and_ipv4_in_ipv6_are_recognised() {
        use Internal::*;
        for (ip, expected) in [
            ("::", Some(Unspecified)),
            ("::1", Some(Loopback)),
            ("fe80::1", Some(LinkLocal)),
            ("febf:ffff::1", Some(LinkLocal)),
            ("fec0::1", Some(Private)),
            ("fc00::1", Some(UniqueLocal)),
            ("fdff:ffff::1", Some(UniqueLocal)),
            ("fe00::1", None),
            ("ff02::1", Some(Multicast)),
            ("2001:db8::1", None),
            ("2606:4700:4700::1111", None),
            // IPv4-mapped: judged as the IPv4 address they reach.
            ("::ffff:127.0.0.1", Some(Loopback)),
            ("::ffff:10.0.0.5", Some(Private)),
            ("::ffff:172.16.0.1", Some(Private)),
            ("::ffff:192.168.1.1", Some(Private)),
            ("::ffff:169.254.169.254", Some(LinkLocal)),
            ("::ffff:100.64.0.1", Some(Shared)),
            ("::ffff:0.0.0.0", Some(Unspecified)),
            ("::ffff:224.0.0.1", Some(Multicast)),
            ("::ffff:255.255.255.255", Some(Broadcast)),
            ("::ffff:8.8.8.8", None),
            // IPv4-compatible and NAT64.
            ("::127.0.0.1", Some(Loopback)),
            ("::10.0.0.5", Some(Private)),
            ("64:ff9b::10.0.0.5", Some(Private)),
            ("64:ff9b::8.8.8.8", None),
        ] {
            assert_eq!(kind(ip), expected, "{ip}");
        }
    }

    #[test]
    fn saved_urls_are_refused_by_literal_address_or_localhost_name() {
        let refused = |url: &str| match check_url(url, PrivateDestinations::Refused) {
            Err(UrlProblem::Refused(r)) => Some(r.host),
            _ => None,
        };
        assert_eq!(
            refused("http://127.0.0.1:9/x").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(refused("http://2130706433/").as_deref(), Some("127.0.0.1"));
        assert_eq!(refused("http://0x7f.1/").as_deref(), Some("127.0.0.1"));
        assert_eq!(refused("http://[::1]/").as_deref(), Some("::1"));
        assert_eq!(
            refused("http://[::ffff:10.0.0.5]/").as_deref(),
            Some("::ffff:10.0.0.5")
        );
        assert_eq!(refused("http://LocalHost./").as_deref(), Some("localhost"));
        assert_eq!(
            refused("https://api.localhost:8443/").as_deref(),
            Some("api.localhost")
        );
        assert_eq!(refused("https://deploy.example.com/hook"), None);
        assert_eq!(refused("http://8.8.8.8/"), None);
        assert_eq!(refused("http://localhost.example.com/"), None);
        assert_eq!(
            check_url("http://127.0.0.1/", PrivateDestinations::Allowed),
            Ok(())
        );
        assert_eq!(
            check_url("http://", PrivateDestinations::Refused),
            Err(UrlProblem::Invalid)
        );
        assert_eq!(
            check_url("ftp://example.com/", PrivateDestinations::Refused),
            Err(UrlProblem::Invalid)
        );
    }

    #[test]
    fn a_refusal_names_the_address_and_the_setting() {
        let r =
            check_address("10.0.0.5".parse().unwrap(), PrivateDestinations::Refused).unwrap_err();
        assert_eq!(
            r.to_string(),
            "10.0.0.5 is a private address; an operator can allow it with \
             --allow-private-webhooks (RELEASEDESK_ALLOW_PRIVATE_WEBHOOKS)"
        );
        assert_eq!(
            check_address("10.0.0.5".parse().unwrap(), PrivateDestinations::Allowed),
            Ok(())
        );
    }
}
