//! Splitting a large binary frame into websocket fragments, over plain bytes: each side wraps a
//! [`Fragment`] in its websocket library's frame type. A receiver's websocket library reassembles
//! fragments into one message, so only the sending side needs this.
//!
//! Why fragment at all: a websocket library keeps a write buffer as large as the largest message
//! it ever sent, so a 10 MB body sent whole would pin 10 MB per connection for its lifetime.

use bytes::Bytes;

/// Binary frames larger than this go out as fragments of this size.
pub const FRAGMENT_BYTES: usize = 256 * 1024;

/// One piece of a binary frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fragment {
    /// The frame fits in one message: send it whole.
    Whole(Bytes),
    /// A piece of a larger frame: the first opens a binary message, the rest continue it, the
    /// last (`last`) ends it.
    Piece {
        /// The piece (a slice of the frame, not a copy).
        bytes: Bytes,
        /// True for the first piece (opcode binary; the others are continuations).
        first: bool,
        /// True for the last piece (the `FIN` bit).
        last: bool,
    },
}

/// The pieces that carry `frame`: itself when small, else slices of [`FRAGMENT_BYTES`].
pub fn fragments(frame: Bytes) -> impl Iterator<Item = Fragment> {
    let len = frame.len();
    let whole = (len <= FRAGMENT_BYTES).then(|| Fragment::Whole(frame.clone()));
    let pieces = (len > FRAGMENT_BYTES)
        .then(|| {
            (0..len).step_by(FRAGMENT_BYTES).map(move |at| {
                let end = (at + FRAGMENT_BYTES).min(len);
                Fragment::Piece {
                    bytes: frame.slice(at..end),
                    first: at == 0,
                    last: end == len,
                }
            })
        })
        .into_iter()
        .flatten();
    whole.into_iter().chain(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_frames_go_whole_and_large_ones_in_pieces() {
        let small: Vec<Fragment> = fragments(Bytes::from_static(b"abc")).collect();
        assert_eq!(small, vec![Fragment::Whole(Bytes::from_static(b"abc"))]);
        let big = Bytes::from(vec![7u8; FRAGMENT_BYTES * 2 + 1]);
        let parts: Vec<Fragment> = fragments(big.clone()).collect();
        assert_eq!(parts.len(), 3);
        let mut joined = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let Fragment::Piece { bytes, first, last } = part else {
                panic!("a piece")
            };
            assert_eq!(*first, i == 0);
            assert_eq!(*last, i == 2);
            joined.extend_from_slice(bytes);
        }
        assert_eq!(joined, big);
    }
}
