//! Exercise 1 (lessons 01 and 03): a UDP echo server that stops cleanly when asked.
//! 练习 1（第 01、03 课）：一个收到请求就干净退出的 UDP 回显服务器。
//!
//! Lesson 01 answers one datagram and exits; lesson 03 answers for ever and can only be killed
//! with Ctrl+C. This server sits in between: it sends every datagram back to its sender
//! unchanged (an "echo"), until a client on this machine sends `quit`. Then it answers `bye`,
//! leaves its loop, prints a summary and exits with status 0, like a program that finished.
//! 第 01 课回复一个数据报就退出；第 03 课永远回复下去，只能用 Ctrl+C 杀掉。这个服务器介于两者之间：
//! 它把每个数据报原样发回给发送方（即“回显”），直到本机的某个客户端发来 `quit`。这时它回复 `bye`，
//! 离开循环，打印一行总结，并以退出码 0 结束，就像一个正常完成任务的程序。
//!
//! ```text
//! cargo run -p solutions --bin udp_echo_server                       # 127.0.0.1:7852
//! cargo run -p lesson02_udp_client -- 127.0.0.1:7852 "hello"          # prints: hello
//! cargo run -p lesson02_udp_client -- 127.0.0.1:7852 quit             # prints: bye; the server ends
//! ```
//!
//! Anchors shown in the book / 书中引用的锚点:
//! `setup` (constants), `signature` (the function to write / 要写的函数), `solution` (its body /
//! 完整的函数), `quit` (the stop check / 停止判断), `echo` (sending the bytes back / 原样发回),
//! `main_loop` (how `run` uses it / `run` 如何调用它), `errors`, `args`, `port_in_use`.

use std::ffi::OsString;
use std::io::{self, Write};
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};

/// The name used at the start of every error and warning line.
/// 每一行错误和警告开头使用的程序名。
const PROGRAM: &str = "udp_echo_server";

/// Lesson 01's address, so lesson 02's client talks to this server without options.
/// 与第 01 课相同的地址，这样第 02 课的客户端不加参数就能和它对话。
const DEFAULT_ADDR: &str = "127.0.0.1:7852";

// ANCHOR: setup
/// How many bytes one `recv_from` can take (lesson 01's `recvfrom(500)`).
/// 一次 `recv_from` 最多能接收多少字节（第 01 课的 `recvfrom(500)`）。
const BUFFER_SIZE: usize = 500;

/// The message that stops the server, and the answer it gets.
/// 让服务器停止的消息，以及对它的回答。
const QUIT: &[u8] = b"quit";
const BYE: &[u8] = b"bye";
// ANCHOR_END: setup

const USAGE: &str = "\
Usage: udp_echo_server [ADDR]

Sends every UDP datagram received on ADDR back to its sender, until a client on this machine
sends `quit`; then answers `bye` and exits.
把 ADDR 上收到的每个 UDP 数据报原样发回给发送方，直到本机的客户端发来 `quit`；然后回复 `bye` 并退出。

  ADDR        IP:PORT to bind (default 127.0.0.1:7852); 127.0.0.1:0 picks a free port
  -h, --help  print this help
";

// ANCHOR: errors
/// `main` turns the result of `run` into an exit status: ONE line on stderr and status 1 on
/// failure. 0 after `quit`: stopping on request is a success, not an error.
/// `main` 把 `run` 的结果变成退出码：失败时在标准错误上输出一行，退出码 1。
/// 收到 `quit` 后退出码为 0：按要求停止是成功，而不是错误。
fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{PROGRAM}: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
// ANCHOR_END: errors

fn run() -> Result<()> {
    let Some(addr) = parse_args(std::env::args_os().skip(1))? else {
        print!("{USAGE}");
        return Ok(());
    };

    println!("Starting the UDP echo server; send `quit` from this machine to stop it");

    // Steps 1 and 2 of lesson 01 in one call: create the socket and bind it.
    // 第 01 课的第 1、2 步合成一次调用：创建套接字并绑定。
    let socket = UdpSocket::bind(addr).map_err(|err| explain_bind_error(addr, err))?;
    let local = socket
        .local_addr()
        .context("cannot read the bound address")?;
    if local.ip().is_unspecified() {
        eprintln!(
            "{PROGRAM}: warning: bound to {local}: every network interface, so other machines \
             can send to it; use 127.0.0.1:{} to stay local",
            local.port()
        );
    }
    println!("listening on {local}");
    io::stdout().flush().context("cannot write to stdout")?;

    // ANCHOR: main_loop
    // `serve` returns only when a client asked us to stop, or when the socket is broken. Code
    // after it runs, unlike code after lesson 03's endless loop: here is the place to print a
    // summary, save state, or close files. The socket itself is closed when `socket` is dropped.
    // `serve` 只在客户端要求停止、或套接字坏掉时才返回。它后面的代码会被执行，这和第 03 课死循环
    // 后面的代码不同：这里可以打印总结、保存状态或关闭文件。套接字本身在 `socket` 被丢弃时关闭。
    let served = serve(&socket)?;
    println!("Ending the server (datagrams echoed: {served})");
    // ANCHOR_END: main_loop
    Ok(())
}

// ANCHOR: solution
// ANCHOR: signature
/// Echoes datagrams until a `quit` from this machine arrives; returns how many were echoed.
/// 回显数据报，直到收到来自本机的 `quit`；返回回显了多少个。
fn serve(socket: &UdpSocket) -> Result<u64> {
    // ANCHOR_END: signature
    let mut buf = [0u8; BUFFER_SIZE];
    let mut echoed: u64 = 0;
    let mut failures_in_a_row = 0;
    loop {
        // Lesson 03's step 3. A failed receive concerns one datagram: warn and go on, unless it
        // keeps failing, which means the socket itself is broken.
        // 第 03 课的第 3 步。接收失败只关系到一个数据报：警告后继续；如果一直失败，说明套接字本身坏了。
        let (len, peer) = match socket.recv_from(&mut buf) {
            Ok(received) => {
                failures_in_a_row = 0;
                received
            }
            Err(err) => {
                failures_in_a_row += 1;
                if failures_in_a_row >= 10 {
                    return Err(anyhow!(err).context("receiving failed 10 times in a row"));
                }
                eprintln!("{PROGRAM}: warning: receiving a datagram failed: {err}; still serving");
                continue;
            }
        };
        let data = &buf[..len];
        let text = String::from_utf8_lossy(data);

        // ANCHOR: quit
        // A datagram is a whole message, so "is this `quit`?" is one comparison: no partial
        // reads as with TCP. `trim_ascii` forgives the newline that tools such as `nc` add.
        // Only a sender on this machine (a loopback address) may stop the server: if it is
        // bound to 0.0.0.0, anyone on the network could otherwise turn it off.
        // 一个数据报就是一条完整的消息，所以“这是不是 `quit`？”只需比较一次：不像 TCP 那样会读到半条。
        // `trim_ascii` 容忍 `nc` 等工具在末尾加的换行。只有本机（回环地址）的发送方才能停止服务器：
        // 否则在绑定 0.0.0.0 时，网络上的任何人都能把它关掉。
        if data.trim_ascii() == QUIT {
            if peer.ip().is_loopback() {
                println!("quit from {peer}: answering `bye` and stopping");
                if let Err(err) = socket.send_to(BYE, peer) {
                    eprintln!("{PROGRAM}: warning: sending `bye` to {peer} failed: {err}");
                }
                return Ok(echoed);
            }
            println!("quit from {peer} refused: only this machine may stop the server");
            let refusal = b"quit refused: only the server's own machine may stop it";
            if let Err(err) = socket.send_to(refusal, peer) {
                eprintln!("{PROGRAM}: warning: sending the refusal to {peer} failed: {err}");
            }
            continue;
        }
        // ANCHOR_END: quit

        // ANCHOR: echo
        // Echo: send back exactly the bytes we received, not the lossy text: the client gets
        // its own bytes even when they are not UTF-8. An empty datagram is echoed as an empty
        // datagram. A full buffer means the datagram may have been cut (lesson 03, truncation).
        // 回显：原样发回收到的字节，而不是有损解码后的文字：即使不是 UTF-8，客户端也能拿回自己的字节。
        // 空数据报就回显一个空数据报。缓冲区满了说明数据报可能被截断了（第 03 课，截断）。
        match socket.send_to(data, peer) {
            Ok(_) => {
                echoed += 1;
                println!("#{echoed} echoed {len} bytes to {peer}: {text}");
            }
            Err(err) => eprintln!("{PROGRAM}: warning: echoing to {peer} failed: {err}"),
        }
        if len == BUFFER_SIZE {
            println!("  note: the {BUFFER_SIZE}-byte buffer is full; the rest was cut off");
        }
        // ANCHOR_END: echo
    }
}
// ANCHOR_END: solution

// ANCHOR: args
/// Reads `[ADDR]`; `Ok(None)` means "help was asked for" (the same rules as lesson 03).
/// 读取 `[ADDR]`；`Ok(None)` 表示用户要看帮助（规则与第 03 课相同）。
fn parse_args(args: impl Iterator<Item = OsString>) -> Result<Option<SocketAddr>> {
    let mut texts = Vec::new();
    for arg in args {
        match arg.into_string() {
            Ok(text) => texts.push(text),
            Err(raw) => bail!(
                "the argument {raw:?} is not valid text; pass an address such as {DEFAULT_ADDR}"
            ),
        }
    }
    if texts.iter().any(|t| t == "-h" || t == "--help") {
        return Ok(None);
    }
    let addr_text = match texts.as_slice() {
        [] => DEFAULT_ADDR,
        [one] => one.as_str(),
        [_, extra @ ..] => bail!(
            "too many arguments (unexpected: {}); usage: {PROGRAM} [ADDR], for example {PROGRAM} {DEFAULT_ADDR}",
            extra.join(" ")
        ),
    };
    let addr = addr_text.parse::<SocketAddr>().map_err(|_| {
        anyhow!("invalid address `{addr_text}`: expected a numeric IP and a port 0-65535, for example {DEFAULT_ADDR}")
    })?;
    Ok(Some(addr))
}
// ANCHOR_END: args

// ANCHOR: port_in_use
/// A failed bind as a message that says what to do. / 把绑定失败变成告诉用户怎么做的消息。
fn explain_bind_error(addr: SocketAddr, err: io::Error) -> anyhow::Error {
    match err.kind() {
        io::ErrorKind::AddrInUse => anyhow!(
            "port {} is already in use on {} (lesson 01 or 03 still running?): stop that program, \
             or pass another address such as 127.0.0.1:0 to get a free port",
            addr.port(),
            addr.ip()
        ),
        _ => anyhow::Error::new(err).context(format!("cannot bind a UDP socket to {addr}")),
    }
}
// ANCHOR_END: port_in_use
