//! Tests for lesson04_tcp_server: the normal exchange, every robustness promise made in
//! `src/main.rs`, the real lesson 05 client against it, and a Python client against it.
//!
//! Every server listens on 127.0.0.1:0 (a free port chosen by the OS); the tests learn the real
//! port from the server's `listening on` line, so nothing sleeps to wait for readiness and the
//! tests can run in parallel. A `Server` guard kills its process when dropped, even when an
//! assertion fails.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use predicates::prelude::*;

const SERVER: &str = env!("CARGO_BIN_EXE_lesson04_tcp_server");
/// Upper bound for anything that should happen "at once" (generous for a busy machine).
const WAIT: Duration = Duration::from_secs(10);

/// A running lesson04_tcp_server. Dropping it kills the process.
struct Server {
    child: Child,
    addr: SocketAddr,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

impl Server {
    fn start() -> Server {
        Server::start_on("127.0.0.1:0")
    }

    /// Starts the server and waits for its `listening on <addr>` line.
    fn start_on(addr: &str) -> Server {
        let mut child = Command::new(SERVER)
            .arg(addr)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("could not start lesson04_tcp_server");
        let stdout = lines_of(child.stdout.take().expect("stdout is piped"));
        let stderr = lines_of(child.stderr.take().expect("stderr is piped"));
        // The guard exists from here on, so a failure below still kills the process.
        let mut server = Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            stdout,
            stderr,
        };
        assert_eq!(
            server.next_line(),
            "Starting tcp server (press Ctrl-C to stop)"
        );
        let line = server.next_line();
        let bound = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("expected `listening on <addr>`, got {line:?}"));
        server.addr = bound.parse().expect("the bound address is an IP:PORT");
        server
    }

    /// The next line the server printed on stdout (fails the test after `WAIT`).
    fn next_line(&self) -> String {
        match self.stdout.recv_timeout(WAIT) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                panic!("no line on the server's stdout within {WAIT:?}")
            }
            Err(RecvTimeoutError::Disconnected) => {
                let errors: Vec<String> = self.stderr.try_iter().collect();
                panic!("the server closed its stdout; its stderr: {errors:?}")
            }
        }
    }

    /// The next line the server printed on stderr (fails the test after `WAIT`).
    fn next_warning(&self) -> String {
        self.stderr
            .recv_timeout(WAIT)
            .unwrap_or_else(|err| panic!("no line on the server's stderr: {err}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Forwards each line of a pipe into a channel, so tests can wait for a line with a timeout.
fn lines_of(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut line = Vec::new();
        while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
            let text = String::from_utf8_lossy(&line)
                .trim_end_matches('\n')
                .to_string();
            if tx.send(text).is_err() {
                break;
            }
            line.clear();
        }
    });
    rx
}

/// A client written with std::net, like the document's Python client: connect, send, read the
/// reply until the server closes. Returns our own address (the server names it in the reply).
fn exchange(server: SocketAddr, message: &[u8]) -> (SocketAddr, Vec<u8>) {
    let mut stream = TcpStream::connect(server).expect("connect to the server");
    stream.set_read_timeout(Some(WAIT)).expect("set a timeout");
    let local = stream.local_addr().expect("our address");
    stream.write_all(message).expect("send the message");
    let mut reply = Vec::new();
    stream
        .read_to_end(&mut reply)
        .expect("read the whole reply without an error (e.g. no reset)");
    (local, reply)
}

fn reply_for(message: &str, client: SocketAddr) -> String {
    format!("Received msg: {message} from {client}")
}

/// One line on stderr, starting with the program's name and `error:`.
fn one_error_line() -> impl Predicate<str> {
    predicate::str::starts_with("lesson04_tcp_server: error: ")
        .and(predicate::function(|s: &str| s.lines().count() == 1))
}

fn server_cmd() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(SERVER);
    cmd.timeout(WAIT);
    cmd
}

#[test]
fn answers_with_the_exact_reply_bytes() {
    let server = Server::start();
    let (me, reply) = exchange(server.addr, b"I love wangxiaojing");
    let expected = reply_for("I love wangxiaojing", me);
    assert_eq!(String::from_utf8_lossy(&reply), expected);
    assert_eq!(reply, expected.as_bytes());
    assert_eq!(server.next_line(), expected);
}

#[test]
fn serves_several_clients_in_a_row() {
    let server = Server::start();
    for i in 1..=5 {
        let message = format!("message number {i} / 第 {i} 条消息");
        let (me, reply) = exchange(server.addr, message.as_bytes());
        let expected = reply_for(&message, me);
        assert_eq!(reply, expected.as_bytes());
        assert_eq!(server.next_line(), expected);
    }
}

#[test]
fn invalid_utf8_is_answered_lossily_and_the_server_goes_on() {
    let server = Server::start();
    let (me, reply) = exchange(server.addr, b"caf\xff\xfe!");
    assert_eq!(reply, reply_for("caf\u{FFFD}\u{FFFD}!", me).as_bytes());
    let note = server.next_line();
    assert!(
        note.starts_with("note: ") && note.contains("not valid UTF-8"),
        "{note}"
    );
    assert_eq!(server.next_line(), reply_for("caf\u{FFFD}\u{FFFD}!", me));

    let (me, reply) = exchange(server.addr, b"still there?");
    assert_eq!(reply, reply_for("still there?", me).as_bytes());
}

#[test]
fn a_silent_client_delays_the_next_one_by_at_most_the_read_timeout() {
    let server = Server::start();
    let silent = TcpStream::connect(server.addr).expect("connect");
    let silent_addr = silent.local_addr().expect("our address");

    let started = Instant::now();
    let (me, reply) = exchange(server.addr, b"my turn");
    let waited = started.elapsed();
    assert_eq!(reply, reply_for("my turn", me).as_bytes());
    // The server gives the silent client 3 s, then serves us.
    assert!(waited < Duration::from_secs(6), "waited {waited:?}");

    let warning = server.next_warning();
    assert!(
        warning.starts_with("lesson04_tcp_server: warning: ")
            && warning.contains(&silent_addr.to_string())
            && warning.contains("sent nothing within 3 s"),
        "{warning}"
    );
    drop(silent);
}

#[test]
fn a_client_that_connects_and_leaves_does_not_stop_the_server() {
    let server = Server::start();
    let gone = TcpStream::connect(server.addr).expect("connect");
    let gone_addr = gone.local_addr().expect("our address");
    drop(gone);

    let warning = server.next_warning();
    assert!(
        warning.contains(&gone_addr.to_string())
            && warning.contains("closed the connection without sending anything"),
        "{warning}"
    );
    let (me, reply) = exchange(server.addr, b"hello");
    assert_eq!(reply, reply_for("hello", me).as_bytes());
}

#[test]
fn a_client_that_sends_and_leaves_before_the_reply_does_not_stop_the_server() {
    let server = Server::start();
    for _ in 0..3 {
        let mut rude = TcpStream::connect(server.addr).expect("connect");
        rude.write_all(b"bye").expect("send");
        drop(rude);
    }
    // Sending the reply to a client that is gone may or may not fail (a warning on stderr);
    // either way the next client is served.
    let (me, reply) = exchange(server.addr, b"hello");
    let expected = reply_for("hello", me);
    assert_eq!(reply, expected.as_bytes());
    let mut lines = Vec::new();
    while lines.last() != Some(&expected) {
        lines.push(server.next_line());
    }
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(
        lines[..3]
            .iter()
            .all(|l| l.starts_with("Received msg: bye from "))
    );
}

#[test]
fn a_2000_byte_message_gets_its_reply_without_a_reset() {
    let server = Server::start();
    let message = vec![b'x'; 2000];
    // `exchange` fails if the read ends with an error such as "connection reset".
    let (me, reply) = exchange(server.addr, &message);
    let reply = String::from_utf8(reply).expect("the reply is UTF-8");
    let tail = format!(" from {me}");
    let echoed = reply
        .strip_prefix("Received msg: ")
        .and_then(|r| r.strip_suffix(&tail))
        .unwrap_or_else(|| panic!("unexpected reply {reply:?}"));
    // One read of at most 500 bytes, as in the document.
    assert!(
        !echoed.is_empty() && echoed.len() <= 500 && echoed.bytes().all(|b| b == b'x'),
        "{} bytes echoed",
        echoed.len()
    );
    if echoed.len() == 500 {
        let note = server.next_line();
        assert!(note.contains("filled the whole 500-byte buffer"), "{note}");
    }
    assert_eq!(server.next_line(), reply);

    let (me, reply) = exchange(server.addr, b"next");
    assert_eq!(reply, reply_for("next", me).as_bytes());
}

#[test]
fn binding_all_interfaces_is_announced_with_a_warning() {
    let server = Server::start_on("0.0.0.0:0");
    let warning = server.next_warning();
    assert!(
        warning.starts_with("lesson04_tcp_server: warning: listening on all interfaces"),
        "{warning}"
    );
}

#[test]
fn a_port_in_use_is_one_line_naming_the_port() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let addr = taken.local_addr().expect("its address");
    server_cmd().arg(addr.to_string()).assert().code(1).stderr(
        one_error_line()
            .and(predicate::str::contains(format!(
                "port {} is already in use",
                addr.port()
            )))
            .and(predicate::str::contains("127.0.0.1:0")),
    );
}

#[test]
fn a_malformed_address_is_one_line_with_an_example() {
    for bad in ["localhost:8998", "127.0.0.1", "127.0.0.1:99999", "8998", ""] {
        server_cmd().arg(bad).assert().code(1).stderr(
            one_error_line()
                .and(predicate::str::contains("is not an IP:PORT address"))
                .and(predicate::str::contains("example: 127.0.0.1:8998")),
        );
    }
}

#[test]
fn extra_arguments_are_an_error() {
    server_cmd()
        .args(["127.0.0.1:0", "surprise"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(one_error_line().and(predicate::str::contains("too many arguments")));
}

#[test]
fn help_prints_usage_and_exits_0() {
    for flag in ["--help", "-h"] {
        server_cmd()
            .arg(flag)
            .assert()
            .success()
            .stdout(predicate::str::starts_with(
                "Usage: lesson04_tcp_server [ADDR]",
            ))
            .stderr("");
    }
}

/// The real pair: this server and the lesson 05 client binary.
///
/// The client is another package's binary, so Cargo does not hand us its path. It is built
/// into the same target directory, next to this test's own folder: this test runs from
/// `target/<profile>/deps/`, the binaries sit in `target/<profile>/`.
/// `cargo test --workspace` builds every member's binaries before running any test;
/// `cargo test -p lesson04_tcp_server` alone does not build lesson 05.
#[test]
fn the_lesson05_client_talks_to_this_server() {
    let exe = std::env::current_exe().expect("the test's own path");
    let client: PathBuf = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test runs from target/<profile>/deps/")
        .join(format!(
            "lesson05_tcp_client{}",
            std::env::consts::EXE_SUFFIX
        ));
    assert!(
        client.exists(),
        "{} is missing: run cargo test --workspace (builds every lesson)",
        client.display()
    );

    let server = Server::start();
    let output = assert_cmd::Command::new(&client)
        .arg(server.addr.to_string())
        .timeout(WAIT)
        .assert()
        .success()
        .stderr("")
        .get_output()
        .stdout
        .clone();
    let output = String::from_utf8(output).expect("UTF-8 output");
    let first = output.lines().next().unwrap_or_default();
    let me: SocketAddr = first
        .strip_prefix(&format!("connected to {} from ", server.addr))
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
    let expected = reply_for("I love wangxiaojing", me);
    assert_eq!(
        output,
        format!(
            "connected to {} from {me}\nsending: I love wangxiaojing\nreply: {expected}\n",
            server.addr
        )
    );
    assert_eq!(server.next_line(), expected);

    // A message longer than the server's buffer: the client still gets a reply (no reset).
    let long = "x".repeat(2000);
    assert_cmd::Command::new(&client)
        .args([server.addr.to_string(), long])
        .timeout(WAIT)
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "reply: Received msg: {} from ",
            "x".repeat(500)
        )));
}

/// A Python 3 client (the same socket calls the document uses, written for this test) gets the
/// same bytes back from the Rust server.
const PYTHON_CLIENT: &str = r#"
import socket, sys
port, message = int(sys.argv[1]), sys.argv[2]
conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
conn.settimeout(10)
conn.connect(("127.0.0.1", port))
conn.sendall(message.encode("utf-8"))
reply = b""
while True:
    piece = conn.recv(1024)
    if not piece:
        break
    reply += piece
host, me = conn.getsockname()
conn.close()
sys.stdout.buffer.write(f"{host}:{me}\n".encode() + reply)
"#;

#[test]
fn a_python_client_gets_the_same_reply() {
    let server = Server::start();
    for message in ["I love wangxiaojing", "我爱 Python 和 Rust"] {
        let output = assert_cmd::Command::new("python3")
            .args(["-c", PYTHON_CLIENT])
            .arg(server.addr.port().to_string())
            .arg(message)
            .timeout(WAIT)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8(output).expect("UTF-8 output");
        let (me, reply) = text.split_once('\n').expect("two parts");
        let me: SocketAddr = me.parse().expect("the client's address");
        assert_eq!(reply, reply_for(message, me));
        assert_eq!(server.next_line(), reply_for(message, me));
    }
}
