//! TUI tests: reducer, key map and TestBackend snapshots, on fixtures with fixed ids and times.

mod body_search;
mod fixtures;
mod keys;
mod reducer;
mod snapshots;
