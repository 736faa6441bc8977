//! Times as a user reads them: in the time zone their browser reports (stored per user),
//! with the absolute time, zone and offset on hover. A user whose zone is not known yet
//! reads UTC, labelled as such: a bare time is never shown without its zone.

use super::InvalidInput;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::fmt;

/// A user's time zone, or UTC until their browser has told it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UserZone(Option<Tz>);

/// How much of a time a place shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// "Dec 3, 2026"
    Date,
    /// "Dec 3, 2026, 08:15"
    Minute,
    /// "Dec 3, 2026, 08:15:42"
    Second,
}

impl UserZone {
    pub const UTC: UserZone = UserZone(None);

    /// An IANA zone name as browsers report it (`Intl…resolvedOptions().timeZone`).
    pub fn parse(name: &str) -> Result<UserZone, InvalidInput> {
        let name = name.trim();
        if name.is_empty() || name.len() > 64 {
            return Err(InvalidInput::new("Choose a time zone such as Europe/Paris."));
        }
        name.parse::<Tz>()
            .map(|tz| UserZone(Some(tz)))
            .map_err(|_| InvalidInput::new(format!("“{name}” is not a time zone this server knows.")))
    }

    /// The stored name, where there is one; an unknown name reads as UTC.
    pub fn from_stored(name: Option<&str>) -> UserZone {
        name.and_then(|n| n.parse::<Tz>().ok()).map_or(UserZone::UTC, |tz| UserZone(Some(tz)))
    }

    /// The IANA name, or "" while the zone is not known.
    pub fn name(&self) -> &'static str {
        self.0.map_or("", |tz| tz.name())
    }

    pub fn date(&self, t: DateTime<Utc>) -> When {
        self.at(t, Precision::Date)
    }

    pub fn minute(&self, t: DateTime<Utc>) -> When {
        self.at(t, Precision::Minute)
    }

    pub fn second(&self, t: DateTime<Utc>) -> When {
        self.at(t, Precision::Second)
    }

    /// "Dec 3, 14:05" in the zone, "Dec 3, 14:05 UTC" while it is not known: a
    /// time inside a name or a sentence, where markup cannot go.
    pub fn day_and_time(&self, t: DateTime<Utc>) -> String {
        match self.0 {
            Some(tz) => t.with_timezone(&tz).format("%b %-d, %H:%M").to_string(),
            None => t.format("%b %-d, %H:%M UTC").to_string(),
        }
    }

    pub fn at(&self, t: DateTime<Utc>, precision: Precision) -> When {
        let pattern = match precision {
            Precision::Date => "%b %-d, %Y",
            Precision::Minute => "%b %-d, %Y, %H:%M",
            Precision::Second => "%b %-d, %Y, %H:%M:%S",
        };
        let (text, title) = match self.0 {
            Some(tz) => {
                let local = t.with_timezone(&tz);
                (local.format(pattern).to_string(), local.format(&format!("%A, %B %-d, %Y at %H:%M:%S {} (UTC%:z)", tz.name())).to_string())
            }
            None => {
                let mut text = t.format(pattern).to_string();
                if precision != Precision::Date {
                    text.push_str(" UTC");
                }
                (text, t.format("%A, %B %-d, %Y at %H:%M:%S UTC").to_string())
            }
        };
        When { utc: t, precision, text, title }
    }
}

/// One time as shown: renders as `<time datetime=… title=…>text</time>` in templates, its
/// text alone where markup cannot go ([`When::text`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct When {
    utc: DateTime<Utc>,
    precision: Precision,
    text: String,
    title: String,
}

impl When {
    /// The local time as text ("Dec 3, 2026, 08:15").
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The absolute time with its zone and offset.
    pub fn title(&self) -> &str {
        &self.title
    }
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.precision {
            Precision::Date => "date",
            Precision::Minute => "minute",
            Precision::Second => "second",
        };
        // every part is produced here from a time and a zone name: nothing to escape
        write!(
            f,
            r#"<time datetime="{}" title="{}" data-format="{kind}">{}</time>"#,
            self.utc.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            self.title,
            self.text
        )
    }
}

impl askama::filters::HtmlSafe for When {}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, 23, 30, 5).unwrap()
    }

    #[test]
    fn a_known_zone_shows_local_time_and_the_absolute_time_on_hover() {
        let z = UserZone::parse("Asia/Tokyo").unwrap();
        let w = z.minute(t());
        assert_eq!(w.text(), "Dec 4, 2026, 08:30");
        assert_eq!(w.title(), "Friday, December 4, 2026 at 08:30:05 Asia/Tokyo (UTC+09:00)");
        assert_eq!(
            w.to_string(),
            r#"<time datetime="2026-12-03T23:30:05Z" title="Friday, December 4, 2026 at 08:30:05 Asia/Tokyo (UTC+09:00)" data-format="minute">Dec 4, 2026, 08:30</time>"#
        );
        assert_eq!(z.date(t()).text(), "Dec 4, 2026");
        assert_eq!(UserZone::parse("America/New_York").unwrap().second(t()).text(), "Dec 3, 2026, 18:30:05");
    }

    #[test]
    fn an_unknown_zone_is_utc_and_says_so() {
        assert_eq!(UserZone::UTC.minute(t()).text(), "Dec 3, 2026, 23:30 UTC");
        assert_eq!(UserZone::from_stored(Some("Mars/Olympus")), UserZone::UTC);
        assert_eq!(UserZone::from_stored(None).name(), "");
        assert_eq!(UserZone::UTC.minute(t()).title(), "Thursday, December 3, 2026 at 23:30:05 UTC");
    }

    #[test]
    fn names_that_are_not_zones_are_refused() {
        for bad in ["", "Europe/Atlantis", "<script>", &"A".repeat(65)] {
            assert!(UserZone::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(UserZone::parse(" Europe/Paris ").unwrap().name(), "Europe/Paris");
    }
}
