//! Exercise 5, server side (lessons 04 and 05): several messages on one TCP connection.
//! 练习 5 服务器端（第 04、05 课）：在一条 TCP 连接上传多条消息。
//!
//! TCP delivers a stream of bytes, not messages: `read` returns whatever has arrived, which may
//! be half a message or two and a half. Lesson 04 can live with that because it reads once and
//! closes. To carry several messages on one connection, both sides must agree where a message
//! ends: that agreement is called "framing". Here a message ends with a newline byte (`\n`),
//! as in many text protocols (SMTP, Redis, HTTP headers). The server answers each message with
//! lesson 04's reply, also ended by a newline, and keeps reading until the client closes.
//! TCP 传送的是字节流，而不是消息：`read` 返回的是“目前已经到达的数据”，可能是半条消息，也可能是两条半。
//! 第 04 课能容忍这一点，因为它只读一次就关闭。要在一条连接上传多条消息，双方必须约定一条消息在哪里结束：
//! 这个约定叫作“分帧”。这里一条消息以换行字节（`\n`）结束，很多文本协议（SMTP、Redis、HTTP 头部）
//! 都是这样做的。服务器对每条消息都用第 04 课的回复格式作答，回复同样以换行结束，然后继续读，直到
//! 客户端关闭连接。
//!
//! ```text
//! cargo run -p solutions --bin tcp_framed_server                     # 127.0.0.1:8998
//! cargo run -p solutions --bin tcp_framed_client -- 127.0.0.1:8998 one two three
//! ```
//!
//! Anchors shown in the book / 书中引用的锚点:
//! `setup` (the size limit and what a read can find / 长度上限与一次读取可能的结果), `signature`
//! (the function to write / 要写的函数), `solution` (reading one message / 读取一条消息),
//! `serve_connection` (the loop over the messages of one connection / 对一条连接上各条消息的循环),
//! `errors`, `args`, `port_in_use`.

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

/// The name used at the start of every error and warning line.
/// 每一行错误和警告开头使用的程序名。
const PROGRAM: &str = "tcp_framed_server";
/// Lesson 04's address. / 第 04 课的地址。
const DEFAULT_ADDR: &str = "127.0.0.1:8998";
/// How long a client may stay silent between two pieces of data. / 客户端两段数据之间最多可以沉默多久。
const READ_TIMEOUT: Duration = Duration::from_secs(3);
/// How long we keep reading leftovers before closing. / 关闭前最多花多久读掉剩下的数据。
const DRAIN_TIME: Duration = Duration::from_secs(1);

// ANCHOR: setup
/// The longest message we accept, without its newline: lesson 04's buffer size. Without a
/// limit, a client that never sends a newline would make us store bytes for ever.
/// 我们接受的最长消息（不算换行）：第 04 课的缓冲区大小。如果没有上限，一个永远不发换行的客户端
/// 会让我们无休止地存储字节。
const MAX_MESSAGE: usize = 500;

/// What one call of `read_message` found. / 一次 `read_message` 调用的结果。
#[derive(Debug, PartialEq)]
enum Frame {
    /// A whole message is in the buffer (without its newline). / 缓冲区里是一条完整的消息（不含换行）。
    Message,
    /// The client closed its side: there are no more messages. / 客户端关闭了它那一端：没有更多消息了。
    End,
    /// More than MAX_MESSAGE bytes came without a newline. / 超过 MAX_MESSAGE 个字节都没有换行。
    TooLong,
}
// ANCHOR_END: setup

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

/// A problem with one client is one warning line; the server goes on.
/// 某一个客户端的问题只是一行警告；服务器继续运行。
fn warn(message: &str) {
    eprintln!("{PROGRAM}: warning: {message}");
}
// ANCHOR_END: errors

fn run() -> Result<()> {
    let Some(addr) = parse_args(std::env::args_os().skip(1))? else {
        print!("{USAGE}");
        return Ok(());
    };
    println!("Starting the framed tcp server: one message per line (press Ctrl-C to stop)");
    // ANCHOR: port_in_use
    let listener = TcpListener::bind(addr).map_err(|err| match err.kind() {
        io::ErrorKind::AddrInUse => anyhow!(
            "port {} is already in use ({addr}); stop the program that uses it (lesson04_tcp_server?) \
             or pass another address such as 127.0.0.1:0",
            addr.port()
        ),
        _ => anyhow::Error::new(err).context(format!("could not listen on {addr}")),
    })?;
    // ANCHOR_END: port_in_use
    let bound = listener
        .local_addr()
        .context("could not read the address we are listening on")?;
    if bound.ip().is_unspecified() {
        warn(&format!(
            "listening on all interfaces ({bound}): other machines on your network can connect; \
             use 127.0.0.1 to stay on this machine"
        ));
    }
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {bound}").context("could not write to stdout")?;
    out.flush().context("could not write to stdout")?;
    drop(out);

    // One client after the other, as in lesson 04 (exercise 4 shows how to serve them at once).
    // 和第 04 课一样一个接一个地服务客户端（练习 4 展示了如何同时服务）。
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(pair) => pair,
            Err(err) => {
                warn(&format!(
                    "accept failed: {err}; waiting for the next client"
                ));
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        println!("client {peer} connected");
        match serve_connection(&stream, peer) {
            Ok(count) => println!("client {peer} is done (messages answered: {count})"),
            Err(err) => warn(&format!("client {peer}: {err:#}")),
        }
        close_gracefully(stream);
    }
}

// ANCHOR: serve_connection
/// Answers every message of one connection; returns how many there were. An error ends this
/// connection only.
/// 回答一条连接上的每一条消息；返回一共有多少条。出错只会结束这一条连接。
fn serve_connection(stream: &TcpStream, peer: SocketAddr) -> Result<u64> {
    stream
        .set_read_timeout(Some(READ_TIMEOUT))
        .context("could not set a read timeout")?;
    // `BufReader` asks the socket for big chunks and hands them out as we need them; it keeps
    // what is left after one newline for the next message. `&TcpStream` can read and write, so
    // the reader borrows the stream and we still write replies through `writer`.
    // `BufReader` 每次向套接字要一大块数据，再按我们的需要分发；一个换行之后剩下的字节它会留给下一条消息。
    // `&TcpStream` 既能读也能写，所以 reader 借用 stream，我们仍然可以通过 `writer` 写回复。
    let mut reader = BufReader::new(stream);
    let mut writer = stream;
    let mut message = Vec::new();
    let mut count = 0;
    loop {
        let frame = read_message(&mut reader, &mut message).map_err(|err| {
            if matches!(
                err.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) {
                anyhow!(
                    "nothing arrived for {} s; closing the connection",
                    READ_TIMEOUT.as_secs()
                )
            } else {
                anyhow!(err).context("reading failed")
            }
        })?;
        match frame {
            Frame::End => return Ok(count),
            Frame::TooLong => {
                let _ = writer.write_all(
                    format!("error: a message may be at most {MAX_MESSAGE} bytes; closing\n")
                        .as_bytes(),
                );
                bail!("sent a message longer than {MAX_MESSAGE} bytes; closed the connection");
            }
            Frame::Message => {
                count += 1;
                let text = String::from_utf8_lossy(&message);
                let reply = format!("Received msg: {text} from {peer}");
                println!("{reply}");
                // The reply is framed the same way: text, then one newline.
                // 回复用同样的方式分帧：文字，然后一个换行。
                writer
                    .write_all(format!("{reply}\n").as_bytes())
                    .context("sending the reply failed")?;
            }
        }
    }
}
// ANCHOR_END: serve_connection

// ANCHOR: solution
// ANCHOR: signature
/// Reads the next newline-ended message into `message` (cleared first, newline removed).
/// 把下一条以换行结束的消息读进 `message`（先清空，去掉换行）。
fn read_message(reader: &mut impl BufRead, message: &mut Vec<u8>) -> io::Result<Frame> {
    // ANCHOR_END: signature
    message.clear();
    // `read_until` keeps reading, piece after piece, until it has seen `\n` or the end of the
    // stream: it does not matter whether the bytes came in one packet or one byte at a time.
    // `take` stops it after MAX_MESSAGE + 1 bytes (the message and its newline), so a client
    // cannot make it store more than that.
    // `read_until` 会一段接一段地读，直到遇到 `\n` 或流结束：字节是一次全到还是一次一个字节地到，
    // 都没有关系。`take` 让它最多读 MAX_MESSAGE + 1 个字节（消息加上换行），客户端就无法让它存更多。
    let limit = (MAX_MESSAGE + 1) as u64;
    let read = reader.take(limit).read_until(b'\n', message)?;
    if read == 0 {
        return Ok(Frame::End);
    }
    if message.last() == Some(&b'\n') {
        message.pop();
        // Windows tools such as telnet end lines with "\r\n": drop the '\r' as well.
        // telnet 等 Windows 工具用 "\r\n" 结束一行：把 '\r' 也去掉。
        if message.last() == Some(&b'\r') {
            message.pop();
        }
        return Ok(Frame::Message);
    }
    if message.len() > MAX_MESSAGE {
        return Ok(Frame::TooLong);
    }
    // Bytes, then the end of the stream without a newline: the client closed right after its
    // last message. We accept it as a message, so lesson 05's client (which sends no newline
    // and then half-closes) is answered too.
    // 先是一些字节，然后流结束了却没有换行：客户端在最后一条消息之后立即关闭了。我们把它当作一条消息，
    // 这样第 05 课的客户端（它不发换行，发完就半关闭）也能得到回复。
    Ok(Frame::Message)
}
// ANCHOR_END: solution

/// Lesson 04's graceful close: stop writing, read what is left for a moment, then close, so
/// that unread bytes do not turn the close into a reset that could swallow our last reply.
/// 第 04 课的正常关闭：停止写入，短暂地读掉剩下的数据，然后关闭，免得未读的字节把关闭变成重置，
/// 吞掉我们最后的回复。
fn close_gracefully(mut stream: TcpStream) {
    if stream.shutdown(Shutdown::Write).is_ok() {
        let deadline = Instant::now() + DRAIN_TIME;
        let mut leftover = [0u8; 512];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
                break;
            }
            match stream.read(&mut leftover) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
}

const USAGE: &str = "\
Usage: tcp_framed_server [ADDR]

A TCP server for several messages per connection: each message ends with a newline, and each
is answered with `Received msg: <message> from <client address>` and a newline.
一个每条连接可以传多条消息的 TCP 服务器：每条消息以换行结束，每条都会得到
`Received msg: <消息> from <客户端地址>` 加换行的回复。

  ADDR        IP:PORT to listen on (default 127.0.0.1:8998); 127.0.0.1:0 picks a free port
  -h, --help  print this help
";

// ANCHOR: args
/// Reads `[ADDR]`; `Ok(None)` means "help was asked for" (the same rules as lesson 04).
/// 读取 `[ADDR]`；`Ok(None)` 表示用户要看帮助（规则与第 04 课相同）。
fn parse_args(args: impl Iterator<Item = OsString>) -> Result<Option<SocketAddr>> {
    let mut texts = Vec::new();
    for arg in args {
        match arg.into_string() {
            Ok(text) => texts.push(text),
            Err(raw) => bail!("the argument {raw:?} is not valid text; usage: {PROGRAM} [ADDR]"),
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
    let addr = addr_text
        .parse::<SocketAddr>()
        .map_err(|_| anyhow!("{addr_text:?} is not an IP:PORT address; example: {DEFAULT_ADDR}"))?;
    Ok(Some(addr))
}
// ANCHOR_END: args
