//! The agent's thin adapter from `shared`'s frames and fragments to tungstenite messages.

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
