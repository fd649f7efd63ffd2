//! Lifetimes and validity windows: `90d`, `720h`, `12w`, `1y` typed by operators, and the
//! explicit notBefore/notAfter every certificate gets.

use std::fmt;
use std::str::FromStr;

use time::{Duration, OffsetDateTime};

use super::PkiError;

/// How far `notBefore` is set in the past, so that a peer whose clock runs a little behind
/// does not see a brand-new certificate as "not yet valid" (Go: `x509: certificate has
/// expired or is not yet valid: current time … is before …`).
pub const BACKDATE: Duration = Duration::minutes(5);

/// A positive length of time written as one or more `<number><unit>` parts, units `s`, `m`
/// (minutes), `h`, `d`, `w` and `y` (365 days): `90d`, `720h`, `12w`, `1y`, `1d12h`.
#[derive(Clone, Copy, Debug, Eq, Ord, PartialEq, PartialOrd)]
pub struct Lifetime(Duration);

impl Lifetime {
    /// The longest lifetime accepted (100 years): beyond that a typo is more likely than
    /// intent, and X.509 dates past 9999 cannot be written.
    pub const MAX: Lifetime = Lifetime(Duration::days(36_500));

    /// Builds a lifetime from whole days.
    pub const fn days(days: i64) -> Self {
        Lifetime(Duration::days(days))
    }

    /// Builds a lifetime from a `time::Duration`, which must be positive.
    pub fn from_duration(duration: Duration) -> Option<Self> {
        duration.is_positive().then_some(Lifetime(duration))
    }

    /// The length as a `time::Duration`.
    pub fn duration(self) -> Duration {
        self.0
    }

    /// Whole days, rounded down.
    pub fn whole_days(self) -> i64 {
        self.0.whole_days()
    }

    /// Parses the text form; `flag` names the option in error messages.
    pub fn parse(input: &str) -> Result<Self, PkiError> {
        let invalid = |reason: &str| PkiError::InvalidDuration {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let text = input.trim();
        if text.is_empty() {
            return Err(invalid("it is empty"));
        }
        let mut total = Duration::ZERO;
        let mut rest = text;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if digits == 0 {
                return Err(invalid(
                    "expected a number followed by a unit, e.g. `90d`, `720h`, `12w` or `1y`",
                ));
            }
            let number: i64 = rest[..digits]
                .parse()
                .map_err(|_| invalid("the number is too large"))?;
            rest = &rest[digits..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let unit = &rest[..unit_len];
            rest = &rest[unit_len..];
            let seconds_per_unit: i64 = match unit {
                "s" => 1,
                "m" => 60,
                "h" => 3_600,
                "d" => 86_400,
                "w" => 7 * 86_400,
                "y" => 365 * 86_400,
                "" => return Err(invalid("the number has no unit; use s, m, h, d, w or y")),
                _ => {
                    return Err(invalid(&format!(
                        "unknown unit `{unit}`; use s, m (minutes), h, d, w or y (365 days)"
                    )));
                }
            };
            let part = number
                .checked_mul(seconds_per_unit)
                .ok_or_else(|| invalid("the number is too large"))?;
            total = total
                .checked_add(Duration::seconds(part))
                .ok_or_else(|| invalid("the number is too large"))?;
        }
        if !total.is_positive() {
            return Err(invalid("it must be longer than zero"));
        }
        if total > Self::MAX.0 {
            return Err(invalid("it is longer than 100 years"));
        }
        Ok(Lifetime(total))
    }
}

impl FromStr for Lifetime {
    type Err = PkiError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

impl fmt::Display for Lifetime {
    /// Whole days when the length is whole days (`14d`, `365d` — what operators compare with
    /// certificate lifetimes, however they typed it), else the largest exact unit (`36h`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.0.whole_seconds();
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
            if seconds % size == 0 {
                return write!(f, "{}{unit}", seconds / size);
            }
        }
        write!(f, "{seconds}s")
    }
}

/// An explicit validity window. rcgen's default runs from 1975 to 4096; otel-pki never uses
/// it.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Validity {
    /// First instant the certificate is valid (back-dated by [`BACKDATE`]).
    pub not_before: OffsetDateTime,
    /// Last instant the certificate is valid.
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// `now - BACKDATE` to `now + lifetime`, truncated to whole seconds (X.509 has no
    /// fractions).
    pub fn starting_now(now: OffsetDateTime, lifetime: Lifetime) -> Self {
        let now = now.replace_nanosecond(0).unwrap_or(now);
        Validity {
            not_before: now - BACKDATE,
            not_after: now + lifetime.0,
        }
    }

    /// An arbitrary window, for tests and `--not-before`-style callers.
    pub fn between(not_before: OffsetDateTime, not_after: OffsetDateTime) -> Self {
        Validity {
            not_before: not_before.replace_nanosecond(0).unwrap_or(not_before),
            not_after: not_after.replace_nanosecond(0).unwrap_or(not_after),
        }
    }

    /// The lifetime this window was issued with: notAfter − notBefore less the
    /// [`BACKDATE`] of notBefore (a window no longer than the back-date was not back-dated,
    /// by otel-pki at least: its whole span). The inverse of [`Validity::starting_now`].
    pub fn issued_span(&self) -> Duration {
        let span = self.not_after - self.not_before;
        if span > BACKDATE {
            span - BACKDATE
        } else {
            span
        }
    }

    /// [`Validity::issued_span`] as a [`Lifetime`], at most [`Lifetime::MAX`]; `None` when
    /// notAfter is not after notBefore.
    pub fn issued_lifetime(&self) -> Option<Lifetime> {
        Lifetime::from_duration(self.issued_span().min(Lifetime::MAX.0))
    }
}

impl serde::Serialize for Lifetime {
    /// The text form, e.g. `"365d"`, `"36h"`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Lifetime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Lifetime::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Human form of a span of time, rounded down: `3 days`, `5 hours`, `1 day`.
pub fn humanize(duration: Duration) -> String {
    let duration = duration.abs();
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    if duration.whole_days() >= 1 {
        plural(duration.whole_days(), "day")
    } else if duration.whole_hours() >= 1 {
        plural(duration.whole_hours(), "hour")
    } else if duration.whole_minutes() >= 1 {
        plural(duration.whole_minutes(), "minute")
    } else {
        plural(duration.whole_seconds(), "second")
    }
}

/// Whole days in `duration`, rounded to the nearest day: the one rounding of every "N days"
/// figure (`init`'s "valid 365 days", `inspect`'s "days left", `check`'s "expires in", JSON
/// `days_remaining`), so that a certificate issued for 365 days a few seconds ago has 365
/// days left, not 364.
pub fn round_days(duration: Duration) -> i64 {
    let half_day = Duration::hours(12);
    if duration.is_negative() {
        -(-duration + half_day).whole_days()
    } else {
        (duration + half_day).whole_days()
    }
}

/// A lifetime or a time left, for messages, as `init` and `issue` print it: from one day up
/// whole days rounded as [`round_days`] (`365 days`, `1 day`), below that the largest unit,
/// rounded down (`13 hours`, `1 second`): never "0 days" for a certificate that is valid.
pub fn span_text(duration: Duration) -> String {
    let duration = duration.abs();
    if duration < Duration::days(1) {
        return humanize(duration);
    }
    match round_days(duration) {
        1 => "1 day".to_owned(),
        days => format!("{days} days"),
    }
}

/// Serde helpers for instants in reports: RFC 3339 in UTC, in whole seconds like every time
/// in a certificate (`"2027-11-27T23:55:32Z"`, never `…:32.264497Z`). Use with
/// `#[serde(with = "crate::pki::lifetime::rfc3339")]`.
pub mod rfc3339 {
    use time::{OffsetDateTime, UtcOffset};

    /// Serializes `at` in UTC, truncated to whole seconds.
    pub fn serialize<S: serde::Serializer>(
        at: &OffsetDateTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let at = at.to_offset(UtcOffset::UTC);
        let at = at.replace_nanosecond(0).unwrap_or(at);
        time::serde::rfc3339::serialize(&at, serializer)
    }

    /// Reads any RFC 3339 time.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<OffsetDateTime, D::Error> {
        time::serde::rfc3339::deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(input: &str) -> String {
        match Lifetime::parse(input) {
            Err(PkiError::InvalidDuration { reason, .. }) => reason,
            other => panic!("{input}: expected an error, got {other:?}"),
        }
    }

    #[test]
    fn units_parse() {
        assert_eq!(
            Lifetime::parse("90d").unwrap().duration(),
            Duration::days(90)
        );
        assert_eq!(
            Lifetime::parse("720h").unwrap().duration(),
            Duration::days(30)
        );
        assert_eq!(
            Lifetime::parse("12w").unwrap().duration(),
            Duration::weeks(12)
        );
        assert_eq!(
            Lifetime::parse("1y").unwrap().duration(),
            Duration::days(365)
        );
        assert_eq!(
            Lifetime::parse("1d12h").unwrap().duration(),
            Duration::hours(36)
        );
        assert_eq!(
            Lifetime::parse(" 30m ").unwrap().duration(),
            Duration::minutes(30)
        );
    }

    #[test]
    fn bad_durations_say_why() {
        assert!(reason("").contains("empty"));
        assert!(reason("90").contains("no unit"));
        assert!(reason("3mo").contains("unknown unit `mo`"));
        assert!(reason("d").contains("number followed by a unit"));
        assert!(reason("-5d").contains("number followed by a unit"));
        assert!(reason("0d").contains("longer than zero"));
        assert!(reason("101y").contains("100 years"));
        assert!(reason("99999999999999999999d").contains("too large"));
        assert!(reason("9999999999999y").contains("too large"));
    }

    #[test]
    fn display_prefers_whole_days() {
        for (input, shown) in [
            ("1y", "365d"),
            ("2w", "14d"),
            ("36h", "36h"),
            ("90d", "90d"),
            ("61s", "61s"),
        ] {
            assert_eq!(Lifetime::parse(input).unwrap().to_string(), shown);
            assert_eq!(
                Lifetime::parse(shown).unwrap(),
                Lifetime::parse(input).unwrap()
            );
        }
    }

    #[test]
    fn validity_is_backdated_and_whole_seconds() {
        let now = OffsetDateTime::from_unix_timestamp_nanos(1_800_000_000_123_456_789).unwrap();
        let validity = Validity::starting_now(now, Lifetime::days(1));
        assert_eq!(validity.not_before.unix_timestamp(), 1_800_000_000 - 300);
        assert_eq!(validity.not_after.unix_timestamp(), 1_800_000_000 + 86_400);
        assert_eq!(validity.not_after.nanosecond(), 0);
    }

    #[test]
    fn the_issued_lifetime_undoes_the_back_date() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        for lifetime in [Lifetime::days(365), Lifetime::parse("5m").unwrap()] {
            let validity = Validity::starting_now(now, lifetime);
            assert_eq!(validity.issued_lifetime(), Some(lifetime));
        }
        // A window otel-pki did not back-date.
        let short = Validity::between(now, now + Duration::minutes(3));
        assert_eq!(short.issued_span(), Duration::minutes(3));
        assert_eq!(Validity::between(now, now).issued_lifetime(), None);
        let long = Validity::between(now, now + Duration::days(40_000));
        assert_eq!(long.issued_lifetime(), Some(Lifetime::MAX));
    }

    #[test]
    fn lifetimes_serialize_as_text() {
        let json = serde_json::to_string(&Lifetime::days(365)).unwrap();
        assert_eq!(json, "\"365d\"");
        assert_eq!(
            serde_json::from_str::<Lifetime>(&json).unwrap(),
            Lifetime::days(365)
        );
        assert!(serde_json::from_str::<Lifetime>("\"0d\"").is_err());
    }

    #[test]
    fn days_round_to_the_nearest_day() {
        // A 365-day certificate read a few seconds after it was issued.
        assert_eq!(round_days(Duration::days(365) - Duration::seconds(5)), 365);
        assert_eq!(round_days(Duration::hours(11)), 0);
        assert_eq!(round_days(Duration::hours(13)), 1);
        assert_eq!(round_days(-Duration::hours(13)), -1);
        assert_eq!(round_days(-Duration::hours(11)), 0);
    }

    #[test]
    fn spans_never_say_zero_days() {
        assert_eq!(
            span_text(Duration::days(365) - Duration::seconds(5)),
            "365 days"
        );
        assert_eq!(span_text(Duration::hours(30)), "1 day");
        assert_eq!(span_text(Duration::hours(13)), "13 hours");
        assert_eq!(span_text(Duration::seconds(1)), "1 second");
    }

    #[test]
    fn report_times_are_whole_seconds() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct At(#[serde(with = "rfc3339")] OffsetDateTime);
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_800_000_000_264_497_820).unwrap();
        let json = serde_json::to_string(&At(at)).unwrap();
        assert_eq!(json, "\"2027-01-15T08:00:00Z\"");
        let back: At = serde_json::from_str(&json).unwrap();
        assert_eq!(back.0.unix_timestamp(), 1_800_000_000);
    }

    #[test]
    fn humanize_rounds_down() {
        assert_eq!(humanize(Duration::hours(80)), "3 days");
        assert_eq!(humanize(Duration::hours(-1)), "1 hour");
        assert_eq!(humanize(Duration::seconds(5)), "5 seconds");
    }
}
