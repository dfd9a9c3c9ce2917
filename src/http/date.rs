//! HTTP-dates (RFC 9110 §5.6.7) as signed seconds since the epoch.
//! `httpdate` does the work from 1970 to 9999; files and requests can name
//! earlier dates (a restored archive, `touch -d 1960-01-01`), which it
//! cannot represent, so those are formatted and parsed here with the
//! civil-calendar algorithms of H. Hinnant.

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
/// 9999-12-31T23:59:59Z, the last instant an HTTP-date can show.
pub const LATEST: i64 = 253_402_300_799;
/// 0000-01-01T00:00:00Z.
pub const EARLIEST: i64 = -62_167_219_200;

/// IMF-fixdate for `secs`, clamped to years 0000–9999.
pub fn format(secs: i64) -> String {
    let secs = secs.clamp(EARLIEST, LATEST);
    if secs >= 0 {
        return httpdate::fmt_http_date(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs as u64),
        );
    }
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{}, {d:02} {} {y:04} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    )
}

/// RFC 3339 (`2026-11-25T15:44:01Z`) for `secs`, clamped to years 0000–9999.
pub fn rfc3339(secs: i64) -> String {
    let secs = secs.clamp(EARLIEST, LATEST);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    )
}

/// Seconds since the epoch of an IMF-fixdate, RFC 850 or asctime date;
/// None if it is not one.
pub fn parse(s: &str) -> Option<i64> {
    if let Ok(t) = httpdate::parse_http_date(s) {
        return t
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_secs()).ok());
    }
    parse_before_1970(s)
}

/// `Www, DD Mon YYYY HH:MM:SS GMT` or `Www Mon _D HH:MM:SS YYYY` with a
/// four-digit year before 1970 (later years are httpdate's).
fn parse_before_1970(s: &str) -> Option<i64> {
    let parts: Vec<&str> = s.split(' ').collect();
    let (wd, d, mon, y, t) = match parts[..] {
        [wd, d, mon, y, t, "GMT"] if d.len() == 2 => (wd.strip_suffix(',')?, d, mon, y, t),
        [wd, mon, "", d, t, y] if d.len() == 1 => (wd, d, mon, y, t),
        [wd, mon, d, t, y] if d.len() == 2 => (wd, d, mon, y, t),
        _ => return None,
    };
    if y.len() != 4 || !y.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i64 = y.parse().ok()?;
    let month = MONTHS.iter().position(|m| *m == mon)? as i64 + 1;
    let day: i64 = d.parse().ok()?;
    let mut hms = t.split(':');
    let (h, m, sec) = (hms.next()?, hms.next()?, hms.next()?);
    if hms.next().is_some()
        || [h, m, sec]
            .iter()
            .any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let (h, m, sec): (i64, i64, i64) = (h.parse().ok()?, m.parse().ok()?, sec.parse().ok()?);
    if year >= 1970 || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    // Reject 31 Feb and friends, and a wrong weekday, as httpdate does.
    if civil_from_days(days) != (year, month, day) || DAYS[days.rem_euclid(7) as usize] != wd {
        return None;
    }
    Some(days * 86_400 + h * 3600 + m * 60 + sec)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_across_the_epoch() {
        for secs in [
            0,
            784_111_777,
            -1,
            -315_619_200,   // 1960-01-01
            -2_208_988_800, // 1900-01-01
            LATEST,
            EARLIEST,
        ] {
            let s = format(secs);
            assert_eq!(parse(&s), Some(secs), "{s}");
        }
        assert_eq!(format(-315_619_200), "Fri, 01 Jan 1960 00:00:00 GMT");
        assert_eq!(format(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    }

    #[test]
    fn rfc3339_covers_both_sides_of_the_epoch() {
        assert_eq!(rfc3339(784_111_777), "1994-11-06T08:49:37Z");
        assert_eq!(rfc3339(-315_619_200), "1960-01-01T00:00:00Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn all_three_forms_parse_and_bad_dates_do_not() {
        assert_eq!(parse("Sunday, 06-Nov-94 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(parse("Sun Nov  6 08:49:37 1994"), Some(784_111_777));
        assert_eq!(parse("Mon Jan  1 00:00:00 1900"), Some(-2_208_988_800));
        assert_eq!(parse("Mon, 01 Jan 1900 00:00:00 GMT"), Some(-2_208_988_800));
        assert_eq!(
            parse("Tue, 01 Jan 1900 00:00:00 GMT"),
            None,
            "wrong weekday"
        );
        assert_eq!(parse("Thu, 31 Feb 1900 00:00:00 GMT"), None);
        assert_eq!(parse("Mon, 01 Jan 1900 25:00:00 GMT"), None);
        assert_eq!(parse("yesterday"), None);
        assert_eq!(parse(""), None);
    }
}
