//! Column encodings shared by every table (see the migration header).

use crate::{StoreError, StoreResult};
use openpim_core::{Instant, ObjectId};
use sqlx::any::AnyRow;
use sqlx::Row;

pub(crate) fn micros(t: Instant) -> i64 {
    (t.unix_timestamp_nanos() / 1_000) as i64
}

pub(crate) fn from_micros(us: i64) -> StoreResult<Instant> {
    Instant::from_unix_timestamp_nanos(us as i128 * 1_000)
        .map_err(|e| StoreError::Corrupt(format!("timestamp {us}: {e}")))
}

pub(crate) fn parse_id(s: &str) -> StoreResult<ObjectId> {
    ObjectId::parse_str(s).map_err(|_| StoreError::Corrupt(format!("bad id '{s}'")))
}

pub(crate) fn id_text(id: ObjectId) -> String {
    id.hyphenated().to_string()
}

pub(crate) fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// Typed accessors that turn decode failures into `StoreError::Corrupt`.
pub(crate) trait RowExt {
    fn text(&self, col: &str) -> StoreResult<String>;
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>>;
    fn int(&self, col: &str) -> StoreResult<i64>;
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>>;
    fn id(&self, col: &str) -> StoreResult<ObjectId> {
        parse_id(&self.text(col)?)
    }
    fn opt_id(&self, col: &str) -> StoreResult<Option<ObjectId>> {
        self.opt_text(col)?.as_deref().map(parse_id).transpose()
    }
    fn bool(&self, col: &str) -> StoreResult<bool> {
        Ok(self.int(col)? != 0)
    }
    fn time(&self, col: &str) -> StoreResult<Instant> {
        from_micros(self.int(col)?)
    }
    fn opt_time(&self, col: &str) -> StoreResult<Option<Instant>> {
        self.opt_int(col)?.map(from_micros).transpose()
    }
}

fn corrupt(col: &str, e: sqlx::Error) -> StoreError {
    StoreError::Corrupt(format!("column {col}: {e}"))
}

impl RowExt for AnyRow {
    fn text(&self, col: &str) -> StoreResult<String> {
        self.try_get::<String, _>(col).map_err(|e| corrupt(col, e))
    }
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
        self.try_get::<Option<String>, _>(col).map_err(|e| corrupt(col, e))
    }
    fn int(&self, col: &str) -> StoreResult<i64> {
        self.try_get::<i64, _>(col).map_err(|e| corrupt(col, e))
    }
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>> {
        self.try_get::<Option<i64>, _>(col).map_err(|e| corrupt(col, e))
    }
}
