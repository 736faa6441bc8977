//! End-to-end tests in headless Chromium (SPEC U1–U6, R1, R5, R6, R11): the real pages,
//! the real `app.js` and htmx, against a real server started in-process on port 0.
//!
//! SQLite only: every test runs on a fresh SQLite file (`TestDb::sqlite`); the rules
//! themselves are checked on both backends by the repository and HTTP tests.
//!
//! Chromium is expected at `/usr/lib/chromium/chromium` (Debian's `chromium` package).
//! When it is missing each test reports itself as SKIPPED on stderr, or fails when
//! `CONTACTS_ADMIN_REQUIRE_BROWSER=1` (as in CI).
//!
//! Screenshots of the main screens go to `target/test-artifacts/` (under
//! `CARGO_TARGET_DIR` when set), and a `failed-<test>.png` when a wait times out.

#[path = "../support/mod.rs"]
mod support;

mod harness;

mod access;
mod admin_day;
mod deletion;
mod import;
mod keyboard;
mod list;
mod record_export;
mod restore;
mod screens;
mod selection;
mod workflows;
