//! Calendar dates as relist reads them: the record contract's `YYYY-MM-DD`, the forms the
//! regulator feeds write (timestamps, `yyyyMMdd`, RSS dates), and the times `sweep
//! --banned-since` takes. One place decides what a date is, so a feed adapter can never hand
//! the record parser a date it then refuses (that would lose the whole record, not the date).
//!
//! Days are checked the way records always were: month 1 to 12, day 1 to 31, without the
//! length of the month (a recall dated 2026-02-30 has been accepted since the first release).

use std::fmt;

/// A day of the proleptic Gregorian calendar, year 0 to 9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Date {
    fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some(Date { year, month, day })
    }

    /// Days since 1970-01-01 (negative before it).
    pub fn days_since_epoch(&self) -> i64 {
        days_from_civil(
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        )
    }
}

/// Whether `s` is shaped `YYYY-MM-DD` (ten ASCII characters, dashes at 4 and 7, digits
/// elsewhere), whatever the numbers. Query bounds need no more: they are compared with the
/// records' dates as text, and have always been accepted so.
pub fn is_iso_shaped(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

/// `YYYY-MM-DD` exactly, with a month and a day in range: the record contract's dates.
pub fn iso(s: &str) -> Option<Date> {
    if !is_iso_shaped(s) {
        return None;
    }
    // Digits only from here, so the slices are on character boundaries.
    Date::new(
        s[..4].parse().ok()?,
        s[5..7].parse().ok()?,
        s[8..10].parse().ok()?,
    )
}

/// The day a timestamp starts with: `2026-08-14T00:00:00`, `2026-09-02 10:00`, or a bare
/// `2026-09-02`. `get`, not slicing: a hostile feed may put a multi-byte letter across byte 10.
pub fn iso_prefix(s: &str) -> Option<Date> {
    iso(s.get(..10)?)
}

/// `yyyyMMdd`, possibly followed by a time (`20260905`, `20260905120000`): the first eight
/// bytes must be ASCII digits.
pub fn compact(s: &str) -> Option<Date> {
    let d = s
        .get(..8)
        .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))?;
    Date::new(
        d[..4].parse().ok()?,
        d[4..6].parse().ok()?,
        d[6..8].parse().ok()?,
    )
}

/// The day of an RSS `pubDate` (RFC 2822 as feeds write it, with the weekday): `Wed, 13 Aug
/// 2026 02:00:00 +0000`. The time and zone are not read: a recall is dated by its day.
pub fn rfc2822(s: &str) -> Option<Date> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = s.split_whitespace().collect();
    let (day, mon, year) = (parts.get(1)?, parts.get(2)?, parts.get(3)?);
    let month = MONTHS.iter().position(|x| x == mon)? + 1;
    let day: u32 = day.parse().ok()?;
    // Through the ISO form, so that a two-digit or five-digit year is refused as it always was.
    iso(&format!("{year}-{month:02}-{day:02}"))
}

/// The message for a time `unix_seconds` cannot read.
fn not_a_time(s: &str) -> String {
    format!("'{s}' is not a time (Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)")
}

/// Unix seconds from `1732000000`, `2026-11-25` or `2026-11-25T12:00:00Z` (UTC; the `Z` may be
/// left out). The numbers need no leading zeros (`2026-1-5` is a day), as `--banned-since` has
/// always accepted; the month and day must be in range, and the time no earlier than 1970.
pub fn unix_seconds(s: &str) -> Result<u64, String> {
    let bad = || not_a_time(s);
    if let Ok(n) = s.parse::<u64>() {
        return Ok(n);
    }
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, t.trim_end_matches('Z')),
        None => (s, "00:00:00"),
    };
    let numbers = |text: &str, sep: char| -> Result<Vec<i64>, String> {
        text.split(sep)
            .map(|p| p.parse().map_err(|_| bad()))
            .collect()
    };
    let (d, t) = (numbers(date, '-')?, numbers(time, ':')?);
    if d.len() != 3 || t.len() != 3 || !(1..=12).contains(&d[1]) || !(1..=31).contains(&d[2]) {
        return Err(bad());
    }
    // Checked: the fields are any i64, and an absurd one must be refused, not wrap.
    let days = days_from_civil_checked(d[0], d[1], d[2]).ok_or_else(bad)?;
    let secs = days
        .checked_mul(86_400)
        .and_then(|x| x.checked_add(t[0].checked_mul(3600)?))
        .and_then(|x| x.checked_add(t[1].checked_mul(60)?))
        .and_then(|x| x.checked_add(t[2]))
        .ok_or_else(bad)?;
    u64::try_from(secs).map_err(|_| bad())
}

/// `DD/MM/YYYY`, as the EU Safety Gate writes its report dates.
pub fn dmy(s: &str) -> Option<Date> {
    let mut p = s.trim().split('/');
    let (d, m, y) = (p.next()?, p.next()?, p.next()?);
    if p.next().is_some() || d.len() != 2 || m.len() != 2 {
        return None;
    }
    iso(&format!("{y}-{m}-{d}"))
}

impl Date {
    /// The day `days` after 1970-01-01 (the inverse of [`Date::days_since_epoch`]); `None`
    /// outside years 0 to 9999.
    pub fn from_days_since_epoch(days: i64) -> Option<Date> {
        // Hinnant's civil_from_days.
        let z = days.checked_add(719_468)?;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        Date::new(
            u16::try_from(y).ok().filter(|y| *y <= 9999)?,
            m as u8,
            d as u8,
        )
    }

    /// The day of a Unix time (UTC).
    pub fn of_unix(secs: u64) -> Date {
        Date::from_days_since_epoch((secs / 86_400) as i64).unwrap_or(Date {
            year: 9999,
            month: 12,
            day: 31,
        })
    }
}

/// A Unix time as `YYYY-MM-DDTHH:MM:SSZ`, the form `--banned-since` reads back.
pub fn rfc3339(secs: u64) -> String {
    let t = secs % 86_400;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        Date::of_unix(secs),
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

/// Days from the civil date (Howard Hinnant's algorithm): a dependency for a few lines of
/// calendar arithmetic is not worth it. `m` is 1 to 12.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// [`days_from_civil`] for a year from outside: refused where the arithmetic would overflow.
fn days_from_civil_checked(y: i64, m: i64, d: i64) -> Option<i64> {
    // A year this far out is no time anyone means, and keeps every product below in range.
    (y.abs() <= 1 << 40).then(|| days_from_civil(y, m, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_are_shaped_and_in_range() {
        assert_eq!(
            iso("2026-08-14").map(|d| d.to_string()).as_deref(),
            Some("2026-08-14")
        );
        assert_eq!(
            iso("2026-02-31").map(|d| d.day),
            Some(31),
            "month lengths are not checked"
        );
        for bad in [
            "2026-13-01",
            "2026-00-10",
            "2026-01-00",
            "2026-01-32",
            "2026-1-05",
            "2026/01/05",
            "2026-01-05T",
            " 2026-01-05",
            "２０２６-01-05",
            "",
            "abcd-ef-gh",
        ] {
            assert_eq!(iso(bad), None, "{bad}");
        }
        assert!(is_iso_shaped("2026-13-45"), "a query bound is only shaped");
        assert!(!is_iso_shaped("2026-1-5"));
    }

    #[test]
    fn feed_forms() {
        let s = |d: Option<Date>| d.map(|d| d.to_string());
        assert_eq!(
            s(iso_prefix("2026-08-14T00:00:00")).as_deref(),
            Some("2026-08-14")
        );
        assert_eq!(
            s(iso_prefix("2026-09-02 10:00")).as_deref(),
            Some("2026-09-02")
        );
        assert_eq!(
            iso_prefix("2026-09-0\u{3eb}00:00:00"),
            None,
            "no panic inside a letter"
        );
        assert_eq!(iso_prefix("2026-9-2"), None);
        assert_eq!(s(compact("20260905")).as_deref(), Some("2026-09-05"));
        assert_eq!(s(compact("20260905123000")).as_deref(), Some("2026-09-05"));
        assert_eq!(compact("2026년9월5일"), None);
        assert_eq!(
            compact("20261399"),
            None,
            "out of range: no date, not a refused record"
        );
        assert_eq!(compact("2026095"), None);
        assert_eq!(
            s(rfc2822("Wed, 13 Aug 2026 02:00:00 +0000")).as_deref(),
            Some("2026-08-13")
        );
        assert_eq!(
            s(rfc2822("Thu, 4 Sep 2026 02:00:00 GMT")).as_deref(),
            Some("2026-09-04")
        );
        assert_eq!(rfc2822("Wed, 13 aug 2026"), None);
        assert_eq!(
            rfc2822("Wed, 13 Aug 26"),
            None,
            "two-digit years are refused"
        );
        assert_eq!(rfc2822("Wed, 32 Aug 2026"), None);
        assert_eq!(rfc2822("13 Aug 2026"), None);
    }

    #[test]
    fn times_parse() {
        assert_eq!(unix_seconds("1700000000"), Ok(1_700_000_000));
        assert_eq!(unix_seconds("1970-01-02"), Ok(86_400));
        assert_eq!(unix_seconds("1970-1-2"), Ok(86_400));
        assert_eq!(unix_seconds("2026-11-25T12:00:00Z"), Ok(1_795_608_000));
        assert_eq!(unix_seconds("2026-11-25T12:00:00"), Ok(1_795_608_000));
        assert_eq!(
            unix_seconds("2000-03-01"),
            Ok(951_868_800),
            "after a leap day"
        );
        assert!(unix_seconds("2026-13-01").is_err());
        assert!(unix_seconds("1969-12-31").is_err(), "before 1970");
        assert!(unix_seconds("yesterday").is_err());
        assert!(unix_seconds("2026-01-01T99999999999999999:00:00").is_err());
        assert!(unix_seconds("9223372036854775807-01-01").is_err());
        assert_eq!(
            unix_seconds("soon").unwrap_err(),
            "'soon' is not a time (Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)"
        );
        let d = iso("2026-11-25").unwrap();
        assert_eq!(d.days_since_epoch() * 86_400 + 12 * 3600, 1_795_608_000);
        assert_eq!(rfc3339(1_795_608_000), "2026-11-25T12:00:00Z");
        assert_eq!(unix_seconds(&rfc3339(1_795_608_061)), Ok(1_795_608_061));
        for day in [
            "1970-01-01",
            "2000-02-29",
            "2026-12-31",
            "1969-12-31",
            "2400-03-01",
        ] {
            let d = iso(day).unwrap();
            assert_eq!(Date::from_days_since_epoch(d.days_since_epoch()), Some(d));
        }
        assert_eq!(dmy("14/08/2026"), iso("2026-08-14"));
        assert_eq!(dmy("14/8/2026"), None);
        assert_eq!(dmy("14/08/2026/1"), None);
    }
}
