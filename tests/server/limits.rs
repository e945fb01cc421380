//! What a client can hold, over a real socket: slow and stalled clients, idle keep-alive
//! connections, the connection limit, early error answers on a connection that is still sending,
//! and a server saturated with the most expensive bodies.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::common::HEAVY;
use crate::wire::*;

const LIMIT: Duration = Duration::from_millis(100);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_stalled_clients_neither_delay_others_nor_stay_open() {
    let _heavy = HEAVY.lock().await;
    let server = Running::start(&["--header-timeout", "2", "--body-timeout", "2"]);
    let head = b"POST /invocations HTTP/1.1\r\nHost: t\r\nContent-Type: text/csv\r\n\
                 Content-Length: 1000\r\n\r\n";

    // 1,000 clients sending their headers one byte a second.
    let mut slow = Vec::new();
    for _ in 0..1_000 {
        slow.push(TcpStream::connect(server.addr).await.unwrap());
    }
    // 100 clients that send their headers and part of the body, then stall.
    let mut stalled = Vec::new();
    for _ in 0..100 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(head).await.unwrap();
        stream.write_all(b"1,2,3\n").await.unwrap();
        stalled.push(stream);
    }
    let opened = Instant::now();
    let dribble = tokio::spawn(async move {
        for i in 0..4 {
            for stream in &mut slow {
                // The server may already have closed it; later writes then fail, which is fine.
                let _ = stream.write_all(&head[i..=i]).await;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        slow
    });

    // Meanwhile, new clients are served at once.
    let mut worst = (Duration::ZERO, Duration::ZERO);
    while opened.elapsed() < Duration::from_millis(1_500) {
        let (ping, score) = probe(server.addr).await;
        worst = (worst.0.max(ping), worst.1.max(score));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "slow clients: slowest ping {:?}, slowest one-row scoring {:?}",
        worst.0, worst.1
    );
    assert!(
        worst.0 < LIMIT && worst.1 < LIMIT,
        "slowest ping {:?}, slowest scoring {:?}",
        worst.0,
        worst.1
    );

    // Past the timeouts, every slow and stalled connection has been closed by the server.
    let mut slow = dribble.await.unwrap();
    for (i, stream) in slow.iter_mut().enumerate() {
        assert!(
            closed_within(stream, Duration::from_secs(3)).await,
            "slow client {i} still open"
        );
    }
    for (i, stream) in stalled.iter_mut().enumerate() {
        assert!(
            closed_within(stream, Duration::from_secs(3)).await,
            "stalled client {i} still open"
        );
    }
    assert!(
        opened.elapsed() < Duration::from_secs(8),
        "closed late: {:?}",
        opened.elapsed()
    );
    let (ping, score) = probe(server.addr).await;
    assert!(ping < LIMIT && score < LIMIT, "after: {ping:?} {score:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_gets_408_then_the_connection_closes() {
    let _heavy = HEAVY.lock().await;
    let server = Running::start(&["--body-timeout", "0.5"]);
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"POST /invocations HTTP/1.1\r\nHost: t\r\nContent-Type: text/csv\r\nContent-Length: 100\r\n\r\n1,2,3\n")
        .await
        .unwrap();
    let started = Instant::now();
    let answer = read_answer(&mut stream).await.expect("an answer");
    assert_eq!(answer.status, 408);
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "{:?}",
        started.elapsed()
    );
    assert!(String::from_utf8_lossy(&answer.body).contains("ISOSERVE_BODY_TIMEOUT"));
    assert!(closed_within(&mut stream, Duration::from_secs(2)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_and_slow_headers_have_separate_timeouts() {
    let _heavy = HEAVY.lock().await;
    let server = Running::start(&["--header-timeout", "0.4", "--idle-timeout", "1.2"]);
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    for _ in 0..2 {
        // Idle for longer than the header timeout: still open, because idle is not slow.
        tokio::time::sleep(Duration::from_millis(600)).await;
        stream
            .write_all(&request("GET", "/ping", &[], b""))
            .await
            .unwrap();
        assert_eq!(read_answer(&mut stream).await.expect("served").status, 200);
    }
    // Idle past the idle timeout: closed.
    let idle = Instant::now();
    assert!(closed_within(&mut stream, Duration::from_secs(3)).await);
    let waited = idle.elapsed();
    assert!(
        waited >= Duration::from_millis(1_000),
        "closed after {waited:?}"
    );

    // A head that starts but does not finish is closed at the header timeout.
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET /ping HTTP/1.1\r\nHo").await.unwrap();
    let started = Instant::now();
    assert!(closed_within(&mut slow, Duration::from_secs(3)).await);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_millis(1_100),
        "closed after {waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_wait_for_a_free_slot() {
    let _heavy = HEAVY.lock().await;
    let server = Running::start(&["--max-connections", "3"]);
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(&request("GET", "/ping", &[], b""))
            .await
            .unwrap();
        assert_eq!(read_answer(&mut stream).await.unwrap().status, 200);
        held.push(stream);
    }
    // The kernel completes the handshake, but the server does not take the fourth connection.
    let mut fourth = TcpStream::connect(server.addr).await.unwrap();
    fourth
        .write_all(&request("GET", "/ping", &[], b""))
        .await
        .unwrap();
    let early = tokio::time::timeout(Duration::from_millis(300), read_answer(&mut fourth)).await;
    assert!(
        early.is_err(),
        "the fourth connection was served over the limit"
    );
    drop(held.pop());
    let answer = tokio::time::timeout(Duration::from_secs(2), read_answer(&mut fourth))
        .await
        .expect("served once a slot is free")
        .unwrap();
    assert_eq!(answer.status, 200);
}

/// A request the server refuses before reading its body: method, path, headers, status.
type Refused<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], u16);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_answered_before_the_body_leaves_the_connection_usable() {
    let _heavy = HEAVY.lock().await;
    let server = Running::start(&[]);
    let big = "20.5,1.25,0.5\n".repeat(80_000).into_bytes(); // about 1.1 MB
    let refused: [Refused; 4] = [
        (
            "POST",
            "/invocations",
            &[("Content-Type", "image/png")],
            415,
        ),
        (
            "POST",
            "/invocations",
            &[("Content-Type", "text/csv"), ("Accept", "image/png")],
            406,
        ),
        (
            "POST",
            "/invocations",
            &[
                ("Content-Type", "text/csv"),
                ("X-Amzn-SageMaker-Custom-Attributes", "context=x"),
            ],
            400,
        ),
        ("POST", "/nowhere", &[("Content-Type", "text/csv")], 404),
    ];
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    for (method, path, headers, status) in refused {
        // The whole request goes out while the answer is read, as a real client does it.
        let raw = request(method, path, headers, &big);
        let (mut reader, mut writer) = stream.into_split();
        let send = tokio::spawn(async move {
            writer.write_all(&raw).await.unwrap();
            writer
        });
        let mut joined = {
            let answer = read_answer(&mut reader)
                .await
                .expect("the answer, not a reset");
            assert_eq!(answer.status, status, "{path} {headers:?}");
            assert_eq!(answer.header("connection"), None, "kept alive");
            reader.reunite(send.await.unwrap()).unwrap()
        };
        // The next request on the same connection is served.
        joined
            .write_all(&request("GET", "/ping", &[], b""))
            .await
            .unwrap();
        assert_eq!(read_answer(&mut joined).await.expect("served").status, 200);
        stream = joined;
    }

    // A body announced above the limit is not read: the answer says the connection closes.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"POST /invocations HTTP/1.1\r\nHost: t\r\nContent-Type: text/csv\r\nContent-Length: 999999999\r\n\r\n")
        .await
        .unwrap();
    let answer = read_answer(&mut stream).await.expect("the 413");
    assert_eq!(answer.status, 413);
    assert_eq!(answer.header("connection"), Some("close"));
}

/// The most expensive bodies the server accepts or refuses, about 1 MiB each.
fn expensive_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let csv = "20.5,1.25,0.5\n".repeat(75_000).into_bytes();
    let mut bad_last_row = csv.clone();
    bad_last_row.extend_from_slice(b"1,2,x\n");
    let records = format!(
        "[{}]",
        vec![r#"{"temperature": 20.5, "pressure": 1.25, "vibration": 0.5}"#; 18_000].join(",")
    )
    .into_bytes();
    let nested = format!("{}{}", "[".repeat(1 << 20), "]".repeat(1 << 20)).into_bytes();
    let long_number = format!("[[{}]]", "1".repeat(1 << 20)).into_bytes();
    let mut npy_header = b"\x93NUMPY\x01\x00".to_vec();
    let crafted = format!(
        "{{'descr': '<f4', 'fortran_order': False, {}",
        "[".repeat(9_000)
    );
    npy_header.extend_from_slice(&(crafted.len() as u16).to_le_bytes());
    npy_header.extend_from_slice(crafted.as_bytes());
    vec![
        ("text/csv", csv),
        ("text/csv", bad_last_row),
        ("application/json", records),
        ("application/json", nested),
        ("application/json", long_number),
        ("application/x-npy", npy_header),
        ("text/csv", vec![b'\n'; 1 << 20]),
        ("text/csv", vec![b','; 1 << 20]),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_are_answered_while_every_connection_sends_expensive_bodies() {
    let _heavy = HEAVY.lock().await;
    let server = Running::start(&[]);
    let bodies = std::sync::Arc::new(expensive_bodies());
    let until = Instant::now() + Duration::from_secs(3);
    let mut load = Vec::new();
    for client in 0..32 {
        let bodies = std::sync::Arc::clone(&bodies);
        let addr = server.addr;
        load.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let mut served = 0usize;
            let mut i = client;
            while Instant::now() < until {
                let (content_type, body) = &bodies[i % bodies.len()];
                i += 1;
                let raw = request(
                    "POST",
                    "/invocations",
                    &[("Content-Type", content_type)],
                    body,
                );
                stream.write_all(&raw).await.unwrap();
                let answer = read_answer(&mut stream).await.expect("answered");
                assert!(answer.status < 500, "{} on {content_type}", answer.status);
                served += 1;
            }
            served
        }));
    }
    let mut pings = Vec::new();
    tokio::time::sleep(Duration::from_millis(200)).await;
    while Instant::now() < until {
        pings.push(probe(server.addr).await.0);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut served = 0;
    for task in load {
        served += task.await.unwrap();
    }
    let worst = pings.iter().max().unwrap();
    eprintln!(
        "saturated: {served} heavy requests, slowest of {} pings {worst:?}",
        pings.len()
    );
    assert!(served >= 32, "the load ran ({served} requests)");
    assert!(
        *worst < LIMIT,
        "slowest of {} pings: {worst:?} ({served} heavy requests served)",
        pings.len()
    );
}
