//! A TCP proxy on 127.0.0.1 in front of the server that follows HTTP/1.1 request by request on each
//! connection (the sync client never pipelines on one connection: a request goes on a connection
//! once the previous answer on it has arrived; the next pull page, asked for early, takes another
//! connection), so that it can
//! - time every request per endpoint, from its first byte to the last byte of its answer, as the
//!   phone sees it;
//! - tell which endpoints the server is working on right now (asked, not yet answering): the
//!   kill-server scenario kills during pushes and pulls;
//! - inject faults on a seeded random fraction of requests: the connection dropped before the
//!   request reaches the server, reset after the server got it (its answer is lost — the case
//!   exactly-once exists for), the answer truncated mid-body, or the answer delayed.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{SimError, SimResult};

/// What a request was for, from its request line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    Login,
    Push,
    Pull,
    PhotoStatus,
    PhotoUpload,
    Other,
}

impl Endpoint {
    pub const ALL: [Endpoint; 6] = [
        Endpoint::Login,
        Endpoint::Push,
        Endpoint::Pull,
        Endpoint::PhotoStatus,
        Endpoint::PhotoUpload,
        Endpoint::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Login => "login",
            Endpoint::Push => "push",
            Endpoint::Pull => "pull",
            Endpoint::PhotoStatus => "photo_status",
            Endpoint::PhotoUpload => "photo_upload",
            Endpoint::Other => "other",
        }
    }

    /// Classifies the start of a request (`METHOD /path?query HTTP/1.1`).
    pub fn of_request(head: &[u8]) -> Endpoint {
        let line = head
            .split(|b| *b == b'\r' || *b == b'\n')
            .next()
            .unwrap_or(&[]);
        let mut parts = line.split(|b| *b == b' ');
        let method = parts.next().unwrap_or(&[]);
        let target = parts.next().unwrap_or(&[]);
        let path = target.split(|b| *b == b'?').next().unwrap_or(&[]);
        match (method, path) {
            (b"POST", b"/v1/auth/login") => Endpoint::Login,
            (b"POST", b"/v1/sync/push") => Endpoint::Push,
            (b"GET", b"/v1/sync/pull") => Endpoint::Pull,
            (b"GET", p) if p.starts_with(b"/v1/photos/") && p.ends_with(b"/status") => {
                Endpoint::PhotoStatus
            }
            (b"PUT", p) if p.starts_with(b"/v1/photos/") => Endpoint::PhotoUpload,
            _ => Endpoint::Other,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A network fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// The connection dies before the request reaches the server.
    Drop,
    /// The server gets the request and answers; the phone gets a reset instead of the answer.
    ResetAfterRequest,
    /// Part of the answer arrives, then the connection closes.
    Truncate,
    /// The answer waits before it is forwarded.
    Delay,
}

impl Fault {
    pub const ALL: [Fault; 4] = [
        Fault::Drop,
        Fault::ResetAfterRequest,
        Fault::Truncate,
        Fault::Delay,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Drop => "drop",
            Fault::ResetAfterRequest => "reset_after_request",
            Fault::Truncate => "truncate",
            Fault::Delay => "delay",
        }
    }
}

/// Which requests get a fault and which.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPlan {
    /// Fraction of requests that get a fault, 0 to 1.
    pub fraction: f64,
    /// The faults drawn from, equally likely.
    pub faults: Vec<Fault>,
    /// A delay is uniform in this range.
    pub delay: (Duration, Duration),
}

impl FaultPlan {
    pub fn none() -> Self {
        Self {
            fraction: 0.0,
            faults: Vec::new(),
            delay: (Duration::ZERO, Duration::ZERO),
        }
    }

    pub fn all(fraction: f64) -> Self {
        Self {
            fraction,
            faults: Fault::ALL.to_vec(),
            delay: (Duration::from_millis(50), Duration::from_millis(400)),
        }
    }
}

/// One request seen through the proxy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timed {
    pub endpoint: Endpoint,
    /// First request byte to last answer byte.
    pub ms: f64,
    /// An answer arrived (even a partial one, for a truncated answer).
    pub answered: bool,
    pub fault: Option<Fault>,
}

#[derive(Debug)]
struct Shared {
    upstream: SocketAddr,
    plan: Mutex<FaultPlan>,
    rng: Mutex<ChaCha8Rng>,
    /// Asked and not yet answering, per endpoint.
    waiting: [AtomicUsize; 6],
    open_connections: AtomicUsize,
    requests: AtomicU64,
    timed: Mutex<Vec<Timed>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The running proxy; stops when dropped.
#[derive(Debug)]
pub struct Proxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr, plan: FaultPlan, seed: u64) -> SimResult<Self> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(|e| SimError::io("binding the proxy", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| SimError::io("binding the proxy", e))?;
        let shared = Arc::new(Shared {
            upstream,
            plan: Mutex::new(plan),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
            waiting: Default::default(),
            open_connections: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            timed: Mutex::new(Vec::new()),
        });
        let s = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let s = s.clone();
                s.open_connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let _ = connection(client, &s).await;
                    s.open_connections.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Ok(Self { addr, shared, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_plan(&self, plan: FaultPlan) {
        *lock(&self.shared.plan) = plan;
    }

    /// Requests the server has and has not started answering, for these endpoints.
    pub fn waiting_on(&self, endpoints: &[Endpoint]) -> usize {
        endpoints
            .iter()
            .map(|e| self.shared.waiting[e.index()].load(Ordering::SeqCst))
            .sum()
    }

    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    pub fn open_connections(&self) -> usize {
        self.shared.open_connections.load(Ordering::SeqCst)
    }

    /// Waits (up to `limit`) for the phones' connections to close, so every request is timed.
    pub async fn drain(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.open_connections() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Every finished request so far.
    pub fn timed(&self) -> Vec<Timed> {
        lock(&self.shared.timed).clone()
    }

    /// How many of each fault were injected.
    pub fn injected(&self) -> BTreeMap<Fault, u64> {
        let mut m: BTreeMap<Fault, u64> = Fault::ALL.iter().map(|f| (*f, 0)).collect();
        for t in lock(&self.shared.timed).iter() {
            if let Some(f) = t.fault {
                *m.entry(f).or_default() += 1;
            }
        }
        m
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The request in progress on one connection.
struct Current {
    endpoint: Endpoint,
    started: Instant,
    fault: Option<Fault>,
    /// When the last answer byte went out; `None` while the server has not started answering.
    last_answer: Option<Instant>,
}

impl Shared {
    fn begin(&self, head: &[u8]) -> Current {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let endpoint = Endpoint::of_request(head);
        self.waiting[endpoint.index()].fetch_add(1, Ordering::SeqCst);
        let fault = {
            let plan = lock(&self.plan);
            let mut rng = lock(&self.rng);
            (plan.fraction > 0.0
                && !plan.faults.is_empty()
                && rng.random_bool(plan.fraction.min(1.0)))
            .then(|| plan.faults[rng.random_range(0..plan.faults.len())])
        };
        Current {
            endpoint,
            started: Instant::now(),
            fault,
            last_answer: None,
        }
    }

    /// The server started answering.
    fn answering(&self, c: &mut Current) {
        if c.last_answer.is_none() {
            self.waiting[c.endpoint.index()].fetch_sub(1, Ordering::SeqCst);
        }
        c.last_answer = Some(Instant::now());
    }

    fn finish(&self, c: Current) {
        let answered = c.last_answer.is_some();
        if !answered {
            self.waiting[c.endpoint.index()].fetch_sub(1, Ordering::SeqCst);
        }
        let end = c.last_answer.unwrap_or_else(Instant::now);
        lock(&self.timed).push(Timed {
            endpoint: c.endpoint,
            ms: end.duration_since(c.started).as_secs_f64() * 1e3,
            answered,
            fault: c.fault,
        });
    }

    fn delay(&self) -> Duration {
        let (lo, hi) = lock(&self.plan).delay;
        if hi <= lo {
            return lo;
        }
        let span = u64::try_from((hi - lo).as_micros()).unwrap_or(u64::MAX);
        lo + Duration::from_micros(lock(&self.rng).random_range(0..=span))
    }
}

/// Closes the phone's side with a reset (RST), as a dying link does.
fn reset(client: TcpStream) {
    let _ = client.set_zero_linger();
    drop(client);
}

async fn connection(mut client: TcpStream, s: &Shared) -> std::io::Result<()> {
    let _ = client.set_nodelay(true);
    let mut server = match TcpStream::connect(s.upstream).await {
        Ok(c) => c,
        Err(e) => {
            // The server is down: the phone sees its connection refused (as a reset).
            reset(client);
            return Err(e);
        }
    };
    let _ = server.set_nodelay(true);
    let mut cbuf = vec![0u8; 64 * 1024];
    let mut sbuf = vec![0u8; 64 * 1024];
    let mut current: Option<Current> = None;
    loop {
        tokio::select! {
            r = client.read(&mut cbuf) => {
                let n = r.unwrap_or(0);
                if n == 0 {
                    if let Some(c) = current.take() {
                        s.finish(c);
                    }
                    let _ = server.shutdown().await;
                    return Ok(());
                }
                // New bytes after an answer began: the next request (no pipelining).
                let starts = match &current {
                    None => true,
                    Some(c) => c.last_answer.is_some(),
                };
                if starts {
                    if let Some(c) = current.take() {
                        s.finish(c);
                    }
                    let c = s.begin(&cbuf[..n]);
                    if c.fault == Some(Fault::Drop) {
                        s.finish(c);
                        reset(client);
                        return Ok(());
                    }
                    current = Some(c);
                }
                server.write_all(&cbuf[..n]).await?;
            }
            r = server.read(&mut sbuf) => {
                let n = r.unwrap_or(0);
                if n == 0 {
                    if let Some(c) = current.take() {
                        s.finish(c);
                    }
                    let _ = client.shutdown().await;
                    return Ok(());
                }
                let Some(c) = current.as_mut() else {
                    // An answer nobody asked for: pass it on.
                    client.write_all(&sbuf[..n]).await?;
                    continue;
                };
                let first = c.last_answer.is_none();
                match c.fault {
                    Some(Fault::ResetAfterRequest) if first => {
                        if let Some(c) = current.take() {
                            s.finish(c);
                        }
                        reset(client);
                        return Ok(());
                    }
                    Some(Fault::Truncate) if first => {
                        s.answering(c);
                        let part = (n / 2).max(1).min(n);
                        client.write_all(&sbuf[..part]).await?;
                        if let Some(c) = current.take() {
                            s.finish(c);
                        }
                        reset(client);
                        return Ok(());
                    }
                    Some(Fault::Delay) if first => {
                        tokio::time::sleep(s.delay()).await;
                    }
                    _ => {}
                }
                client.write_all(&sbuf[..n]).await?;
                s.answering(c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_proxy_classifies_requests_by_their_line() {
        let cases: [(&[u8], Endpoint); 7] = [
            (
                b"POST /v1/auth/login HTTP/1.1\r\nhost: x\r\n",
                Endpoint::Login,
            ),
            (b"POST /v1/sync/push HTTP/1.1\r\n", Endpoint::Push),
            (
                b"GET /v1/sync/pull?limit=10&cursor=abc HTTP/1.1\r\n",
                Endpoint::Pull,
            ),
            (
                b"GET /v1/photos/abcd/status HTTP/1.1\r\n",
                Endpoint::PhotoStatus,
            ),
            (
                b"PUT /v1/photos/abcd?offset=0 HTTP/1.1\r\n",
                Endpoint::PhotoUpload,
            ),
            (b"GET /healthz HTTP/1.1\r\n", Endpoint::Other),
            (b"", Endpoint::Other),
        ];
        for (head, want) in cases {
            assert_eq!(
                Endpoint::of_request(head),
                want,
                "{}",
                String::from_utf8_lossy(head)
            );
        }
    }

    /// A one-shot upstream that answers every request on a connection with a fixed body.
    async fn upstream(body: &'static str) -> SocketAddr {
        let l = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut c, _)) = l.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    loop {
                        match c.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {
                                let resp = format!(
                                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                                    body.len()
                                );
                                if c.write_all(resp.as_bytes()).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        addr
    }

    async fn ask(proxy: &Proxy, line: &str) -> std::io::Result<Vec<u8>> {
        let mut c = TcpStream::connect(proxy.addr).await?;
        c.write_all(format!("{line} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes())
            .await?;
        let mut buf = vec![0u8; 4096];
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !got.ends_with(b"0123456789") && Instant::now() < deadline {
            let n = c.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        Ok(got)
    }

    #[tokio::test]
    async fn sim_proxy_times_requests_and_injects_each_fault() {
        let up = upstream("0123456789").await;
        let proxy = Proxy::start(up, FaultPlan::none(), 1).await.expect("proxy");
        let ok = ask(&proxy, "POST /v1/sync/push").await.expect("answer");
        assert!(ok.ends_with(b"0123456789"));
        for (fault, answered_fully) in [
            (Fault::Drop, false),
            (Fault::ResetAfterRequest, false),
            (Fault::Truncate, false),
            (Fault::Delay, true),
        ] {
            proxy.set_plan(FaultPlan {
                fraction: 1.0,
                faults: vec![fault],
                delay: (Duration::from_millis(30), Duration::from_millis(30)),
            });
            let got = ask(&proxy, "GET /v1/sync/pull").await.unwrap_or_default();
            assert_eq!(
                got.ends_with(b"0123456789"),
                answered_fully,
                "{fault:?}: {got:?}"
            );
        }
        proxy.drain(Duration::from_secs(2)).await;
        let timed = proxy.timed();
        assert_eq!(timed.len(), 5, "{timed:?}");
        // Each exchange is timed when its connection ends, so the push's entry can land after the
        // first pull's (a dropped connection ends at once): count them, not their order.
        let pushes = timed
            .iter()
            .filter(|t| t.endpoint == Endpoint::Push)
            .count();
        let pulls = timed
            .iter()
            .filter(|t| t.endpoint == Endpoint::Pull)
            .count();
        assert_eq!((pushes, pulls), (1, 4), "{timed:?}");
        let delayed = timed
            .iter()
            .find(|t| t.fault == Some(Fault::Delay))
            .expect("delayed");
        assert!(delayed.ms >= 30.0 && delayed.answered, "{delayed:?}");
        assert!(
            !timed
                .iter()
                .find(|t| t.fault == Some(Fault::Drop))
                .expect("dropped")
                .answered
        );
        assert_eq!(proxy.injected().values().sum::<u64>(), 4);
        assert_eq!(proxy.waiting_on(&Endpoint::ALL), 0, "nothing left waiting");
    }
}
