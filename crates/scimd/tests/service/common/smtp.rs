//! A real SMTP server on loopback, in the test process: it speaks enough of RFC 5321 for an
//! SMTP client (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), keeps every mail it accepts, and
//! can be told to refuse mail with a reply of the test's choosing.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// One mail as it arrived.
#[derive(Debug, Clone, Default)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The message (headers and body) with transfer encodings undone where tests read it.
    pub message: String,
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    /// The reply to every `MAIL FROM` instead of `250`, e.g. `451 4.3.0 try later`.
    refusal: Mutex<Option<String>>,
    arrived: Notify,
}

pub struct TestSmtp {
    pub address: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestSmtp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestSmtp {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let serving = Arc::clone(&shared);
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, Arc::clone(&serving)));
            }
        });
        Self {
            address,
            shared,
            server,
        }
    }

    /// `--smtp-url` for this server (plain SMTP: it is on loopback).
    pub fn url(&self) -> String {
        format!("smtp://{}", self.address)
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// From now on, answer `MAIL FROM` with `reply` (`None`: accept again).
    pub fn refuse_with(&self, reply: Option<&str>) {
        *self.shared.refusal.lock().unwrap() = reply.map(str::to_owned);
    }

    /// Waits until `count` mails arrived (a hang guard fails the test after two minutes: a
    /// sender that never sends is a bug, however slow the machine).
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        let waiting = async {
            loop {
                let arrived = self.shared.arrived.notified();
                let received = self.received();
                if received.len() >= count {
                    return received;
                }
                arrived.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(120), waiting)
            .await
            .unwrap_or_else(|_| panic!("{count} mails never arrived: {:?}", self.received()))
    }
}

async fn session(stream: tokio::net::TcpStream, shared: Arc<Shared>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let send = |text: &str| format!("{text}\r\n").into_bytes();
    if write.write_all(&send("220 test.smtp ESMTP")).await.is_err() {
        return;
    }
    let mut mail = Received::default();
    while let Ok(Some(line)) = lines.next_line().await {
        let command = line.to_ascii_uppercase();
        let answer = if command.starts_with("EHLO") || command.starts_with("HELO") {
            "250-test.smtp\r\n250 8BITMIME".to_owned()
        } else if command.starts_with("MAIL FROM:") {
            let refusal = shared.refusal.lock().unwrap().clone();
            match refusal {
                Some(refusal) => refusal,
                None => {
                    mail.from = address_in(&line);
                    "250 OK".to_owned()
                }
            }
        } else if command.starts_with("RCPT TO:") {
            mail.to.push(address_in(&line));
            "250 OK".to_owned()
        } else if command == "DATA" {
            if write.write_all(&send("354 go ahead")).await.is_err() {
                return;
            }
            let mut data = Vec::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if line == "." {
                    break;
                }
                data.push(line.strip_prefix('.').map_or(line.clone(), str::to_owned));
            }
            mail.message = readable(&data.join("\n"));
            shared
                .received
                .lock()
                .unwrap()
                .push(std::mem::take(&mut mail));
            shared.arrived.notify_waiters();
            "250 queued".to_owned()
        } else if command == "QUIT" {
            let _ = write.write_all(&send("221 bye")).await;
            return;
        } else if command == "RSET" || command == "NOOP" {
            "250 OK".to_owned()
        } else {
            "502 not implemented".to_owned()
        };
        if write.write_all(&send(&answer)).await.is_err() {
            return;
        }
    }
}

/// `<a@b>` out of `MAIL FROM:<a@b>` or `RCPT TO:<a@b>`.
fn address_in(line: &str) -> String {
    let start = line.find('<').map_or(0, |at| at + 1);
    let end = line.rfind('>').unwrap_or(line.len());
    line.get(start..end).unwrap_or_default().to_owned()
}

/// Quoted-printable undone (soft line breaks and `=XX`), so that tests can look for text.
fn readable(message: &str) -> String {
    let joined = message.replace("=\n", "");
    let mut out = Vec::with_capacity(joined.len());
    let bytes = joined.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let hex = bytes
            .get(at + 1..at + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[at], hex) {
            (b'=', Some(byte)) => {
                out.push(byte);
                at += 3;
            }
            (byte, _) => {
                out.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
