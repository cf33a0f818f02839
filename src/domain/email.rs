//! Where a person's notification email goes, and when their daily digest is due: the values
//! the Account page takes, parsed at the edge (`db::models::preferences` stores them).

use chrono::{Duration, NaiveDate, NaiveDateTime};

use super::FieldError;

/// The longest address accepted: what fits in an SMTP forward path (RFC 5321, 4.5.3.1.3).
pub const MAX_EMAIL_LEN: usize = 254;

/// An email address (`name@example.com`, no display name), as the sender's `lettre` reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// The address as typed, trimmed; it must be one `user@domain` that `lettre` accepts, at
    /// most `MAX_EMAIL_LEN` characters.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let address = raw.trim();
        if address.is_empty() {
            return Err(FieldError(
                "Type an address, such as name@example.com.".into(),
            ));
        }
        if address.chars().count() > MAX_EMAIL_LEN {
            return Err(FieldError(format!(
                "An email address has at most {MAX_EMAIL_LEN} characters."
            )));
        }
        if address.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(FieldError(
                "An email address cannot hold spaces or control characters.".into(),
            ));
        }
        address
            .parse::<lettre::Address>()
            .map_err(|_| {
                FieldError(format!(
                    "“{address}” is not an email address; write it as name@example.com."
                ))
            })
            .map(|_| EmailAddress(address.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `alice@example.com` as `a…@example.com`: enough for a person to recognise their own
/// address in a message, no more.
pub fn masked_address(address: &str) -> String {
    match address.split_once('@') {
        Some((user, domain)) => {
            let first: String = user.chars().take(1).collect();
            format!("{first}…@{domain}")
        }
        None => "…".to_owned(),
    }
}

/// How long after its hour a missed digest (no sender ran then) is still raised.
pub const DIGEST_CATCH_UP_HOURS: i64 = 3;

/// The hour of the day, UTC, a person's daily digest is due (0 to 23).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DigestHour(u8);

impl DigestHour {
    /// The form's value: empty or `off` is no digest (`None`), else an hour 0 to 23.
    pub fn parse_field(raw: &str) -> Result<Option<Self>, FieldError> {
        let raw = raw.trim();
        if raw.is_empty() || raw == "off" {
            return Ok(None);
        }
        match raw.parse::<u8>() {
            Ok(h) if h < 24 => Ok(Some(DigestHour(h))),
            _ => Err(FieldError(
                "Choose an hour from 00:00 to 23:00 UTC, or no digest.".into(),
            )),
        }
    }

    /// The stored hour; `None` for a value out of range.
    pub fn from_db(h: i32) -> Option<Self> {
        u8::try_from(h).ok().filter(|h| *h < 24).map(DigestHour)
    }

    pub fn get(self) -> i32 {
        i32::from(self.0)
    }

    /// The day whose digest is due at `now`, if one is: the day D with D at this hour at or
    /// before `now`, less than `DIGEST_CATCH_UP_HOURS` ago. So a digest goes out at its hour,
    /// or soon after when no sender ran then, and choosing 9:00 at 23:00 sends none that night.
    pub fn due_day(self, now: NaiveDateTime) -> Option<NaiveDate> {
        let hour = Duration::hours(i64::from(self.0));
        let day = (now - hour).date();
        let due_at = day.and_hms_opt(0, 0, 0)? + hour;
        (now - due_at < Duration::hours(DIGEST_CATCH_UP_HOURS)).then_some(day)
    }

    /// `09:00 UTC`.
    pub fn label(self) -> String {
        format!("{:02}:00 UTC", self.0)
    }

    /// Every hour, for the form.
    pub fn all() -> impl Iterator<Item = DigestHour> {
        (0..24).map(DigestHour)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 7)
            .and_then(|d| d.and_hms_opt(h, m, 0))
            .expect("a time")
    }

    #[test]
    fn addresses_are_checked_as_the_sender_reads_them() {
        assert!(EmailAddress::parse(" alice@example.com ").is_ok());
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "alice @example.com",
            "a\u{7}@example.com",
            "Alice <alice@example.com>",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(EmailAddress::parse(&long).is_err());
        assert_eq!(masked_address("alice@example.com"), "a…@example.com");
    }

    #[test]
    fn a_digest_is_due_from_its_hour_for_a_few_hours() {
        let nine = DigestHour::parse_field("9").unwrap().unwrap();
        let today = at(0, 0).date();
        assert_eq!(nine.due_day(at(8, 59)), None);
        assert_eq!(nine.due_day(at(9, 0)), Some(today));
        assert_eq!(nine.due_day(at(11, 59)), Some(today));
        assert_eq!(nine.due_day(at(12, 0)), None);
        let late = DigestHour::parse_field("23").unwrap().unwrap();
        let yesterday = today.pred_opt().unwrap();
        assert_eq!(late.due_day(at(1, 30)), Some(yesterday));
        assert_eq!(DigestHour::parse_field("off").unwrap(), None);
        assert!(DigestHour::parse_field("24").is_err());
        assert!(DigestHour::parse_field("x").is_err());
    }
}
