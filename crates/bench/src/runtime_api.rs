//! A minimal Lambda Runtime API (the HTTP interface a function polls on
//! Lambda), enough to start a function binary, hand it invocations and time
//! them: `GET .../invocation/next` blocks until an event is queued;
//! `POST .../invocation/<id>/response` completes it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, Mutex};

pub struct Completed {
    /// When the function asked for the event.
    pub handed_out: Instant,
    /// When its answer arrived.
    pub answered: Instant,
    pub response: String,
}

struct Shared {
    queue: Mutex<mpsc::Receiver<(String, String)>>,
    waiting: Mutex<HashMap<String, (Instant, oneshot::Sender<Completed>)>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Completed>>>,
}

pub struct RuntimeApi {
    pub address: String,
    sender: mpsc::Sender<(String, String)>,
    shared: Arc<Shared>,
}

impl RuntimeApi {
    pub async fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let (sender, receiver) = mpsc::channel(1024);
        let shared = Arc::new(Shared {
            queue: Mutex::new(receiver),
            waiting: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
        });
        let serving = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, serving.clone()));
            }
        });
        RuntimeApi {
            address,
            sender,
            shared,
        }
    }

    /// Queues one event; resolves when the function has answered it.
    pub async fn invoke(&self, event: String) -> Completed {
        let id = format!("{:032x}", fastrand::u128(..));
        let (done, wait) = oneshot::channel();
        self.shared.pending.lock().await.insert(id.clone(), done);
        self.sender
            .send((id, event))
            .await
            .expect("runtime API running");
        wait.await.expect("function answered")
    }
}

async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let mut stream = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if stream.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if stream.read_exact(&mut body).await.is_err() {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_owned();
        let reply = if path.ends_with("/invocation/next") {
            let next = shared.queue.lock().await.recv().await;
            let Some((id, event)) = next else { return };
            if let Some(done) = shared.pending.lock().await.remove(&id) {
                shared
                    .waiting
                    .lock()
                    .await
                    .insert(id.clone(), (Instant::now(), done));
            }
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nlambda-runtime-aws-request-id: {id}\r\n\
                 lambda-runtime-deadline-ms: 9999999999999\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n\
                 lambda-runtime-trace-id: Root=1-00000000-000000000000000000000000\r\n\
                 content-length: {}\r\n\r\n{event}",
                event.len()
            )
        } else {
            let id = path.split('/').rev().nth(1).unwrap_or("").to_owned();
            if let Some((handed_out, done)) = shared.waiting.lock().await.remove(&id) {
                let _ = done.send(Completed {
                    handed_out,
                    answered: Instant::now(),
                    response: String::from_utf8_lossy(&body).into_owned(),
                });
            }
            "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n".to_owned()
        };
        if stream.get_mut().write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}
