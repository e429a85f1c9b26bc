//! JSON text frames ⇄ messages; [`crate::frame`] adds the binary frames and picks between them.

use serde::{de::DeserializeOwned, Serialize};

/// Why a frame could not be turned into a message.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The frame is larger than the configured limit.
    #[error("frame of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Frame size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The frame is not valid JSON or not a known message.
    #[error("malformed frame: {0}")]
    Malformed(#[from] serde_json::Error),
    /// A binary frame where a text frame was expected.
    #[error("unexpected binary frame")]
    UnexpectedBinary,
    /// A binary frame that does not follow the layout in [`crate::frame`].
    #[error("malformed binary frame: {0}")]
    BadBinary(String),
}

/// Encodes a message as a text frame.
pub fn encode<T: Serialize>(msg: &T) -> String {
    serde_json::to_string(msg).expect("protocol messages always serialize")
}

/// Decodes a text frame, refusing anything larger than `limit` bytes.
pub fn decode<T: DeserializeOwned>(frame: &str, limit: usize) -> Result<T, ProtocolError> {
    if frame.len() > limit {
        return Err(ProtocolError::TooLarge {
            size: frame.len(),
            limit,
        });
    }
    Ok(serde_json::from_str(frame)?)
}
