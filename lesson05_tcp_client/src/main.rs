//! Lesson 05: a TCP client (case 05 of the document).
//! 第 05 课：TCP 客户端（文档中的案例 05）。
//!
//! Start the server first, in another terminal / 先在另一个终端里启动服务器：
//!     cargo run -p lesson04_tcp_server
//! then / 然后：
//!     cargo run -p lesson05_tcp_client
//!     cargo run -p lesson05_tcp_client -- 127.0.0.1:8998 "hello, TCP"
//!
//! Anchors shown in the book / 书中引用的代码区域（ANCHOR）:
//!   args          reading the command line / 读取命令行
//!   step1         steps 1-2: create a socket + connect, in one call / 第 1-2 步：一次调用完成建立 socket 和连接
//!   refused       nobody listens: say which lesson to start / 没人监听：告诉你先启动哪一课
//!   step3         send the message / 发送消息
//!   half_close    tell the server we are done sending / 告诉服务器我们发完了
//!   step4         receive the reply / 接收回复
//!   timeout       never wait forever for a reply / 不无限期地等回复
//!   no_boundaries read until the server closes: TCP has no message boundaries / 读到服务器关闭为止：TCP 没有消息边界
//!   lossy_utf8    a reply that is not UTF-8 / 不是 UTF-8 的回复
//!   step5         close the connection / 关闭连接
//!   errors        turning failures into one-line messages / 把错误变成一行提示

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};

/// The name this program uses in its messages. / 本程序在提示信息中使用的名字。
const PROGRAM: &str = "lesson05_tcp_client";
/// The document's server address. / 文档中的服务器地址。
const DEFAULT_ADDR: &str = "127.0.0.1:8998";
/// The document's message. / 文档中发送的消息。
const DEFAULT_MESSAGE: &str = "I love wangxiaojing";
/// How long we wait for the connection, and then for the reply. / 等待连接、等待回复的最长时间。
const TIMEOUT: Duration = Duration::from_secs(5);
/// The most reply bytes we accept (our server sends far less). / 最多接收多少字节的回复（我们的服务器发的远少于此）。
const MAX_REPLY: u64 = 64 * 1024;
/// The command that starts the server of this lesson. / 启动本课服务器的命令。
const START_SERVER: &str = "cargo run -p lesson04_tcp_server";

// ANCHOR: errors
/// `main` only turns the result of `run` into an exit status.
/// Any error becomes ONE line on stderr: `lesson05_tcp_client: error: ...`, and exit status 1.
/// `{:#}` prints anyhow's chain of causes on one line, joined by ": ".
///
/// `main` 只负责把 `run` 的结果变成退出码。
/// 任何错误都变成标准错误上的一行：`lesson05_tcp_client: error: ...`，退出码为 1。
/// `{:#}` 会把 anyhow 的整条错误原因链打印在同一行里，用 ": " 连接。
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

fn run() -> anyhow::Result<()> {
    // All normal output goes through one locked handle to stdout, and every write is checked:
    // if stdout goes away (the terminal or pipe was closed), we stop with a one-line error
    // instead of a panic (`println!` would panic).
    // 所有正常输出都通过同一个加了锁的标准输出句柄，并检查每一次写入：如果标准输出没了
    // （终端或管道被关闭），我们用一行错误信息退出，而不是 panic（`println!` 会 panic）。
    let mut out = io::stdout().lock();

    // ANCHOR: args
    // The command line is `lesson05_tcp_client [SERVER_ADDR] [MESSAGE]`. The document
    // hard-codes both; we keep its values as defaults.
    // `args_os` does not panic on arguments that are not valid Unicode; we report them instead.
    // 命令行是 `lesson05_tcp_client [SERVER_ADDR] [MESSAGE]`。文档把两者都写死在代码里；
    // 我们把文档的值保留为默认值。
    // `args_os` 遇到不是合法 Unicode 的参数也不会 panic，我们把它当作错误报告出来。
    let mut args = Vec::new();
    for arg in std::env::args_os().skip(1) {
        match arg.into_string() {
            Ok(text) => args.push(text),
            Err(raw) => bail!(
                "the argument {raw:?} is not valid text; usage: {PROGRAM} [SERVER_ADDR] [MESSAGE]"
            ),
        }
    }
    if args.iter().any(|a| a == "-h" || a == "--help") {
        writeln!(
            out,
            "Usage: {PROGRAM} [SERVER_ADDR] [MESSAGE]\n\n\
             Connects to the TCP server of lesson 04, sends MESSAGE and prints the reply.\n\
             SERVER_ADDR is IP:PORT, default {DEFAULT_ADDR}; MESSAGE defaults to {DEFAULT_MESSAGE:?}.\n\
             Start the server first: {START_SERVER}"
        )
        .context("could not write to stdout")?;
        return Ok(());
    }
    if args.len() > 2 {
        bail!(
            "too many arguments ({} given, at most 2 expected); usage: {PROGRAM} [SERVER_ADDR] [MESSAGE] \
             (put a message with spaces in quotes)",
            args.len()
        );
    }
    let addr_text = args.first().map_or(DEFAULT_ADDR, String::as_str);
    let message = args.get(1).map_or(DEFAULT_MESSAGE, String::as_str);
    // `SocketAddr` is an IP address plus a port, the Rust twin of Python's ("127.0.0.1", 8998).
    // `SocketAddr` 就是 IP 地址加端口，相当于 Python 里的元组 ("127.0.0.1", 8998)。
    let Ok(server) = addr_text.parse::<SocketAddr>() else {
        bail!(
            "{addr_text:?} is not an IP:PORT address; example: {DEFAULT_ADDR} (or [::1]:8998 for IPv6)"
        );
    };
    // ANCHOR_END: args

    // ANCHOR: step1
    // Steps 1 and 2 of the document: create a socket, then connect it to the server.
    // Python: `sock = socket.socket(AF_INET, SOCK_STREAM)` then `sock.connect(addr)`.
    // Rust merges both into one call: `TcpStream::connect_timeout` creates the socket and
    // connects it, so a `TcpStream` is always a CONNECTED socket. Connecting performs TCP's
    // handshake with the server's listening socket; when it returns, the server has a
    // connection waiting for its accept() (lesson 04, step 4).
    // The OS also gives our side a port of its own (an "ephemeral" port); the server will see
    // us as 127.0.0.1:<that port>.
    //
    // 文档的第 1、2 步：建立 socket，然后连接服务器。
    // Python：先 `sock = socket.socket(AF_INET, SOCK_STREAM)`，再 `sock.connect(addr)`。
    // Rust 把两步合成一次调用：`TcpStream::connect_timeout` 建立 socket 并完成连接，
    // 所以 `TcpStream` 一定是一个已连接的 socket。连接的过程就是和服务器的监听 socket
    // 完成 TCP 握手；调用返回时，服务器那边已经有一个连接在等它 accept()（第 04 课第 4 步）。
    // 操作系统还会给我们这一端分配一个端口（"临时端口"）；服务器看到的我们就是
    // 127.0.0.1:<这个端口>。
    let mut stream = match TcpStream::connect_timeout(&server, TIMEOUT) {
        Ok(stream) => stream,
        // ANCHOR: refused
        // "Connection refused": the machine answered, but no program listens on that port.
        // This is why the server must be started first. The error comes back immediately.
        // "Connection refused"（连接被拒绝）：那台机器回应了，但那个端口上没有程序在监听。
        // 这就是为什么必须先启动服务器。这个错误会立刻返回。
        Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => bail!(
            "nothing is listening on {server} (connection refused); start the server first: {START_SERVER}"
        ),
        // ANCHOR_END: refused
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ) =>
        {
            bail!(
                "could not connect to {server} within {} s; check the address, and start the server first: {START_SERVER}",
                TIMEOUT.as_secs()
            )
        }
        Err(err) => return Err(err).context(format!("could not connect to {server}")),
    };
    // The document prints nothing here; we show both ends of the new connection.
    // 文档在这里什么都不打印；我们把这条新连接的两端都显示出来。
    let local = stream
        .local_addr()
        .context("could not read our own address")?;
    writeln!(out, "connected to {server} from {local}").context("could not write to stdout")?;
    // ANCHOR_END: step1

    // ANCHOR: step3
    // Step 3: send the message. Sockets carry BYTES: Python needs `msg.encode()`; a Rust `&str`
    // is already UTF-8, and `.as_bytes()` hands out those bytes.
    // Python's `sock.send(...)` may send only PART of the data (it returns how much) and the
    // document ignores that. `write_all` loops until every byte has been sent.
    // 第 3 步：发送消息。socket 传送的是字节：Python 需要 `msg.encode()`；Rust 的 `&str`
    // 本来就是 UTF-8，`.as_bytes()` 直接给出这些字节。
    // Python 的 `sock.send(...)` 可能只发出一部分（返回实际发了多少），文档忽略了这一点。
    // `write_all` 会循环发送，直到每个字节都发出去。
    writeln!(out, "sending: {message}").context("could not write to stdout")?;
    out.flush().context("could not write to stdout")?;
    stream
        .write_all(message.as_bytes())
        .with_context(|| format!("could not send the message to {server}"))?;
    // ANCHOR: half_close
    // Half-close: `shutdown(Write)` tells the server "I have sent everything" (it will read
    // end-of-stream after our message) while we can still READ its reply. The document does not
    // do this; it is harmless for its server and helps ours: if our message was longer than the
    // server's 500-byte buffer, the server can finish reading it quickly and close cleanly.
    // 半关闭：`shutdown(Write)` 告诉服务器"我已经全部发完了"（服务器读完我们的消息后会
    // 读到流结束），而我们仍然可以读取它的回复。文档没有这样做；这对文档的服务器没有影响，
    // 却对我们的服务器有帮助：如果消息比服务器 500 字节的缓冲区长，服务器能很快读完剩下的
    // 部分并正常关闭连接。
    stream
        .shutdown(Shutdown::Write)
        .with_context(|| format!("could not finish sending to {server}"))?;
    // ANCHOR_END: half_close
    // ANCHOR_END: step3

    // ANCHOR: step4
    // Step 4: receive the reply.
    // 第 4 步：接收回复。
    //
    // ANCHOR: timeout
    // The document's `recv` waits with no limit: if the server never answers, the client hangs
    // forever. With a read timeout, a read that waits more than 5 s fails with an error instead.
    // 文档里的 `recv` 没有时间限制：如果服务器一直不回复，客户端就永远挂在那里。
    // 设置读超时后，一次读取等待超过 5 秒就会返回错误。
    stream
        .set_read_timeout(Some(TIMEOUT))
        .context("could not set a read timeout")?;
    // ANCHOR_END: timeout

    // ANCHOR: no_boundaries
    // TCP is a byte STREAM with no message boundaries. The document calls `recv(500)` once and
    // assumes it returns the whole reply. On one machine, with a short reply sent in one piece,
    // it usually does; but TCP may deliver the bytes in several pieces (a slow network, a large
    // reply, a server that writes in two steps), and one recv would return only the first part.
    // And recv(500) never returns more than 500 bytes: a message of about 470 bytes or more
    // makes our server's reply longer than that, and the document's client would cut it.
    // Our server closes the connection after replying, so "the reply" is everything until the
    // server closes: `read_to_end` keeps reading until end-of-stream. `take` caps the size so a
    // misbehaving server cannot fill our memory.
    // TCP 是没有消息边界的字节流。文档只调用一次 `recv(500)`，并假定它能拿到完整的回复。
    // 在同一台机器上、回复很短又是一次发出时，通常确实如此；但 TCP 可能把字节分成好几块送达
    // （网络慢、回复很大、服务器分两次写），这时一次 recv 只能拿到第一块。
    // 而且 recv(500) 最多只返回 500 字节：消息长到大约 470 字节以上，我们服务器的回复就会
    // 超过这个长度，文档里的客户端会把它截断。
    // 我们的服务器回复后会关闭连接，所以"回复"就是服务器关闭之前发来的全部内容：
    // `read_to_end` 一直读到流结束为止。`take` 限制了最大长度，出问题的服务器也不能把
    // 我们的内存塞满。
    let mut reply = Vec::new();
    let result = (&mut stream).take(MAX_REPLY).read_to_end(&mut reply);
    // ANCHOR_END: no_boundaries
    match result {
        Ok(_) => {}
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            // A read timeout shows up as WouldBlock on Unix and TimedOut on Windows.
            // 读超时在 Unix 上表现为 WouldBlock，在 Windows 上是 TimedOut。
            if reply.is_empty() {
                bail!(
                    "no reply came from {server} within {} s: something accepted the connection but \
                     never answered; is lesson04_tcp_server running there? start it with: {START_SERVER}",
                    TIMEOUT.as_secs()
                );
            }
            bail!(
                "only part of a reply came from {server} ({} bytes), then nothing for {} s",
                reply.len(),
                TIMEOUT.as_secs()
            );
        }
        Err(err) => return Err(err).context(format!("could not read the reply from {server}")),
    }
    if reply.is_empty() {
        bail!(
            "{server} closed the connection without replying; is lesson04_tcp_server running there? \
             start it with: {START_SERVER}"
        );
    }

    // ANCHOR: lossy_utf8
    // Bytes -> text. Python's `rst.decode()` crashes on bytes that are not UTF-8;
    // `from_utf8_lossy` shows each invalid sequence as U+FFFD (�) instead, and we say so.
    // 字节 -> 文本。Python 的 `rst.decode()` 遇到不是 UTF-8 的字节会崩溃；
    // `from_utf8_lossy` 则把每个非法字节序列显示成 U+FFFD（�），我们也会说明这一点。
    if std::str::from_utf8(&reply).is_err() {
        writeln!(
            out,
            "note: the reply is not valid UTF-8; invalid bytes are shown as \u{FFFD}"
        )
        .context("could not write to stdout")?;
    }
    // ANCHOR_END: lossy_utf8
    if reply.len() as u64 == MAX_REPLY {
        writeln!(out, "note: the reply was cut off after {MAX_REPLY} bytes")
            .context("could not write to stdout")?;
    }
    writeln!(out, "reply: {}", String::from_utf8_lossy(&reply))
        .context("could not write to stdout")?;
    out.flush().context("could not write to stdout")?;
    // ANCHOR_END: step4

    // ANCHOR: step5
    // Step 5: close the connection, Python's `sock.close()`. In Rust a socket closes when its
    // value is dropped; `drop(stream)` just makes that moment visible. (It would also happen by
    // itself when `run` returns.) The server has already closed its side, so the connection is
    // now finished in both directions.
    // 第 5 步：关闭连接，对应 Python 的 `sock.close()`。Rust 里 socket 的值被丢弃（drop）
    // 时就会关闭；写出 `drop(stream)` 只是让这个时刻看得见（`run` 返回时它也会自动发生）。
    // 服务器已经关闭了它那一端，所以现在这条连接在两个方向上都结束了。
    drop(stream);
    Ok(())
    // ANCHOR_END: step5
}
