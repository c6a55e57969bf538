//! A fake Lambda Runtime API (the `2018-06-01` HTTP protocol) on loopback: hands out queued
//! events at `GET /2018-06-01/runtime/invocation/next`, records responses and errors, and the
//! time of the first poll (cold-start measurement).
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Default)]
pub struct State {
    pub events: VecDeque<(String, String)>,
    pub first_poll: Option<Instant>,
    pub responses: Vec<(String, String)>,
    pub errors: Vec<(String, String)>,
}

pub struct FakeRuntime {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<State>>,
    pub notify: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeRuntime {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeRuntime {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let notify = Arc::new(tokio::sync::Notify::new());
        let (s, n) = (state.clone(), notify.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (s, n) = (s.clone(), n.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, s, n).await;
                });
            }
        });
        Self {
            addr,
            state,
            notify,
            task,
        }
    }

    /// Queues an invocation.
    pub fn push(&self, request_id: &str, event: String) {
        self.state
            .lock()
            .unwrap()
            .events
            .push_back((request_id.to_owned(), event));
    }
}

async fn serve(
    stream: tokio::net::TcpStream,
    state: Arc<Mutex<State>>,
    notify: Arc<tokio::sync::Notify>,
) -> std::io::Result<()> {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_owned(),
            parts.next().unwrap_or("").to_owned(),
        );
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            r.read_line(&mut h).await?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).await?;
        let body = String::from_utf8_lossy(&body).into_owned();
        if method == "GET" && path.ends_with("/runtime/invocation/next") {
            let next = {
                let mut st = state.lock().unwrap();
                st.first_poll.get_or_insert_with(Instant::now);
                st.events.pop_front()
            };
            notify.notify_waiters();
            let Some((id, event)) = next else {
                // No more work: hold the poll open like the real API (the test ends the process).
                std::future::pending::<()>().await;
                return Ok(());
            };
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 60_000;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nlambda-runtime-aws-request-id: {id}\r\n\
                 lambda-runtime-deadline-ms: {deadline}\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:000000000000:function:transfer-processor\r\n\
                 lambda-runtime-trace-id: Root=1-00000000-000000000000000000000000\r\ncontent-length: {}\r\n\r\n",
                event.len()
            );
            w.write_all(head.as_bytes()).await?;
            w.write_all(event.as_bytes()).await?;
        } else {
            let segs: Vec<&str> = path.split('/').collect();
            let id = segs.get(4).copied().unwrap_or("").to_owned();
            {
                let mut st = state.lock().unwrap();
                if path.ends_with("/response") {
                    st.responses.push((id, body));
                } else {
                    st.errors.push((id, body));
                }
            }
            notify.notify_waiters();
            w.write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}")
                .await?;
        }
    }
}
