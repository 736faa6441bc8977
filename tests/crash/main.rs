//! Crash, concurrency, cancel and progress tests of background bulk deletions (L1, L2,
//! R2, R4, R7, R12), black box: the real `contacts-admin` binary runs as a child
//! process on port 0 against a fresh database (a SQLite file, or a fresh PostgreSQL
//! database), seeded by its own CLI with a few thousand contacts of ~21 associated rows
//! each, and is driven over HTTP by a cookie-keeping client that logs in and sends CSRF
//! tokens like a browser. After every step the database itself is checked through a
//! separate connection pool.
//!
//! Servers run with tiny chunks (`BULK_CHUNK=5`, 10 on PostgreSQL), so that a job is hundreds of
//! transactions and the tests can act while it is part-way through. Every wait polls
//! with a timeout; nothing asserts on how long anything takes.
//!
//! PostgreSQL: `TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`);
//! unreachable, the PostgreSQL variants print SKIPPED, or fail with
//! `CONTACTS_ADMIN_REQUIRE_POSTGRES=1`.

#[path = "../support/mod.rs"]
mod support;

mod harness;

mod cancel;
mod kill;
mod progress;
mod two_servers;
mod webhooks;
