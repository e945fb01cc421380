//! A hostile client over a real socket: 50,000 requests of mutated bodies of every format, with
//! random Content-Type, Accept and custom attributes, on keep-alive connections. Every answer must
//! be a 2xx or a 4xx with the uniform JSON error body; a connection may only end after an answer
//! that said `Connection: close`; and `/ping` still answers at once afterwards.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::common::*;
use crate::wire::*;

const REQUESTS: usize = 50_000;
const CONNECTIONS: usize = 8;

/// A small deterministic generator (xorshift64*), so a failure replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Valid bodies of every input format with their Content-Type, to be mutated.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let rows = sample_rows();
    let names: Vec<String> = FEATURES.iter().map(|s| s.to_string()).collect();
    let records = records(&names, &rows).to_string();
    let arrays = serde_json::to_string(&rows).unwrap();
    let lines: String = rows
        .iter()
        .map(|r| format!("{}\n", serde_json::to_string(r).unwrap()))
        .collect();
    vec![
        ("text/csv", csv(&rows).into_bytes()),
        (
            "text/csv",
            format!("{}\n{}", FEATURES.join(","), csv(&rows)).into_bytes(),
        ),
        ("application/json", records.into_bytes()),
        ("application/json", arrays.clone().into_bytes()),
        (
            "application/json",
            format!(r#"{{"instances": {arrays}}}"#).into_bytes(),
        ),
        (
            "application/json",
            r#"{"instances": [{"features": [1, 2, 3]}]}"#.as_bytes().to_vec(),
        ),
        ("application/jsonlines", lines.into_bytes()),
        (
            "application/x-npy",
            npy("<f8", &format!("({}, 3)", rows.len()), &rows.concat()),
        ),
    ]
}

/// Bytes that matter to some decoder.
const INTERESTING: &[u8] = b"[]{}\",:\n\r\\0-+eE. \t\x00\xff\x80\x93NUMPY'()TrueFalse";

/// A body: one in four is a seed as it is, the others mutated one to four times.
fn mutate(rng: &mut Rng, seeds: &[(&'static str, Vec<u8>)]) -> (&'static str, Vec<u8>) {
    let (content_type, seed) = rng.pick(seeds);
    let mut body = seed.clone();
    let mutations = match rng.below(4) {
        0 => 0,
        _ => 1 + rng.below(4),
    };
    for _ in 0..mutations {
        let len = body.len().max(1);
        match rng.below(7) {
            0 if !body.is_empty() => {
                let i = rng.below(body.len());
                body[i] = *rng.pick(INTERESTING);
            }
            1 => {
                let i = rng.below(len).min(body.len());
                let run = 1 + rng.below(64);
                let byte = *rng.pick(INTERESTING);
                body.splice(i..i, std::iter::repeat_n(byte, run));
            }
            2 if !body.is_empty() => {
                let i = rng.below(body.len());
                let j = (i + 1 + rng.below(32)).min(body.len());
                body.drain(i..j);
            }
            3 if !body.is_empty() => {
                let i = rng.below(body.len());
                let j = (i + 1 + rng.below(200)).min(body.len());
                let copy = body[i..j].to_vec();
                body.splice(j..j, copy);
            }
            4 => body.truncate(rng.below(len)),
            5 => {
                let other = &rng.pick(seeds).1;
                let i = rng.below(len).min(body.len());
                let j = rng.below(other.len());
                body.truncate(i);
                body.extend_from_slice(&other[j..]);
            }
            _ => {
                let i = rng.below(len).min(body.len());
                body.insert(i, (rng.next() & 0xff) as u8);
            }
        }
    }
    (content_type, body)
}

/// The matching value most of the time (so that bodies reach the decoders), a hostile one else.
fn header<'a>(rng: &mut Rng, matching: &'a str, hostile: &[&'a str]) -> &'a str {
    if rng.below(4) == 0 {
        hostile[rng.below(hostile.len())]
    } else {
        matching
    }
}

const CONTENT_TYPES: &[&str] = &[
    "text/csv",
    "text/csv; charset=utf-8",
    "application/json",
    "application/json; charset=UTF-8",
    "application/jsonlines",
    "application/x-jsonlines",
    "application/x-npy",
    "text/plain",
    "*/*",
    "text/csv; charset=\"",
    ";;;",
    "application/",
    "",
];

const ACCEPTS: &[&str] = &[
    "",
    "*/*",
    "application/json",
    "text/csv",
    "application/jsonlines",
    "text/csv;q=0.5, application/json;q=0.9",
    "image/png",
    "application/*;q=0",
    "q=,;=",
];

const ATTRIBUTES: &[&str] = &[
    "",
    "format=rcf",
    "format=sklearn",
    "format=native,context=1",
    "context=2",
    "format=xml",
    "context=-1",
    "context=99999999999999999999999",
    "=,=;;,==",
    "trace_id=abc,format=rcf",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_thousand_mutated_requests_get_no_5xx_and_no_unexplained_close() {
    let _heavy = HEAVY.lock().await;
    let server = Running::start(&[]);
    let seeds = std::sync::Arc::new(seeds());
    let mut clients = Vec::new();
    for client in 0..CONNECTIONS {
        let seeds = std::sync::Arc::clone(&seeds);
        let addr = server.addr;
        clients.push(tokio::spawn(async move {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (client as u64 + 1));
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let mut tally = [0usize; 6];
            for i in 0..REQUESTS / CONNECTIONS {
                let (content_type, body) = mutate(&mut rng, &seeds);
                let accept =
                    *rng.pick(&["", "application/json", "text/csv", "application/jsonlines"]);
                let attributes = *rng.pick(&["", "format=rcf", "format=sklearn", "context=1"]);
                let mut headers = Vec::new();
                for (name, value) in [
                    (
                        "Content-Type",
                        header(&mut rng, content_type, CONTENT_TYPES),
                    ),
                    ("Accept", header(&mut rng, accept, ACCEPTS)),
                    (
                        "X-Amzn-SageMaker-Custom-Attributes",
                        header(&mut rng, attributes, ATTRIBUTES),
                    ),
                ] {
                    if !value.is_empty() {
                        headers.push((name, value));
                    }
                }
                let raw = request("POST", "/invocations", &headers, &body);
                stream.write_all(&raw).await.unwrap();
                let Some(answer) = read_answer(&mut stream).await else {
                    panic!(
                        "client {client}, request {i}: connection dropped without an answer \
                         ({headers:?}, body {:?})",
                        String::from_utf8_lossy(&body)
                    );
                };
                assert!(
                    answer.status < 500,
                    "client {client}, request {i}: {} {} ({headers:?}, body {:?})",
                    answer.status,
                    String::from_utf8_lossy(&answer.body),
                    String::from_utf8_lossy(&body)
                );
                if answer.status >= 400 {
                    let json: serde_json::Value = serde_json::from_slice(&answer.body)
                        .unwrap_or_else(|e| panic!("error body is not JSON ({e})"));
                    assert!(
                        json["error"].is_string() && json["message"].is_string(),
                        "{json}"
                    );
                }
                tally[(answer.status / 100) as usize] += 1;
                if answer.header("connection") == Some("close") {
                    // The documented rule: the server said so; reconnect.
                    tally[0] += 1;
                    stream = TcpStream::connect(addr).await.unwrap();
                }
            }
            tally
        }));
    }
    let mut tally = [0usize; 6];
    for client in clients {
        for (total, n) in tally.iter_mut().zip(client.await.unwrap()) {
            *total += n;
        }
    }
    eprintln!(
        "hostile client: {} requests, {} answered 2xx, {} 4xx, {} closed by the server as announced",
        tally[2] + tally[4],
        tally[2],
        tally[4],
        tally[0]
    );
    assert_eq!(tally[2] + tally[4], REQUESTS / CONNECTIONS * CONNECTIONS);
    assert!(
        tally[2] > REQUESTS / 20,
        "the mutations left too few valid requests to mean much"
    );
    let (ping, score) = probe(server.addr).await;
    assert!(
        ping < Duration::from_millis(100) && score < Duration::from_millis(100),
        "afterwards: ping {ping:?}, scoring {score:?}"
    );
}
