//! A fake Lambda Runtime API on loopback (the HTTP interface a `bootstrap` polls), to run the
//! real binaries: it hands out queued events on `GET /2018-06-01/runtime/invocation/next`,
//! records what the binary posts back, and notes when the first poll arrived (cold start).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Default)]
struct State {
    events: VecDeque<(String, serde_json::Value)>,
    first_poll: Option<Instant>,
    answers: Vec<(String, String, serde_json::Value)>,
}

/// A running fake runtime.
pub struct FakeRuntime {
    pub addr: String,
    state: Arc<Mutex<State>>,
    changed: Arc<tokio::sync::Notify>,
}

impl FakeRuntime {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let state = Arc::new(Mutex::new(State::default()));
        let changed = Arc::new(tokio::sync::Notify::new());
        let (s, c) = (state.clone(), changed.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, s.clone(), c.clone()));
            }
        });
        Self {
            addr,
            state,
            changed,
        }
    }

    pub fn push(&self, request_id: &str, event: serde_json::Value) {
        self.state
            .lock()
            .unwrap()
            .events
            .push_back((request_id.to_owned(), event));
    }

    pub fn first_poll(&self) -> Option<Instant> {
        self.state.lock().unwrap().first_poll
    }

    /// Waits (bounded) for the answer to `request_id`: `("response" | "error", body)`.
    pub async fn answer(&self, request_id: &str, within: Duration) -> (String, serde_json::Value) {
        let deadline = Instant::now() + within;
        loop {
            let notified = self.changed.notified();
            if let Some((_, kind, body)) = self
                .state
                .lock()
                .unwrap()
                .answers
                .iter()
                .find(|(id, _, _)| id == request_id)
                .cloned()
            {
                return (kind, body);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no answer for {request_id} within {within:?}"
            );
            let _ = tokio::time::timeout(left, notified).await;
        }
    }

    /// Waits (bounded) for the first `/next` poll.
    pub async fn polled(&self, within: Duration) -> Instant {
        let deadline = Instant::now() + within;
        loop {
            let notified = self.changed.notified();
            if let Some(t) = self.first_poll() {
                return t;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "the binary did not poll within {within:?}");
            let _ = tokio::time::timeout(left, notified).await;
        }
    }
}

async fn serve(
    stream: tokio::net::TcpStream,
    state: Arc<Mutex<State>>,
    changed: Arc<tokio::sync::Notify>,
) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let mut content_length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                content_length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; content_length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let reply = if method == "GET" && path.ends_with("/runtime/invocation/next") {
            let next = {
                let mut s = state.lock().unwrap();
                s.first_poll.get_or_insert_with(Instant::now);
                s.events.pop_front()
            };
            changed.notify_waiters();
            match next {
                Some((id, event)) => {
                    let body = event.to_string();
                    let deadline = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_millis()
                        + 30_000;
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {id}\r\n\
Lambda-Runtime-Deadline-Ms: {deadline}\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:banca\r\n\
Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1\r\n\
Content-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                }
                // Nothing queued: hold the poll, like Lambda between invocations.
                None => {
                    std::future::pending::<()>().await;
                    return;
                }
            }
        } else if method == "POST" && (path.ends_with("/response") || path.ends_with("/error")) {
            let segments: Vec<&str> = path.split('/').collect();
            let id = segments
                .get(segments.len().saturating_sub(2))
                .copied()
                .unwrap_or("")
                .to_owned();
            let kind = if path.ends_with("/response") {
                "response"
            } else {
                "error"
            };
            let value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            state
                .lock()
                .unwrap()
                .answers
                .push((id, kind.to_owned(), value));
            changed.notify_waiters();
            "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}".to_owned()
        } else {
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_owned()
        };
        if reader.get_mut().write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Runs `binary` against a fresh fake runtime with `env`, feeding it `events`.
pub struct Child {
    pub runtime: FakeRuntime,
    pub started: Instant,
    process: Option<std::process::Child>,
}

impl Drop for Child {
    // A failed assertion must not leave a bootstrap process behind.
    fn drop(&mut self) {
        if let Some(p) = self.process.as_mut() {
            let _ = p.kill();
            let _ = p.wait();
        }
    }
}

impl Child {
    pub async fn spawn(binary: &str, env: &[(&str, String)]) -> Self {
        let runtime = FakeRuntime::start().await;
        let mut cmd = std::process::Command::new(binary);
        cmd.env("AWS_LAMBDA_RUNTIME_API", &runtime.addr)
            .env("AWS_LAMBDA_FUNCTION_NAME", "banca-test")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_LEVEL", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let process = Some(cmd.spawn().unwrap());
        Self {
            runtime,
            started,
            process,
        }
    }

    /// Stops the process and returns what it logged on stderr.
    pub async fn stop(mut self) -> String {
        let Some(mut process) = self.process.take() else {
            return String::new();
        };
        let _ = process.kill();
        let out = tokio::task::spawn_blocking(move || process.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}
