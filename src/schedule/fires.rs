//! Fire times: when a `schedule:` is due, in its time zone, and which period each fire
//! reports on.
//!
//! The rule across daylight-saving changes (wall-clock time in the schedule's zone):
//! - a wall time skipped by spring-forward (02:30 on the night clocks jump 02:00 → 03:00)
//!   fires once, at the next valid instant, the moment the clocks jump (03:00 new time);
//!   several skipped wall times collapse into that one fire;
//! - a wall time repeated by fall-back (01:30 on the night clocks go back 02:00 → 01:00)
//!   fires once, at its first occurrence.
//!
//! tokio-cron-scheduler's `_tz` jobs compute every tick with the zone's offset at the time
//! the job was created (its issues #87, #107), so a job made in winter fires an hour off in
//! summer. sextant computes each fire instant here and hands the daemon's scheduler one-shot
//! jobs at those instants instead.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use crate::period::{FiscalYearStart, Grain, Period};
use crate::spec::schedule::{PeriodChoice, ScheduleSpec};

/// Most fires [`fires_between`] lists: an every-second schedule stopped for a day would
/// otherwise list 86 400 of them. The caller learns that the list was cut.
pub const MAX_FIRES: usize = 10_000;

/// The instant a wall-clock time in `tz` stands for, by the rule above.
pub fn resolve(tz: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(t) => Some(t.to_utc()),
        LocalResult::Ambiguous(a, b) => Some(a.to_utc().min(b.to_utc())),
        LocalResult::None => {
            // In a gap: the first valid wall time after it is the instant the clocks jumped.
            let mut t = wall.with_second(0)?.with_nanosecond(0)?;
            for _ in 0..(26 * 60) {
                t += chrono::Duration::minutes(1);
                match tz.from_local_datetime(&t) {
                    LocalResult::Single(x) => return Some(x.to_utc()),
                    LocalResult::Ambiguous(a, b) => return Some(a.to_utc().min(b.to_utc())),
                    LocalResult::None => {}
                }
            }
            None
        }
    }
}

/// The first fire strictly after `after`.
pub fn next_fire(pattern: &croner::Cron, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    // Walk the matching wall-clock times (carried in a zone without DST), map each to its
    // instant, and take the first one past `after`. Starting from `after`'s own wall time
    // is enough: a wall time before it maps to an instant at or before `after`.
    // Fire times are whole seconds; croner keeps the fraction of its start, so drop it.
    let mut wall = after.with_timezone(&tz).naive_local().with_nanosecond(0)?;
    for _ in 0..100_000 {
        let carrier = Utc.from_utc_datetime(&wall);
        wall = pattern.find_next_occurrence(&carrier, false).ok()?.naive_utc();
        let at = resolve(tz, wall)?;
        if at > after {
            return Some(at);
        }
    }
    None
}

/// The fires in `(after, until]`, oldest first, at most [`MAX_FIRES`] (the newest kept).
/// The flag says whether older ones were cut.
pub fn fires_between(
    pattern: &croner::Cron,
    tz: Tz,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> (Vec<DateTime<Utc>>, bool) {
    let mut fires = std::collections::VecDeque::new();
    let mut cut = false;
    let mut t = after;
    while let Some(next) = next_fire(pattern, tz, t).filter(|n| *n <= until) {
        if fires.len() == MAX_FIRES {
            fires.pop_front();
            cut = true;
        }
        fires.push_back(next);
        t = next;
    }
    (fires.into(), cut)
}

/// The period a fire at `at` reports on.
pub fn period_for(choice: PeriodChoice, grain: Grain, fys: FiscalYearStart, tz: Tz, at: DateTime<Utc>) -> Period {
    let current = Period::containing(at.with_timezone(&tz).date_naive(), grain, fys);
    match choice {
        PeriodChoice::Previous => current.previous(),
        PeriodChoice::Current => current,
    }
}

/// A schedule with its zone resolved: what the daemon and `sextant next` work from.
#[derive(Debug, Clone)]
pub struct Timetable {
    pub schedule: ScheduleSpec,
    pub tz: Tz,
    pub grain: Grain,
    pub fys: FiscalYearStart,
}

impl Timetable {
    /// `workspace_tz` applies when the schedule names no zone (UTC if it is not a zone).
    pub fn new(schedule: &ScheduleSpec, workspace_tz: &str, grain: Grain, fys: FiscalYearStart) -> Timetable {
        let tz = schedule.timezone.unwrap_or_else(|| workspace_tz.parse().unwrap_or(Tz::UTC));
        Timetable { schedule: schedule.clone(), tz, grain, fys }
    }

    pub fn next(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        next_fire(&self.schedule.pattern, self.tz, after)
    }

    pub fn between(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> (Vec<DateTime<Utc>>, bool) {
        fires_between(&self.schedule.pattern, self.tz, after, until)
    }

    pub fn period(&self, at: DateTime<Utc>) -> Period {
        period_for(self.schedule.period, self.grain, self.fys, self.tz, at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::schedule::parse_cron;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn fires(cron: &str, tz: &str, after: &str, until: &str) -> Vec<String> {
        let (pattern, _) = parse_cron(cron).unwrap();
        let tz: Tz = tz.parse().unwrap();
        fires_between(&pattern, tz, t(after), t(until))
            .0
            .iter()
            .map(|f| f.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S %Z").to_string())
            .collect()
    }

    #[test]
    fn monthly_review_fires_at_seven_shanghai_time() {
        assert_eq!(
            fires("0 7 1 * *", "Asia/Shanghai", "2026-08-15T00:00:00Z", "2026-11-22T00:00:00Z"),
            ["2026-09-01 07:00:00 CST", "2026-10-01 07:00:00 CST", "2026-11-01 07:00:00 CST"]
        );
        // 07:00 in Shanghai is 23:00 UTC the day before.
        let (p, _) = parse_cron("0 7 1 * *").unwrap();
        assert_eq!(
            next_fire(&p, chrono_tz::Asia::Shanghai, t("2026-11-22T00:00:00Z")),
            Some(t("2026-11-30T23:00:00Z"))
        );
    }

    #[test]
    fn spring_forward_gap_fires_once_at_the_jump() {
        // Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST, so 02:30 does not exist.
        assert_eq!(
            fires("30 2 * * *", "Europe/Berlin", "2026-03-27T12:00:00Z", "2026-03-30T12:00:00Z"),
            ["2026-03-28 02:30:00 CET", "2026-03-29 03:00:00 CEST", "2026-03-30 02:30:00 CEST"]
        );
        // Every 15 minutes: 02:00, 02:15, 02:30 and 02:45 are skipped; they fire once, at 03:00,
        // together with 03:00's own fire.
        assert_eq!(
            fires("*/15 * * * *", "Europe/Berlin", "2026-03-29T00:40:00Z", "2026-03-29T01:20:00Z"),
            ["2026-03-29 01:45:00 CET", "2026-03-29 03:00:00 CEST", "2026-03-29 03:15:00 CEST"]
        );
    }

    #[test]
    fn fall_back_repeat_fires_once() {
        // New York, 2026-11-01: 02:00 EDT becomes 01:00 EST, so 01:30 happens twice.
        assert_eq!(
            fires("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", "2026-11-02T12:00:00Z"),
            ["2026-11-01 01:30:00 EDT", "2026-11-02 01:30:00 EST"]
        );
        // Every 30 minutes through the repeated hour: each wall time once.
        assert_eq!(
            fires("*/30 * * * *", "America/New_York", "2026-11-01T04:45:00Z", "2026-11-01T07:10:00Z"),
            ["2026-11-01 01:00:00 EDT", "2026-11-01 01:30:00 EDT", "2026-11-01 02:00:00 EST"]
        );
        // Asked from inside the second pass, the repeated wall times are not fired again.
        let (p, _) = parse_cron("*/30 * * * *").unwrap();
        let tz = chrono_tz::America::New_York;
        assert_eq!(next_fire(&p, tz, t("2026-11-01T06:10:00Z")), Some(t("2026-11-01T07:00:00Z")));
    }

    #[test]
    fn fractions_of_a_second_do_not_shift_fires() {
        let (p, _) = parse_cron("*/5 * * * * *").unwrap();
        let next = next_fire(&p, Tz::UTC, t("2026-11-22T15:39:19.835Z"));
        assert_eq!(next, Some(t("2026-11-22T15:39:20Z")));
        assert_eq!(next_fire(&p, Tz::UTC, t("2026-11-22T15:39:20Z")), Some(t("2026-11-22T15:39:25Z")));
    }

    #[test]
    fn seconds_and_long_outages() {
        assert_eq!(
            fires("*/20 * * * * *", "UTC", "2026-11-22T10:00:00Z", "2026-11-22T10:01:00Z"),
            ["2026-11-22 10:00:20 UTC", "2026-11-22 10:00:40 UTC", "2026-11-22 10:01:00 UTC"]
        );
        let (p, _) = parse_cron("* * * * * *").unwrap();
        let (list, cut) = fires_between(&p, Tz::UTC, t("2026-11-20T00:00:00Z"), t("2026-11-22T00:00:00Z"));
        assert!(cut);
        assert_eq!(list.len(), MAX_FIRES);
        assert_eq!(list.last(), Some(&t("2026-11-22T00:00:00Z")));
    }

    #[test]
    fn periods_of_fires() {
        let sh = chrono_tz::Asia::Shanghai;
        let fys = FiscalYearStart::CALENDAR;
        // 2026-09-30T23:00Z is already 1 October in Shanghai: the previous month is September.
        let at = t("2026-09-30T23:00:00Z");
        assert_eq!(period_for(PeriodChoice::Previous, Grain::Month, fys, sh, at).to_string(), "2026-09");
        assert_eq!(period_for(PeriodChoice::Current, Grain::Month, fys, sh, at).to_string(), "2026-10");
        assert_eq!(period_for(PeriodChoice::Previous, Grain::Month, fys, Tz::UTC, at).to_string(), "2026-08");
        assert_eq!(period_for(PeriodChoice::Previous, Grain::Quarter, fys, sh, at).to_string(), "2026-Q3");
        let april = FiscalYearStart::new(4).unwrap();
        let at = t("2026-04-01T01:00:00Z");
        let year = period_for(PeriodChoice::Previous, Grain::Year, april, sh, at);
        assert_eq!((year.start().to_string(), year.end().to_string()), ("2025-04-01".into(), "2026-04-01".into()));
    }
}
