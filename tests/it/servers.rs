//! Real servers for the tests, started on 127.0.0.1 from Python packages (installed by
//! `.ci/run`) and stopped when dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A child process killed (and reaped) when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `python3 <args>` (with `{port}` in `args` replaced by a free port) and waits until
/// the port accepts connections.
pub fn python(args: &[&str], what: &str) -> Server {
    let port = free_port();
    let args: Vec<String> = args.iter().map(|a| a.replace("{port}", &port.to_string())).collect();
    let child = Command::new("python3")
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what} (python3 {}): {e}", args.join(" ")));
    let server = Server { child, port };
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not start on port {port}; is it installed (see .ci/run)?");
}

/// An SMTP server (aiosmtpd) that stores every message in the Maildir `maildir`.
pub fn smtp(maildir: &Path) -> Server {
    let dir = maildir.display().to_string();
    python(&["-m", "aiosmtpd", "-n", "-l", "127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Mailbox", &dir], "aiosmtpd")
}

/// An S3-compatible endpoint (moto's server), state in memory.
pub fn s3() -> Server {
    python(&["-m", "moto.server", "-H", "127.0.0.1", "-p", "{port}"], "moto_server")
}
