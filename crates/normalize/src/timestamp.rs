use serde::{Serialize, Serializer};
use std::fmt;
use time::{format_description::well_known::Rfc3339, macros::format_description, OffsetDateTime};
use time::{PrimitiveDateTime, UtcOffset};

/// A UTC instant with millisecond precision, shown as RFC 3339 with a `Z`
/// suffix: `2023-01-24T15:24:19.000Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Instants outside these years are not plausible event times; a provider
/// value outside them is treated as absent.
const MIN_MILLIS: i64 = 0; // 1970-01-01
const MAX_MILLIS: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

/// 2000-01-01T00:00:00Z: a provider's time before it is not believed.
const EARLIEST_EVENT_MILLIS: i64 = 946_684_800_000;
/// How far past receipt a provider's clock may run and still be believed.
const MAX_AHEAD_OF_RECEIPT_MILLIS: i64 = 86_400_000;

impl Timestamp {
    /// Whether a provider's time can be that of an event received at
    /// `received_at`: not before 2000, and at most a day after receipt.
    pub fn is_plausible_event_time(self, received_at: Timestamp) -> bool {
        self.0 >= EARLIEST_EVENT_MILLIS
            && self.0 <= received_at.0.saturating_add(MAX_AHEAD_OF_RECEIPT_MILLIS)
    }

    /// `None` when the instant is before 1970 or after 9999.
    pub fn from_unix_millis(millis: i64) -> Option<Self> {
        (MIN_MILLIS..=MAX_MILLIS)
            .contains(&millis)
            .then_some(Self(millis))
    }

    pub fn from_unix_seconds(seconds: i64) -> Option<Self> {
        seconds.checked_mul(1000).and_then(Self::from_unix_millis)
    }

    pub fn now() -> Self {
        let millis = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        Self(millis.clamp(MIN_MILLIS as i128, MAX_MILLIS as i128) as i64)
    }

    pub fn unix_millis(self) -> i64 {
        self.0
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    #[cfg(test)]
    fn datetime(self) -> OffsetDateTime {
        // In range by construction, so the fallback is never taken.
        OffsetDateTime::from_unix_timestamp_nanos(self.0 as i128 * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// `YYYY-MM-DD` of the UTC day.
    pub fn date(self) -> String {
        std::str::from_utf8(&self.ascii()[..10])
            .unwrap_or_default()
            .to_owned()
    }

    /// The stored form, `2023-01-24T15:24:19.000Z` (what `to_string` gives,
    /// without going through the formatting machinery: this runs three
    /// times per stored event).
    pub fn text(self) -> String {
        // Only ASCII digits and separators are written.
        String::from_utf8(self.ascii().to_vec()).unwrap_or_default()
    }

    pub(crate) fn ascii(self) -> [u8; 24] {
        let millis = self.0.rem_euclid(1000);
        let seconds = self.0.div_euclid(1000);
        let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        let mut out = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut value: i64| {
            for i in (at..at + width).rev() {
                out[i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, month);
        put(8, 2, day);
        put(11, 2, second_of_day / 3600);
        put(14, 2, second_of_day / 60 % 60);
        put(17, 2, second_of_day % 60);
        put(20, 3, millis);
        out
    }

    /// Reads the time formats providers send: Unix seconds (a number, or a
    /// string of digits, optionally with a fraction; values that can only be
    /// milliseconds are read as such), `YYYY-MM-DD HH:MM:SS` (UTC), and
    /// RFC 3339 / ISO 8601 with or without an offset (UTC when absent).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        if let Some(ts) = Self::parse_unix(text) {
            return Some(ts);
        }
        if let Ok(dt) = OffsetDateTime::parse(text, &Rfc3339) {
            return Self::from_datetime(dt);
        }
        let local_formats = [
            format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
            format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
            format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond]"),
            format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]"),
        ];
        local_formats.iter().find_map(|format| {
            PrimitiveDateTime::parse(text, format)
                .ok()
                .and_then(|dt| Self::from_datetime(dt.assume_offset(UtcOffset::UTC)))
        })
    }

    /// Unix time as a JSON number: seconds, or milliseconds when the value is
    /// too large to be seconds of a plausible date.
    pub fn from_unix_number(value: f64) -> Option<Self> {
        if !value.is_finite() || value < 0.0 {
            return None;
        }
        // 1e11 seconds is the year 5138; anything above is milliseconds.
        let millis = if value >= 1e11 { value } else { value * 1000.0 };
        if millis > MAX_MILLIS as f64 {
            return None;
        }
        Self::from_unix_millis(millis.round() as i64)
    }

    fn parse_unix(text: &str) -> Option<Self> {
        let digits = text.strip_prefix('+').unwrap_or(text);
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || whole.len() > 15 || !all_digits(whole) || !all_digits(fraction) {
            return None;
        }
        text.parse::<f64>().ok().and_then(Self::from_unix_number)
    }

    fn from_datetime(dt: OffsetDateTime) -> Option<Self> {
        let millis = dt.unix_timestamp_nanos().div_euclid(1_000_000);
        i64::try_from(millis).ok().and_then(Self::from_unix_millis)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::str::from_utf8(&self.ascii()).unwrap_or_default())
    }
}

/// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's
/// algorithm), for the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(text: &str) -> Option<String> {
        Timestamp::parse(text).map(|t| t.to_string())
    }

    #[test]
    fn reads_every_provider_format() {
        let cases = [
            ("1674573859", Some("2023-01-24T15:24:19.000Z")),
            (" 1496827422 ", Some("2017-06-07T09:23:42.000Z")),
            ("1674573859.25", Some("2023-01-24T15:24:19.250Z")),
            ("1674573859123", Some("2023-01-24T15:24:19.123Z")),
            ("2022-01-04 09:02:39", Some("2022-01-04T09:02:39.000Z")),
            ("2022-01-04T09:02:39", Some("2022-01-04T09:02:39.000Z")),
            ("2023-03-01T10:20:30.456Z", Some("2023-03-01T10:20:30.456Z")),
            (
                "2023-03-01T12:20:30+02:00",
                Some("2023-03-01T10:20:30.000Z"),
            ),
            ("2022-01-04 09:02:39.5", Some("2022-01-04T09:02:39.500Z")),
            ("631152000", Some("1990-01-01T00:00:00.000Z")),
            ("", None),
            ("yesterday", None),
            ("-5", None),
            ("99999999999999999999", None),
            ("2022-13-04 09:02:39", None),
        ];
        for (input, expected) in cases {
            assert_eq!(shown(input).as_deref(), expected, "input {input:?}");
        }
    }

    #[test]
    fn numbers_outside_plausible_years_are_absent() {
        assert_eq!(Timestamp::from_unix_number(f64::NAN), None);
        assert_eq!(Timestamp::from_unix_number(-1.0), None);
        assert_eq!(Timestamp::from_unix_number(1e300), None);
        assert!(Timestamp::from_unix_number(0.0).is_some());
    }

    #[test]
    fn formatting_agrees_with_the_time_crate() {
        let format = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        let mut millis = 0i64;
        while millis <= MAX_MILLIS {
            let t = Timestamp(millis);
            assert_eq!(
                t.to_string(),
                t.datetime().format(format).unwrap(),
                "{millis}"
            );
            millis += 86_399_999 * 7 + 12_345;
        }
        assert_eq!(
            Timestamp(MAX_MILLIS).to_string(),
            "9999-12-31T23:59:59.999Z"
        );
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn plausible_event_times_run_from_2000_to_a_day_after_receipt() {
        let received = Timestamp::parse("2024-07-01T12:00:00Z").unwrap();
        let at = |text: &str| Timestamp::parse(text).unwrap();
        let plausible = |t: Timestamp| t.is_plausible_event_time(received);
        assert!(!plausible(at("1999-12-31T23:59:59.999Z")));
        assert!(plausible(at("2000-01-01T00:00:00.000Z")));
        assert!(plausible(received));
        assert!(plausible(at("2024-07-02T12:00:00.000Z")));
        assert!(!plausible(at("2024-07-02T12:00:00.001Z")));
        assert!(!plausible(Timestamp(0)));
        assert!(!plausible(Timestamp(MAX_MILLIS)));
        // No overflow at the end of the range.
        assert!(Timestamp(MAX_MILLIS).is_plausible_event_time(Timestamp(MAX_MILLIS)));
    }

    #[test]
    fn date_is_the_utc_day() {
        let t = Timestamp::parse("2023-01-24T23:59:59.999Z").unwrap();
        assert_eq!(t.date(), "2023-01-24");
    }
}
