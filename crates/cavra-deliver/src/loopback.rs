//! A loopback SMTP stand-in: a small server on `127.0.0.1` that accepts
//! every message (and refuses the recipients it is told to, with `550`),
//! for `selfcheck` and tests to send through the real transport without a
//! mail server. It speaks the plain-text subset of SMTP the sender uses
//! (`EHLO`, `MAIL`, `RCPT`, `DATA`, `RSET`, `NOOP`, `QUIT`); it offers no TLS,
//! so a setup pointed at it says `tls = "none"`, which the setup file only
//! allows for loopback hosts.
//!
//! ```
//! let sink = cavra_deliver::loopback::SmtpStandIn::start(&["refused@example.com"]).unwrap();
//! assert!(sink.port() > 0);
//! assert!(sink.received().is_empty());
//! ```

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// One message the stand-in accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The accepted recipients, lower-cased.
    pub recipients: Vec<String>,
    /// The message, dot-unstuffed.
    pub data: Vec<u8>,
}

/// The running stand-in; stopped when dropped.
#[derive(Debug)]
pub struct SmtpStandIn {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The largest message accepted, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

impl SmtpStandIn {
    /// Starts it on a free loopback port; `refuse` are answered `550`.
    ///
    /// # Errors
    /// The port cannot be bound.
    pub fn start(refuse: &[&str]) -> std::io::Result<SmtpStandIn> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let refuse: Vec<String> = refuse.iter().map(|r| r.to_lowercase()).collect();
        let (r, s) = (Arc::clone(&received), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(c) = conn {
                    // One conversation at a time: the sender opens one connection per message.
                    let _ = serve(c, &refuse, &r);
                }
            }
        });
        Ok(SmtpStandIn { port, received, stop, thread: Some(thread) })
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// What it accepted so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Drop for SmtpStandIn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(conn: TcpStream, refuse: &[String], received: &Mutex<Vec<Received>>) -> std::io::Result<()> {
    conn.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    let mut out = conn.try_clone()?;
    let mut reader = BufReader::new(conn);
    let mut say = |s: &str| out.write_all(format!("{s}\r\n").as_bytes());
    say("220 cavra-standin ESMTP")?;
    let mut recipients = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if std::io::Read::take(&mut reader, 4096).read_line(&mut line)? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end();
        let up = cmd.to_ascii_uppercase();
        if up.starts_with("EHLO") || up.starts_with("HELO") {
            say("250-cavra-standin\r\n250 8BITMIME")?;
        } else if up.starts_with("MAIL FROM") {
            recipients.clear();
            say("250 2.1.0 OK")?;
        } else if up.starts_with("RCPT TO") {
            let addr = cmd.split_once(':').map_or("", |(_, a)| a).trim().trim_matches(['<', '>']).to_lowercase();
            if refuse.contains(&addr) {
                say("550 5.1.1 Mailbox unavailable")?;
            } else {
                recipients.push(addr);
                say("250 2.1.5 OK")?;
            }
        } else if up == "DATA" {
            say("354 End data with <CR><LF>.<CR><LF>")?;
            let mut data = Vec::new();
            let mut l = Vec::new();
            loop {
                l.clear();
                let limit = (MAX_MESSAGE_BYTES + 3) as u64;
                if std::io::Read::take(&mut reader, limit).read_until(b'\n', &mut l)? == 0
                    || l == b".\r\n"
                    || l == b".\n"
                {
                    break;
                }
                let body = if l.starts_with(b"..") { &l[1..] } else { &l[..] };
                if data.len() + body.len() > MAX_MESSAGE_BYTES {
                    say("552 5.3.4 Message too big")?;
                    return Ok(());
                }
                data.extend_from_slice(body);
            }
            if let Ok(mut v) = received.lock() {
                v.push(Received { recipients: std::mem::take(&mut recipients), data });
            }
            say("250 2.0.0 Accepted")?;
        } else if up == "QUIT" {
            say("221 2.0.0 Bye")?;
            return Ok(());
        } else if up == "RSET" || up == "NOOP" {
            say("250 2.0.0 OK")?;
        } else {
            say("502 5.5.2 Command not recognised")?;
        }
    }
}
