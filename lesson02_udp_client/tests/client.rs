//! Tests for lesson 02: the UDP client, facing a server written with `std::net` in the test,
//! a silent socket (no server), and a small Python server.
//!
//! Every server here listens on 127.0.0.1:0, so tests never fight over ports; the client always
//! gives up after 5 s, so no test can hang.

use std::io::{self, BufRead, BufReader, PipeWriter, Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use predicates::prelude::*;

const CLIENT: &str = env!("CARGO_BIN_EXE_lesson02_udp_client");
const REPLY: &[u8] = b"Ich hab keine Hunge";
/// The longest any single step of a test may take (the client's own timeout is 5 s).
const WAIT: Duration = Duration::from_secs(10);

/// A program started by a test, killed when dropped, so a failing assertion leaves nothing
/// behind.
struct Running(Option<Child>);

impl Running {
    fn spawn(mut cmd: Command) -> Running {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = cmd
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {cmd:?}: {err}"));
        Running(Some(child))
    }

    /// The client of this lesson, started with `args`.
    fn client(args: &[&str]) -> Running {
        let mut cmd = Command::new(CLIENT);
        cmd.args(args);
        Running::spawn(cmd)
    }

    /// Waits for the program to end and collects what it printed.
    fn output(mut self) -> Output {
        let child = self.0.take().expect("not waited for yet");
        child.wait_with_output().expect("wait for the program")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A stand-in server on loopback that never waits more than `WAIT`.
fn test_server() -> (UdpSocket, SocketAddr) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a test server");
    socket.set_read_timeout(Some(WAIT)).expect("set timeout");
    let addr = socket.local_addr().unwrap();
    (socket, addr)
}

/// Receives one datagram (the client's message) and answers it with `reply`.
fn serve_once(server: &UdpSocket, reply: &[u8]) -> (Vec<u8>, SocketAddr) {
    let mut buf = [0u8; 2000];
    let (len, peer) = server
        .recv_from(&mut buf)
        .expect("the client's datagram within the time limit");
    server.send_to(reply, peer).expect("answer the client");
    (buf[..len].to_vec(), peer)
}

fn stdout_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Exactly one line on stderr, starting with the program's error prefix.
fn one_error_line() -> impl Predicate<str> {
    predicate::function(|err: &str| {
        err.starts_with("lesson02_udp_client: error: ")
            && err.ends_with('\n')
            && err.lines().count() == 1
    })
}

fn run_client(args: &[&str]) -> assert_cmd::assert::Assert {
    assert_cmd::Command::new(CLIENT)
        .args(args)
        .timeout(Duration::from_secs(15))
        .assert()
}

#[test]
fn sends_the_default_message_and_prints_the_reply() {
    let (server, addr) = test_server();
    let client = Running::client(&[&addr.to_string()]);

    let (received, peer) = serve_once(&server, REPLY);
    assert_eq!(
        received, b"I love jingjing",
        "exact bytes, no newline added"
    );
    assert_eq!(
        peer.ip().to_string(),
        "127.0.0.1",
        "loopback server, loopback client"
    );

    let output = client.output();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        stdout_lines(&output),
        [
            format!("sent to {addr} from {peer} (15 bytes): I love jingjing"),
            format!("received from {addr} (19 bytes): Ich hab keine Hunge"),
        ]
    );
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn sends_a_given_message_as_utf8_bytes() {
    let (server, addr) = test_server();
    let client = Running::client(&[&addr.to_string(), "你好, UDP"]);

    let (received, _) = serve_once(&server, REPLY);
    assert_eq!(received, "你好, UDP".as_bytes());

    let output = client.output();
    assert!(output.status.success(), "{output:?}");
    assert!(stdout_lines(&output)[0].ends_with("(11 bytes): 你好, UDP"));
}

#[test]
fn sends_an_empty_message() {
    let (server, addr) = test_server();
    let client = Running::client(&[&addr.to_string(), ""]);

    let (received, _) = serve_once(&server, REPLY);
    assert!(received.is_empty());

    let output = client.output();
    assert!(output.status.success(), "{output:?}");
    assert!(stdout_lines(&output)[0].ends_with("(0 bytes): "));
}

#[test]
fn one_byte_is_counted_in_the_singular() {
    let (server, addr) = test_server();
    let client = Running::client(&[&addr.to_string(), "!"]);

    let (_, peer) = serve_once(&server, b"?");

    let output = client.output();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        stdout_lines(&output),
        [
            format!("sent to {addr} from {peer} (1 byte): !"),
            format!("received from {addr} (1 byte): ?"),
        ]
    );
}

#[test]
fn invalid_utf8_reply_is_shown_lossily() {
    let (server, addr) = test_server();
    let client = Running::client(&[&addr.to_string()]);

    serve_once(&server, b"ok\xff");

    let output = client.output();
    assert!(output.status.success(), "{output:?}");
    let lines = stdout_lines(&output);
    assert_eq!(
        lines[1],
        format!("received from {addr} (3 bytes): ok\u{FFFD}")
    );
    assert!(lines[2].contains("not valid UTF-8"), "{lines:?}");
}

#[test]
fn oversized_reply_is_truncated_with_a_note() {
    let (server, addr) = test_server();
    let client = Running::client(&[&addr.to_string()]);

    serve_once(&server, &[b'z'; 300]);

    let output = client.output();
    assert!(output.status.success(), "{output:?}");
    let lines = stdout_lines(&output);
    assert!(lines[1].starts_with(&format!("received from {addr} (200 bytes): zzz")));
    assert!(lines[2].contains("200-byte buffer is full"), "{lines:?}");
}

#[test]
fn gives_up_after_5_s_when_no_server_answers() {
    // A socket that is bound (so nothing on this machine rejects the datagram) but never
    // answers: exactly what a client sees when the server is not running.
    let (_silent, addr) = test_server();
    let started = Instant::now();

    run_client(&[&addr.to_string()])
        .code(1)
        .stderr(one_error_line())
        .stderr(predicate::str::contains(format!(
            "no reply came from {addr} within 5 s"
        )))
        .stderr(predicate::str::contains(
            "the server is probably not running",
        ))
        .stderr(predicate::str::contains(format!(
            "cargo run -p lesson01_udp_server -- {addr}"
        )))
        .stderr(predicate::str::contains("lesson03_udp_loop_server"));

    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(4500) && waited < WAIT,
        "{waited:?}"
    );
}

#[test]
fn malformed_addresses_are_one_line_with_an_example() {
    for bad in ["nonsense", "127.0.0.1:99999", "hello"] {
        run_client(&[bad])
            .code(1)
            .stdout("")
            .stderr(one_error_line())
            .stderr(predicate::str::contains(format!(
                "invalid server address `{bad}`"
            )))
            .stderr(predicate::str::contains("127.0.0.1:7852"));
    }
}

#[test]
fn extra_arguments_are_refused_with_a_hint_about_quotes() {
    run_client(&["127.0.0.1:7852", "hello", "world"])
        .code(1)
        .stdout("")
        .stderr(one_error_line())
        .stderr(predicate::str::contains(
            "too many arguments (unexpected: world)",
        ))
        .stderr(predicate::str::contains("in quotes"));
}

#[test]
fn help_prints_usage_and_exits_zero() {
    for flag in ["--help", "-h"] {
        run_client(&[flag])
            .success()
            .stdout(predicate::str::starts_with(
                "Usage: lesson02_udp_client [SERVER_ADDR] [MESSAGE]",
            ))
            .stderr("");
    }
}

#[test]
fn unspecified_server_address_means_this_machine_with_a_warning() {
    let (server, addr) = test_server();
    let client = Running::client(&[&format!("0.0.0.0:{}", addr.port())]);

    let (received, _) = serve_once(&server, REPLY);
    assert_eq!(received, b"I love jingjing");

    let output = client.output();
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(
        stderr.starts_with(&format!(
            "lesson02_udp_client: warning: 0.0.0.0:{} is an address for servers to bind",
            addr.port()
        )),
        "{stderr:?}"
    );
    assert!(stdout_lines(&output)[0].starts_with(&format!("sent to {addr} from")));
}

/// A UDP server in Python 3: binds 127.0.0.1:0, announces its address, receives one datagram,
/// prints it in hex, and answers with the lesson's reply.
const PYTHON_SERVER: &str = r#"
import socket
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    s.bind(("127.0.0.1", 0))
    s.settimeout(10)
    host, port = s.getsockname()
    print(f"listening on {host}:{port}", flush=True)
    data, peer = s.recvfrom(500)
    print(data.hex(), flush=True)
    s.sendto("Ich hab keine Hunge".encode("utf-8"), peer)
"#;

/// Lines printed by `child` on stdout, through a channel so that reading can time out.
fn line_channel(child: &mut Child) -> Receiver<String> {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

#[test]
fn talks_with_a_python_server() {
    let mut cmd = Command::new("python3");
    cmd.args(["-c", PYTHON_SERVER]);
    let mut python = Running::spawn(cmd);
    let child = python.0.as_mut().unwrap();
    let lines = line_channel(child);
    let first = lines.recv_timeout(WAIT).unwrap_or_else(|_| {
        let mut err = String::new();
        let _ = child.stderr.take().unwrap().read_to_string(&mut err);
        panic!("the Python server did not start (python3 is needed for this test): {err}")
    });
    let addr: SocketAddr = first
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"));

    let output = Running::client(&[&addr.to_string(), "I love jingjing"]).output();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        stdout_lines(&output)[1],
        format!("received from {addr} (19 bytes): Ich hab keine Hunge")
    );

    let received = lines.recv_timeout(WAIT).expect("Python prints what it got");
    assert_eq!(
        received, "49206c6f7665206a696e676a696e67",
        "b'I love jingjing'"
    );
    assert!(python.output().status.success());
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
    let (server, addr) = test_server();
    // The client's stdout is a pipe whose read end is closed before the client starts, as in
    // `lesson02_udp_client | true` once `true` has exited: its first line, `sent to`, already
    // goes into the closed pipe.
    let (stdout, writer) = io::pipe().expect("a pipe for the client's stdout");
    let probe = writer.try_clone().expect("a copy of the pipe's write end");
    drop(stdout);
    wait_until_nobody_reads(probe);
    let child = Command::new(CLIENT)
        .arg(addr.to_string())
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the client");
    let client = Running(Some(child));

    let (received, _) = serve_once(&server, REPLY);
    assert_eq!(received, b"I love jingjing", "it fails only when it prints");

    let output = client.output();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(one_error_line().eval(&stderr), "{stderr:?}");
    assert!(stderr.contains("could not write to stdout"), "{stderr:?}");
    assert!(!stderr.contains("panicked"), "{stderr:?}");
}
