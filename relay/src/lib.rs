//! relay library.
