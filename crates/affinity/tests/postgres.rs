//! The HTTP integration suite of `tests/integration/` again, with every server on PostgreSQL (a throwaway cluster
//! this test process starts and removes): the same tests, parameterised by `common::BACKEND`, not copied.

#[path = "integration/main.rs"]
mod integration;

/// The suite's modules name their helpers `crate::common`.
use integration::common;

/// Several nodes on one database: only meaningful on PostgreSQL.
#[path = "integration/nodes.rs"]
mod nodes;

/// Moving a project between PostgreSQL and SQLite needs both.
#[path = "integration/transfer.rs"]
mod transfer;
