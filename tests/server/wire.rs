//! Raw HTTP/1.1 over a real socket to an in-process server: `isoserve::run` on a runtime of its
//! own (two workers, as the binary has on these machines), so the clients' tasks never share its
//! executor.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use isoserve::AppState;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::*;

/// An in-process server on 127.0.0.1 with its own runtime; stops when dropped.
pub(crate) struct Running {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    pub(crate) fn start(flags: &[&str]) -> Running {
        let state = AppState::with_model(config(flags), model_copy());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let shutdown = async move {
                    let _ = stopped.await;
                };
                isoserve::run(listener, state, shutdown).await.unwrap();
            });
            runtime.shutdown_timeout(Duration::from_millis(100));
        });
        Running {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One response read off a keep-alive connection: status, head and body (by Content-Length).
pub(crate) struct Answer {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Answer {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Reads exactly one response; `None` if the server closed the connection first.
pub(crate) async fn read_answer<R: AsyncRead + Unpin>(stream: &mut R) -> Option<Answer> {
    let mut raw = Vec::new();
    let mut chunk = [0u8; 4096];
    let split = loop {
        if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let status = head[9..12].parse().unwrap();
    let mut answer = Answer {
        status,
        head,
        body: raw[split + 4..].to_vec(),
    };
    let length: usize = answer.header("content-length").unwrap().parse().unwrap();
    while answer.body.len() < length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => answer.body.extend_from_slice(&chunk[..n]),
        }
    }
    Some(answer)
}

pub(crate) fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: t\r\n");
    for (k, v) in headers {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    raw.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut raw = raw.into_bytes();
    raw.extend_from_slice(body);
    raw
}

/// A fresh connection's `/ping` and a one-row CSV scoring, each timed from connect to answer.
pub(crate) async fn probe(addr: SocketAddr) -> (Duration, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(&request("GET", "/ping", &[], b""))
        .await
        .unwrap();
    let ping = read_answer(&mut stream).await.expect("ping answered");
    assert_eq!(ping.status, 200);
    let ping_took = started.elapsed();
    let started = Instant::now();
    stream
        .write_all(&request(
            "POST",
            "/invocations",
            &[("Content-Type", "text/csv")],
            b"20.5,1.25,0.5\n",
        ))
        .await
        .unwrap();
    let scored = read_answer(&mut stream).await.expect("scoring answered");
    assert_eq!(
        scored.status,
        200,
        "{}",
        String::from_utf8_lossy(&scored.body)
    );
    (ping_took, started.elapsed())
}

/// True once the server has closed `stream` (end of file or reset), reading and discarding
/// whatever answer came first.
pub(crate) async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut sink = [0u8; 4096];
    let until = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(until, stream.read(&mut sink)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}
