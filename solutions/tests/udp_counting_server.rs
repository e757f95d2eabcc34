//! Tests for exercise 3, the UDP server that counts its clients.
//! 练习 3（会给客户端计数的 UDP 服务器）的测试。

mod common;

use assert_cmd::Command;
use common::{PATIENCE, Server, udp_ask, udp_ask_text, udp_socket};
use predicates::prelude::*;

const EXE: &str = env!("CARGO_BIN_EXE_udp_counting_server");

#[test]
fn each_address_has_its_own_count() {
    let server = Server::start(EXE, &["127.0.0.1:0"]);
    let a = udp_socket();
    let b = udp_socket();
    let a_addr = a.local_addr().unwrap();
    let b_addr = b.local_addr().unwrap();
    let ask = |socket, text| udp_ask_text(socket, server.addr, text);
    assert_eq!(
        ask(&a, "hi"),
        format!("message 1 from {a_addr} (clients so far: 1)")
    );
    assert_eq!(
        ask(&a, "again"),
        format!("message 2 from {a_addr} (clients so far: 1)")
    );
    assert_eq!(
        ask(&b, "me too"),
        format!("message 1 from {b_addr} (clients so far: 2)")
    );
    assert_eq!(
        ask(&a, "third"),
        format!("message 3 from {a_addr} (clients so far: 2)")
    );
    assert_eq!(
        ask(&b, ""),
        format!("message 2 from {b_addr} (clients so far: 2)")
    );
}

#[test]
fn a_new_socket_is_a_new_client() {
    // What lesson 02 does on every run: a fresh socket, so a fresh ephemeral port.
    // 第 02 课每次运行都是这样：新的套接字，所以是新的临时端口。
    let server = Server::start(EXE, &["127.0.0.1:0"]);
    for expected in 1..=3 {
        let fresh = udp_socket();
        let reply = udp_ask_text(&fresh, server.addr, "I love jingjing");
        assert!(
            reply.starts_with("message 1 from 127.0.0.1:")
                && reply.ends_with(&format!("(clients so far: {expected})")),
            "{reply:?}"
        );
    }
}

#[test]
fn bytes_that_are_not_utf8_are_counted_and_answered() {
    let mut server = Server::start(EXE, &["127.0.0.1:0"]);
    let client = udp_socket();
    let reply = udp_ask(&client, server.addr, b"\xff\x00bad");
    assert!(reply.starts_with(b"message 1 from "), "{reply:?}");
    server.wait_for_line("received 5 bytes from");
}

#[test]
fn bad_arguments_are_one_line_errors() {
    // A socket held by the test, so its port is in use. / 测试占着这个套接字，它的端口就被占用了。
    let holder = udp_socket();
    let taken = holder.local_addr().unwrap().to_string();
    for args in [
        &["7852"][..],
        &["127.0.0.1:1", "extra"][..],
        &[taken.as_str()][..],
    ] {
        Command::new(EXE)
            .args(args)
            .timeout(PATIENCE)
            .assert()
            .code(1)
            .stderr(
                predicate::str::starts_with("udp_counting_server: error: ")
                    .and(predicate::function(|s: &str| s.lines().count() == 1)),
            );
    }
}
