//! Days and instants as operators type them. Everything is UTC, like the
//! table's `day_key` and timestamps.

use normalize::Timestamp;
use time::{macros::format_description, Date, Duration, OffsetDateTime};

const DAY_FORMS: &str = "YYYY-MM-DD, today, yesterday or Nd (N days ago)";
const WHEN_FORMS: &str =
    "YYYY-MM-DD, an RFC 3339 time, today, yesterday, Nd, Nh or Nm (days, hours, minutes ago)";

/// Today's UTC date.
pub fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

/// `YYYY-MM-DD`, `today`, `yesterday`, or `Nd` (N days before `today`).
pub fn parse_day(text: &str, today: Date) -> Result<Date, String> {
    let text = text.trim();
    let bad = || format!("bad date {text:?}: use {DAY_FORMS}");
    match text.to_ascii_lowercase().as_str() {
        "today" => return Ok(today),
        "yesterday" => return today.previous_day().ok_or_else(bad),
        _ => {}
    }
    if let Some(days) = relative(text, 'd') {
        return today.checked_sub(Duration::days(days)).ok_or_else(bad);
    }
    Date::parse(text, format_description!("[year]-[month]-[day]")).map_err(|_| bad())
}

/// An instant for comparing with stored timestamps: the day forms (their
/// midnight), `Nh`/`Nm` before `now`, or an RFC 3339 time. Returned in the
/// table's format (`2024-05-01T00:00:00.000Z`), which sorts as text.
pub fn parse_when(text: &str, now: OffsetDateTime) -> Result<String, String> {
    let text = text.trim();
    let bad = || format!("bad date or time {text:?}: use {WHEN_FORMS}");
    let ago = |d: Duration| {
        now.checked_sub(d)
            .and_then(|t| {
                Timestamp::from_unix_millis((t.unix_timestamp_nanos() / 1_000_000) as i64)
            })
            .map(|t| t.to_string())
            .ok_or_else(bad)
    };
    if let Some(hours) = relative(text, 'h') {
        return ago(Duration::hours(hours));
    }
    if let Some(minutes) = relative(text, 'm') {
        return ago(Duration::minutes(minutes));
    }
    if let Ok(day) = parse_day(text, now.date()) {
        return Ok(midnight(day));
    }
    // Only full date-times: Timestamp::parse also reads bare numbers as
    // Unix seconds, which is not what an operator means by "20240501".
    if text.contains(['T', 't', ' ']) {
        if let Some(at) = Timestamp::parse(text) {
            return Ok(at.to_string());
        }
    }
    Err(bad())
}

/// A duration like `15m`, `2h`, `1d`, or plain seconds (`90`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let bad = || format!("bad duration {text:?}: use e.g. 90 (seconds), 15m, 2h or 1d");
    if let Ok(seconds) = text.parse::<i64>() {
        return (seconds >= 0)
            .then(|| Duration::seconds(seconds))
            .ok_or_else(bad);
    }
    [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)]
        .into_iter()
        .find_map(|(unit, secs)| relative(text, unit).map(|n| Duration::seconds(n * secs)))
        .ok_or_else(bad)
}

/// `N<unit>` with N a small non-negative integer.
fn relative(text: &str, unit: char) -> Option<i64> {
    let digits = text.strip_suffix(unit)?;
    if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `YYYY-MM-DD`, as in `day_key`.
pub fn day_string(day: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

/// The first instant of the UTC day in the table's format.
pub fn midnight(day: Date) -> String {
    format!("{}T00:00:00.000Z", day_string(day))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn days_in_every_accepted_form() {
        let today = date!(2024 - 03 - 01);
        let cases = [
            ("2024-05-01", Some("2024-05-01")),
            (" today ", Some("2024-03-01")),
            ("Yesterday", Some("2024-02-29")),
            ("0d", Some("2024-03-01")),
            ("30d", Some("2024-01-31")),
            ("2024-02-30", None),
            ("2024-5-1", None),
            ("20240501", None),
            ("tomorrow", None),
            ("-3d", None),
            ("d", None),
            ("", None),
        ];
        for (input, expected) in cases {
            let got = parse_day(input, today).ok().map(day_string);
            assert_eq!(got.as_deref(), expected, "input {input:?}");
        }
    }

    #[test]
    fn a_bad_day_says_what_is_accepted_in_one_line() {
        let err = parse_day("31/12/2024", date!(2024 - 03 - 01)).unwrap_err();
        assert_eq!(
            err,
            "bad date \"31/12/2024\": use YYYY-MM-DD, today, yesterday or Nd (N days ago)"
        );
    }

    #[test]
    fn instants_sort_as_stored_timestamps() {
        let now = datetime!(2024-03-01 10:30:00 UTC);
        let cases = [
            ("2024-05-01", Some("2024-05-01T00:00:00.000Z")),
            ("today", Some("2024-03-01T00:00:00.000Z")),
            ("2d", Some("2024-02-28T00:00:00.000Z")),
            ("2h", Some("2024-03-01T08:30:00.000Z")),
            ("45m", Some("2024-03-01T09:45:00.000Z")),
            (
                "2024-05-01T12:00:00+02:00",
                Some("2024-05-01T10:00:00.000Z"),
            ),
            ("2024-05-01 12:00:00", Some("2024-05-01T12:00:00.000Z")),
            ("1714550400", None),
            ("soon", None),
        ];
        for (input, expected) in cases {
            assert_eq!(
                parse_when(input, now).ok().as_deref(),
                expected,
                "input {input:?}"
            );
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::seconds(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::minutes(15)));
        assert_eq!(parse_duration("2h"), Ok(Duration::hours(2)));
        assert_eq!(parse_duration("1d"), Ok(Duration::days(1)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-5").is_err());
    }
}
