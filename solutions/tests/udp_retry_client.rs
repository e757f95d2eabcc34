//! Tests for exercise 2, the UDP client that retries.
//! 练习 2（会重试的 UDP 客户端）的测试。
//!
//! The "servers" here are plain sockets in the test, so each test decides exactly which
//! datagrams are lost.
//! 这里的“服务器”就是测试里的普通套接字，这样每个测试都能精确决定丢掉哪些数据报。

mod common;

use std::net::UdpSocket;
use std::thread;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use common::{PATIENCE, Server, udp_socket};
use predicates::prelude::*;

const EXE: &str = env!("CARGO_BIN_EXE_udp_retry_client");

/// A test server that ignores the first `drop` datagrams and answers the next one; returns
/// every datagram it received.
/// 一个测试服务器：忽略前 `drop` 个数据报，回复下一个；返回它收到的所有数据报。
fn lossy_server(drop: usize) -> (UdpSocket, thread::JoinHandle<Vec<Vec<u8>>>) {
    let socket = udp_socket();
    let inside = socket.try_clone().unwrap();
    let handle = thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        while let Ok((len, peer)) = inside.recv_from(&mut buf) {
            seen.push(buf[..len].to_vec());
            if seen.len() > drop {
                inside.send_to(b"Ich hab keine Hunge", peer).unwrap();
                break;
            }
        }
        seen
    });
    (socket, handle)
}

#[test]
fn a_reply_on_the_first_try_needs_no_retry() {
    let (server, handle) = lossy_server(0);
    let addr = server.local_addr().unwrap().to_string();
    Command::new(EXE)
        .args([&addr, "hi", "--wait", "2000"])
        .timeout(PATIENCE)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("try 1/3: sent 2 bytes")
                .and(predicate::str::contains(
                    "on try 1 (19 bytes): Ich hab keine Hunge",
                ))
                .and(predicate::str::contains("no reply").not()),
        );
    assert_eq!(handle.join().unwrap(), vec![b"hi".to_vec()]);
}

#[test]
fn a_lost_first_datagram_is_sent_again() {
    let (server, handle) = lossy_server(1);
    let addr = server.local_addr().unwrap().to_string();
    Command::new(EXE)
        .args([&addr, "I love jingjing", "--wait", "200"])
        .timeout(PATIENCE)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("try 1/3: no reply within 200 ms")
                .and(predicate::str::contains("try 2/3: sent 15 bytes"))
                .and(predicate::str::contains("waiting up to 400 ms"))
                .and(predicate::str::contains(
                    "on try 2 (19 bytes): Ich hab keine Hunge",
                )),
        );
    // The server saw the same message twice: that is what a retry means.
    // 服务器两次收到同一条消息：这就是重试的含义。
    let seen = handle.join().unwrap();
    assert_eq!(seen, vec![b"I love jingjing".to_vec(); 2]);
}

#[test]
fn a_silent_server_gives_a_clear_error_after_the_last_try() {
    let silent = udp_socket();
    let addr = silent.local_addr().unwrap().to_string();
    let started = Instant::now();
    Command::new(EXE)
        .args(["--tries", "3", &addr, "--wait", "100"])
        .timeout(PATIENCE)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("try 3/3: no reply within 400 ms"))
        .stderr(
            predicate::str::starts_with(format!(
                "udp_retry_client: error: no reply from {addr} after 3 tries (waited 100 + 200 + 400 ms)"
            ))
            .and(predicate::str::contains("cargo run -p lesson03_udp_loop_server"))
            .and(predicate::function(|s: &str| s.lines().count() == 1)),
        );
    // 100 + 200 + 400 ms of waiting, and not much more. / 等待 100 + 200 + 400 毫秒，不会多太多。
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(700), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    // All three datagrams did arrive; nobody answered them.
    // 三个数据报都到了，只是没人回答。
    let mut buf = [0u8; 64];
    silent
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut count = 0;
    while silent.recv_from(&mut buf).is_ok() {
        count += 1;
    }
    assert_eq!(count, 3);
}

#[test]
fn a_closed_port_fails_at_once_without_retrying() {
    // A port that was free a moment ago: nothing listens there now.
    // 一个刚才还空闲的端口：现在那里没人监听。
    let addr = udp_socket().local_addr().unwrap().to_string();
    let started = Instant::now();
    Command::new(EXE)
        .args([&addr, "--wait", "1000"])
        .timeout(PATIENCE)
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(format!(
            "udp_retry_client: error: nothing is listening on {addr}"
        )));
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "it did not wait for a timeout"
    );
}

#[test]
fn works_with_the_echo_server_of_exercise_1() {
    let server = Server::start(env!("CARGO_BIN_EXE_udp_echo_server"), &["127.0.0.1:0"]);
    Command::new(EXE)
        .args([&server.addr.to_string(), "ping"])
        .timeout(PATIENCE)
        .assert()
        .success()
        .stdout(predicate::str::contains("on try 1 (4 bytes): ping"));
}

#[test]
fn bad_arguments_are_one_line_errors() {
    for args in [
        &["--tries", "0"][..],
        &["--tries", "many"][..],
        &["--wait"][..],
        &["--wait", "0"][..],
        &["--fast"][..],
        &["localhost:7852"][..],
        &["127.0.0.1:7852", "a", "b"][..],
        &["0.0.0.0:7852"][..],
    ] {
        Command::new(EXE)
            .args(args)
            .timeout(PATIENCE)
            .assert()
            .code(1)
            .stdout("")
            .stderr(
                predicate::str::starts_with("udp_retry_client: error: ")
                    .and(predicate::function(|s: &str| s.lines().count() == 1)),
            );
    }
    Command::new(EXE)
        .arg("-h")
        .assert()
        .success()
        .stdout(predicate::str::contains("--tries N"));
}
