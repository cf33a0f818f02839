//! A real SMTP server for the notification tests: Debian's aiosmtpd, run by Debian's own
//! interpreter (not the first `python3` on PATH), writing what it receives to a Maildir that
//! the tests read back as [`Received`] messages.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use releasedesk::config::SmtpUrl;

const PYTHON: &str = "/usr/bin/python3";

/// A real SMTP server on a local port, writing what it receives to a Maildir; killed on drop.
pub struct SmtpServer {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Option<Child>,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl SmtpServer {
    /// An address with no server yet (`start` it later).
    pub fn reserved() -> SmtpServer {
        SmtpServer {
            port: free_port(),
            dir: tempfile::tempdir().expect("temp dir"),
            child: None,
        }
    }

    pub fn started() -> SmtpServer {
        let mut server = SmtpServer::reserved();
        server.start();
        server
    }

    pub fn start(&mut self) {
        self.start_with(None);
    }

    /// A server that waits `delay` before it accepts each message (`slow_mailbox.py`): a
    /// client killed during the wait has delivered nothing.
    pub fn started_slow(delay: Duration) -> SmtpServer {
        let mut server = SmtpServer::reserved();
        server.start_with(Some(delay));
        server
    }

    fn start_with(&mut self, delay: Option<Duration>) {
        let mut command = Command::new(PYTHON);
        command
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port));
        match delay {
            None => command.args(["-c", "aiosmtpd.handlers.Mailbox"]),
            Some(_) => command
                .env(
                    "PYTHONPATH",
                    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support"),
                )
                .args(["-c", "slow_mailbox.SlowMailbox"]),
        };
        command.arg(self.dir.path().join("mail"));
        if let Some(delay) = delay {
            command.arg(delay.as_secs_f64().to_string());
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd (Debian's python3-aiosmtpd) starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> SmtpUrl {
        SmtpUrl::parse(&format!("smtp://127.0.0.1:{}", self.port), None).expect("SMTP URL")
    }

    /// Every message delivered so far.
    pub fn messages(&self) -> Vec<Received> {
        let new: PathBuf = self.dir.path().join("mail").join("new");
        let Ok(entries) = std::fs::read_dir(new) else {
            return Vec::new();
        };
        let mut messages: Vec<Received> = entries
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .map(|raw| Received::parse(&raw))
            .collect();
        messages.sort_by(|a, b| a.subject.cmp(&b.subject));
        messages
    }

    /// Waits until at least `n` messages arrived (20 s at most), and returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.messages();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A delivered message: the headers a test checks and its decoded parts.
#[derive(Debug)]
pub struct Received {
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub text: String,
    pub html: String,
}

/// A header's value, its folded lines joined.
fn header(head: &str, name: &str) -> String {
    let prefix = format!("{}:", name.to_lowercase());
    let unfolded = head.replace("\n ", " ").replace("\n\t", " ");
    unfolded
        .lines()
        .find(|line| line.to_lowercase().starts_with(&prefix))
        .map(|line| line[prefix.len()..].trim().to_owned())
        .unwrap_or_default()
}

fn decode(head: &str, body: &str) -> String {
    let encoding = header(head, "Content-Transfer-Encoding").to_lowercase();
    if encoding == "base64" {
        let joined: String = body.split_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(joined)
            .unwrap_or_default();
        return String::from_utf8_lossy(&bytes).into_owned();
    }
    if encoding != "quoted-printable" {
        return body.to_owned();
    }
    let joined = body.replace("=\r\n", "").replace("=\n", "");
    let mut out = Vec::new();
    let bytes = joined.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && let Some(hex) = joined.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Received {
    pub fn parse(raw: &str) -> Received {
        let raw = raw.replace("\r\n", "\n");
        let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
        let boundary = header(head, "Content-Type")
            .split("boundary=")
            .nth(1)
            .map(|b| b.trim_matches('"').to_owned())
            .unwrap_or_default();
        let (mut text, mut html) = (String::new(), String::new());
        for part in body.split(&format!("--{boundary}")) {
            let Some((part_head, part_body)) = part.trim_start_matches('\n').split_once("\n\n")
            else {
                continue;
            };
            let kind = header(part_head, "Content-Type");
            if kind.starts_with("text/plain") {
                text = decode(part_head, part_body);
            } else if kind.starts_with("text/html") {
                html = decode(part_head, part_body);
            }
        }
        Received {
            to: header(head, "X-RcptTo"),
            subject: header(head, "Subject"),
            message_id: header(head, "Message-ID"),
            text,
            html,
        }
    }
}

/// A fresh app on `app`'s backend (which it replaces) that mails through `smtp`, with the demo
/// data; `None` where that backend is not available.
pub async fn mailing_demo(app: super::TestApp, smtp: &SmtpServer) -> Option<super::TestApp> {
    let backend = app.backend;
    drop(app);
    let url = smtp.url();
    let app = super::TestApp::spawn_with(backend, move |s| s.smtp = Some(url)).await?;
    Some(app.with_demo().await)
}
