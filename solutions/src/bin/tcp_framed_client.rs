//! Exercise 5, client side (lesson 05): several messages on one TCP connection.
//! 练习 5 客户端（第 05 课）：在一条 TCP 连接上发送多条消息。
//!
//! Lesson 05 sends one message and learns where the reply ends because the server closes the
//! connection. Here one connection carries several messages, so the end of each message and
//! of each reply must be marked: with a newline, as `tcp_framed_server` expects.
//! 第 05 课只发一条消息，它能知道回复在哪里结束，是因为服务器关闭了连接。这里一条连接要传多条消息，
//! 所以每条消息、每个回复的结尾都必须标出来：和 `tcp_framed_server` 约定的一样，用换行标记。
//!
//! ```text
//! cargo run -p solutions --bin tcp_framed_server                      # first, in another terminal
//! cargo run -p solutions --bin tcp_framed_client                      # three default messages
//! cargo run -p solutions --bin tcp_framed_client -- 127.0.0.1:8998 one two three
//! ```
//!
//! Anchors shown in the book / 书中引用的锚点:
//! `send_message` (one framed message out / 发出一条分好帧的消息), `read_reply` (one framed
//! reply in / 读入一条分好帧的回复), `finish` (closing cleanly / 干净地关闭), `errors`, `args`.

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

/// The name used at the start of every error line. / 每一行错误开头使用的程序名。
const PROGRAM: &str = "tcp_framed_client";
/// Lesson 05's server address. / 第 05 课的服务器地址。
const DEFAULT_ADDR: &str = "127.0.0.1:8998";
/// Lesson 05's message, and two more to show several messages on one connection.
/// 第 05 课的消息，再加两条，用来展示一条连接上的多条消息。
const DEFAULT_MESSAGES: [&str; 3] = ["I love wangxiaojing", "and one more", "and the last one"];
/// How long we wait to connect, and then for each reply. / 等待连接、等待每条回复的最长时间。
const TIMEOUT: Duration = Duration::from_secs(5);
/// The longest reply line we accept. / 我们接受的最长回复行。
const MAX_REPLY: u64 = 64 * 1024;
/// The command that starts the matching server. / 启动配套服务器的命令。
const START_SERVER: &str = "cargo run -p solutions --bin tcp_framed_server";

const USAGE: &str = "\
Usage: tcp_framed_client [SERVER_ADDR] [MESSAGE]...

Sends each MESSAGE, ended by a newline, over ONE TCP connection and prints each reply line.
通过“同一条” TCP 连接发送每条 MESSAGE（以换行结束），并打印每一行回复。

  SERVER_ADDR  IP:PORT of tcp_framed_server (default 127.0.0.1:8998)
  MESSAGE      texts to send, one message each (default: three example messages)
  -h, --help   print this help

Start the server first: cargo run -p solutions --bin tcp_framed_server
";

// ANCHOR: errors
/// One line on stderr and status 1 on failure, as in every lesson.
/// 与每一课一样：失败时在标准错误上输出一行，退出码 1。
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
    let Some((server, messages)) = parse_args(std::env::args_os().skip(1))? else {
        print!("{USAGE}");
        return Ok(());
    };

    // Lesson 05's steps 1 and 2: create the socket and connect, with a time limit.
    // 第 05 课的第 1、2 步：建立套接字并连接，带时间限制。
    let stream = match TcpStream::connect_timeout(&server, TIMEOUT) {
        Ok(stream) => stream,
        Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => bail!(
            "nothing is listening on {server} (connection refused); start the server first: {START_SERVER}"
        ),
        Err(err) => return Err(err).context(format!("could not connect to {server}")),
    };
    stream
        .set_read_timeout(Some(TIMEOUT))
        .context("could not set a read timeout")?;
    let local = stream
        .local_addr()
        .context("could not read our own address")?;
    println!("connected to {server} from {local}");

    // Reading goes through a `BufReader`, writing straight to the stream (`&TcpStream` does
    // both). The buffer keeps whatever came after one reply's newline for the next reply.
    // 读通过 `BufReader`，写直接写到 stream（`&TcpStream` 两样都能做）。缓冲区会把一条回复的换行
    // 之后到达的内容留给下一条回复。
    let mut reader = BufReader::new(&stream);
    let mut writer = &stream;
    for (number, message) in messages.iter().enumerate() {
        // ANCHOR: send_message
        // The frame is the message's bytes and one `\n`, built first and sent with ONE
        // `write_all`. (Two writes would work too: the receiver must not care how the bytes
        // are cut. One write just sends fewer packets.)
        // 一帧就是消息的字节加一个 `\n`，先拼好，再用“一次” `write_all` 发出。（分两次写也可以：
        // 接收方不应该在意字节是怎么被切开的。一次写只是发出的包更少。）
        let mut frame = Vec::with_capacity(message.len() + 1);
        frame.extend_from_slice(message.as_bytes());
        frame.push(b'\n');
        writer
            .write_all(&frame)
            .with_context(|| format!("could not send message {} to {server}", number + 1))?;
        println!("sent: {message}");
        // ANCHOR_END: send_message

        // ANCHOR: read_reply
        // One reply is everything up to the next `\n`, however many reads that takes.
        // A zero-length read means the server closed the connection before answering.
        // 一条回复就是到下一个 `\n` 为止的全部内容，不管需要读几次。读到 0 字节表示服务器在回复前就关闭了连接。
        let mut reply = Vec::new();
        let read = (&mut reader)
            .take(MAX_REPLY)
            .read_until(b'\n', &mut reply)
            .map_err(|err| {
                if matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) {
                    anyhow!(
                        "no reply to message {} came from {server} within {} s; is tcp_framed_server \
                         running there? start it with: {START_SERVER}",
                        number + 1,
                        TIMEOUT.as_secs()
                    )
                } else {
                    anyhow!(err).context(format!("could not read reply {}", number + 1))
                }
            })?;
        if read == 0 {
            bail!(
                "{server} closed the connection after {number} replies, before answering \
                 message {}; is tcp_framed_server running there? start it with: {START_SERVER}",
                number + 1
            );
        }
        if reply.last() == Some(&b'\n') {
            reply.pop();
        }
        println!("reply: {}", String::from_utf8_lossy(&reply));
        // ANCHOR_END: read_reply
    }

    // ANCHOR: finish
    // No more messages: half-close, so the server reads the end of the stream, stops serving
    // us and closes its side. Reading until then makes the close a clean one on both sides.
    // 没有更多消息了：半关闭，让服务器读到流结束，停止为我们服务并关闭它那一端。一直读到那个时候，
    // 双方的关闭就都是正常的关闭。
    stream
        .shutdown(Shutdown::Write)
        .with_context(|| format!("could not finish sending to {server}"))?;
    let mut rest = Vec::new();
    match (&mut reader).take(MAX_REPLY).read_to_end(&mut rest) {
        Ok(_) if rest.is_empty() => {}
        Ok(_) => println!(
            "note: the server sent more: {}",
            String::from_utf8_lossy(&rest)
        ),
        Err(err) => return Err(err).context("the connection did not close cleanly"),
    }
    // ANCHOR_END: finish
    Ok(())
}

// ANCHOR: args
/// Reads `[SERVER_ADDR] [MESSAGE]...`; `Ok(None)` means "help was asked for". A message may
/// not contain a newline: the newline is what ends a message.
/// 读取 `[SERVER_ADDR] [MESSAGE]...`；`Ok(None)` 表示用户要看帮助。消息里不能有换行：
/// 换行正是消息结束的标志。
fn parse_args(args: impl Iterator<Item = OsString>) -> Result<Option<(SocketAddr, Vec<String>)>> {
    let mut texts = Vec::new();
    for arg in args {
        match arg.into_string() {
            Ok(text) => texts.push(text),
            Err(raw) => bail!(
                "the argument {raw:?} is not valid text; usage: {PROGRAM} [SERVER_ADDR] [MESSAGE]..."
            ),
        }
    }
    if texts.iter().any(|t| t == "-h" || t == "--help") {
        return Ok(None);
    }
    let mut texts = texts.into_iter();
    let addr_text = texts.next().unwrap_or_else(|| DEFAULT_ADDR.to_string());
    let Ok(server) = addr_text.parse::<SocketAddr>() else {
        bail!("{addr_text:?} is not an IP:PORT address; example: {DEFAULT_ADDR}");
    };
    let mut messages: Vec<String> = texts.collect();
    if messages.is_empty() {
        messages = DEFAULT_MESSAGES.iter().map(|m| m.to_string()).collect();
    }
    if let Some(bad) = messages.iter().position(|m| m.contains('\n')) {
        bail!(
            "message {} contains a newline, but a newline marks the end of a message; send the \
             lines as separate messages instead",
            bad + 1
        );
    }
    Ok(Some((server, messages)))
}
// ANCHOR_END: args
