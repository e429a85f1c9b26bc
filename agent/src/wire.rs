//! The agent's thin adapter from `shared`'s frames and fragments to tungstenite messages.

use bytes::Bytes;
use shared::fragment::{fragments, Fragment};
use shared::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame as WsFrame;
use tokio_tungstenite::tungstenite::Message;

/// The messages that carry one encoded frame: a text message, or a binary one — in fragments
/// when it is large (a big local answer in proxy mode).
pub fn messages(frame: Frame) -> Vec<Message> {
    let bytes = match frame {
        Frame::Text(text) => return vec![Message::Text(text.into())],
        Frame::Binary(bytes) => bytes.into(),
    };
    let to_message = |part| match part {
        Fragment::Whole(bytes) => Message::Binary(bytes),
        Fragment::Piece { bytes, first, last } => {
            let data = if first { Data::Binary } else { Data::Continue };
            Message::Frame(WsFrame::message(bytes, OpCode::Data(data), last))
        }
    };
    fragments(bytes).map(to_message).collect()
}

/// Messages up to this size are copied out of tungstenite's read buffer on arrival.
const DETACH_MAX: usize = 64 * 1024;

/// A received message's bytes in an allocation of their own. tungstenite hands out each
/// message as a slice of its read buffer; while an event body is kept as that slice (in
/// flight, waiting for the recorder's batch), the buffer cannot be reused, so the next frame
/// is read into a fresh, zero-filled buffer of at least 64 KiB: one per event, about 4 MB held
/// at saturation. Copying an event's few kilobytes frees the buffer for the next frame. Larger
/// messages fill their buffer (or were assembled from fragments into one of their own).
pub fn detach(bytes: Bytes) -> Bytes {
    if bytes.len() <= DETACH_MAX {
        Bytes::copy_from_slice(&bytes)
    } else {
        bytes
    }
}
