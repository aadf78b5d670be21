//! Outbound HTTP for `relist feed pull`: feed pages and feed photos fetched with bounded size,
//! time and redirects, retried with backoff on 429, 5xx, timeouts and broken connections,
//! connecting only to the addresses [`guard`] allows, with keys kept out of every message.
//!
//! The client is ureq 3: blocking (a pull is one command doing one thing at a time, page after
//! page, so an async runtime would buy nothing), small (no hyper client stack beside the
//! server's), rustls rather than native-tls (no system OpenSSL to match), and it lets the
//! resolver be replaced, which is where the address check has to sit to see the addresses a
//! connection really uses. Redirects are followed here, not by ureq, so that every hop is
//! counted, checked for its scheme and stripped of the key headers when it leaves the origin.

pub mod guard;

use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How a failed attempt is retried: `retries` more attempts, waiting `base`, then twice as
/// long each time (at most `max_wait`); a `Retry-After` the server sends is waited instead.
#[derive(Debug, Clone)]
pub struct Retry {
    pub retries: u32,
    pub base: Duration,
    pub max_wait: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            retries: 4,
            base: Duration::from_secs(1),
            max_wait: Duration::from_secs(120),
        }
    }
}

/// Bounds of one fetch (all hops of its redirects together).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    pub max_bytes: u64,
    pub max_redirects: u32,
}

/// A body fetched whole.
#[derive(Debug)]
pub struct Fetched {
    /// Where it came from after redirects (redacted, for messages).
    pub url: String,
    pub body: Vec<u8>,
}

/// Why one attempt failed.
#[derive(Debug)]
enum Failure {
    /// Worth another attempt, after `after` if the server said so.
    Again {
        why: String,
        after: Option<Duration>,
    },
    /// Not worth another: a refused address, a 4xx, a body over the limit.
    Final(String),
}

/// The feed client: one connection pool, the address policy and the secrets to redact.
pub struct Client {
    agent: ureq::Agent,
    retry: Retry,
    secrets: Vec<String>,
}

impl Client {
    /// `secrets`: keys that may appear in addresses or headers; no message shows them.
    pub fn new(allow_private: bool, retry: Retry, secrets: Vec<String>) -> Client {
        let config = ureq::Agent::config_builder()
            // Statuses are read here: a 429's Retry-After is in the response.
            .http_status_as_error(false)
            .max_redirects(0)
            // An environment proxy would be resolved instead of the feed's host, and the
            // address check would judge the proxy.
            .proxy(None)
            .user_agent(concat!("relist/", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(Duration::from_secs(15)))
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::new(),
            guard::GuardedResolver { allow_private },
        );
        Client {
            agent,
            retry,
            secrets: secrets.into_iter().filter(|s| !s.is_empty()).collect(),
        }
    }

    /// `text` with every secret, plain or percent-encoded, replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            out = out.replace(s.as_str(), "***");
            let encoded = percent_encode(s);
            if encoded != *s {
                out = out.replace(&encoded, "***");
            }
        }
        out
    }

    /// Fetches `url` with `headers` (sent to its origin only), retrying as [`Retry`] says.
    /// `on_retry` hears each retry (the redacted reason and the wait). The error names the
    /// redacted address.
    pub fn get(
        &self,
        url: &str,
        headers: &[(String, String)],
        limits: &Limits,
        mut on_retry: impl FnMut(&str, Duration),
    ) -> Result<Fetched> {
        let mut attempt = 0;
        loop {
            match self.attempt(url, headers, limits) {
                Ok(f) => return Ok(f),
                Err(Failure::Final(why)) => return Err(self.error(url, &why)),
                Err(Failure::Again { why, after }) => {
                    if attempt >= self.retry.retries {
                        return Err(self.error(
                            url,
                            &format!("{why} (gave up after {} attempts)", attempt + 1),
                        ));
                    }
                    let backoff = self
                        .retry
                        .base
                        .saturating_mul(1u32 << attempt.min(16))
                        .min(self.retry.max_wait);
                    let wait = match after {
                        Some(a) if a > self.retry.max_wait => {
                            return Err(self.error(
                                url,
                                &format!(
                                    "{why}; the server asks to wait {} s, longer than {} s",
                                    a.as_secs(),
                                    self.retry.max_wait.as_secs()
                                ),
                            ));
                        }
                        Some(a) => a,
                        None => backoff,
                    };
                    on_retry(&self.redact(&why), wait);
                    std::thread::sleep(wait);
                    attempt += 1;
                }
            }
        }
    }

    fn error(&self, url: &str, why: &str) -> Error {
        Error::Fetch {
            url: self.redact(url),
            reason: self.redact(why),
        }
    }

    fn attempt(
        &self,
        url: &str,
        headers: &[(String, String)],
        limits: &Limits,
    ) -> std::result::Result<Fetched, Failure> {
        let start = Instant::now();
        let home = origin(url);
        let mut current = url.to_string();
        for _hop in 0..=limits.max_redirects {
            let scheme = current
                .split_once("://")
                .map(|(s, _)| s.to_ascii_lowercase());
            if !matches!(scheme.as_deref(), Some("http" | "https")) {
                return Err(Failure::Final(format!(
                    "'{}' is not an http or https address",
                    self.redact(&current)
                )));
            }
            let left = limits
                .timeout
                .checked_sub(start.elapsed())
                .filter(|d| !d.is_zero())
                .ok_or_else(|| Failure::Again {
                    why: format!("timed out after {} s", limits.timeout.as_secs_f32()),
                    after: None,
                })?;
            let mut req = self.agent.get(&current);
            // A key header goes to the feed's own origin, never to where it redirects.
            if origin(&current) == home {
                for (k, v) in headers {
                    req = req.header(k.as_str(), v.as_str());
                }
            }
            let resp = req
                .config()
                .timeout_global(Some(left))
                .build()
                .call()
                .map_err(|e| failure(e, limits))?;
            let status = resp.status().as_u16();
            let header = |name: &str| {
                resp.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            if (300..400).contains(&status)
                && let Some(loc) = header("location")
            {
                current = join(&current, &loc);
                continue;
            }
            if status == 429 || (500..600).contains(&status) {
                return Err(Failure::Again {
                    why: format!("HTTP {status}"),
                    after: header("retry-after").and_then(|v| retry_after(&v)),
                });
            }
            if !(200..300).contains(&status) {
                return Err(Failure::Final(format!("HTTP {status}")));
            }
            if let Some(n) = header("content-length").and_then(|v| v.parse::<u64>().ok())
                && n > limits.max_bytes
            {
                return Err(Failure::Final(too_big(limits.max_bytes)));
            }
            let body = resp
                .into_body()
                .with_config()
                .limit(limits.max_bytes)
                .read_to_vec()
                .map_err(|e| failure(e, limits))?;
            return Ok(Fetched {
                url: self.redact(&current),
                body,
            });
        }
        Err(Failure::Final(format!(
            "more than {} redirects",
            limits.max_redirects
        )))
    }
}

fn too_big(max: u64) -> String {
    format!("larger than the limit of {max} bytes")
}

fn failure(e: ureq::Error, limits: &Limits) -> Failure {
    match e {
        ureq::Error::Io(io)
            if io.kind() == std::io::ErrorKind::PermissionDenied
                && io.to_string().starts_with(guard::REFUSED) =>
        {
            Failure::Final(io.to_string())
        }
        ureq::Error::Timeout(_) => Failure::Again {
            why: format!("timed out after {} s", limits.timeout.as_secs_f32()),
            after: None,
        },
        ureq::Error::BodyExceedsLimit(_) => Failure::Final(too_big(limits.max_bytes)),
        // A connection refused, reset or dropped mid-body, or a garbled answer: the network's
        // trouble, worth another attempt.
        ureq::Error::Io(io) => Failure::Again {
            why: format!("connection: {io}"),
            after: None,
        },
        e @ (ureq::Error::ConnectionFailed | ureq::Error::Protocol(_)) => Failure::Again {
            why: format!("connection: {e}"),
            after: None,
        },
        ureq::Error::HostNotFound => Failure::Final("host not found".into()),
        e => Failure::Final(e.to_string()),
    }
}

/// `Retry-After` as seconds (an HTTP date is read as "a minute": a clock-skewed date is no
/// better a guess, and the date form is rare on APIs).
fn retry_after(v: &str) -> Option<Duration> {
    match v.trim().parse::<u64>() {
        Ok(s) => Some(Duration::from_secs(s)),
        Err(_) if !v.trim().is_empty() => Some(Duration::from_secs(60)),
        Err(_) => None,
    }
}

/// `scheme://host:port` of an address, lower-cased, for "same origin".
fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        authority.to_ascii_lowercase()
    )
}

/// A `Location` resolved against the address it came from.
pub fn join(base: &str, loc: &str) -> String {
    let loc = loc.trim();
    if loc.contains("://") && !loc.starts_with('/') {
        return loc.to_string();
    }
    let scheme = base.split_once("://").map_or("http", |(s, _)| s);
    if let Some(rest) = loc.strip_prefix("//") {
        return format!("{scheme}://{rest}");
    }
    let o = origin(base);
    if loc.starts_with('/') {
        return format!("{o}{loc}");
    }
    // Relative to the base's directory.
    // `get`: a base without a scheme makes `o` longer than its own prefix of `base`.
    let path = base
        .get(o.len()..)
        .unwrap_or("")
        .split(['?', '#'])
        .next()
        .unwrap_or("");
    let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
    format!("{o}{dir}{loc}")
}

/// Percent-encodes everything but unreserved characters (RFC 3986), as a query value.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_join_and_secrets_are_redacted() {
        let b = "http://h:8/a/b/page.json?x=1";
        assert_eq!(join(b, "https://o/p"), "https://o/p");
        assert_eq!(join(b, "//o/p"), "http://o/p");
        assert_eq!(join(b, "/p?q"), "http://h:8/p?q");
        assert_eq!(join(b, "next.json"), "http://h:8/a/b/next.json");
        assert_eq!(origin("HTTP://H:8/x"), "http://h:8");
        // A base that is no address at all joins to something, without a panic.
        let _ = join("é", "x");
        let _ = join("ééé://", "x");
        let c = Client::new(false, Retry::default(), vec!["k/y+z".into(), String::new()]);
        assert_eq!(
            c.redact("a?serviceKey=k%2Fy%2Bz&b and k/y+z"),
            "a?serviceKey=***&b and ***"
        );
        assert_eq!(retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2026 07:28:00 GMT"),
            Some(Duration::from_secs(60))
        );
    }
}
