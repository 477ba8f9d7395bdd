//! The contract every notice transport keeps (webhook today; SMS or a government messaging
//! gateway would be others).

use std::future::Future;

use gridwalk_core::protocol::NoticeMessage;

/// What one delivery attempt achieved. Error words describe the transport's trouble only; they
/// are stored and shown, so they never carry the message's personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Delivered,
    /// Worth trying again later (timeouts, refused connections, 5xx, 429).
    Retryable(String),
    /// Trying again will not help (the receiver refused the notice itself).
    Permanent(String),
}

pub trait NoticeTransport: Send + Sync + 'static {
    /// Delivers one notice. Called at least once per notice: a receiver deduplicates on
    /// `message.notice_id`.
    fn send(&self, message: &NoticeMessage) -> impl Future<Output = SendOutcome> + Send;
}
