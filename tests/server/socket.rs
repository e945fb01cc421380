//! The real binary on a real socket: start-up, readiness around model load, shutdown.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, OnceLock, mpsc};
use std::time::{Duration, Instant};

use crate::common::*;

const BIN: &str = env!("CARGO_BIN_EXE_isoserve");

/// A running server process and its log lines (JSON, since stdout is a pipe).
struct Server {
    child: Child,
    addr: SocketAddr,
    logs: mpsc::Receiver<String>,
    seen: Vec<String>,
}

fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("RUST_LOG", "info")
        .env("ISOSERVE_BIND", "127.0.0.1")
        .env_remove("SAGEMAKER_BIND_TO_PORT")
        .env_remove("ISOSERVE_MODEL")
        // No /opt/ml/model on the test machine is assumed; point discovery at an empty place.
        .env("ISOSERVE_MODEL_DIR", "/nonexistent")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    cmd
}

impl Server {
    fn start(mut cmd: Command) -> Server {
        let mut child = cmd.spawn().expect("start isoserve");
        let stdout = child.stdout.take().unwrap();
        let (tx, logs) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = Vec::new();
        let addr = loop {
            let line = logs
                .recv_timeout(Duration::from_secs(10))
                .expect("server logs 'listening'");
            let json: serde_json::Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
            seen.push(line);
            if json["message"] == "listening" {
                break json["addr"].as_str().unwrap().parse().unwrap();
            }
        };
        Server {
            child,
            addr,
            logs,
            seen,
        }
    }

    fn request(&self, raw: &str) -> RawReply {
        request_at(self.addr, raw)
    }

    fn get(&self, path: &str) -> RawReply {
        self.request(&format!(
            "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        ))
    }

    fn wait_ready(&self) {
        let until = Instant::now() + Duration::from_secs(10);
        while self.get("/ping").status != 200 {
            assert!(Instant::now() < until, "not ready within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every log line so far.
    fn logs(&mut self) -> &[String] {
        while let Ok(line) = self.logs.try_recv() {
            self.seen.push(line);
        }
        &self.seen
    }

    fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let until = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < until,
                "server still running after {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends one raw request on a new connection and reads the answer.
fn request_at(addr: SocketAddr, raw: &str) -> RawReply {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.write_all(raw.as_bytes()).unwrap();
    RawReply::read(stream)
}

/// A response read off the wire (the request said `Connection: close`).
struct RawReply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl RawReply {
    fn read(mut stream: TcpStream) -> RawReply {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("read response");
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("complete head");
        let head = String::from_utf8(raw[..split].to_vec()).unwrap();
        let status = head[9..12].parse().unwrap();
        let reply = RawReply {
            status,
            head,
            body: raw[split + 4..].to_vec(),
        };
        assert_eq!(
            reply
                .header("content-length")
                .map(|v| v.parse::<usize>().unwrap()),
            Some(reply.body.len()),
            "Content-Length on the wire: {}",
            reply.head
        );
        reply
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// The binary serving the test model (saved in a temporary directory, kept alive by the caller)
/// on a free port, ready.
fn serving_the_test_model(extra: &[&str]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let model_path = save_model(dir.path());
    let mut args = vec!["--port", "0", "--model", model_path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let server = Server::start(command(&args));
    server.wait_ready();
    (dir, server)
}

fn save_model(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("model.isof");
    model().save(&path).unwrap();
    path
}

#[test]
fn ping_is_503_while_the_model_loads_then_200() {
    let dir = tempfile::tempdir().unwrap();
    // A FIFO holds the loader inside its read until the test writes the model: loading is
    // observably in progress without any test-only switch in the server.
    let fifo = dir.path().join("model.isof");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let server = Server::start(command(&[
        "serve",
        "--port",
        "0",
        "--model",
        fifo.to_str().unwrap(),
    ]));

    for _ in 0..3 {
        let reply = server.get("/ping");
        assert_eq!(reply.status, 503);
        assert!(String::from_utf8_lossy(&reply.body).contains("model_not_ready"));
        std::thread::sleep(Duration::from_millis(30));
    }
    std::fs::write(&fifo, model().to_bytes()).unwrap();
    server.wait_ready();
    let reply = server.get("/ping");
    assert!(reply.body.is_empty());

    let body = csv(&sample_rows());
    let reply = server.request(&format!(
        "POST /invocations HTTP/1.1\r\nHost: t\r\nContent-Type: text/csv\r\nAccept: text/csv\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("text/csv"));
    assert_eq!(String::from_utf8(reply.body).unwrap().lines().count(), 4);
}

#[test]
fn a_failed_load_is_logged_once_and_ping_stays_503() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.isof");
    std::fs::write(&bad, b"definitely not a model").unwrap();
    let mut server = Server::start(command(&["--port", "0", "--model", bad.to_str().unwrap()]));
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..3 {
        assert_eq!(server.get("/ping").status, 503);
    }
    let errors: Vec<&String> = server
        .logs()
        .iter()
        .filter(|l| l.contains("\"level\":\"ERROR\""))
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("broken.isof"), "{}", errors[0]);
}

#[test]
fn sigterm_finishes_the_request_in_flight_then_exits_0() {
    let (_dir, mut server) = serving_the_test_model(&[]);

    let rows = sample_rows();
    let body = csv(&rows);
    let (first, rest) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    write!(
        stream,
        "POST /invocations HTTP/1.1\r\nHost: t\r\nContent-Type: text/csv\r\nAccept: text/csv\r\n\
         Content-Length: {}\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));

    server.signal("TERM");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        TcpStream::connect(server.addr).is_err(),
        "still accepting after SIGTERM"
    );
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "exited with a request in flight"
    );

    stream.write_all(rest.as_bytes()).unwrap();
    let reply = RawReply::read(stream);
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let scores: Vec<f64> = String::from_utf8(reply.body)
        .unwrap()
        .lines()
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(scores, library_scores(model(), &rows));

    let status = server.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
}

#[test]
fn sigterm_while_saturated_completes_every_accepted_request() {
    let _heavy = HEAVY.blocking_lock();
    let (_dir, mut server) = serving_the_test_model(&[]);
    let rows: Vec<Vec<f64>> = (0..100).map(|i| sample_rows()[i % 4].clone()).collect();
    let body = csv(&rows);
    let request = format!(
        "POST /invocations HTTP/1.1\r\nHost: t\r\nContent-Type: text/csv\r\n\
         Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    // Clients on fresh connections, as fast as they can, until connecting is refused. Every
    // request on a connection made before the signal must be answered 200. A connection made
    // after it may still complete in the kernel's queue in the instant before the listener
    // closes; it is then reset, never answered wrongly, and counted apart.
    let signalled: Arc<OnceLock<Instant>> = Arc::default();
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (addr, request, signalled) = (server.addr, request.clone(), signalled.clone());
            std::thread::spawn(move || {
                let (mut answered, mut reset_after_signal, mut lost) = (0usize, 0usize, Vec::new());
                let until = Instant::now() + Duration::from_secs(20);
                while Instant::now() < until {
                    let Ok(mut stream) = TcpStream::connect(addr) else {
                        return (answered, reset_after_signal, lost);
                    };
                    let connected = Instant::now();
                    let mut raw = Vec::new();
                    let outcome = stream
                        .write_all(request.as_bytes())
                        .and_then(|()| stream.read_to_end(&mut raw));
                    let after_signal = signalled.get().is_some_and(|s| connected > *s);
                    match outcome {
                        Ok(_) if raw.starts_with(b"HTTP/1.1 200") => answered += 1,
                        Err(e)
                            if after_signal
                                && raw.is_empty()
                                && e.kind() == std::io::ErrorKind::ConnectionReset =>
                        {
                            reset_after_signal += 1;
                        }
                        other => lost.push(format!("{other:?}: {}", String::from_utf8_lossy(&raw))),
                    }
                }
                lost.push("still accepting 20 s later".into());
                (answered, reset_after_signal, lost)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1_000));
    signalled.set(Instant::now()).unwrap();
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(15)).code(), Some(0));
    let exit_took = signalled.get().unwrap().elapsed();
    let (mut answered, mut reset, mut lost) = (0, 0, Vec::new());
    for client in clients {
        let (a, r, l) = client.join().unwrap();
        answered += a;
        reset += r;
        lost.extend(l);
    }
    eprintln!(
        "SIGTERM under load: {answered} requests answered, {reset} connections made after the signal reset, exit after {exit_took:?}"
    );
    assert!(answered > 50, "the load ran ({answered} answered)");
    assert!(lost.is_empty(), "accepted requests lost: {lost:?}");
    assert!(
        exit_took < Duration::from_secs(5),
        "exit took {exit_took:?}"
    );
}

#[test]
fn sagemaker_bind_to_port_is_honoured_with_and_without_serve() {
    let dir = tempfile::tempdir().unwrap();
    let model_path = save_model(dir.path());
    for args in [&["serve"][..], &[][..]] {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = command(args);
        cmd.env("SAGEMAKER_BIND_TO_PORT", port.to_string())
            .env("ISOSERVE_MODEL", &model_path)
            .env("SAGEMAKER_MAX_PAYLOAD_IN_MB", "20")
            .env("SAGEMAKER_MODEL_SERVER_WORKERS", "3");
        let server = Server::start(cmd);
        assert_eq!(server.addr.port(), port);
        server.wait_ready();
        let reply = server.get("/execution-parameters");
        let json: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"MaxConcurrentTransforms": 3, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 20})
        );
        let mut server = server;
        server.signal("INT");
        assert_eq!(server.wait_exit(Duration::from_secs(10)).code(), Some(0));
    }
}

#[test]
fn the_grace_period_bounds_shutdown_when_a_client_stalls() {
    let (_dir, mut server) = serving_the_test_model(&["--shutdown-grace", "1"]);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    // Promise a body that never comes.
    write!(
        stream,
        "POST /invocations HTTP/1.1\r\nHost: t\r\nContent-Type: text/csv\r\n\
         Content-Length: 1000\r\n\r\n1,2,3\n"
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let signalled = Instant::now();
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(10)).code(), Some(0));
    let waited = signalled.elapsed();
    assert!(
        waited >= Duration::from_millis(900),
        "left before the grace period: {waited:?}"
    );
    // The reader thread may still be passing on the last lines.
    let until = Instant::now() + Duration::from_secs(2);
    while !server
        .logs()
        .iter()
        .any(|l| l.contains("grace period over"))
    {
        assert!(Instant::now() < until, "the forced exit is logged");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn unknown_commands_and_bad_settings_are_usage_errors() {
    let out = Command::new(BIN).arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(BIN)
        .args(["serve", "--port", "0"])
        .env("SAGEMAKER_MAX_PAYLOAD_IN_MB", "2000")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SAGEMAKER_MAX_PAYLOAD_IN_MB"), "{stderr}");
}

#[test]
fn requests_are_logged_at_debug_with_rows_status_and_latency() {
    let dir = tempfile::tempdir().unwrap();
    let model_path = save_model(dir.path());
    let body = csv(&sample_rows());
    let invoke = format!(
        "POST /invocations HTTP/1.1\r\nHost: t\r\nContent-Type: text/csv\r\n\
         X-Amzn-SageMaker-Inference-Id: req-42\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    for (level, logged) in [("10", true), ("20", false)] {
        let mut cmd = command(&["--port", "0", "--model", model_path.to_str().unwrap()]);
        cmd.env_remove("RUST_LOG")
            .env("SAGEMAKER_CONTAINER_LOG_LEVEL", level);
        let mut server = Server::start(cmd);
        server.wait_ready();
        assert_eq!(server.request(&invoke).status, 200);
        assert_eq!(server.get("/ping").status, 200);
        // The access line is written after the response; give it a moment to arrive.
        std::thread::sleep(Duration::from_millis(200));
        let requests: Vec<serde_json::Value> = server
            .logs()
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|j| j["message"] == "request")
            .collect();
        if logged {
            let invocation = requests
                .iter()
                .find(|j| j["path"] == "/invocations")
                .expect("an access line for /invocations");
            assert_eq!(invocation["level"], "DEBUG");
            assert_eq!(invocation["rows"], 4);
            assert_eq!(invocation["status"], 200);
            assert!(invocation["latency_us"].is_u64());
            assert_eq!(invocation["inference_id"], "req-42");
        }
        // Health checks never reach the log at debug or info.
        assert!(
            requests.iter().all(|j| j["path"] != "/ping"),
            "level {level}: {requests:?}"
        );
        if !logged {
            assert!(requests.is_empty(), "level {level}: {requests:?}");
        }
    }
}

/// SageMaker's multi-model agent, played over real sockets against the binary: 1,000 models
/// loaded by concurrent clients, invoked in random order under concurrency while half of them
/// are unloaded, every answer checked against the library. Prints the load and invoke latencies
/// (`docs/benchmarks.md` quotes them).
#[test]
fn a_thousand_models_load_invoke_and_unload_over_the_socket() {
    use crate::multi_model::{small_model, unpacked};
    const MODELS: usize = 1_000;
    const CLIENTS: usize = 8;
    let root = tempfile::tempdir().unwrap();
    let models: Vec<forest::Model> = (0..MODELS).map(|i| small_model(100 + i as u64)).collect();
    let urls: Vec<String> = models
        .iter()
        .enumerate()
        .map(|(i, m)| {
            unpacked(root.path(), &format!("m{i}"), m)
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let server = Server::start(command(&["--port", "0", "--multi-model"]));
    server.wait_ready();
    let addr = server.addr;
    let rows = sample_rows();
    let body = csv(&rows);
    let want: Vec<Vec<f64>> = models.iter().map(|m| library_scores(m, &rows)).collect();

    let post = |path: &str, content_type: &str, body: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let timed = |raw: &str| {
        let started = Instant::now();
        let reply = request_at(addr, raw);
        (reply, started.elapsed())
    };
    // Each client takes every CLIENTS-th item of a shared list, in parallel.
    let in_parallel = |work: &(dyn Fn(usize) -> Duration + Sync), items: usize| {
        let mut times: Vec<Duration> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..CLIENTS)
                .map(|c| s.spawn(move || (c..items).step_by(CLIENTS).map(work).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        times.sort();
        times
    };
    let percentile = |times: &[Duration], q: f64| times[((times.len() - 1) as f64 * q) as usize];

    let loads = in_parallel(
        &|i| {
            let load = serde_json::json!({"model_name": format!("m{i}"), "url": urls[i]});
            let (reply, took) = timed(&post("/models", "application/json", &load.to_string()));
            assert_eq!(
                reply.status,
                200,
                "{}",
                String::from_utf8_lossy(&reply.body)
            );
            took
        },
        MODELS,
    );
    // Random order, the same on every run: a fixed multiplicative permutation of 0..1000.
    let order: Vec<usize> = (0..4 * MODELS).map(|k| (k * 7919 + 13) % MODELS).collect();
    let invoke = |i: usize| {
        let (reply, took) = timed(&post(&format!("/models/m{i}/invoke"), "text/csv", &body));
        (reply, took)
    };
    let check = |i: usize, reply: &RawReply| {
        assert_eq!(
            reply.status,
            200,
            "m{i}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        let json: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        let got: Vec<f64> = native_scores(&json).iter().map(|p| p.0).collect();
        assert_eq!(got, want[i], "m{i} answered with another model's scores");
    };
    let invokes = in_parallel(
        &|k| {
            let i = order[k];
            let (reply, took) = invoke(i);
            check(i, &reply);
            took
        },
        order.len(),
    );
    // Unload the even models while the odd ones keep answering.
    std::thread::scope(|s| {
        s.spawn(|| {
            in_parallel(
                &|k| {
                    let i = 2 * k;
                    let raw = format!(
                        "DELETE /models/m{i} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                    );
                    let (reply, took) = timed(&raw);
                    assert_eq!(reply.status, 200, "unloading m{i}");
                    took
                },
                MODELS / 2,
            );
        });
        for k in order.iter().take(MODELS) {
            let i = 2 * k % MODELS + 1;
            check(i, &invoke(i).0);
        }
    });
    for i in 0..MODELS {
        let (reply, _) = invoke(i);
        if i % 2 == 0 {
            assert_eq!(reply.status, 404, "m{i} was unloaded");
        } else {
            check(i, &reply);
        }
    }
    let mut listed = 0;
    let mut path = "/models".to_owned();
    loop {
        let page: serde_json::Value = serde_json::from_slice(&server.get(&path).body).unwrap();
        listed += page["models"].as_array().unwrap().len();
        match page["nextPageToken"].as_str() {
            Some(token) => path = format!("/models?next_page_token={token}"),
            None => break,
        }
    }
    assert_eq!(listed, MODELS / 2);
    eprintln!(
        "{MODELS} models, {CLIENTS} clients: load p50 {:?} p99 {:?}; \
         invoke (4 rows, CSV) p50 {:?} p99 {:?} over {} requests",
        percentile(&loads, 0.5),
        percentile(&loads, 0.99),
        percentile(&invokes, 0.5),
        percentile(&invokes, 0.99),
        invokes.len()
    );
}
