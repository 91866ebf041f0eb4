//! What to do about the fires that came due: run them, or record them as skipped, by the
//! schedule's `catch_up` rule. Pure, so that the rule is tested with any clock.
//!
//! A fire is *on time* when it came due within the last [`ON_TIME`]; older ones were
//! *missed* (the daemon was down, or busy with a long run of the same pipeline):
//! - on-time fires always run;
//! - `catch_up: all` runs every missed fire, oldest first;
//! - `catch_up: latest` runs the newest missed fire, unless an on-time fire supersedes it;
//! - `catch_up: none` runs no missed fire.
//!
//! Of several runs for the same period, only the newest runs: the others would compute the
//! same report. Every fire that does not run is recorded as skipped, with the reason.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::period::Period;
use crate::spec::schedule::CatchUp;
use crate::store::manifest::Trigger;

/// How late a fire may be handled and still count as on time.
pub const ON_TIME: Duration = Duration::from_secs(60);

/// One fire of a schedule and the period it reports on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fire {
    pub at: DateTime<Utc>,
    pub period: Period,
}

/// What happens to a fire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Run(Trigger),
    Skip(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub fire: Fire,
    pub action: Action,
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Plans `fires` (oldest first) at `now` by `catch_up`.
pub fn plan(fires: Vec<Fire>, now: DateTime<Utc>, catch_up: CatchUp) -> Vec<Planned> {
    let on_time = |f: &Fire| now.signed_duration_since(f.at).to_std().map_or(true, |late| late <= ON_TIME);
    let newest_missed = fires.iter().rposition(|f| !on_time(f));
    let any_on_time = fires.iter().any(on_time);
    let mut planned: Vec<Planned> = fires
        .into_iter()
        .enumerate()
        .map(|(i, fire)| {
            let action = if on_time(&fire) {
                Action::Run(Trigger::Schedule)
            } else {
                match catch_up {
                    CatchUp::All => Action::Run(Trigger::CatchUp),
                    CatchUp::Latest if Some(i) == newest_missed && !any_on_time => Action::Run(Trigger::CatchUp),
                    CatchUp::Latest => Action::Skip(format!(
                        "missed while sextant was not running; catch_up: latest runs only the most recent fire{}",
                        if any_on_time { " (one is due now)" } else { "" }
                    )),
                    CatchUp::None => Action::Skip("missed while sextant was not running; catch_up: none".into()),
                }
            };
            Planned { fire, action }
        })
        .collect();
    // One run per period: the newest.
    let mut runs_at: Vec<(Period, DateTime<Utc>)> = Vec::new();
    for p in planned.iter_mut().rev() {
        if !matches!(p.action, Action::Run(_)) {
            continue;
        }
        match runs_at.iter().find(|(period, _)| *period == p.fire.period) {
            Some((_, at)) => {
                p.action = Action::Skip(format!("superseded by the run for the same period at {}", stamp(*at)))
            }
            None => runs_at.push((p.fire.period, p.fire.at)),
        }
    }
    planned
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::period::{FiscalYearStart, Grain};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn month(s: &str) -> Period {
        Period::parse(s, Grain::Month, FiscalYearStart::CALENDAR, chrono::NaiveDate::MIN).unwrap()
    }

    /// Three monthly fires missed (Sep 1, Oct 1, Nov 1 at 07:00 Shanghai), handled on Nov 22.
    fn missed_three() -> Vec<Fire> {
        [("2026-08-31T23:00:00Z", "2026-08"), ("2026-09-30T23:00:00Z", "2026-09"), ("2026-10-31T23:00:00Z", "2026-10")]
            .iter()
            .map(|(at, p)| Fire { at: t(at), period: month(p) })
            .collect()
    }

    fn summary(planned: &[Planned]) -> Vec<String> {
        planned
            .iter()
            .map(|p| match &p.action {
                Action::Run(trigger) => format!("{} run {trigger:?}", p.fire.period),
                Action::Skip(_) => format!("{} skip", p.fire.period),
            })
            .collect()
    }

    #[test]
    fn catch_up_rules_after_three_missed_periods() {
        let now = t("2026-11-22T09:00:00Z");
        assert_eq!(
            summary(&plan(missed_three(), now, CatchUp::All)),
            ["2026-08 run CatchUp", "2026-09 run CatchUp", "2026-10 run CatchUp"]
        );
        assert_eq!(
            summary(&plan(missed_three(), now, CatchUp::Latest)),
            ["2026-08 skip", "2026-09 skip", "2026-10 run CatchUp"]
        );
        assert_eq!(
            summary(&plan(missed_three(), now, CatchUp::None)),
            ["2026-08 skip", "2026-09 skip", "2026-10 skip"]
        );
    }

    #[test]
    fn an_on_time_fire_always_runs_and_supersedes_latest() {
        // Restarted 30 s after the Nov 1 fire: that one is on time.
        let now = t("2026-10-31T23:00:30Z");
        assert_eq!(
            summary(&plan(missed_three(), now, CatchUp::None)),
            ["2026-08 skip", "2026-09 skip", "2026-10 run Schedule"]
        );
        let planned = plan(missed_three(), now, CatchUp::Latest);
        assert_eq!(summary(&planned), ["2026-08 skip", "2026-09 skip", "2026-10 run Schedule"]);
        let Action::Skip(reason) = &planned[1].action else { panic!() };
        assert!(reason.contains("one is due now"), "{reason}");
        // Exactly ON_TIME late still counts as on time; a second more does not.
        let fire = vec![Fire { at: t("2026-11-01T00:00:00Z"), period: month("2026-10") }];
        assert_eq!(summary(&plan(fire.clone(), t("2026-11-01T00:01:00Z"), CatchUp::None)), ["2026-10 run Schedule"]);
        assert_eq!(summary(&plan(fire, t("2026-11-01T00:01:01Z"), CatchUp::None)), ["2026-10 skip"]);
    }

    #[test]
    fn one_run_per_period() {
        // An every-minute schedule reporting the previous month, down for three minutes.
        let fires: Vec<Fire> = ["2026-11-22T09:00:00Z", "2026-11-22T09:01:00Z", "2026-11-22T09:02:00Z"]
            .iter()
            .map(|at| Fire { at: t(at), period: month("2026-10") })
            .collect();
        let planned = plan(fires, t("2026-11-22T09:02:10Z"), CatchUp::All);
        assert_eq!(summary(&planned), ["2026-10 skip", "2026-10 skip", "2026-10 run Schedule"]);
        let Action::Skip(reason) = &planned[0].action else { panic!() };
        assert_eq!(reason, "superseded by the run for the same period at 2026-11-22T09:02:00Z");
        assert!(plan(Vec::new(), t("2026-11-22T09:02:10Z"), CatchUp::All).is_empty());
    }
}
