//! test harness.
