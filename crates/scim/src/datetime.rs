//! xsd:dateTime (RFC 7643 §2.3.5) parsing, enough to compare `meta.lastModified gt "..."`.

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
