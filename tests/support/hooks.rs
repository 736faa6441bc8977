//! What the webhook receivers of the black-box tests and of the webhook bench share: a
//! listener on 127.0.0.1, an HTTP/1.1 request reader that keeps a connection's bytes
//! between requests, and the check of a delivery's `Webhook-Signature` (`v1=` and the hex
//! HMAC-SHA256 of `id.timestamp.body` under the endpoint's secret).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::future::Future;
use std::sync::Arc;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

/// One request as read: its lower-cased headers and its body.
#[derive(Debug, Clone)]
pub struct HookRequest {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HookRequest {
    /// The value of the header `name` (lower case), or empty.
    pub fn header(&self, name: &str) -> String {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    /// The event's `Webhook-Id`.
    pub fn id(&self) -> String {
        self.header("webhook-id")
    }

    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// Whether its `Webhook-Signature` is the one `secret` gives its id, timestamp and body.
    pub fn signed_with(&self, secret: &str) -> bool {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(format!("{}.{}.", self.id(), self.header("webhook-timestamp")).as_bytes());
        mac.update(&self.body);
        self.header("webhook-signature") == format!("v1={}", hex::encode(mac.finalize().into_bytes()))
    }
}

/// Listens on a free port of 127.0.0.1 and hands every connection to `serve`, each in a
/// task of its own. Returns the URL to register.
pub async fn listen<F, Fut>(serve: F) -> String
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the receiver");
    let addr = listener.local_addr().expect("the receiver's address");
    let serve = Arc::new(serve);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            tokio::spawn(serve(stream));
        }
    });
    format!("http://{addr}/hooks/contacts")
}

/// Reads one request from `stream`, starting with the bytes `buf` kept from the last
/// one, and keeps what follows it there. `None` when the connection closes first.
pub async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<HookRequest> {
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let headers: Vec<(String, String)> = String::from_utf8_lossy(&buf[..head_end])
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    while buf.len() < head_end + len {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[head_end..head_end + len].to_vec();
    buf.drain(..head_end + len);
    Some(HookRequest { headers, body })
}
