//! The capture store's body search that backs the `/` filter's body matches.

use super::fixtures::*;
use crate::capture::CaptureStore;

#[test]
fn finds_request_and_response_bodies_newest_first_ignoring_ascii_case() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = CaptureStore::open(&dir.path().join("c.sqlite3")).expect("open");
    let captures = [
        capture(1, b"{\"user\":\"John DOE\"}"),
        answered(capture(2, b"{}"), 200, "hello john doe", 10),
        capture(3, b"nobody here"),
        capture(
            4,
            &[0xff, 0xfe, b'J', b'o', b'h', b'n', b' ', b'd', b'o', b'e'],
        ),
        capture(5, b"100%_off"),
        capture(6, b"100 percent off"),
    ];
    store.insert_many(&captures).expect("insert");
    let found = |needle: &str, limit| {
        store
            .ids_with_body_containing(needle, limit)
            .expect("search")
    };
    assert_eq!(found("john doe", 10), [id(4), id(2), id(1)]);
    assert_eq!(found("JOHN", 2), [id(4), id(2)], "bounded by the limit");
    assert_eq!(found("nobody at all", 10), []);
    assert_eq!(found("%_", 10), [id(5)], "LIKE wildcards are literal");
    assert_eq!(found("0 p", 10), [id(6)]);
    assert_eq!(found("john", 0), []);
    assert_eq!(found("", 10).len(), 6, "an empty needle is in every body");
}

#[test]
fn sees_outcomes_recorded_after_the_insert() {
    let store = CaptureStore::open_in_memory().expect("open");
    store.insert(&capture(1, b"{}")).expect("insert");
    assert_eq!(
        store.ids_with_body_containing("teapot", 5).expect("search"),
        []
    );
    let done = answered(capture(1, b"{}"), 418, "I'm a TEAPOT", 10);
    let outcome = done.outcome.as_ref().expect("outcome");
    store.record_outcome(id(1), 1, 2, outcome).expect("record");
    assert_eq!(
        store.ids_with_body_containing("teapot", 5).expect("search"),
        [id(1)]
    );
}
