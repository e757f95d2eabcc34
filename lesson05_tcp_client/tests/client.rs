//! Tests for lesson05_tcp_client: the normal exchange against a server written with std::net
//! in the test, every robustness promise made in `src/main.rs`, and a Python server.
//!
//! Every test server listens on 127.0.0.1:0 (a free port chosen by the OS), so the tests can
//! run in parallel; the client is always run with a time limit.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use predicates::prelude::*;

const CLIENT: &str = env!("CARGO_BIN_EXE_lesson05_tcp_client");
/// Upper bound for anything that should happen "at once" (generous for a busy machine).
const WAIT: Duration = Duration::from_secs(10);

fn client() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(CLIENT);
    cmd.timeout(Duration::from_secs(20));
    cmd
}

/// One line on stderr, starting with the program's name and `error:`.
fn one_error_line() -> impl Predicate<str> {
    predicate::str::starts_with("lesson05_tcp_client: error: ")
        .and(predicate::function(|s: &str| s.lines().count() == 1))
}

/// A one-connection server on 127.0.0.1:0, run by `handle` in a thread.
fn serve_once<T: Send + 'static>(
    handle: impl FnOnce(TcpStream, SocketAddr) -> T + Send + 'static,
) -> (SocketAddr, JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let addr = listener.local_addr().expect("its address");
    let thread = thread::spawn(move || {
        let (stream, peer) = listener.accept().expect("accept the client");
        stream.set_read_timeout(Some(WAIT)).expect("set a timeout");
        handle(stream, peer)
    });
    (addr, thread)
}

/// Reads everything the client sends: it says "done" by shutting down its write side.
fn read_request(stream: &mut TcpStream) -> Vec<u8> {
    let mut request = Vec::new();
    stream
        .read_to_end(&mut request)
        .expect("read the message until the client's end-of-stream");
    request
}

/// The document's server, in Rust: reply `Received msg: <message> from <peer>`, then close.
fn answer_like_lesson04(mut stream: TcpStream, peer: SocketAddr) -> Vec<u8> {
    let request = read_request(&mut stream);
    let reply = format!(
        "Received msg: {} from {peer}",
        String::from_utf8_lossy(&request)
    );
    stream.write_all(reply.as_bytes()).expect("send the reply");
    request
}

fn expected_stdout(server: SocketAddr, me: SocketAddr, message: &str) -> String {
    format!(
        "connected to {server} from {me}\nsending: {message}\nreply: Received msg: {message} from {me}\n"
    )
}

#[test]
fn sends_the_default_message_and_prints_the_reply() {
    let (addr, peer) = serve_once(|stream, me| (answer_like_lesson04(stream, me), me));
    let assert = client().arg(addr.to_string()).assert().success().stderr("");
    let (received, me) = peer.join().expect("the test server");
    assert_eq!(received, b"I love wangxiaojing");
    assert_eq!(
        String::from_utf8_lossy(&assert.get_output().stdout),
        expected_stdout(addr, me, "I love wangxiaojing")
    );
}

#[test]
fn sends_the_given_message_as_utf8_bytes() {
    let message = "我爱 wangxiaojing, 2 × 2 = 4";
    let (addr, peer) = serve_once(|stream, me| (answer_like_lesson04(stream, me), me));
    let assert = client()
        .args([addr.to_string().as_str(), message])
        .assert()
        .success();
    let (received, me) = peer.join().expect("the test server");
    assert_eq!(received, message.as_bytes());
    assert_eq!(
        String::from_utf8_lossy(&assert.get_output().stdout),
        expected_stdout(addr, me, message)
    );
}

#[test]
fn a_reply_sent_in_two_pieces_is_printed_whole() {
    let (addr, peer) = serve_once(|mut stream, me| {
        stream.set_nodelay(true).expect("send each write at once");
        read_request(&mut stream);
        stream.write_all(b"Received msg: ").expect("first piece");
        // A pause between the pieces, so they arrive as two separate reads.
        thread::sleep(Duration::from_millis(300));
        stream
            .write_all(format!("I love wangxiaojing from {me}").as_bytes())
            .expect("second piece");
        me
    });
    let assert = client().arg(addr.to_string()).assert().success();
    let me = peer.join().expect("the test server");
    assert_eq!(
        String::from_utf8_lossy(&assert.get_output().stdout),
        expected_stdout(addr, me, "I love wangxiaojing")
    );
}

#[test]
fn a_reply_that_is_not_utf8_is_shown_lossily() {
    let (addr, peer) = serve_once(|mut stream, _| {
        read_request(&mut stream);
        stream.write_all(b"caf\xff!").expect("send");
    });
    client().arg(addr.to_string()).assert().success().stdout(
        predicate::str::contains("note: the reply is not valid UTF-8")
            .and(predicate::str::ends_with("reply: caf\u{FFFD}!\n")),
    );
    peer.join().expect("the test server");
}

#[test]
fn connection_refused_is_one_line_naming_lesson04() {
    // Bind a free port, then free it again: now nothing listens there.
    let addr = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let started = Instant::now();
    client()
        .arg(addr.to_string())
        .assert()
        .code(1)
        .stdout("")
        .stderr(
            one_error_line()
                .and(predicate::str::contains(format!(
                    "nothing is listening on {addr}"
                )))
                .and(predicate::str::contains("cargo run -p lesson04_tcp_server")),
        );
    assert!(started.elapsed() < Duration::from_secs(4), "not immediate");
}

#[test]
fn a_server_that_never_answers_gives_up_after_5_s() {
    let (release, wait_for_release) = mpsc::channel::<()>();
    let (addr, peer) = serve_once(move |mut stream, _| {
        read_request(&mut stream);
        // Keep the connection open, without a word, until the test is done.
        let _ = wait_for_release.recv();
        drop(stream);
    });
    let started = Instant::now();
    client().arg(addr.to_string()).assert().code(1).stderr(
        one_error_line()
            .and(predicate::str::contains(format!(
                "no reply came from {addr} within 5 s"
            )))
            .and(predicate::str::contains("cargo run -p lesson04_tcp_server")),
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(4500) && waited < Duration::from_secs(15),
        "gave up after {waited:?}"
    );
    drop(release);
    peer.join().expect("the test server");
}

#[test]
fn a_server_that_closes_without_answering_is_an_error() {
    let (addr, peer) = serve_once(|mut stream, _| {
        read_request(&mut stream);
    });
    client()
        .arg(addr.to_string())
        .assert()
        .code(1)
        .stderr(one_error_line().and(predicate::str::contains(
            "closed the connection without replying",
        )));
    peer.join().expect("the test server");
}

#[test]
fn a_malformed_address_is_one_line_with_an_example() {
    for bad in ["localhost:8998", "127.0.0.1", "127.0.0.1:99999", "8998", ""] {
        client().arg(bad).assert().code(1).stdout("").stderr(
            one_error_line()
                .and(predicate::str::contains("is not an IP:PORT address"))
                .and(predicate::str::contains("example: 127.0.0.1:8998")),
        );
    }
}

#[test]
fn extra_arguments_are_an_error() {
    client()
        .args(["127.0.0.1:8998", "I", "love", "wangxiaojing"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(one_error_line().and(predicate::str::contains("too many arguments")));
}

#[test]
fn help_prints_usage_and_exits_0() {
    for flag in ["--help", "-h"] {
        client()
            .arg(flag)
            .assert()
            .success()
            .stdout(predicate::str::starts_with(
                "Usage: lesson05_tcp_client [SERVER_ADDR] [MESSAGE]",
            ))
            .stderr("");
    }
}

/// A Python 3 server (the same socket calls the document uses, written for this test): it
/// reads the whole message, answers like lesson 04, and reports the bytes it received in hex.
const PYTHON_SERVER: &str = r#"
import socket, sys
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.bind(("127.0.0.1", 0))
listener.listen()
listener.settimeout(10)
print(f"listening on 127.0.0.1:{listener.getsockname()[1]}", flush=True)
conn, (host, port) = listener.accept()
conn.settimeout(10)
data = b""
while True:
    piece = conn.recv(1024)
    if not piece:
        break
    data += piece
conn.sendall(f"Received msg: {data.decode('utf-8')} from {host}:{port}".encode("utf-8"))
conn.close()
listener.close()
print(f"received {data.hex()} from {host}:{port}", flush=True)
"#;

/// Kills the Python process when dropped, even when an assertion fails.
struct Python(Child);

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn talks_to_a_python_server() {
    for message in ["I love wangxiaojing", "我爱 Rust"] {
        let mut python = Python(
            Command::new("python3")
                .args(["-c", PYTHON_SERVER])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .spawn()
                .expect("python3 runs"),
        );
        let mut lines = BufReader::new(python.0.stdout.take().expect("piped")).lines();
        let first = lines.next().expect("a line").expect("readable");
        let addr: SocketAddr = first
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected line {first:?}"));

        let assert = client()
            .args([addr.to_string().as_str(), message])
            .assert()
            .success();
        let report = lines.next().expect("a line").expect("readable");
        let (hex, me) = report
            .strip_prefix("received ")
            .and_then(|r| r.split_once(" from "))
            .unwrap_or_else(|| panic!("unexpected line {report:?}"));
        let sent: String = message.bytes().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, sent);
        let me: SocketAddr = me.parse().expect("the client's address");
        assert_eq!(
            String::from_utf8_lossy(&assert.get_output().stdout),
            expected_stdout(addr, me, message)
        );
        assert!(python.0.wait().expect("python exits").success());
    }
}
