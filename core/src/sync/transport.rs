//! HTTP to the sync server: gzip both ways, byte counting, retries with backoff and jitter, and
//! cancellation of any wait or transfer.
//!
//! Decompression is done here rather than by reqwest (`no_gzip`): reqwest would hide the compressed
//! size, and the compressed size is what the worker's data plan pays for.

use std::borrow::Cow;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use reqwest::header::{
    ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderValue,
};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::protocol::{ApiError, ErrorCode};

use super::config::SyncConfig;
use super::error::SyncError;

/// Bytes and requests on the wire since the client was made. Bytes are HTTP message bytes as
/// transferred: request and status lines, the headers this client sets or receives, and bodies
/// as compressed. (The few headers the HTTP library adds itself — `host`, `content-length` — are
/// not seen here; they are a few dozen bytes per request.)
#[derive(Debug, Default)]
pub(crate) struct WireCounters {
    sent: AtomicU64,
    received: AtomicU64,
    requests: AtomicU64,
}

/// A snapshot of [`WireCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireBytes {
    pub sent: u64,
    pub received: u64,
    pub requests: u64,
}

impl WireBytes {
    /// What happened between `earlier` and `self`.
    pub fn since(self, earlier: WireBytes) -> WireBytes {
        WireBytes {
            sent: self.sent.saturating_sub(earlier.sent),
            received: self.received.saturating_sub(earlier.received),
            requests: self.requests.saturating_sub(earlier.requests),
        }
    }
}

impl WireCounters {
    pub fn snapshot(&self) -> WireBytes {
        WireBytes {
            sent: self.sent.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
        }
    }
}

/// A response header to hand over as soon as a 2xx answer's headers arrive, and where to.
type HeaderNote = (&'static str, oneshot::Sender<Option<String>>);

/// A request body.
pub(crate) enum Body {
    Empty,
    /// JSON, gzip-compressed on the way out.
    Json(Vec<u8>),
    /// JSON already gzip-compressed (by [`gzip`], off the async threads).
    GzippedJson(Vec<u8>),
    /// Sent as is (photos: JPEG and PNG do not compress).
    Raw(Vec<u8>),
}

/// A request to make, possibly several times.
pub(crate) struct Call<'a> {
    pub method: Method,
    pub path: &'a str,
    pub query: &'a [(&'a str, String)],
    pub token: Option<&'a str>,
    pub body: Body,
}

/// An answer that is not a success.
#[derive(Debug)]
pub(crate) enum Failure {
    /// 401: the token (or the password) was refused.
    Unauthorized(ApiError),
    /// Another status after the retries: 4xx, or 5xx/429 when retries ran out.
    Status(StatusCode, ApiError),
    /// No answer after the retries.
    Network(String),
    Cancelled,
    Protocol(String),
}

impl From<Failure> for SyncError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Unauthorized(e) => SyncError::LoginRequired { reason: e.message },
            Failure::Status(s, e) if is_retryable(s) => SyncError::ServerUnavailable {
                status: s.as_u16(),
                message: e.message,
            },
            Failure::Status(s, e) => SyncError::Refused {
                status: s.as_u16(),
                error: e,
            },
            Failure::Network(message) => SyncError::Network { message },
            Failure::Cancelled => SyncError::Cancelled,
            Failure::Protocol(m) => SyncError::Protocol(m),
        }
    }
}

fn is_retryable(s: StatusCode) -> bool {
    s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS || s == StatusCode::REQUEST_TIMEOUT
}

pub(crate) struct Transport {
    http: reqwest::Client,
    base: String,
    config: SyncConfig,
    pub counters: WireCounters,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Transport {
    pub fn new(config: &SyncConfig) -> Result<Self, SyncError> {
        let base = config.server_url.trim_end_matches('/').to_owned();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(SyncError::Setup(format!(
                "server URL '{base}' must start with https:// or http://"
            )));
        }
        // reqwest is built without a bundled crypto provider; ring is ours. Installing fails
        // harmlessly when the host app installed one already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .no_gzip()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| SyncError::Setup(e.to_string()))?;
        Ok(Self {
            http,
            base,
            config: config.clone(),
            counters: WireCounters::default(),
        })
    }

    /// Makes `call`, retrying network failures and 5xx/429 answers with backoff and jitter.
    /// Returns the decompressed body of a 2xx answer.
    pub async fn send(
        &self,
        call: &Call<'_>,
        cancel: &CancellationToken,
    ) -> Result<Vec<u8>, Failure> {
        self.send_watching(call, cancel, &mut None).await
    }

    /// [`Transport::send`], also handing the value of response header `name` (or `None`) to
    /// `note` as soon as the headers of a 2xx answer arrive, before its body. Dropped unsent when
    /// no 2xx answer comes.
    pub async fn send_noting_header(
        &self,
        call: &Call<'_>,
        cancel: &CancellationToken,
        name: &'static str,
        note: oneshot::Sender<Option<String>>,
    ) -> Result<Vec<u8>, Failure> {
        self.send_watching(call, cancel, &mut Some((name, note)))
            .await
    }

    async fn send_watching(
        &self,
        call: &Call<'_>,
        cancel: &CancellationToken,
        watch: &mut Option<HeaderNote>,
    ) -> Result<Vec<u8>, Failure> {
        let body = match &call.body {
            Body::Empty => None,
            Body::Json(json) => Some(Cow::Owned(gzip(json, self.config.gzip_level)?)),
            Body::GzippedJson(bytes) | Body::Raw(bytes) => Some(Cow::Borrowed(bytes.as_slice())),
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = tokio::select! {
                biased;
                () = cancel.cancelled() => return Err(Failure::Cancelled),
                r = self.attempt(call, body.as_deref(), watch) => r,
            };
            let retryable = match &outcome {
                Ok(_) => false,
                Err(Failure::Network(_)) => true,
                Err(Failure::Status(s, _)) => is_retryable(*s),
                Err(_) => false,
            };
            if !retryable || attempt >= self.config.retry.max_attempts {
                return outcome;
            }
            let wait = self.config.retry.delay(attempt, &mut rand::rng());
            tokio::select! {
                biased;
                () = cancel.cancelled() => return Err(Failure::Cancelled),
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// [`Transport::send`], then JSON.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        call: &Call<'_>,
        cancel: &CancellationToken,
    ) -> Result<T, Failure> {
        let bytes = self.send(call, cancel).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Failure::Protocol(format!("{} {}: {e}", call.method, call.path)))
    }

    async fn attempt(
        &self,
        call: &Call<'_>,
        body: Option<&[u8]>,
        watch: &mut Option<HeaderNote>,
    ) -> Result<Vec<u8>, Failure> {
        let url = format!("{}{}", self.base, call.path);
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        if let Some(token) = call.token {
            let value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| Failure::Protocol("the stored token is not a valid header".into()))?;
            headers.insert(AUTHORIZATION, value);
        }
        match call.body {
            Body::Empty => {}
            Body::Json(_) | Body::GzippedJson(_) => {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            Body::Raw(_) => {
                headers.insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                );
            }
        }
        let mut req = self
            .http
            .request(call.method.clone(), &url)
            .headers(headers.clone());
        if !call.query.is_empty() {
            req = req.query(call.query);
        }
        if let Some(b) = body {
            req = req.body(b.to_vec());
        }
        let req = req.build().map_err(|e| Failure::Protocol(e.to_string()))?;
        let line = call.method.as_str().len()
            + req.url().path().len()
            + req.url().query().map_or(0, |q| q.len() + 1)
            + " HTTP/1.1\r\n".len()
            + 1;
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        self.counters.sent.fetch_add(
            (line + header_bytes(req.headers()) + 2 + body.map_or(0, <[u8]>::len)) as u64,
            Ordering::Relaxed,
        );

        let resp = self
            .http
            .execute(req)
            .await
            .map_err(|e| Failure::Network(describe(&e)))?;
        let status = resp.status();
        if status.is_success()
            && let Some((name, note)) = watch.take()
        {
            let value = resp
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            // The receiver may have stopped listening; the body is still wanted.
            let _ = note.send(value);
        }
        let gzipped = resp
            .headers()
            .get(CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
        let head = "HTTP/1.1 200 OK\r\n".len() + header_bytes(resp.headers()) + 2;
        self.counters
            .received
            .fetch_add(head as u64, Ordering::Relaxed);
        let raw = resp
            .bytes()
            .await
            .map_err(|e| Failure::Network(describe(&e)))?;
        self.counters
            .received
            .fetch_add(raw.len() as u64, Ordering::Relaxed);
        let bytes = if gzipped { gunzip(&raw)? } else { raw.to_vec() };
        if status.is_success() {
            return Ok(bytes);
        }
        let error = serde_json::from_slice::<ApiError>(&bytes).unwrap_or_else(|_| {
            ApiError::new(
                ErrorCode::Unknown,
                format!("HTTP {status} without a JSON error body"),
            )
        });
        if status == StatusCode::UNAUTHORIZED {
            Err(Failure::Unauthorized(error))
        } else {
            Err(Failure::Status(status, error))
        }
    }
}

fn header_bytes(h: &HeaderMap) -> usize {
    h.iter()
        .map(|(k, v)| k.as_str().len() + 2 + v.len() + 2)
        .sum()
}

/// The error and its causes, without the URL (which may carry a cursor, never a secret, but is
/// noise to a worker).
fn describe(e: &reqwest::Error) -> String {
    let mut msg = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        "connection failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

pub(crate) fn gzip(bytes: &[u8], level: u32) -> Result<Vec<u8>, Failure> {
    let mut enc = GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4 + 64),
        Compression::new(level.min(9)),
    );
    enc.write_all(bytes)
        .and_then(|()| enc.finish())
        .map_err(|e| Failure::Protocol(format!("compressing a request: {e}")))
}

fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::with_capacity(bytes.len() * 4);
    GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| Failure::Protocol(format!("the server's gzip body is damaged: {e}")))?;
    Ok(out)
}
