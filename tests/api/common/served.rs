//! The real binary on a free port, for what only a real socket, a real process or its log shows.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `partybase serve`, stopped when dropped.
pub struct Served {
    child: Child,
    pub address: String,
    log: Option<PathBuf>,
}

impl Served {
    /// Stops the service and returns what it wrote on standard output and standard error.
    pub fn stop_and_read_log(mut self) -> String {
        self.stop();
        let path = self.log.take().expect("a service started with serve_logged");
        let log = std::fs::read_to_string(&path).expect("read the service's log");
        let _ = std::fs::remove_file(path);
        log
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop();
        if let Some(path) = self.log.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Serves `database_url` on a free port with `RUST_LOG=warn`, its output discarded.
pub fn serve(database_url: &str, overrides: &[(&str, &str)]) -> Served {
    start(database_url, overrides, None)
}

/// Serves `database_url` on a free port, its standard output and error kept for [`Served::stop_and_read_log`].
pub fn serve_logged(database_url: &str, overrides: &[(&str, &str)]) -> Served {
    let path = std::env::temp_dir().join(format!("partybase-{}.log", uuid::Uuid::new_v4().simple()));
    start(database_url, overrides, Some(path))
}

/// A port nothing listens on (just released by the operating system).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start(database_url: &str, overrides: &[(&str, &str)], log: Option<PathBuf>) -> Served {
    let address = format!("127.0.0.1:{}", free_port());
    let (stdout, stderr) = match &log {
        Some(path) => {
            let file = std::fs::File::create(path).expect("create the log file");
            (Stdio::from(file.try_clone().unwrap()), Stdio::from(file))
        }
        None => (Stdio::null(), Stdio::null()),
    };
    let child = Command::new(env!("CARGO_BIN_EXE_partybase"))
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("PARTYBASE_BIND", &address)
        .env("RUST_LOG", "warn")
        .envs(overrides.iter().copied())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .expect("start partybase");
    let served = Served { child, address, log };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(&served.address).is_err() {
        assert!(Instant::now() < deadline, "the service did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    served
}

/// An HTTP/1.1 answer as it came over the wire.
#[derive(Debug)]
pub struct Wire {
    pub status: u16,
    /// The header block, names lower-cased.
    pub head: String,
    pub body: Vec<u8>,
}

impl Wire {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Sends one request on a new connection (`Connection: close`) and reads the whole answer.
pub fn request(address: &str, method: &str, target: &str, headers: &[(&str, &str)], body: Option<&str>) -> Wire {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    if let Some(body) = body {
        stream.write_all(body.as_bytes()).unwrap();
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = String::from_utf8_lossy(&answer[..split]).to_ascii_lowercase();
    let status = head[9..12].parse().expect("a status code");
    Wire {
        status,
        head,
        body: answer[split + 4..].to_vec(),
    }
}
