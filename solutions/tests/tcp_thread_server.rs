//! Tests for exercise 4, the TCP server with one thread per client.
//! 练习 4（每个客户端一个线程的 TCP 服务器）的测试。

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use common::{PATIENCE, Server};
use predicates::prelude::*;

const EXE: &str = env!("CARGO_BIN_EXE_tcp_thread_server");

/// The server's limit, `MAX_ACTIVE` in the solution. / 服务器的上限，即答案里的 `MAX_ACTIVE`。
const MAX_ACTIVE: usize = 32;

/// What lesson 05 does: connect, send, half-close, read everything. Returns the reply and the
/// client's own address.
/// 第 05 课做的事：连接、发送、半关闭、读完全部内容。返回回复和客户端自己的地址。
fn ask(server: SocketAddr, message: &str) -> (String, SocketAddr) {
    let mut stream = TcpStream::connect(server).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let me = stream.local_addr().unwrap();
    stream.write_all(message.as_bytes()).unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let mut reply = String::new();
    stream
        .read_to_string(&mut reply)
        .expect("a reply before the timeout");
    (reply, me)
}

#[test]
fn a_silent_client_does_not_delay_the_next_one() {
    let mut server = Server::start(EXE, &["127.0.0.1:0"]);
    // This client connects and says nothing. Lesson 04 would wait 3 s for it.
    // 这个客户端连上来却什么都不说。第 04 课会为它等 3 秒。
    let silent = TcpStream::connect(server.addr).unwrap();
    server.wait_for_line("(1 active)");

    let started = Instant::now();
    let (reply, me) = ask(server.addr, "hello");
    let elapsed = started.elapsed();
    assert_eq!(reply, format!("Received msg: hello from {me}"));
    assert!(
        elapsed < Duration::from_secs(1),
        "the answer took {elapsed:?}"
    );
    // Both connections were open at the same time. / 两个连接曾同时打开。
    server.wait_for_line("(2 active)");
    drop(silent);
}

#[test]
fn many_clients_at_once_each_get_their_own_answer() {
    let server = Server::start(EXE, &["127.0.0.1:0"]);
    let addr = server.addr;
    let handles: Vec<_> = (0..10)
        .map(|i| thread::spawn(move || (i, ask(addr, &format!("message {i}")))))
        .collect();
    for handle in handles {
        let (i, (reply, me)) = handle.join().unwrap();
        assert_eq!(reply, format!("Received msg: message {i} from {me}"));
    }
}

#[test]
fn beyond_the_limit_a_client_is_told_to_come_back_later() {
    let mut server = Server::start(EXE, &["127.0.0.1:0"]);
    // MAX_ACTIVE silent clients fill every place; each holds its thread for up to 3 s.
    // MAX_ACTIVE 个不说话的客户端占满所有位置；每个都会占着自己的线程最多 3 秒。
    let silent: Vec<TcpStream> = (0..MAX_ACTIVE)
        .map(|_| TcpStream::connect(server.addr).unwrap())
        .collect();
    server.wait_for_line(&format!("({MAX_ACTIVE} active)"));
    let (reply, _) = ask(server.addr, "me too?");
    assert_eq!(reply, "server busy: too many clients, try again later");
    // When one place is free again, clients are served again.
    // 一旦空出一个位置，客户端又能得到服务。
    let mut first = silent.into_iter().next().unwrap();
    first.write_all(b"now I speak").unwrap();
    first.shutdown(Shutdown::Write).unwrap();
    let mut answer = String::new();
    first.set_read_timeout(Some(PATIENCE)).unwrap();
    first.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("Received msg: now I speak from "),
        "{answer:?}"
    );
    // Its thread ends as soon as it has closed; then there is room for one more.
    // 它的线程在关闭后就结束；于是又能容纳一个客户端。
    drop(first);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (reply, me) = ask(server.addr, "and now?");
        if reply == format!("Received msg: and now? from {me}") {
            break;
        }
        assert!(Instant::now() < deadline, "still busy: {reply:?}");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn port_in_use_and_bad_arguments_are_one_line_errors() {
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = holder.local_addr().unwrap().to_string();
    for args in [
        &[taken.as_str()][..],
        &["127.0.0.1"][..],
        &["127.0.0.1:1", "x"][..],
    ] {
        Command::new(EXE)
            .args(args)
            .timeout(PATIENCE)
            .assert()
            .code(1)
            .stderr(
                predicate::str::starts_with("tcp_thread_server: error: ")
                    .and(predicate::function(|s: &str| s.lines().count() == 1)),
            );
    }
    Command::new(EXE)
        .arg(&taken)
        .timeout(PATIENCE)
        .assert()
        .stderr(predicate::str::contains("already in use"));
}
