//! A response body written by a task while it is sent: chunks through a bounded channel (the
//! writer waits when the client reads slowly, so memory stays a few chunks). The body ends only
//! when the writer says it is complete; a writer that failed or died part-way makes the body fail,
//! so the connection is cut and no client takes a partial export for a whole one.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Bytes;
use http_body::{Body, Frame};
use tokio::sync::mpsc;

/// Chunks waiting between the writer and the connection.
const BUFFERED_CHUNKS: usize = 4;

/// The writer's end.
#[derive(Debug)]
pub struct BodyWriter(mpsc::Sender<Chunk>);

#[derive(Debug)]
enum Chunk {
    Data(Bytes),
    Complete,
}

/// The client went away; stop writing.
#[derive(Debug)]
pub struct Gone;

impl BodyWriter {
    pub async fn send(&self, data: Vec<u8>) -> Result<(), Gone> {
        if data.is_empty() {
            return Ok(());
        }
        self.0
            .send(Chunk::Data(Bytes::from(data)))
            .await
            .map_err(|_| Gone)
    }

    /// Ends the body normally. Dropping the writer without this cuts the response.
    pub async fn complete(self) {
        let _ = self.0.send(Chunk::Complete).await;
    }
}

/// The body end handed to axum.
#[derive(Debug)]
pub struct StreamBody {
    rx: mpsc::Receiver<Chunk>,
    ended: bool,
}

pub fn channel() -> (BodyWriter, StreamBody) {
    let (tx, rx) = mpsc::channel(BUFFERED_CHUNKS);
    (BodyWriter(tx), StreamBody { rx, ended: false })
}

impl Body for StreamBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(Chunk::Data(b))) => Poll::Ready(Some(Ok(Frame::data(b)))),
            Poll::Ready(Some(Chunk::Complete)) => {
                self.ended = true;
                Poll::Ready(None)
            }
            Poll::Ready(None) => {
                self.ended = true;
                Poll::Ready(Some(Err(std::io::Error::other(
                    "the response was cut off: its writer stopped before the end",
                ))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended
    }
}
