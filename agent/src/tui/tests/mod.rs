//! TUI tests.
