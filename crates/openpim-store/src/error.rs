use openpim_odata::ODataError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error("I/O error: {0}")]
    Io(#[source] std::io::Error),
    #[error("configuration error: {0}")]
    Config(String),
    /// A row that does not decode: the database was changed behind our back.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A uniqueness constraint said no: the write conflicts with existing data.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The commit of a group of writes failed (see `write.rs`); nothing of it was written.
    #[error("commit failed: {0}")]
    Commit(String),
    /// The write would break a cross-entity invariant (`invariants.rs`); it was rolled back.
    #[error("invariant violated: {0}")]
    Invariant(openpim_core::DomainError),
    /// The client's query options could not be applied (bad $filter, $orderby, ...).
    #[error("{0}")]
    Query(#[from] ODataError),
}

impl StoreError {
    /// Classifies a database error, turning unique violations into `Conflict`.
    pub(crate) fn from_write(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err {
            if db.is_unique_violation() {
                return Self::Conflict(db.message().to_string());
            }
        }
        Self::Db(err)
    }
}
