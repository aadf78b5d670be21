//! Which addresses a feed pull may connect to, checked on the addresses a host name resolves
//! to at connect time (so a name that resolves, or is re-pointed, to an inside address is
//! refused as the literal would be), and the resolver that applies the check for the client.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

/// What kind of address a resolved IP is, for the refusal message and the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Public,
    Loopback,
    /// RFC 1918, shared address space (100.64/10), unique local IPv6 (fc00::/7).
    Private,
    /// 169.254/16 and fe80::/10: where cloud metadata services answer.
    LinkLocal,
    Unspecified,
    Multicast,
    /// Broadcast, 240/4, documentation and benchmarking ranges: never a feed's server.
    Reserved,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::Public => "public",
            Class::Loopback => "loopback",
            Class::Private => "private",
            Class::LinkLocal => "link-local",
            Class::Unspecified => "unspecified",
            Class::Multicast => "multicast",
            Class::Reserved => "reserved",
        }
    }

    /// Whether a pull may connect here. `--allow-private-addresses` opens loopback and private
    /// ranges (a feed mirrored on the local network, the tests' local server); link-local,
    /// unspecified, multicast and reserved addresses stay refused whatever the flag, since no
    /// feed is served there and a metadata service is.
    pub fn allowed(self, allow_private: bool) -> bool {
        match self {
            Class::Public => true,
            Class::Loopback | Class::Private => allow_private,
            _ => false,
        }
    }
}

pub fn classify(ip: IpAddr) -> Class {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Class {
    let o = ip.octets();
    if ip.is_unspecified() || o[0] == 0 {
        Class::Unspecified
    } else if ip.is_loopback() {
        Class::Loopback
    } else if ip.is_private() || (o[0] == 100 && (64..128).contains(&o[1])) {
        Class::Private
    } else if ip.is_link_local() {
        Class::LinkLocal
    } else if ip.is_multicast() {
        Class::Multicast
    } else if ip.is_broadcast()
        || o[0] >= 240
        || ip.is_documentation()
        || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
        || (o[0] == 192 && o[1] == 0 && o[2] == 0)
    {
        Class::Reserved
    } else {
        Class::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> Class {
    let s = ip.segments();
    // An IPv4 address written as IPv6 (::ffff:a.b.c.d, the deprecated ::a.b.c.d, or NAT64's
    // 64:ff9b::a.b.c.d) reaches the IPv4 host: judge that one.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    if ip.is_unspecified() {
        return Class::Unspecified;
    }
    if ip.is_loopback() {
        return Class::Loopback;
    }
    if s[..6] == [0; 6] || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return classify_v4(Ipv4Addr::new(a, b, c, d));
    }
    match s[0] {
        x if x & 0xfe00 == 0xfc00 => Class::Private,
        // fe80::/10 link-local; fec0::/10, the old site-local, is as inside.
        x if x & 0xffc0 == 0xfe80 => Class::LinkLocal,
        x if x & 0xffc0 == 0xfec0 => Class::Private,
        x if x & 0xff00 == 0xff00 => Class::Multicast,
        0x2001 if s[1] == 0xdb8 => Class::Reserved,
        _ => Class::Public,
    }
}

/// Why `addr` is refused, or `None` if a pull may connect to it.
pub fn refusal(addr: &SocketAddr, allow_private: bool) -> Option<String> {
    let class = classify(addr.ip());
    (!class.allowed(allow_private)).then(|| {
        let hint = if matches!(class, Class::Loopback | Class::Private) {
            " (--allow-private-addresses to allow)"
        } else {
            ""
        };
        format!("refused: {} is a {} address{hint}", addr.ip(), class.name())
    })
}

/// The marker a refusal carries through the HTTP client's error, so that the caller can tell
/// it from a network failure (a refusal is never retried).
pub const REFUSED: &str = "refused: ";

/// How many addresses ureq takes from a resolver.
const MAX_ADDRS: usize = 16;

/// Resolves a host as ureq's own resolver does (the system's, with the client's timeout), then
/// drops every address [`refusal`] refuses. The client connects only to what this returns, so
/// the check is on the very addresses used: a redirect to an inside address, or a name whose
/// DNS answer changed since it was last looked at, is refused at its own connect.
#[derive(Debug)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl ureq::unversioned::resolver::Resolver for GuardedResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(ureq::Error::BadUri(format!("no host in {uri}")));
        };
        let port = authority.port_u16().unwrap_or(match scheme {
            "https" => 443,
            _ => 80,
        });
        // `[::1]` arrives bracketed: the socket parser wants the bare address.
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let found = lookup(host, port, *timeout.after)?;
        let mut out = ureq::unversioned::resolver::DefaultResolver::default().empty();
        let mut refused = None;
        for a in found {
            let wanted = match config.ip_family() {
                ureq::config::IpFamily::Ipv4Only => a.is_ipv4(),
                ureq::config::IpFamily::Ipv6Only => a.is_ipv6(),
                _ => true,
            };
            if !wanted {
                continue;
            }
            match refusal(&a, self.allow_private) {
                Some(why) => refused = refused.or(Some(why)),
                None if out.len() < MAX_ADDRS => out.push(a),
                None => {}
            }
        }
        if out.is_empty() {
            return Err(match refused {
                Some(why) => ureq::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    why,
                )),
                None => ureq::Error::HostNotFound,
            });
        }
        Ok(out)
    }
}

/// The system resolver, given up after `timeout` (it has none of its own): on a thread, as
/// ureq's resolver does.
fn lookup(
    host: String,
    port: u16,
    timeout: std::time::Duration,
) -> Result<Vec<SocketAddr>, ureq::Error> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    std::thread::spawn(move || {
        let _ = tx.send((host.as_str(), port).to_socket_addrs().map(Vec::from_iter));
    });
    match rx.recv_timeout(timeout) {
        Ok(r) => r.map_err(|_| ureq::Error::HostNotFound),
        Err(_) => Err(ureq::Error::Timeout(ureq::Timeout::Resolve)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> Class {
        classify(s.parse().unwrap())
    }

    #[test]
    fn inside_ranges_and_their_ipv6_spellings_are_refused() {
        for (ip, c) in [
            ("127.0.0.1", Class::Loopback),
            ("127.8.9.10", Class::Loopback),
            ("10.1.2.3", Class::Private),
            ("172.16.0.1", Class::Private),
            ("172.31.255.255", Class::Private),
            ("192.168.1.1", Class::Private),
            ("100.64.0.1", Class::Private),
            ("169.254.169.254", Class::LinkLocal),
            ("0.0.0.0", Class::Unspecified),
            ("0.1.2.3", Class::Unspecified),
            ("224.0.0.1", Class::Multicast),
            ("255.255.255.255", Class::Reserved),
            ("240.0.0.1", Class::Reserved),
            ("192.0.2.7", Class::Reserved),
            ("::1", Class::Loopback),
            ("::", Class::Unspecified),
            ("fd00::1", Class::Private),
            ("fe80::1", Class::LinkLocal),
            ("ff02::1", Class::Multicast),
            ("::ffff:127.0.0.1", Class::Loopback),
            ("::ffff:10.0.0.1", Class::Private),
            ("::ffff:169.254.169.254", Class::LinkLocal),
            ("::ffff:0.0.0.0", Class::Unspecified),
            ("::10.0.0.1", Class::Private),
            ("64:ff9b::a9fe:a9fe", Class::LinkLocal),
            ("8.8.8.8", Class::Public),
            ("172.32.0.1", Class::Public),
            ("100.128.0.1", Class::Public),
            ("2606:4700::1111", Class::Public),
            ("::ffff:8.8.8.8", Class::Public),
        ] {
            assert_eq!(class(ip), c, "{ip}");
        }
    }

    #[test]
    fn the_flag_opens_loopback_and_private_only() {
        let a = |s: &str| -> SocketAddr { s.parse().unwrap() };
        assert!(refusal(&a("127.0.0.1:80"), false).is_some());
        assert!(refusal(&a("127.0.0.1:80"), true).is_none());
        assert!(refusal(&a("[::ffff:192.168.0.1]:80"), true).is_none());
        for inside in [
            "169.254.169.254:80",
            "0.0.0.0:80",
            "[fe80::1]:80",
            "224.0.0.1:80",
        ] {
            let why = refusal(&a(inside), true).expect(inside);
            assert!(why.starts_with(REFUSED), "{why}");
            assert!(!why.contains("--allow-private"), "{why}");
        }
        let why = refusal(&a("10.0.0.1:443"), false).unwrap();
        assert_eq!(
            why,
            "refused: 10.0.0.1 is a private address (--allow-private-addresses to allow)"
        );
        assert!(refusal(&a("93.184.216.34:443"), false).is_none());
    }
}
