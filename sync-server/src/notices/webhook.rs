//! The webhook transport: each notice is POSTed as JSON ([`NoticeMessage`]) to one configured URL,
//! with the notice id as `Idempotency-Key`. 2xx is delivered; 408, 425, 429 and 5xx (and network
//! trouble) are retried; any other answer is a permanent refusal. Redirects are not followed: a
//! notice carries personal data and goes only where it was configured to go.

use std::time::Duration;

use gridwalk_core::protocol::NoticeMessage;
use reqwest::{StatusCode, Url};

use super::transport::{NoticeTransport, SendOutcome};

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook URL is not a valid URL: {0}")]
    BadUrl(String),
    #[error("webhook URL must use http or https, not '{0}'")]
    BadScheme(String),
    #[error("cannot build the webhook HTTP client: {0}")]
    Client(String),
}

pub fn parse_url(url: &str) -> Result<Url, WebhookError> {
    let u = Url::parse(url).map_err(|e| WebhookError::BadUrl(e.to_string()))?;
    match u.scheme() {
        "http" | "https" => Ok(u),
        other => Err(WebhookError::BadScheme(other.to_owned())),
    }
}

#[derive(Debug, Clone)]
pub struct WebhookTransport {
    client: reqwest::Client,
    url: Url,
}

impl WebhookTransport {
    pub fn new(url: &str, timeout: Duration) -> Result<Self, WebhookError> {
        let url = parse_url(url)?;
        // reqwest is built with `rustls-no-provider`: building a client without an installed
        // crypto provider panics, so install ring first (a second install is refused harmlessly).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("gridwalk-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| WebhookError::Client(e.without_url().to_string()))?;
        Ok(Self { client, url })
    }
}

/// How an HTTP answer is taken.
pub fn classify(status: StatusCode) -> SendOutcome {
    let words = format!("webhook answered HTTP {}", status.as_u16());
    if status.is_success() {
        SendOutcome::Delivered
    } else if status.is_server_error()
        || matches!(
            status,
            StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_EARLY | StatusCode::TOO_MANY_REQUESTS
        )
    {
        SendOutcome::Retryable(words)
    } else {
        SendOutcome::Permanent(words)
    }
}

fn network_words(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "webhook timed out".to_owned()
    } else if e.is_connect() {
        "could not connect to the webhook".to_owned()
    } else {
        "webhook request failed before an answer".to_owned()
    }
}

impl NoticeTransport for WebhookTransport {
    async fn send(&self, message: &NoticeMessage) -> SendOutcome {
        let sent = self
            .client
            .post(self.url.clone())
            .header("Idempotency-Key", message.notice_id.to_string())
            .json(message)
            .send()
            .await;
        match sent {
            Ok(resp) => classify(resp.status()),
            Err(e) => SendOutcome::Retryable(network_words(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified() {
        assert_eq!(classify(StatusCode::OK), SendOutcome::Delivered);
        assert_eq!(classify(StatusCode::ACCEPTED), SendOutcome::Delivered);
        for s in [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::BAD_GATEWAY,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::REQUEST_TIMEOUT,
        ] {
            assert!(matches!(classify(s), SendOutcome::Retryable(_)), "{s}");
        }
        for s in [
            StatusCode::BAD_REQUEST,
            StatusCode::NOT_FOUND,
            StatusCode::UNPROCESSABLE_ENTITY,
            StatusCode::MOVED_PERMANENTLY,
        ] {
            assert!(matches!(classify(s), SendOutcome::Permanent(_)), "{s}");
        }
        assert_eq!(
            classify(StatusCode::GONE),
            SendOutcome::Permanent("webhook answered HTTP 410".into())
        );
    }

    #[test]
    fn urls_must_be_http() {
        assert!(parse_url("https://notify.example.org/hook").is_ok());
        assert!(matches!(
            parse_url("mailto:x@y"),
            Err(WebhookError::BadScheme(_))
        ));
        assert!(matches!(
            parse_url("not a url"),
            Err(WebhookError::BadUrl(_))
        ));
    }
}
