//! xsd:dateTime (RFC 7643 §2.3.5): parsing, enough to compare `meta.lastModified gt "..."`, and
//! formatting of the server's own timestamps.

/// A point in time: seconds since the Unix epoch and nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp {
    pub seconds: i64,
    pub nanos: u32,
}

/// Parses `YYYY-MM-DDThh:mm:ss[.fraction][Z|±hh:mm]`; no zone means UTC.
pub fn parse(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = bytes.get(range)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok()
    };
    let separator =
        |index: usize, expected: &[u8]| bytes.get(index).is_some_and(|b| expected.contains(b));
    if !(separator(4, b"-")
        && separator(7, b"-")
        && separator(10, b"Tt")
        && separator(13, b":")
        && separator(16, b":"))
    {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut index = 19;
    let mut nanos: u32 = 0;
    if bytes.get(index) == Some(&b'.') {
        index += 1;
        let start = index;
        while bytes.get(index).is_some_and(u8::is_ascii_digit) {
            if index - start < 9 {
                nanos = nanos * 10 + u32::from(bytes[index] - b'0');
            }
            index += 1;
        }
        let digits = index - start;
        if digits == 0 {
            return None;
        }
        for _ in digits..9 {
            nanos *= 10;
        }
    }
    let offset_seconds = match bytes.get(index) {
        None => 0,
        Some(b'Z' | b'z') if index + 1 == bytes.len() => 0,
        Some(sign @ (b'+' | b'-')) if index + 6 == bytes.len() && separator(index + 3, b":") => {
            let (hours, minutes) = (number(index + 1..index + 3)?, number(index + 4..index + 6)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 3600 + minutes * 60;
            if *sign == b'+' { offset } else { -offset }
        }
        Some(_) => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    Some(Timestamp { seconds, nanos })
}

impl Timestamp {
    /// From milliseconds since the Unix epoch.
    pub fn from_millis(millis: i64) -> Self {
        Self {
            seconds: millis.div_euclid(1000),
            nanos: (millis.rem_euclid(1000) * 1_000_000) as u32,
        }
    }

    /// Milliseconds since the Unix epoch (sub-millisecond precision is dropped).
    pub fn as_millis(self) -> i64 {
        self.seconds
            .saturating_mul(1000)
            .saturating_add(i64::from(self.nanos / 1_000_000))
    }

    /// `YYYY-MM-DDThh:mm:ss.sssZ`, always UTC and always with milliseconds, so that text order
    /// is time order.
    pub fn to_rfc3339(self) -> String {
        let days = self.seconds.div_euclid(86_400);
        let second_of_day = self.seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let millis = i64::from(self.nanos / 1_000_000);
        if !(0..=9999).contains(&year) {
            return format!(
                "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
                second_of_day / 3600,
                second_of_day % 3600 / 60,
                second_of_day % 60,
            );
        }
        // Every resource shows two of these; written by hand, as `format!` costs ten times more.
        let mut text = *b"0000-00-00T00:00:00.000Z";
        let fields = [
            (0..4, year),
            (5..7, month),
            (8..10, day),
            (11..13, second_of_day / 3600),
            (14..16, second_of_day % 3600 / 60),
            (17..19, second_of_day % 60),
            (20..23, millis),
        ];
        for (range, mut value) in fields {
            for digit in text[range].iter_mut().rev() {
                *digit = b'0' + u8::try_from(value % 10).unwrap_or_default();
                value /= 10;
            }
        }
        text.iter().map(|&byte| char::from(byte)).collect()
    }
}

/// The inverse of [`days_from_civil`] (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc7643_examples_and_offsets() {
        let utc = parse("2011-05-13T04:42:34Z").expect("valid");
        assert_eq!(utc.seconds, 1_305_261_754);
        assert_eq!(parse("2011-05-13T06:42:34+02:00"), Some(utc));
        assert_eq!(parse("2011-05-13T04:42:34"), Some(utc));
        assert_eq!(
            parse("2011-05-13T04:42:34.5Z").expect("valid").nanos,
            500_000_000
        );
        assert_eq!(
            parse("1970-01-01T00:00:00Z"),
            Some(Timestamp {
                seconds: 0,
                nanos: 0
            })
        );
    }

    #[test]
    fn formats_utc_with_milliseconds_and_parses_back() {
        let stamp = Timestamp::from_millis(1_305_261_754_007);
        assert_eq!(stamp.to_rfc3339(), "2011-05-13T04:42:34.007Z");
        assert_eq!(parse(&stamp.to_rfc3339()), Some(stamp));
        assert_eq!(
            Timestamp::from_millis(0).to_rfc3339(),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_millis(951_782_400_000).to_rfc3339(),
            "2000-02-29T00:00:00.000Z"
        );
        for millis in [-86_400_001_i64, 1, 4_102_444_800_000, 253_402_300_799_999] {
            let stamp = Timestamp::from_millis(millis);
            assert_eq!(
                parse(&stamp.to_rfc3339()).map(Timestamp::as_millis),
                Some(millis),
                "{millis}"
            );
        }
    }

    #[test]
    fn rejects_malformed_dates() {
        for bad in [
            "",
            "2011-13-01T00:00:00Z",
            "2011-02-30T00:00:00Z",
            "04-12-2018 00:00:00",
            "2011-05-13T04:42:34.Z",
            "2011-05-13T04:42:34+2",
            "2011-05-13T24:00:00Z",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
