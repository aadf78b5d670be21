//! The regulators' feeds as HTTP endpoints, for `relist feed pull`: each source's documented
//! address, where its key goes, how its pages follow one another, and how a page becomes
//! records (through the adapters beside this module, with their error-body checks). No I/O
//! here: the pipeline fetches what a [`Plan`] asks for and hands the bodies back.

use std::collections::{HashSet, VecDeque};

use serde_json::Value;

use crate::dates::Date;

/// A feed `relist feed pull` can fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Cpsc,
    HealthCanada,
    SafetyKorea,
    Consumer24,
    SafetyGate,
    Accc,
}

/// Where a source wants its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPlace {
    Header(&'static str),
    Query(&'static str),
}

/// A source's key: where it goes and where relist looks for it.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    pub place: KeyPlace,
    /// The environment variable that holds it.
    pub env: &'static str,
    /// Its key in the config file's `[feeds]` table.
    pub config: &'static str,
}

/// CPSC's API has no pages: a pull asks for one window of recall dates at a time, so that no
/// answer is the whole ten-thousand-record history at once.
pub const CPSC_WINDOW_DAYS: i64 = 365;
/// The first recall date a full CPSC pull asks for (the commission began in 1973).
const CPSC_START: Date = Date {
    year: 1973,
    month: 1,
    day: 1,
};
/// Records per Consumer24 page (the API's maximum).
pub const CONSUMER24_PAGE: u64 = 100;
/// Consumer24's content lists: industrial goods (0101) and overseas recalls (0501).
const CONSUMER24_LISTS: [&str; 2] = ["0101", "0501"];

impl Source {
    pub const ALL: [Source; 6] = [
        Source::Cpsc,
        Source::HealthCanada,
        Source::SafetyKorea,
        Source::Consumer24,
        Source::SafetyGate,
        Source::Accc,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Source::Cpsc => "cpsc",
            Source::HealthCanada => "healthcanada",
            Source::SafetyKorea => "safetykorea",
            Source::Consumer24 => "consumer24",
            Source::SafetyGate => "safetygate",
            Source::Accc => "accc",
        }
    }

    /// The documented endpoint (its first page, before dates and page numbers).
    pub fn documented(self) -> &'static str {
        match self {
            Source::Cpsc => "https://www.saferproducts.gov/RestWebServices/Recall?format=json",
            Source::HealthCanada => {
                "https://recalls-rappels.canada.ca/sites/default/files/opendata-donneesouvertes/HCRSAMOpenData.json"
            }
            Source::SafetyKorea => {
                "https://www.safetykorea.kr/openapi/api/recall/recallList.json?conditionKey=all&conditionValue="
            }
            Source::Consumer24 => {
                "https://www.consumer.go.kr/openapi/recall/contents/index.do?pageNo=1&cntPerPage=100&cntntsId=0101"
            }
            Source::SafetyGate => {
                "https://ec.europa.eu/safety-gate-alerts/api/download/weeklyReport/list/xml/en"
            }
            Source::Accc => "https://www.productsafety.gov.au/rss/feed.xml/psa_recall",
        }
    }

    pub fn key(self) -> Option<KeySpec> {
        match self {
            Source::SafetyKorea => Some(KeySpec {
                place: KeyPlace::Header("AuthKey"),
                env: "RELIST_SAFETYKOREA_KEY",
                config: "safetykorea_key",
            }),
            Source::Consumer24 => Some(KeySpec {
                place: KeyPlace::Query("serviceKey"),
                env: "RELIST_CONSUMER24_KEY",
                config: "consumer24_key",
            }),
            _ => None,
        }
    }
}

impl std::str::FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Source, String> {
        Source::ALL
            .into_iter()
            .find(|x| x.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "unknown feed '{s}' ({})",
                    Source::ALL.map(Source::name).join(", ")
                )
            })
    }
}

/// `scheme://host[:port]` of an address.
fn origin(url: &str) -> &str {
    let Some((_, rest)) = url.split_once("://") else {
        return url;
    };
    let end = rest
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| url.len() - rest.len() + i);
    &url[..end]
}

/// Checks a `--base-url`: `http(s)://host[:port]`, nothing after (the path and parameters
/// are the documented endpoint's).
pub fn check_base(base: &str) -> Result<String, String> {
    let b = base.trim().trim_end_matches('/');
    let scheme_ok = b
        .split_once("://")
        .is_some_and(|(s, host)| matches!(s, "http" | "https") && !host.is_empty());
    if !scheme_ok || origin(b) != b {
        return Err(format!(
            "--base-url: '{base}' is not http(s)://HOST[:PORT] (the documented path and parameters are kept)"
        ));
    }
    Ok(b.to_string())
}

/// One page to fetch. No `Debug`: the address or a header holds the key.
#[derive(Clone)]
pub struct PageRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
}

/// What [`Plan::read`] made of a page.
#[derive(Debug, Default)]
pub struct PageRecords {
    /// Banned-record objects, as the file adapters give them.
    pub records: Vec<Value>,
    /// Records the page held that `--since` left out.
    pub older: u64,
}

#[derive(Debug)]
enum Step {
    /// CPSC: the next window starts here.
    Window(Date),
    /// A list of addresses still to fetch, each one page (SafetyKorea's two lists, a Safety
    /// Gate report list's weekly reports, a single bulk file).
    Queue(VecDeque<String>),
    /// Consumer24: content list `list` (index into its lists), page `page` from 1.
    Paged {
        list: usize,
        page: u64,
    },
    /// Safety Gate: the list of weekly reports first.
    ReportList,
    Done,
}

/// The pages of one pull, one after the other: [`Plan::next_page`] names the next page,
/// [`Plan::read`] turns its body into records and decides what comes after.
pub struct Plan {
    source: Source,
    base: Option<String>,
    key: Option<String>,
    since: Option<Date>,
    today: Date,
    step: Step,
    /// Record ids seen: a paged source whose page brings none new is at its end, whatever it
    /// says of its size (a server that ignores the page number would loop forever).
    seen: HashSet<String>,
    pages: u64,
}

impl Plan {
    /// `base`: a checked `--base-url`; `key`: the source's key; `since`: the earliest
    /// recall day wanted; `today`: the last day CPSC windows reach.
    pub fn new(
        source: Source,
        base: Option<String>,
        key: Option<String>,
        since: Option<Date>,
        today: Date,
    ) -> Plan {
        let step = match source {
            Source::Cpsc => Step::Window(since.unwrap_or(CPSC_START)),
            Source::HealthCanada | Source::Accc => {
                Step::Queue(VecDeque::from([source.documented().to_string()]))
            }
            Source::SafetyKorea => Step::Queue(VecDeque::from([
                source.documented().to_string(),
                source
                    .documented()
                    .replace("/recallList.json", "/fRecallList.json"),
            ])),
            Source::Consumer24 => Step::Paged { list: 0, page: 1 },
            Source::SafetyGate => Step::ReportList,
        };
        Plan {
            source,
            base,
            key,
            since,
            today,
            step,
            seen: HashSet::new(),
            pages: 0,
        }
    }

    /// Pages read so far.
    pub fn pages(&self) -> u64 {
        self.pages
    }

    /// An address of the documented host moved to `--base-url` (links a page names, such as
    /// Safety Gate's weekly reports, are on the documented host too).
    fn rebase(&self, url: &str) -> String {
        match &self.base {
            Some(b) if origin(url).eq_ignore_ascii_case(origin(self.source.documented())) => {
                format!("{b}{}", &url[origin(url).len()..])
            }
            _ => url.to_string(),
        }
    }

    fn request(&self, url: String) -> PageRequest {
        let mut url = self.rebase(&url);
        let mut headers = Vec::new();
        if let (Some(spec), Some(k)) = (self.source.key(), &self.key) {
            match spec.place {
                KeyPlace::Header(h) => headers.push((h.to_string(), k.clone())),
                KeyPlace::Query(q) => {
                    let sep = if url.contains('?') { '&' } else { '?' };
                    url = format!("{url}{sep}{q}={}", crate::net::percent_encode(k));
                }
            }
        }
        PageRequest { url, headers }
    }

    /// The next page to fetch, or `None` at the end.
    pub fn next_page(&mut self) -> Option<PageRequest> {
        let url = match &mut self.step {
            Step::Done => return None,
            Step::Window(start) => {
                if *start > self.today {
                    self.step = Step::Done;
                    return None;
                }
                let end =
                    Date::from_days_since_epoch(start.days_since_epoch() + CPSC_WINDOW_DAYS - 1)
                        .map_or(self.today, |e| e.min(self.today));
                format!(
                    "{}&RecallDateStart={start}&RecallDateEnd={end}",
                    self.source.documented()
                )
            }
            Step::Queue(q) => match q.front() {
                Some(u) => u.clone(),
                None => {
                    self.step = Step::Done;
                    return None;
                }
            },
            Step::Paged { list, page } => {
                let mut url = self
                    .source
                    .documented()
                    .replace("pageNo=1", &format!("pageNo={page}"))
                    .replace(
                        "cntntsId=0101",
                        &format!("cntntsId={}", CONSUMER24_LISTS[*list]),
                    );
                if let Some(s) = self.since {
                    url.push_str(&format!(
                        "&recallPublictBgnde={:04}{:02}{:02}",
                        s.year, s.month, s.day
                    ));
                }
                url
            }
            Step::ReportList => self.source.documented().to_string(),
        };
        Some(self.request(url))
    }

    /// Reads the body of the page [`Plan::next_page`] last named: its records (those `--since`
    /// keeps), and the plan moves on. An error body or a page that is not the feed's format
    /// is an error (the message names no address; the caller adds it).
    pub fn read(&mut self, body: &[u8]) -> Result<PageRecords, String> {
        self.pages += 1;
        let text = || std::str::from_utf8(body).map_err(|_| "not UTF-8 text".to_string());
        let json = || -> Result<Value, String> {
            serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))
        };
        let records = match (self.source, &mut self.step) {
            (Source::Cpsc, Step::Window(start)) => {
                let recs = super::cpsc::convert(json()?)?;
                let next = Date::from_days_since_epoch(start.days_since_epoch() + CPSC_WINDOW_DAYS);
                self.step = next.map_or(Step::Done, Step::Window);
                recs
            }
            (Source::SafetyGate, Step::ReportList) => {
                let reports = super::xml::safety_gate_reports(text()?)?;
                let since = self.since;
                let queue: VecDeque<String> = reports
                    .into_iter()
                    .filter(|(day, _)| match (since, day) {
                        (Some(s), Some(d)) => *d >= s,
                        _ => true,
                    })
                    .map(|(_, u)| u)
                    .collect();
                self.step = Step::Queue(queue);
                Vec::new()
            }
            (Source::Consumer24, Step::Paged { list, page }) => {
                let (recs, total) = super::xml::consumer24_page(text()?)?;
                let fresh = recs
                    .iter()
                    .filter_map(|r| r.get("id").and_then(Value::as_str))
                    .filter(|id| self.seen.insert(id.to_string()))
                    .count();
                let last = fresh == 0
                    || (recs.len() as u64) < CONSUMER24_PAGE
                    || total.is_some_and(|t| *page * CONSUMER24_PAGE >= t);
                if last {
                    if *list + 1 < CONSUMER24_LISTS.len() {
                        *list += 1;
                        *page = 1;
                    } else {
                        self.step = Step::Done;
                    }
                } else {
                    *page += 1;
                }
                recs
            }
            (_, Step::Queue(q)) => {
                q.pop_front();
                match self.source {
                    Source::HealthCanada => super::healthcanada::convert(json()?)?,
                    Source::SafetyKorea => super::safetykorea::convert(json()?)?,
                    Source::SafetyGate => super::xml::safety_gate(text()?)?,
                    Source::Accc => super::xml::accc(text()?)?,
                    s => return Err(format!("{}: no page expected here", s.name())),
                }
            }
            (s, _) => return Err(format!("{}: no page expected here", s.name())),
        };
        let mut out = PageRecords::default();
        for r in records {
            let day = r
                .get("recalled_at")
                .and_then(Value::as_str)
                .and_then(crate::dates::iso);
            match (self.since, day) {
                (Some(s), Some(d)) if d < s => out.older += 1,
                _ => out.records.push(r),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Date {
        crate::dates::iso(s).unwrap()
    }

    #[test]
    fn cpsc_windows_run_from_since_to_today_on_the_base() {
        let base = check_base("http://127.0.0.1:9/").unwrap();
        let mut p = Plan::new(
            Source::Cpsc,
            Some(base),
            None,
            Some(day("2025-01-01")),
            day("2026-03-01"),
        );
        let first = p.next_page().unwrap();
        assert_eq!(
            first.url,
            "http://127.0.0.1:9/RestWebServices/Recall?format=json&RecallDateStart=2025-01-01&RecallDateEnd=2025-12-31"
        );
        assert!(p.read(b"[]").unwrap().records.is_empty());
        let second = p.next_page().unwrap();
        assert!(
            second
                .url
                .ends_with("RecallDateStart=2026-01-01&RecallDateEnd=2026-03-01"),
            "{}",
            second.url
        );
        p.read(b"[]").unwrap();
        assert!(p.next_page().is_none());
        let e = p.read(br#"[{"RecallID":0,"Title":"Error retrieving Recalls: x"}]"#);
        assert!(e.is_err());
    }

    #[test]
    fn keys_go_where_each_source_wants_them() {
        let mut p = Plan::new(
            Source::Consumer24,
            None,
            Some("a/b".into()),
            None,
            day("2026-01-01"),
        );
        let r = p.next_page().unwrap();
        assert!(r.url.starts_with("https://www.consumer.go.kr/openapi/recall/contents/index.do?pageNo=1&cntPerPage=100&cntntsId=0101&serviceKey=a%2Fb"), "{}", r.url);
        assert!(r.headers.is_empty());
        let mut p = Plan::new(
            Source::SafetyKorea,
            None,
            Some("k".into()),
            None,
            day("2026-01-01"),
        );
        let r = p.next_page().unwrap();
        assert_eq!(r.headers, vec![("AuthKey".to_string(), "k".to_string())]);
        assert!(!r.url.contains('k') || !r.url.contains("=k"));
        assert!(check_base("http://h:1/path").is_err());
        assert!(check_base("ftp://h").is_err());
        assert_eq!(check_base("https://h:1/").unwrap(), "https://h:1");
        assert_eq!("SafetyGate".parse::<Source>(), Ok(Source::SafetyGate));
        assert!("oecd".parse::<Source>().is_err());
    }
}
