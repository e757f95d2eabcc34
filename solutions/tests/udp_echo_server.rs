//! Tests for exercise 1, the UDP echo server that stops on `quit`.
//! 练习 1（收到 `quit` 就停止的 UDP 回显服务器）的测试。

mod common;

use assert_cmd::Command;
use common::{Server, udp_ask, udp_ask_text, udp_socket};
use predicates::prelude::*;

const EXE: &str = env!("CARGO_BIN_EXE_udp_echo_server");

#[test]
fn echoes_every_datagram_unchanged() {
    let server = Server::start(EXE, &["127.0.0.1:0"]);
    let client = udp_socket();
    assert_eq!(udp_ask_text(&client, server.addr, "hello"), "hello");
    // Bytes that are not UTF-8 come back exactly as they were sent.
    // 不是 UTF-8 的字节也原样返回。
    assert_eq!(udp_ask(&client, server.addr, b"\xff\xfeA"), b"\xff\xfeA");
    // An empty datagram is echoed as an empty datagram. / 空数据报回显为空数据报。
    assert_eq!(udp_ask(&client, server.addr, b""), b"");
    // A second client is served by the same socket. / 同一个套接字也为第二个客户端服务。
    let other = udp_socket();
    assert_eq!(udp_ask_text(&other, server.addr, "second"), "second");
}

#[test]
fn quit_answers_bye_and_ends_with_status_0() {
    let mut server = Server::start(EXE, &["127.0.0.1:0"]);
    let client = udp_socket();
    assert_eq!(udp_ask_text(&client, server.addr, "one"), "one");
    assert_eq!(udp_ask_text(&client, server.addr, "two"), "two");
    // `nc` adds a newline; the server forgives it. / `nc` 会加换行；服务器能容忍。
    assert_eq!(udp_ask_text(&client, server.addr, "quit\n"), "bye");
    let (status, rest) = server.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    assert!(
        rest.contains("Ending the server (datagrams echoed: 2)"),
        "stdout after quit: {rest:?}"
    );
    assert_eq!(server.stderr(), "");
}

#[test]
fn quit_inside_a_longer_message_is_just_echoed() {
    let server = Server::start(EXE, &["127.0.0.1:0"]);
    let client = udp_socket();
    assert_eq!(udp_ask_text(&client, server.addr, "quit now"), "quit now");
    assert_eq!(
        udp_ask_text(&client, server.addr, "still here"),
        "still here"
    );
}

#[test]
fn port_in_use_is_one_clear_line() {
    let taken = udp_socket();
    let addr = taken.local_addr().unwrap().to_string();
    Command::new(EXE)
        .arg(&addr)
        .timeout(common::PATIENCE)
        .assert()
        .code(1)
        .stderr(
            predicate::str::starts_with("udp_echo_server: error: port ")
                .and(predicate::str::contains("already in use"))
                .and(predicate::str::contains("127.0.0.1:0"))
                .and(predicate::str::ends_with("\n"))
                .and(predicate::function(|s: &str| s.lines().count() == 1)),
        );
}

#[test]
fn bad_arguments_are_one_line_errors() {
    for args in [&["localhost"][..], &["127.0.0.1:1", "extra"][..]] {
        Command::new(EXE)
            .args(args)
            .timeout(common::PATIENCE)
            .assert()
            .code(1)
            .stderr(
                predicate::str::starts_with("udp_echo_server: error: ")
                    .and(predicate::function(|s: &str| s.lines().count() == 1)),
            );
    }
    Command::new(EXE)
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Usage: udp_echo_server [ADDR]"));
}
