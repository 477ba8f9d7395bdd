//! Pull pages fetched on their own tasks, so the next page is on its way while this one downloads,
//! parses and is applied (ADR 0045).
//!
//! A page's answer names the next page's cursor in a header (`NEXT_PAGE_HEADER`) before its body;
//! the pull loop asks for that page as soon as the header arrives. The body stays the authority:
//! a page asked for under any other cursor than the applied page's `next_cursor` is dropped.

use std::sync::Arc;

use reqwest::Method;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::protocol::{Cursor, NEXT_PAGE_HEADER, PullResponse};

use super::error::SyncError;
use super::transport::{Body, Call, Transport};

/// One pull page being fetched and parsed. Dropping it stops the fetch.
pub(crate) struct PageFetch {
    /// The cursor the page was asked for with.
    after: Option<Cursor>,
    next_hint: Option<oneshot::Receiver<Option<String>>>,
    task: JoinHandle<Result<PullResponse, SyncError>>,
}

impl PageFetch {
    /// Starts fetching the page after `after` (the beginning when `None`).
    pub fn start(
        transport: &Arc<Transport>,
        limit: u32,
        token: &str,
        after: Option<Cursor>,
        cancel: &CancellationToken,
    ) -> Self {
        let (hint_tx, hint_rx) = oneshot::channel();
        let task = tokio::spawn(fetch(
            transport.clone(),
            limit,
            token.to_owned(),
            after.clone(),
            cancel.clone(),
            hint_tx,
        ));
        Self {
            after,
            next_hint: Some(hint_rx),
            task,
        }
    }

    /// Whether this page was asked for with `cursor`.
    pub fn is_after(&self, cursor: &Cursor) -> bool {
        self.after.as_ref() == Some(cursor)
    }

    /// The next page's cursor as soon as this page's headers arrive; `None` when there is no
    /// next page, when the server does not say, or when the fetch failed (its error comes from
    /// [`PageFetch::finish`]).
    pub async fn next_hint(&mut self) -> Option<Cursor> {
        let rx = self.next_hint.take()?;
        rx.await.ok().flatten().map(Cursor)
    }

    /// The parsed page.
    pub async fn finish(mut self) -> Result<PullResponse, SyncError> {
        (&mut self.task)
            .await
            .map_err(|e| SyncError::Task(e.to_string()))?
    }
}

impl Drop for PageFetch {
    fn drop(&mut self) {
        // A page fetched but never applied is simply fetched again by the next sync.
        self.task.abort();
    }
}

async fn fetch(
    transport: Arc<Transport>,
    limit: u32,
    token: String,
    after: Option<Cursor>,
    cancel: CancellationToken,
    hint: oneshot::Sender<Option<String>>,
) -> Result<PullResponse, SyncError> {
    let mut query = vec![("limit", limit.max(1).to_string())];
    if let Some(c) = after {
        query.push(("cursor", c.0));
    }
    let call = Call {
        method: Method::GET,
        path: "/v1/sync/pull",
        query: &query,
        token: Some(&token),
        body: Body::Empty,
    };
    let body = transport
        .send_noting_header(&call, &cancel, NEXT_PAGE_HEADER, hint)
        .await?;
    // 5,000 buildings are ~3 MB of JSON: parsed off the async threads.
    tokio::task::spawn_blocking(move || {
        // Checked once as a whole, the text's strings are then read without checking each.
        let text = std::str::from_utf8(&body)
            .map_err(|e| SyncError::Protocol(format!("pull page: {e}")))?;
        serde_json::from_str(text).map_err(|e| SyncError::Protocol(format!("pull page: {e}")))
    })
    .await
    .map_err(|e| SyncError::Task(e.to_string()))?
}
