//! Tests for lesson 03: the UDP server that serves forever, driven by clients written with
//! `std::net`, by the real client of lesson 02 (several times in a row), and by a small Python
//! client. The server never exits by itself, so every test stops it (also when it fails).
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

const SERVER: &str = env!("CARGO_BIN_EXE_lesson03_udp_loop_server");
const REPLY: &[u8] = b"Ich hab keine Hunge";
/// The longest any single step of a test may take.
const WAIT: Duration = Duration::from_secs(5);

/// A running server. Its stdout lines arrive through a channel so that reading never blocks
/// for ever; it is killed when dropped, so a failing assertion leaves nothing behind.
struct Running {
    child: Child,
    lines: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
    seen: Vec<String>,
}

impl Running {
    /// The server of this lesson, started with `args`, once it has printed `listening on`.
    fn server(args: &[&str]) -> (Running, SocketAddr) {
        let mut child = Command::new(SERVER)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server");
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
        let mut server = Running {
            child,
            lines,
            stderr: Some(stderr),
            seen: Vec::new(),
        };
        while let Some(line) = server.next_line() {
            if let Some((_, addr)) = line.split_once("listening on ") {
                let addr = addr
                    .trim()
                    .parse()
                    .expect("an address after `listening on`");
                return (server, addr);
            }
        }
        let (_, stderr) = server.stop();
        panic!("the server exited before listening: {stderr}");
    }

    /// The next stdout line; `None` once the server has closed its stdout (it exited).
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

    /// The lines of one exchange: everything up to and including `#N sent the reply ...`.
    fn exchange_lines(&mut self, n: u64) -> Vec<String> {
        let mut lines = Vec::new();
        let end = format!("#{n} sent the reply to ");
        while let Some(line) = self.next_line() {
            let done = line.starts_with(&end);
            lines.push(line);
            if done {
                return lines;
            }
        }
        panic!("the server stopped during exchange #{n}: {lines:?}")
    }

    fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops the server: the remaining stdout lines and everything it wrote on stderr.
    fn stop(&mut self) -> (Vec<String>, String) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let rest = self.lines.try_iter().collect();
        let stderr = self
            .stderr
            .take()
            .map(|reader| reader.join().unwrap_or_default())
            .unwrap_or_default();
        (rest, stderr)
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
        err.starts_with("lesson03_udp_loop_server: error: ")
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
fn serves_several_clients_in_a_row() {
    let (mut server, addr) = Running::server(&["127.0.0.1:0"]);
    assert_eq!(
        server.seen,
        [
            "Starting the UDP server (lesson 03); it serves until you stop it with Ctrl+C..."
                .to_string(),
            format!("listening on {addr}"),
        ]
    );

    for (n, message) in [(1, "first"), (2, "second"), (3, "third")] {
        let socket = client_socket();
        let peer = socket.local_addr().unwrap();
        assert_eq!(exchange(&socket, addr, message.as_bytes()), REPLY);
        assert_eq!(
            server.exchange_lines(n),
            [
                format!("#{n} received {} bytes from {peer}", message.len()),
                format!("  as bytes: b'{message}'"),
                format!("  as text:  {message}"),
                format!("#{n} sent the reply to {peer}: Ich hab keine Hunge"),
            ]
        );
    }
    assert!(server.is_running(), "a loop server keeps running");
    let (_, stderr) = server.stop();
    assert_eq!(stderr, "");
}

#[test]
fn keeps_serving_after_invalid_utf8() {
    let (mut server, addr) = Running::server(&["127.0.0.1:0"]);
    let socket = client_socket();

    assert_eq!(exchange(&socket, addr, b"\xc3\x28 bad"), REPLY);
    let lines = server.exchange_lines(1);
    assert!(
        lines.contains(&"  as bytes: b'\\xc3( bad'".to_string()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"  as text:  \u{FFFD}( bad".to_string()),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("not valid UTF-8")),
        "{lines:?}"
    );

    assert_eq!(exchange(&socket, addr, b"still there?"), REPLY);
    let lines = server.exchange_lines(2);
    assert!(
        lines.contains(&"  as text:  still there?".to_string()),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.contains("note:")), "{lines:?}");
}

#[test]
fn keeps_serving_after_an_empty_datagram() {
    let (mut server, addr) = Running::server(&["127.0.0.1:0"]);
    let socket = client_socket();

    assert_eq!(exchange(&socket, addr, b""), REPLY);
    let lines = server.exchange_lines(1);
    assert!(
        lines[0].starts_with("#1 received 0 bytes from"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("the datagram is empty")),
        "{lines:?}"
    );

    assert_eq!(exchange(&socket, addr, b"next"), REPLY);
    assert!(server.exchange_lines(2)[0].starts_with("#2 received 4 bytes from"));
}

#[test]
fn one_byte_is_counted_in_the_singular() {
    let (mut server, addr) = Running::server(&["127.0.0.1:0"]);
    let socket = client_socket();
    let peer = socket.local_addr().unwrap();

    assert_eq!(exchange(&socket, addr, b"!"), REPLY);
    assert_eq!(
        server.exchange_lines(1)[0],
        format!("#1 received 1 byte from {peer}")
    );
    assert_eq!(exchange(&socket, addr, b"!!"), REPLY);
    assert_eq!(
        server.exchange_lines(2)[0],
        format!("#2 received 2 bytes from {peer}")
    );
}

#[test]
fn truncates_an_oversized_datagram_and_drops_the_rest() {
    let (mut server, addr) = Running::server(&["127.0.0.1:0"]);
    let socket = client_socket();

    assert_eq!(exchange(&socket, addr, &[b'x'; 600]), REPLY);
    let lines = server.exchange_lines(1);
    assert!(
        lines[0].starts_with("#1 received 500 bytes from"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("500-byte buffer is full")),
        "{lines:?}"
    );

    // The 100 bytes that did not fit are gone: the next receive gets the next datagram.
    assert_eq!(exchange(&socket, addr, b"after"), REPLY);
    let lines = server.exchange_lines(2);
    assert!(
        lines[0].starts_with("#2 received 5 bytes from"),
        "{lines:?}"
    );
    assert_eq!(lines[2], "  as text:  after");
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
    for bad in ["nonsense", "127.0.0.1:99999", "::1:7852"] {
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
    run_server(&["127.0.0.1:0", "127.0.0.1:1"])
        .code(1)
        .stdout("")
        .stderr(one_error_line())
        .stderr(predicate::str::contains(
            "too many arguments (unexpected: 127.0.0.1:1)",
        ));
}

#[test]
fn help_prints_usage_and_exits_zero() {
    for flag in ["--help", "-h"] {
        run_server(&[flag])
            .success()
            .stdout(predicate::str::starts_with(
                "Usage: lesson03_udp_loop_server [ADDR]",
            ))
            .stderr("");
    }
}

#[test]
fn binding_all_interfaces_is_announced_on_stderr() {
    let (mut server, addr) = Running::server(&["0.0.0.0:0"]);
    let socket = client_socket();
    let local = SocketAddr::from(([127, 0, 0, 1], addr.port()));

    assert_eq!(exchange(&socket, local, b"hello"), REPLY);
    server.exchange_lines(1);

    let (_, stderr) = server.stop();
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(
        stderr.starts_with("lesson03_udp_loop_server: warning: bound to 0.0.0.0:"),
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
fn serves_the_real_client_of_lesson02_three_times() {
    let (mut server, addr) = Running::server(&["127.0.0.1:0"]);
    let client = sibling_binary("lesson02_udp_client");

    for (n, message) in [(1, "I love jingjing"), (2, "one more"), (3, "and the last")] {
        let output = Command::new(&client)
            .args([&addr.to_string(), message])
            .output()
            .expect("run lesson02_udp_client");
        assert!(output.status.success(), "client #{n}: {output:?}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].ends_with(&format!("({} bytes): {message}", message.len())));
        assert_eq!(
            lines[1],
            format!("received from {addr} (19 bytes): Ich hab keine Hunge")
        );

        let served = server.exchange_lines(n);
        assert_eq!(served[2], format!("  as text:  {message}"), "{served:?}");
    }
    assert!(server.is_running());
}

/// A UDP client in Python 3: sends each hex-encoded argument as one datagram to 127.0.0.1:PORT
/// and prints each reply as Python shows bytes.
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
fn serves_a_python_client_including_bad_bytes() {
    let (mut server, addr) = Running::server(&["127.0.0.1:0"]);
    let payloads: [&[u8]; 3] = [b"I love jingjing", b"\xff\xfe", "你好".as_bytes()];

    let python = Command::new("python3")
        .args(["-c", PYTHON_CLIENT, &addr.port().to_string()])
        .args(payloads.iter().map(|p| hex(p)))
        .output()
        .expect("python3 is needed for this test");
    assert!(python.status.success(), "python: {python:?}");
    assert_eq!(
        String::from_utf8_lossy(&python.stdout),
        "b'Ich hab keine Hunge'\n".repeat(3)
    );

    assert_eq!(server.exchange_lines(1)[2], "  as text:  I love jingjing");
    assert_eq!(server.exchange_lines(2)[2], "  as text:  \u{FFFD}\u{FFFD}");
    let third = server.exchange_lines(3);
    assert_eq!(third[1], "  as bytes: b'\\xe4\\xbd\\xa0\\xe5\\xa5\\xbd'");
    assert_eq!(third[2], "  as text:  你好");
    assert!(server.is_running());
}

/// The server with its stdout closed right after the `listening on` line, as in
/// `lesson03_udp_loop_server | head -2` once `head` has exited: from then on, every write to
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
fn closed_stdout_stops_the_server_with_one_error_line_not_a_panic() {
    let (server, addr) = StdoutClosed::start();

    // The datagram makes the server print `#1 received ...` into the closed pipe. Unlike a
    // failed receive, this is not about one datagram: the server cannot report anything any
    // more, so it stops.
    client_socket()
        .send_to(b"I love jingjing", addr)
        .expect("send to the server");

    let (status, stderr) = server.finish();
    assert_eq!(status.code(), Some(1), "stderr {stderr:?}");
    assert!(one_error_line().eval(&stderr), "{stderr:?}");
    assert!(stderr.contains("could not write to stdout"), "{stderr:?}");
    assert!(!stderr.contains("panicked"), "{stderr:?}");
}
