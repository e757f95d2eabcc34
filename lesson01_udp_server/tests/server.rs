//! Tests for lesson 01: the one-shot UDP server, driven by a client written with `std::net`, by
//! the real client of lesson 02, and by a small Python client.
//!
//! Every server listens on 127.0.0.1:0 and the test learns the real port from the
//! `listening on` line, so tests never fight over ports and never sleep while waiting.

use std::io::{self, BufRead, BufReader, PipeWriter, Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use predicates::prelude::*;

const SERVER: &str = env!("CARGO_BIN_EXE_lesson01_udp_server");
const REPLY: &[u8] = b"Ich hab keine Hunge";
/// The longest any single step of a test may take.
const WAIT: Duration = Duration::from_secs(5);

/// A program started by a test. Its stdout lines arrive through a channel so that reading
/// never blocks for ever; it is killed when dropped, so a failing assertion leaves nothing behind.
struct Running {
    child: Child,
    lines: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
    seen: Vec<String>,
}

impl Running {
    fn spawn(mut cmd: Command) -> Running {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {cmd:?}: {err}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Running {
            child,
            lines,
            stderr: Some(stderr),
            seen: Vec::new(),
        }
    }

    /// The server of this lesson, started with `args`, once it has printed `listening on`.
    fn server(args: &[&str]) -> (Running, SocketAddr) {
        let mut cmd = Command::new(SERVER);
        cmd.args(args);
        let mut server = Running::spawn(cmd);
        let addr = server.wait_for_listening();
        (server, addr)
    }

    /// The next stdout line; `None` once the program has closed its stdout (it exited).
    fn next_line(&mut self) -> Option<String> {
        match self.lines.recv_timeout(WAIT) {
            Ok(line) => {
                self.seen.push(line.clone());
                Some(line)
            }
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => {
                panic!("no output for {WAIT:?}; so far: {:?}", self.seen)
            }
        }
    }

    fn wait_for_listening(&mut self) -> SocketAddr {
        while let Some(line) = self.next_line() {
            if let Some((_, addr)) = line.split_once("listening on ") {
                return addr
                    .trim()
                    .parse()
                    .unwrap_or_else(|err| panic!("bad address in {line:?}: {err}"));
            }
        }
        let stderr = self.stderr_text();
        panic!(
            "exited before listening; stdout {:?}, stderr {stderr:?}",
            self.seen
        )
    }

    /// Waits until the program exits: its status, every stdout line, its stderr.
    fn finish(&mut self) -> (ExitStatus, Vec<String>, String) {
        while self.next_line().is_some() {}
        let status = self.child.wait().expect("wait for the program");
        (status, self.seen.clone(), self.stderr_text())
    }

    fn stderr_text(&mut self) -> String {
        self.stderr
            .take()
            .map(|reader| reader.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client socket on loopback that never waits more than `WAIT`.
fn client_socket() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a test client");
    socket.set_read_timeout(Some(WAIT)).expect("set timeout");
    socket
}

/// Sends `payload` to the server and returns the reply.
fn exchange(socket: &UdpSocket, server: SocketAddr, payload: &[u8]) -> Vec<u8> {
    socket.send_to(payload, server).expect("send to the server");
    let mut buf = [0u8; 1000];
    let (len, from) = socket.recv_from(&mut buf).expect("a reply within 5 s");
    assert_eq!(from, server, "the reply comes from the server's address");
    buf[..len].to_vec()
}

/// Exactly one line on stderr, starting with the program's error prefix.
fn one_error_line() -> impl Predicate<str> {
    predicate::function(|err: &str| {
        err.starts_with("lesson01_udp_server: error: ")
            && err.ends_with('\n')
            && err.lines().count() == 1
    })
}

fn run_server(args: &[&str]) -> assert_cmd::assert::Assert {
    assert_cmd::Command::new(SERVER)
        .args(args)
        .timeout(Duration::from_secs(10))
        .assert()
}

#[test]
fn answers_one_datagram_and_exits() {
    let (mut server, addr) = Running::server(&["127.0.0.1:0"]);
    let socket = client_socket();
    let peer = socket.local_addr().unwrap();

    assert_eq!(exchange(&socket, addr, b"I love jingjing"), REPLY);

    let (status, lines, stderr) = server.finish();
    assert!(status.success(), "exit status {status}, stderr {stderr:?}");
    assert_eq!(
        lines,
        [
            "Starting the UDP server (lesson 01)...".to_string(),
            format!("listening on {addr}"),
            format!("received 15 bytes from {peer}"),
            "  as bytes: b'I love jingjing'".to_string(),
            "  as text:  I love jingjing".to_string(),
            format!("sent the reply to {peer}: Ich hab keine Hunge"),
            "Ending the UDP server (lesson 01).".to_string(),
        ]
    );
    assert_eq!(stderr, "");
}

#[test]
fn invalid_utf8_is_shown_lossily_and_answered() {
    let (mut server, addr) = Running::server(&["127.0.0.1:0"]);
    let socket = client_socket();

    assert_eq!(exchange(&socket, addr, b"caf\xff\xfe!"), REPLY);

    let (status, lines, _) = server.finish();
    assert!(status.success());
    assert!(
        lines.contains(&"  as bytes: b'caf\\xff\\xfe!'".to_string()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"  as text:  caf\u{FFFD}\u{FFFD}!".to_string()),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("not valid UTF-8")),
        "{lines:?}"
    );
}

#[test]
fn empty_datagram_is_shown_and_answered() {
    let (mut server, addr) = Running::server(&["127.0.0.1:0"]);
    let socket = client_socket();

    assert_eq!(exchange(&socket, addr, b""), REPLY);

    let (status, lines, _) = server.finish();
    assert!(status.success());
    assert!(
        lines.iter().any(|l| l.starts_with("received 0 bytes from")),
        "{lines:?}"
    );
    assert!(lines.contains(&"  as bytes: b''".to_string()), "{lines:?}");
    assert!(
        lines.iter().any(|l| l.contains("the datagram is empty")),
        "{lines:?}"
    );
}

#[test]
fn one_byte_is_counted_in_the_singular() {
    let (mut server, addr) = Running::server(&["127.0.0.1:0"]);
    let socket = client_socket();
    let peer = socket.local_addr().unwrap();

    assert_eq!(exchange(&socket, addr, b"!"), REPLY);

    let (status, lines, _) = server.finish();
    assert!(status.success());
    assert!(
        lines.contains(&format!("received 1 byte from {peer}")),
        "{lines:?}"
    );
}

#[test]
fn oversized_datagram_is_truncated_with_a_note() {
    let (mut server, addr) = Running::server(&["127.0.0.1:0"]);
    let socket = client_socket();

    assert_eq!(exchange(&socket, addr, &[b'x'; 600]), REPLY);

    let (status, lines, _) = server.finish();
    assert!(status.success());
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("received 500 bytes from")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("500-byte buffer is full")),
        "{lines:?}"
    );
}

#[test]
fn a_datagram_that_fits_gets_no_truncation_note() {
    let (mut server, addr) = Running::server(&["127.0.0.1:0"]);
    let socket = client_socket();

    assert_eq!(exchange(&socket, addr, &[b'y'; 499]), REPLY);

    let (status, lines, _) = server.finish();
    assert!(status.success());
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("received 499 bytes from")),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.contains("note:")), "{lines:?}");
}

#[test]
fn port_in_use_is_one_line_naming_the_port() {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();

    run_server(&[&addr.to_string()])
        .code(1)
        .stderr(one_error_line())
        .stderr(predicate::str::contains(format!(
            "port {} is already in use",
            addr.port()
        )))
        .stderr(predicate::str::contains("127.0.0.1:0"));
    drop(taken);
}

#[test]
fn malformed_addresses_are_one_line_with_an_example() {
    for bad in ["nonsense", "127.0.0.1:99999", "localhost:7852", "127.0.0.1"] {
        run_server(&[bad])
            .code(1)
            .stdout("")
            .stderr(one_error_line())
            .stderr(predicate::str::contains(format!("invalid address `{bad}`")))
            .stderr(predicate::str::contains("127.0.0.1:7852"));
    }
}

#[test]
fn extra_arguments_are_refused() {
    run_server(&["127.0.0.1:0", "surprise"])
        .code(1)
        .stdout("")
        .stderr(one_error_line())
        .stderr(predicate::str::contains(
            "too many arguments (unexpected: surprise)",
        ));
}

#[test]
fn help_prints_usage_and_exits_zero() {
    for flag in ["--help", "-h"] {
        run_server(&[flag])
            .success()
            .stdout(predicate::str::starts_with(
                "Usage: lesson01_udp_server [ADDR]",
            ))
            .stderr("");
    }
}

#[test]
fn binding_all_interfaces_is_announced_on_stderr() {
    let (mut server, addr) = Running::server(&["0.0.0.0:0"]);
    assert!(addr.ip().is_unspecified());
    let socket = client_socket();
    let local = SocketAddr::from(([127, 0, 0, 1], addr.port()));

    assert_eq!(exchange(&socket, local, b"hello"), REPLY);

    let (status, _, stderr) = server.finish();
    assert!(status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(
        stderr.starts_with("lesson01_udp_server: warning: bound to 0.0.0.0:"),
        "{stderr:?}"
    );
}

/// The binary of another lesson. Cargo only tells a test where its own crate's binaries are
/// (`CARGO_BIN_EXE_*`), and a binary cannot be a dev-dependency. All binaries of a workspace
/// land in the same directory, so we look next to our own binary. `cargo test --workspace`
/// builds every member's binaries before it runs any test; with `cargo test -p` alone, build
/// the other lesson first (`cargo build -p lesson02_udp_client`).
fn sibling_binary(name: &str) -> PathBuf {
    let path =
        PathBuf::from(SERVER).with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing: run cargo test --workspace (builds every lesson)",
        path.display()
    );
    path
}

#[test]
fn talks_with_the_real_client_of_lesson02() {
    let (mut server, addr) = Running::server(&["127.0.0.1:0"]);

    let client = Command::new(sibling_binary("lesson02_udp_client"))
        .arg(addr.to_string())
        .output()
        .expect("run lesson02_udp_client");

    let client_out = String::from_utf8_lossy(&client.stdout);
    assert!(client.status.success(), "client: {client:?}");
    let client_lines: Vec<&str> = client_out.lines().collect();
    assert_eq!(client_lines.len(), 2, "{client_lines:?}");
    assert!(client_lines[0].starts_with(&format!("sent to {addr} from 127.0.0.1:")));
    assert!(client_lines[0].ends_with(" (15 bytes): I love jingjing"));
    assert_eq!(
        client_lines[1],
        format!("received from {addr} (19 bytes): Ich hab keine Hunge")
    );

    let (status, lines, stderr) = server.finish();
    assert!(status.success(), "{stderr}");
    assert!(
        lines.contains(&"  as text:  I love jingjing".to_string()),
        "{lines:?}"
    );
    assert_eq!(lines.last().unwrap(), "Ending the UDP server (lesson 01).");
}

/// A UDP client in Python 3: sends each hex-encoded argument as one datagram to 127.0.0.1:PORT
/// and prints the reply as Python shows bytes.
const PYTHON_CLIENT: &str = r#"
import socket, sys
port = int(sys.argv[1])
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    s.settimeout(5)
    for payload in sys.argv[2:]:
        s.sendto(bytes.fromhex(payload), ("127.0.0.1", port))
        reply, sender = s.recvfrom(1000)
        print(repr(reply))
"#;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn answers_a_python_client() {
    let (mut server, addr) = Running::server(&["127.0.0.1:0"]);

    let python = Command::new("python3")
        .args(["-c", PYTHON_CLIENT, &addr.port().to_string()])
        .arg(hex("I love jingjing".as_bytes()))
        .output()
        .expect("python3 is needed for this test");
    assert!(python.status.success(), "python: {python:?}");
    assert_eq!(
        String::from_utf8_lossy(&python.stdout),
        "b'Ich hab keine Hunge'\n"
    );

    let (status, lines, _) = server.finish();
    assert!(status.success());
    assert!(
        lines.contains(&"  as bytes: b'I love jingjing'".to_string()),
        "{lines:?}"
    );
}

/// The server with its stdout closed right after the `listening on` line, as in
/// `lesson01_udp_server | head -2` once `head` has exited: from then on, every write to
/// the server's stdout fails with "Broken pipe". Killed when dropped.
struct StdoutClosed {
    child: Child,
    stderr: Receiver<String>,
}

impl StdoutClosed {
    fn start() -> (StdoutClosed, SocketAddr) {
        let (stdout, writer) = io::pipe().expect("a pipe for the server's stdout");
        let probe = writer.try_clone().expect("a copy of the pipe's write end");
        let mut child = Command::new(SERVER)
            .arg("127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server");
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let (stderr_tx, stderr_rx) = mpsc::channel();
        thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            let _ = stderr_tx.send(text);
        });
        let server = StdoutClosed {
            child,
            stderr: stderr_rx,
        };
        // A thread reads up to `listening on`, so that the wait can time out. The reader is a
        // temporary of the `let`: it is dropped, closing our read end, before the address is sent.
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let addr = BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .find_map(|line| line.strip_prefix("listening on ").map(str::to_string));
            let _ = tx.send(addr);
        });
        let addr = rx
            .recv_timeout(WAIT)
            .expect("a `listening on` line in time")
            .expect("an open stdout until `listening on`")
            .parse()
            .expect("an address after `listening on`");
        wait_until_nobody_reads(probe);
        (server, addr)
    }

    /// Waits at most `WAIT` for the server to exit: its exit status and its stderr.
    fn finish(mut self) -> (ExitStatus, String) {
        let stderr = self
            .stderr
            .recv_timeout(WAIT)
            .expect("the server stops once its stdout is closed");
        let status = self.child.wait().expect("wait for the server");
        (status, stderr)
    }
}

impl Drop for StdoutClosed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Returns once no process has the read end of a pipe open; `probe` is a copy of its write end.
/// Closing our read end is not always enough: a program that another test is starting at that
/// moment holds copies of this process's descriptors until it has started, and meanwhile writes
/// to the pipe still succeed. A write blocks while the pipe is full and fails with "Broken pipe"
/// only when no read end is left anywhere, so we write until that happens.
fn wait_until_nobody_reads(mut probe: PipeWriter) {
    let (done_tx, done) = mpsc::channel();
    thread::spawn(move || {
        loop {
            match probe.write(&[0; 4096]) {
                Err(err) if err.kind() == io::ErrorKind::BrokenPipe => break,
                _ => {} // written (nobody will read it) or interrupted: write again
            }
        }
        let _ = done_tx.send(());
    });
    done.recv_timeout(WAIT)
        .expect("no process reads the pipe any more");
}

#[test]
fn closed_stdout_is_one_error_line_not_a_panic() {
    let (server, addr) = StdoutClosed::start();

    // The datagram makes the server print `received ...` into the closed pipe.
    client_socket()
        .send_to(b"I love jingjing", addr)
        .expect("send to the server");

    let (status, stderr) = server.finish();
    assert_eq!(status.code(), Some(1), "stderr {stderr:?}");
    assert!(one_error_line().eval(&stderr), "{stderr:?}");
    assert!(stderr.contains("could not write to stdout"), "{stderr:?}");
    assert!(!stderr.contains("panicked"), "{stderr:?}");
}
