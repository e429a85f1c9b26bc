//! The embedded store's metadata in SQLite (WAL): the versioned schema ([`schema`]) and the
//! queries over it ([`metadata`]).

pub(crate) mod metadata;
pub(crate) mod schema;
