//! Freeze windows' rules of time (issue 24): when a window is on. A window is one-off (from–to,
//! UTC instants) or recurring: a five-field cron schedule read in a named time zone, each
//! occurrence lasting a number of minutes of elapsed time. Daylight saving follows Vixie cron
//! (croner): an occurrence that falls in the hour the clocks skip opens when the clocks resume,
//! and one in the hour they repeat opens once, at its first pass. A duration is elapsed time, so
//! a 60-minute window that opens at 01:30 on the night the clocks go back closes at 01:30 of the
//! repeated hour. What a window holds (`FreezeScope`, regions) is the data layer's business
//! (`db::models::freezes`).

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::FieldError;

text_enum!(
    /// What a freeze window holds.
    FreezeScope {
        Task = "task": "Task Release",
        Region = "region": "Region Release",
        Both = "both": "Task and Region Release",
    }
);

impl FreezeScope {
    pub fn holds_tasks(self) -> bool {
        matches!(self, FreezeScope::Task | FreezeScope::Both)
    }
    pub fn holds_regions(self) -> bool {
        matches!(self, FreezeScope::Region | FreezeScope::Both)
    }
}

/// The longest occurrence of a recurring window, and of a one-off one: 90 days.
pub const MAX_WINDOW_MINUTES: i64 = 90 * 24 * 60;

/// When a window is on.
#[derive(Clone, Debug)]
pub enum When {
    /// From `starts` to `ends` (UTC), once.
    Once {
        starts: DateTime<Utc>,
        ends: DateTime<Utc>,
    },
    /// Every time `schedule` fires in `tz`, for `minutes`.
    Recurring {
        /// Boxed: a parsed schedule is large beside a one-off window's two instants.
        schedule: Box<croner::Cron>,
        tz: Tz,
        minutes: i64,
    },
}

/// One stretch of time a window is on: `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl When {
    /// A recurring window from its stored parts; `None` if they no longer parse (a stored
    /// schedule was valid when saved, so this means a newer croner reads it differently).
    pub fn recurring(schedule: &str, tz: &str, minutes: i64) -> Option<When> {
        Some(When::Recurring {
            schedule: Box::new(parse_cron(schedule).ok()?),
            tz: tz.parse().ok()?,
            minutes,
        })
    }

    /// The stretch that covers `now`, if the window is on. A recurring window's occurrences
    /// never overlap (`check_recurring` refuses one whose would), so one covers `now` at most.
    pub fn active_at(&self, now: DateTime<Utc>) -> Option<Span> {
        match self {
            When::Once { starts, ends } => (*starts <= now && now < *ends).then_some(Span {
                start: *starts,
                end: *ends,
            }),
            When::Recurring {
                schedule,
                tz,
                minutes,
            } => {
                let length = Duration::minutes(*minutes);
                let since = (now - length).with_timezone(tz);
                let start = schedule.find_next_occurrence(&since, false).ok()?;
                let start = start.with_timezone(&Utc);
                if start > now {
                    return None;
                }
                let end = start + length;
                Some(Span { start, end })
            }
        }
    }

    /// The stretches that begin after `from` and before `until`, first first, at most `n`.
    pub fn upcoming(&self, from: DateTime<Utc>, until: DateTime<Utc>, n: usize) -> Vec<Span> {
        match self {
            When::Once { starts, ends } => {
                if *starts > from && *starts < until {
                    vec![Span {
                        start: *starts,
                        end: *ends,
                    }]
                } else {
                    Vec::new()
                }
            }
            When::Recurring {
                schedule,
                tz,
                minutes,
            } => {
                let length = Duration::minutes(*minutes);
                let mut out = Vec::new();
                let mut at = from.with_timezone(tz);
                while out.len() < n {
                    let Ok(next) = schedule.find_next_occurrence(&at, false) else {
                        break;
                    };
                    let start = next.with_timezone(&Utc);
                    if start >= until {
                        break;
                    }
                    out.push(Span {
                        start,
                        end: start + length,
                    });
                    at = next;
                }
                out
            }
        }
    }
}

/// A five-field schedule, as the scripts' schedules (`validate_schedule` says what is wrong).
fn parse_cron(schedule: &str) -> Result<croner::Cron, croner::errors::CronError> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .year(croner::parser::Year::Disallowed)
        .build()
        .parse(schedule)
}

/// A time zone by its IANA name (`Europe/Berlin`, `UTC`).
pub fn parse_time_zone(raw: &str) -> Result<Tz, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(Tz::UTC);
    }
    raw.parse::<Tz>().map_err(|_| {
        FieldError(format!(
            "`{raw}` is not a time zone; use an IANA name such as Europe/Berlin or UTC."
        ))
    })
}

/// Every IANA time zone name, for the form's list.
pub fn time_zone_names() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
}

/// A wall-clock time in `tz` as an instant. The hour the clocks skip does not exist and is
/// refused with a message; in the hour they repeat, the first pass is meant.
pub fn local_instant(local: NaiveDateTime, tz: Tz) -> Result<DateTime<Utc>, FieldError> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Ok(first.with_timezone(&Utc)),
        LocalResult::None => Err(FieldError(format!(
            "{} does not exist in {} (the clocks skip that hour).",
            local.format("%Y-%m-%d %H:%M"),
            tz.name()
        ))),
    }
}

/// A recurring window's schedule checked (canonical text) and parsed.
pub fn check_schedule(raw: &str) -> Result<String, FieldError> {
    let schedule = super::validate_schedule(raw)?;
    if schedule.is_empty() {
        return Err(FieldError(
            "A recurring window needs a schedule, e.g. `0 18 * * 5` for Fridays at 18:00.".into(),
        ));
    }
    Ok(schedule)
}

/// Refuses a recurring window whose occurrences would overlap or touch (each must end before
/// the next begins; a window that never lets go is a one-off window), checked over its next 400
/// occurrences from `from`, which cross at least one change of the clocks for any schedule
/// that fires daily or less often.
pub fn check_recurring(
    schedule: &str,
    tz: Tz,
    minutes: i64,
    from: DateTime<Utc>,
) -> Result<(), FieldError> {
    let cron = parse_cron(schedule)
        .map_err(|_| FieldError(format!("The schedule `{schedule}` is not valid.")))?;
    let mut previous: Option<DateTime<Tz>> = None;
    let mut at = from.with_timezone(&tz);
    for _ in 0..400 {
        let Ok(next) = cron.find_next_occurrence(&at, false) else {
            break;
        };
        if let Some(p) = previous
            && (next - p).num_minutes() <= minutes
        {
            return Err(FieldError(format!(
                "`{schedule}` starts again {} after it starts ({}), before a {}-minute window would end; make it shorter, or use a one-off window.",
                minutes_words((next - p).num_minutes()),
                p.format("%a %-d %b %H:%M %Z"),
                minutes
            )));
        }
        previous = Some(next);
        at = next;
    }
    Ok(())
}

fn minutes_words(m: i64) -> String {
    match m {
        m if m % 1440 == 0 => format!("{} d", m / 1440),
        m if m % 60 == 0 => format!("{} h", m / 60),
        m => format!("{m} min"),
    }
}

/// An instant as people read it in `tz`: `Fri 18 Dec 2026 18:00 CET`.
pub fn show(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .format("%a %-d %b %Y %H:%M %Z")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_utc()
    }

    fn every(schedule: &str, tz: &str, minutes: i64) -> When {
        When::recurring(schedule, tz, minutes).unwrap()
    }

    #[test]
    fn a_one_off_window_is_on_from_its_start_until_just_before_its_end() {
        let w = When::Once {
            starts: utc("2026-12-24 00:00"),
            ends: utc("2026-12-27 00:00"),
        };
        assert_eq!(w.active_at(utc("2026-12-23 23:59")), None);
        assert!(w.active_at(utc("2026-12-24 00:00")).is_some());
        assert_eq!(w.active_at(utc("2026-12-27 00:00")), None);
    }

    #[test]
    fn a_weekly_window_in_a_named_zone_follows_its_wall_clock() {
        // Fridays 18:00 Berlin for 62 hours: winter is UTC+1, summer UTC+2.
        let w = every("0 18 * * 5", "Europe/Berlin", 62 * 60);
        let winter = w.active_at(utc("2026-12-18 17:30")).unwrap();
        assert_eq!(winter.start, utc("2026-12-18 17:00"));
        assert_eq!(winter.end, utc("2026-12-21 07:00"));
        let summer = w.active_at(utc("2026-07-03 16:30")).unwrap();
        assert_eq!(summer.start, utc("2026-07-03 16:00"));
        assert_eq!(w.active_at(utc("2026-07-03 15:59")), None);
        assert_eq!(w.active_at(utc("2026-12-21 07:00")), None);
    }

    #[test]
    fn an_occurrence_in_the_skipped_hour_opens_when_the_clocks_resume() {
        // Berlin, 29 March 2026: 02:00 CET becomes 03:00 CEST (01:00 UTC).
        let w = every("30 2 * * *", "Europe/Berlin", 60);
        let span = w.active_at(utc("2026-03-29 01:10")).unwrap();
        assert_eq!(span.start, utc("2026-03-29 01:00"));
        assert_eq!(span.end, utc("2026-03-29 02:00"));
        // The day before and after, 02:30 local as usual.
        assert_eq!(
            w.active_at(utc("2026-03-28 01:40")).unwrap().start,
            utc("2026-03-28 01:30")
        );
        assert_eq!(
            w.active_at(utc("2026-03-30 00:40")).unwrap().start,
            utc("2026-03-30 00:30")
        );
    }

    #[test]
    fn an_occurrence_in_the_repeated_hour_opens_once_and_lasts_elapsed_time() {
        // Berlin, 25 October 2026: 03:00 CEST becomes 02:00 CET; 02:30 happens at 00:30 and at
        // 01:30 UTC. The window opens at the first and lasts 60 minutes of elapsed time.
        let w = every("30 2 * * *", "Europe/Berlin", 60);
        let span = w.active_at(utc("2026-10-25 00:45")).unwrap();
        assert_eq!(span.start, utc("2026-10-25 00:30"));
        assert_eq!(span.end, utc("2026-10-25 01:30"));
        assert_eq!(w.active_at(utc("2026-10-25 01:45")), None);
        let next: Vec<Span> = w.upcoming(utc("2026-10-24 12:00"), utc("2026-10-27 00:00"), 5);
        let starts: Vec<_> = next.iter().map(|s| s.start).collect();
        assert_eq!(
            starts,
            vec![utc("2026-10-25 00:30"), utc("2026-10-26 01:30")],
            "once on the day the hour repeats"
        );
    }

    #[test]
    fn a_window_across_the_change_keeps_its_length_in_elapsed_time() {
        // New York, Saturday 22:00 for 12 hours, over the night of 1 November 2026 (clocks go
        // back at 02:00 EDT): 02:00 UTC to 14:00 UTC, which reads 09:00 EST locally.
        let w = every("0 22 * * 6", "America/New_York", 12 * 60);
        let span = w.active_at(utc("2026-11-01 08:00")).unwrap();
        assert_eq!(span.start, utc("2026-11-01 02:00"));
        assert_eq!(span.end, utc("2026-11-01 14:00"));
        assert_eq!(
            show(span.end, "America/New_York".parse().unwrap()),
            "Sun 1 Nov 2026 09:00 EST"
        );
    }

    #[test]
    fn occurrences_that_would_overlap_are_refused() {
        let from = utc("2026-05-01 06:00");
        let tz = Tz::UTC;
        assert!(check_recurring("0 0 * * *", tz, 36 * 60, from).is_err());
        assert!(
            check_recurring("* * * * *", tz, 1, from).is_err(),
            "touching"
        );
        assert!(check_recurring("0 0 * * *", tz, 23 * 60, from).is_ok());
        // Weekly, 62 hours: fine. Daily at 02:30 Berlin for 23 h 30 min: the day the clocks go
        // forward is 23 hours long, so it would touch the next.
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert!(check_recurring("0 18 * * 5", berlin, 62 * 60, from).is_ok());
        let e = check_recurring("30 2 * * *", berlin, 23 * 60 + 30, utc("2026-03-01 00:00"))
            .unwrap_err();
        assert!(e.0.contains("starts again"), "{}", e.0);
    }

    #[test]
    fn local_times_in_the_skipped_hour_are_refused_with_a_reason() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let gap = NaiveDateTime::parse_from_str("2026-03-29 02:30", "%Y-%m-%d %H:%M").unwrap();
        let e = local_instant(gap, tz).unwrap_err();
        assert!(e.0.contains("does not exist"), "{}", e.0);
        let twice = NaiveDateTime::parse_from_str("2026-10-25 02:30", "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(local_instant(twice, tz).unwrap(), utc("2026-10-25 00:30"));
        assert!(parse_time_zone("Mars/Olympus").is_err());
        assert_eq!(parse_time_zone("").unwrap(), Tz::UTC);
    }
}
