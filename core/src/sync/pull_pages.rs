//! Pull pages fetched on their own tasks, so the pages after the one being applied are on their
//! way while it downloads, parses and is applied (ADR 0045, ADR 0046).
//!
//! A page's answer names the next page's cursor in a header (`NEXT_PAGE_HEADER`) before its body.
//! A [`PagePipeline`] follows those headers on its own task, asking for each page as soon as the
//! one before it names it, up to [`PAGES_AHEAD`] pages ahead of the pull loop. The body stays the
//! authority: a page asked for under any other cursor than the applied page's `next_cursor` is
//! dropped, and the pipeline starts again from the body's cursor.

use std::sync::Arc;

use reqwest::Method;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::protocol::{Cursor, NEXT_PAGE_HEADER, PullResponse};

use super::error::SyncError;
use super::transport::{Body, Call, Transport};

/// Pages fetched (or being fetched) and not yet taken by the pull loop. Each holds a connection
/// while it downloads and its parsed changes once it has; the server works on one page at a time.
pub const PAGES_AHEAD: usize = 2;

/// The pages after a cursor, each asked for as soon as the page before it names it in a header.
/// Dropping the pipeline stops every fetch it started.
pub(crate) struct PagePipeline {
    pages: mpsc::Receiver<PageFetch>,
    follower: JoinHandle<()>,
}

impl PagePipeline {
    /// Starts with the page after `after` (the beginning when `None`).
    pub fn start(
        transport: &Arc<Transport>,
        limit: u32,
        token: &str,
        after: Option<Cursor>,
        cancel: &CancellationToken,
    ) -> Self {
        let (tx, pages) = mpsc::channel(PAGES_AHEAD);
        let follower = tokio::spawn(follow(
            transport.clone(),
            limit,
            token.to_owned(),
            after,
            cancel.clone(),
            tx,
        ));
        Self { pages, follower }
    }

    /// The next page in the order asked for; `None` once the pages stopped naming a next one
    /// (the last page, an answer without the header, or a failed fetch, whose error its
    /// [`PageFetch`] carries).
    pub async fn next(&mut self) -> Option<PageFetch> {
        self.pages.recv().await
    }
}

impl Drop for PagePipeline {
    fn drop(&mut self) {
        // The pages queued in the channel are dropped with it, which stops their fetches.
        self.follower.abort();
    }
}

/// Asks for a page once the pull loop is fewer than [`PAGES_AHEAD`] pages behind, hands it over,
/// and asks for the one its headers name next.
async fn follow(
    transport: Arc<Transport>,
    limit: u32,
    token: String,
    mut after: Option<Cursor>,
    cancel: CancellationToken,
    pages: mpsc::Sender<PageFetch>,
) {
    loop {
        // A place in the queue first, so no page is asked for more than PAGES_AHEAD ahead.
        let Ok(place) = pages.reserve().await else {
            return;
        };
        let (fetch, hint) = PageFetch::start(&transport, limit, &token, after, &cancel);
        place.send(fetch);
        match hint.await.ok().flatten() {
            Some(next) => after = Some(Cursor(next)),
            None => return,
        }
    }
}

/// One pull page being fetched and parsed. Dropping it stops the fetch.
pub(crate) struct PageFetch {
    /// The cursor the page was asked for with.
    after: Option<Cursor>,
    task: JoinHandle<Result<PullResponse, SyncError>>,
}

impl PageFetch {
    /// Starts fetching the page after `after` (the beginning when `None`), and gives the next
    /// page's cursor as soon as this page's headers arrive: `None` when there is no next page,
    /// when the server does not say, or when the fetch failed (its error comes from
    /// [`PageFetch::finish`]).
    fn start(
        transport: &Arc<Transport>,
        limit: u32,
        token: &str,
        after: Option<Cursor>,
        cancel: &CancellationToken,
    ) -> (Self, oneshot::Receiver<Option<String>>) {
        let (hint_tx, hint_rx) = oneshot::channel();
        let task = tokio::spawn(fetch(
            transport.clone(),
            limit,
            token.to_owned(),
            after.clone(),
            cancel.clone(),
            hint_tx,
        ));
        (Self { after, task }, hint_rx)
    }

    /// Whether this page was asked for with `cursor` (`None`: the beginning).
    pub fn is_after(&self, cursor: Option<&Cursor>) -> bool {
        self.after.as_ref() == cursor
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
