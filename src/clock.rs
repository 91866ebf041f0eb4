//! The one place time comes from, so that runs can be replayed exactly: the system
//! clock, or a fixed instant from `SEXTANT_NOW` (RFC 3339) for tests and reruns.

use chrono::{DateTime, NaiveDate, Utc};

/// Where "now" comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    System,
    Fixed(DateTime<Utc>),
}

impl Clock {
    /// `SEXTANT_NOW` when set and valid, else the system clock.
    ///
    /// # Errors
    /// When `SEXTANT_NOW` is set but not an RFC 3339 instant.
    pub fn from_env() -> Result<Clock, String> {
        match std::env::var("SEXTANT_NOW") {
            Ok(text) => DateTime::parse_from_rfc3339(&text)
                .map(|t| Clock::Fixed(t.with_timezone(&Utc)))
                .map_err(|e| format!("SEXTANT_NOW=`{text}` is not an RFC 3339 time such as 2026-11-01T06:00:00Z: {e}")),
            Err(_) => Ok(Clock::System),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(t) => *t,
        }
    }

    /// Today's date in the time zone `tz` (an IANA name; UTC when unknown).
    pub fn today(&self, tz: &str) -> NaiveDate {
        let now = self.now();
        match tz.parse::<chrono_tz::Tz>() {
            Ok(zone) => now.with_timezone(&zone).date_naive(),
            Err(_) => now.date_naive(),
        }
    }
}
