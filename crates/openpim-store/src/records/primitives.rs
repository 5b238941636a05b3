//! Encodings of time values inside v1 documents: what the `time` crate's serde support wrote
//! (its non-human-readable tuples), fixed here so a change of `time`'s features or version
//! cannot change stored bytes.

use crate::{StoreError, StoreResult};
use openpim_core::Instant;
use serde::{Deserialize, Serialize};
use time::{Date, Duration, PrimitiveDateTime, Time, UtcOffset};

/// A duration as `[whole seconds, nanoseconds]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DurationV1(i64, i32);

impl From<Duration> for DurationV1 {
    fn from(d: Duration) -> Self {
        Self(d.whole_seconds(), d.subsec_nanoseconds())
    }
}

impl From<DurationV1> for Duration {
    fn from(DurationV1(seconds, nanoseconds): DurationV1) -> Self {
        Duration::new(seconds, nanoseconds)
    }
}

/// An instant as `[year, day of year, hour, minute, second, nanosecond, offset hours, offset
/// minutes, offset seconds]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstantV1(i32, u16, u8, u8, u8, u32, i8, i8, i8);

impl From<Instant> for InstantV1 {
    fn from(t: Instant) -> Self {
        let (offset_h, offset_m, offset_s) = t.offset().as_hms();
        Self(t.year(), t.ordinal(), t.hour(), t.minute(), t.second(), t.nanosecond(), offset_h, offset_m, offset_s)
    }
}

impl TryFrom<InstantV1> for Instant {
    type Error = StoreError;
    fn try_from(v: InstantV1) -> StoreResult<Self> {
        let InstantV1(year, ordinal, hour, minute, second, nanosecond, offset_h, offset_m, offset_s) = v;
        let bad = |e: time::error::ComponentRange| StoreError::Corrupt(format!("instant {v:?}: {e}"));
        let date = Date::from_ordinal_date(year, ordinal).map_err(bad)?;
        let time = Time::from_hms_nano(hour, minute, second, nanosecond).map_err(bad)?;
        let offset = UtcOffset::from_hms(offset_h, offset_m, offset_s).map_err(bad)?;
        Ok(PrimitiveDateTime::new(date, time).assume_offset(offset))
    }
}
