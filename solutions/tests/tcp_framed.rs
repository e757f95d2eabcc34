//! Tests for exercise 5, newline framing over TCP (tcp_framed_server and tcp_framed_client).
//! 练习 5（TCP 上的换行分帧：tcp_framed_server 与 tcp_framed_client）的测试。

mod common;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use assert_cmd::Command;
use common::{PATIENCE, Server};
use predicates::prelude::*;

const SERVER: &str = env!("CARGO_BIN_EXE_tcp_framed_server");
const CLIENT: &str = env!("CARGO_BIN_EXE_tcp_framed_client");

/// A raw connection to the server, with a reader for its reply lines.
/// 一条到服务器的原始连接，附带一个读回复行的 reader。
struct Conn {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    me: SocketAddr,
}

impl Conn {
    fn open(server: SocketAddr) -> Conn {
        let stream = TcpStream::connect(server).unwrap();
        // Send every small write at once instead of waiting to fill a packet (Nagle).
        // 每次小的写入都立即发出，而不是等着凑满一个包（Nagle 算法）。
        stream.set_nodelay(true).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let me = stream.local_addr().unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Conn { stream, reader, me }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
        self.stream.flush().unwrap();
    }

    fn reply(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("a reply line");
        line
    }

    fn expect(&self, message: &str) -> String {
        format!("Received msg: {message} from {}\n", self.me)
    }
}

#[test]
fn a_message_sent_in_pieces_is_answered_once_it_is_complete() {
    let server = Server::start(SERVER, &["127.0.0.1:0"]);
    let mut conn = Conn::open(server.addr);
    conn.send(b"hel");
    // Half a message gets no answer: the server waits for the newline.
    // 半条消息得不到回答：服务器在等换行。
    conn.stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut byte = [0u8; 1];
    let early = conn.stream.read(&mut byte);
    assert!(
        matches!(&early, Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)),
        "the server answered half a message: {early:?}"
    );
    conn.stream.set_read_timeout(Some(PATIENCE)).unwrap();
    // The rest of the message and the start of the next one arrive together.
    // 这条消息的剩余部分和下一条的开头一起到达。
    conn.send(b"lo\nwor");
    assert_eq!(conn.reply(), conn.expect("hello"));
    conn.send(b"ld\n");
    assert_eq!(conn.reply(), conn.expect("world"));
}

#[test]
fn bytes_written_one_at_a_time_make_the_same_messages() {
    let server = Server::start(SERVER, &["127.0.0.1:0"]);
    let mut conn = Conn::open(server.addr);
    for byte in b"first message\nsecond\n" {
        conn.send(&[*byte]);
        // A short pause lets each byte travel on its own instead of queuing up.
        // 短暂停顿，让每个字节单独传送，而不是排在一起。
        thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(conn.reply(), conn.expect("first message"));
    assert_eq!(conn.reply(), conn.expect("second"));
}

#[test]
fn several_messages_in_one_write_are_separated() {
    let mut server = Server::start(SERVER, &["127.0.0.1:0"]);
    let mut conn = Conn::open(server.addr);
    conn.send(b"a\nb\r\n\nc\n");
    assert_eq!(conn.reply(), conn.expect("a"));
    assert_eq!(conn.reply(), conn.expect("b"), "\\r\\n is accepted too");
    assert_eq!(
        conn.reply(),
        conn.expect(""),
        "an empty line is an empty message"
    );
    assert_eq!(conn.reply(), conn.expect("c"));
    conn.stream.shutdown(Shutdown::Write).unwrap();
    assert_eq!(
        conn.reply(),
        "",
        "the server closes after our end of stream"
    );
    server.wait_for_line("is done (messages answered: 4)");
}

#[test]
fn a_last_message_without_newline_is_answered_like_lesson_05() {
    let server = Server::start(SERVER, &["127.0.0.1:0"]);
    let mut conn = Conn::open(server.addr);
    conn.send(b"I love wangxiaojing");
    conn.stream.shutdown(Shutdown::Write).unwrap();
    assert_eq!(conn.reply(), conn.expect("I love wangxiaojing"));
    assert_eq!(conn.reply(), "");
}

#[test]
fn a_message_that_is_too_long_closes_only_that_connection() {
    let server = Server::start(SERVER, &["127.0.0.1:0"]);
    let mut conn = Conn::open(server.addr);
    conn.send(&[b'x'; 501]);
    assert_eq!(
        conn.reply(),
        "error: a message may be at most 500 bytes; closing\n"
    );
    assert_eq!(conn.reply(), "");
    // Closing our side ends the server's graceful close at once.
    // 关闭我们这一端，服务器的正常关闭就立刻结束。
    drop(conn);
    // Exactly 500 bytes is fine, and the server serves the next client.
    // 恰好 500 字节没问题，服务器也会继续服务下一个客户端。
    let mut next = Conn::open(server.addr);
    let longest = "y".repeat(500);
    next.send(format!("{longest}\n").as_bytes());
    assert_eq!(next.reply(), next.expect(&longest));
}

#[test]
fn the_client_sends_several_messages_on_one_connection() {
    let server = Server::start(SERVER, &["127.0.0.1:0"]);
    let addr = server.addr.to_string();
    let output = Command::new(CLIENT)
        .args([&addr, "one", "two words", "three"])
        .timeout(PATIENCE)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let stdout = String::from_utf8(output).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let local = lines[0]
        .strip_prefix(&format!("connected to {addr} from "))
        .expect("first line names both ends");
    assert_eq!(
        lines[1..],
        [
            "sent: one".to_string(),
            format!("reply: Received msg: one from {local}"),
            "sent: two words".to_string(),
            format!("reply: Received msg: two words from {local}"),
            "sent: three".to_string(),
            format!("reply: Received msg: three from {local}"),
        ]
    );
}

#[test]
fn the_client_reports_a_missing_server_and_bad_messages() {
    // A port that was free a moment ago. / 一个刚才还空闲的端口。
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    Command::new(CLIENT)
        .arg(&closed)
        .timeout(PATIENCE)
        .assert()
        .code(1)
        .stderr(
            predicate::str::starts_with(format!(
                "tcp_framed_client: error: nothing is listening on {closed}"
            ))
            .and(predicate::str::contains(
                "cargo run -p solutions --bin tcp_framed_server",
            ))
            .and(predicate::function(|s: &str| s.lines().count() == 1)),
        );
    for args in [&["127.0.0.1:1", "two\nlines"][..], &["localhost:8998"][..]] {
        Command::new(CLIENT)
            .args(args)
            .timeout(PATIENCE)
            .assert()
            .code(1)
            .stdout("")
            .stderr(
                predicate::str::starts_with("tcp_framed_client: error: ")
                    .and(predicate::function(|s: &str| s.lines().count() == 1)),
            );
    }
}

#[test]
fn the_server_reports_a_port_in_use() {
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = holder.local_addr().unwrap().to_string();
    Command::new(SERVER)
        .arg(&taken)
        .timeout(PATIENCE)
        .assert()
        .code(1)
        .stderr(
            predicate::str::starts_with("tcp_framed_server: error: port ")
                .and(predicate::str::contains("already in use"))
                .and(predicate::function(|s: &str| s.lines().count() == 1)),
        );
}
