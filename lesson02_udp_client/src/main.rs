//! Lesson 02 — a UDP client: send one message, print the server's reply.
//! 第 02 课 —— UDP 客户端：发送一条消息，打印服务器的回复。
//!
//! Start a server first (lesson 01 or lesson 03), then run this in a second terminal:
//! 先启动服务器（第 01 课或第 03 课），再在第二个终端里运行：
//!
//! ```text
//! cargo run -p lesson02_udp_client                                  # 127.0.0.1:7852, "I love jingjing"
//! cargo run -p lesson02_udp_client -- 127.0.0.1:7852 "hello there"  # another message
//! ```
//!
//! The numbered steps of the client, as the document lists them:
//! 文档里客户端的编号步骤：
//!
//! 1. create a UDP socket / 创建 UDP 套接字
//! 2. send the message to the server's address / 把消息发到服务器的地址
//! 3. receive the server's reply, if we expect one / 接收服务器的回复（如果期待回复的话）
//!
//! Python → Rust:
//!
//! | Python                                   | Rust                                              |
//! | ---------------------------------------- | ------------------------------------------------- |
//! | `socket.socket(AF_INET, SOCK_DGRAM)`     | `UdpSocket::bind("127.0.0.1:0")` (port 0: any free port) |
//! | `text.encode()`                          | `text.as_bytes()`                                 |
//! | `sock.sendto(data, ("127.0.0.1", 7852))` | `socket.send_to(data, server)`                    |
//! | `data, addr = sock.recvfrom(200)`        | `socket.recv_from(&mut buf)` after `set_read_timeout` |
//! | `data.decode()`                          | `String::from_utf8_lossy(data)`                   |
//!
//! Anchors shown in the book / 书中引用的锚点:
//! `args`, `errors`, `unspecified_server`, `step1`, `step2`, `step3`, `timeout`, `lossy_utf8`,
//! `truncation`.

use std::ffi::OsString;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

/// The name used at the start of every error and warning line.
/// 每一行错误和警告开头使用的程序名。
const PROGRAM: &str = "lesson02_udp_client";

/// Where the servers of lessons 01 and 03 listen by default.
/// 第 01 课和第 03 课的服务器默认监听的地址。
const DEFAULT_SERVER: &str = "127.0.0.1:7852";

/// The document's message. / 文档里发送的消息。
const DEFAULT_MESSAGE: &str = "I love jingjing";

/// How many bytes of the reply we accept, like `recvfrom(200)` in Python.
/// 最多接收多少字节的回复，相当于 Python 里的 `recvfrom(200)`。
const BUFFER_SIZE: usize = 200;

/// How long we wait for the reply before giving up.
/// 放弃之前最多等待回复多久。
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

const USAGE: &str = "\
Usage: lesson02_udp_client [SERVER_ADDR] [MESSAGE]

Sends MESSAGE as one UDP datagram to SERVER_ADDR and prints the reply (waits at most 5 s).
把 MESSAGE 作为一个 UDP 数据报发给 SERVER_ADDR，并打印回复（最多等待 5 秒）。

  SERVER_ADDR  IP:PORT of the server (default 127.0.0.1:7852)
  MESSAGE      the text to send (default \"I love jingjing\"); quote it if it has spaces
  -h, --help   print this help

Start the server first: cargo run -p lesson01_udp_server (or lesson03_udp_loop_server)
";

// ANCHOR: errors
/// `main` only turns the result of `run` into an exit status. Every failure becomes ONE line on
/// stderr, `lesson02_udp_client: error: ...`, with anyhow's causes joined on that line by `{:#}`.
/// `main` 只负责把 `run` 的结果变成退出码。任何失败都变成标准错误上的一行
/// `lesson02_udp_client: error: ...`，`{:#}` 会把 anyhow 的各层原因连在这一行里。
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
    // All normal output goes through one locked handle to stdout, and every write is checked:
    // if stdout goes away (the terminal or pipe was closed), we stop with a one-line error
    // instead of a panic (`println!` would panic).
    // 所有正常输出都通过同一个加了锁的标准输出句柄，并检查每一次写入：如果标准输出没了
    // （终端或管道被关闭），我们用一行错误信息退出，而不是 panic（`println!` 会 panic）。
    let mut out = io::stdout().lock();

    let Some((server, message)) = parse_args(std::env::args_os().skip(1))? else {
        write!(out, "{USAGE}").context("could not write to stdout")?;
        return Ok(());
    };

    // ANCHOR: unspecified_server
    // 0.0.0.0 (or [::]) means "any address": a server may bind to it, but it is not a place to
    // send to. Some systems quietly deliver it to this machine, others refuse; we pick this
    // machine (the loopback address of the same family) explicitly and say so.
    // 0.0.0.0（或 [::]）的意思是“任意地址”：服务器可以绑定它，但它不是一个可以发往的目的地。
    // 有的系统会悄悄把它当成本机，有的则直接拒绝；我们明确地改为本机（同一地址族的回环地址），并说明这一点。
    let server = if server.ip().is_unspecified() {
        let here = SocketAddr::new(loopback_like(server.ip()), server.port());
        eprintln!(
            "{PROGRAM}: warning: {server} is an address for servers to bind, not a destination; \
             sending to {here} (this machine) instead"
        );
        here
    } else {
        server
    };
    // ANCHOR_END: unspecified_server

    // ANCHOR: step1
    // Step 1: create the socket. Python's `socket.socket(...)` creates it unbound, and the first
    // `sendto` silently binds it to 0.0.0.0 and a random port, because a reply needs a return
    // address. A Rust `UdpSocket` is always bound, so we say where: port 0 asks the system for
    // any free port (an "ephemeral" port), and the IP decides which network we can use:
    // - 127.0.0.1 (loopback) can only talk to this machine, which is all we need for a server
    //   on 127.0.0.1, and nobody on the network can reach our socket;
    // - 0.0.0.0 (unspecified) lets the system send through whichever interface leads to the
    //   server, which a server on another machine needs.
    // The family must also match the server's: an IPv4 socket cannot send to an IPv6 address.
    // 第 1 步：创建套接字。Python 的 `socket.socket(...)` 创建出来时还没有绑定，第一次 `sendto`
    // 会悄悄把它绑定到 0.0.0.0 和一个随机端口，因为对方回信需要一个回信地址。Rust 的 `UdpSocket`
    // 总是已经绑定的，所以要我们写明：端口 0 表示让系统随便挑一个空闲端口（“临时端口”），
    // IP 则决定我们能走哪个网络：
    // - 127.0.0.1（回环地址）只能和本机通信，服务器在 127.0.0.1 时这就够了，网络上的其他人也碰不到我们的套接字；
    // - 0.0.0.0（未指定地址）让系统选择通往服务器的那块网卡，服务器在别的机器上时需要这样。
    // 地址族也必须和服务器一致：IPv4 的套接字不能发往 IPv6 地址。
    let local_ip = if server.ip().is_loopback() {
        loopback_like(server.ip())
    } else {
        unspecified_like(server.ip())
    };
    let socket = UdpSocket::bind((local_ip, 0))
        .with_context(|| format!("cannot create a UDP socket on {local_ip}"))?;
    let local = socket
        .local_addr()
        .context("cannot read the local address")?;
    // ANCHOR_END: step1

    // ANCHOR: step2
    // Step 2: send. The network carries bytes, so the text is encoded first (Python:
    // `text.encode()`); a Rust string is UTF-8 already and `as_bytes()` only views it as bytes.
    // No newline is added: the server receives exactly these bytes, as one datagram.
    // UDP has no connection, so `send_to` names the receiver every time, and it succeeds even
    // when nobody listens there: the datagram is just lost. We only find out in step 3.
    // 第 2 步：发送。网络上传的是字节，所以先把文字编码（Python 里是 `text.encode()`）；
    // Rust 字符串本来就是 UTF-8，`as_bytes()` 只是把它当作字节来看。不会追加换行：
    // 服务器收到的正是这些字节，作为一个数据报。
    // UDP 没有连接，所以每次 `send_to` 都要写明收件人；即使那里没人监听它也会“成功”，
    // 数据报只是丢失了。要到第 3 步才会发现。
    let data = message.as_bytes();
    socket
        .send_to(data, server)
        .with_context(|| format!("cannot send to {server}"))?;
    let size = data.len();
    // "1 byte" but "0 bytes", "15 bytes". / 英文里只有 1 个字节时用单数 "byte"。
    let unit = if size == 1 { "byte" } else { "bytes" };
    writeln!(
        out,
        "sent to {server} from {local} ({size} {unit}): {message}"
    )
    .context("could not write to stdout")?;
    // ANCHOR_END: step2

    // ANCHOR: step3
    // ANCHOR: timeout
    // Step 3: wait for the reply. Python's `recvfrom` waits forever: if the server is not
    // running, the document's client hangs until you press Ctrl+C. We set a read timeout, so
    // after 5 s `recv_from` returns an error (WouldBlock on Linux and macOS, TimedOut on
    // Windows) and we can tell the student what is most likely wrong.
    // On Windows the system may report "connection reset" instead, when the server's machine
    // answered that nobody listens on that port; that means the same thing here.
    // 第 3 步：等待回复。Python 的 `recvfrom` 会永远等下去：服务器没运行时，文档里的客户端会一直
    // 卡住，直到按下 Ctrl+C。我们设置了读超时，5 秒后 `recv_from` 返回一个错误（Linux 和 macOS
    // 上是 WouldBlock，Windows 上是 TimedOut），然后告诉学生最可能的原因。
    // 在 Windows 上，如果对方机器回答“这个端口没人监听”，系统可能报告 “connection reset”；
    // 在这里它的意思相同。
    socket
        .set_read_timeout(Some(REPLY_TIMEOUT))
        .context("cannot set the read timeout")?;
    let mut buf = [0u8; BUFFER_SIZE];
    let (len, from) = match socket.recv_from(&mut buf) {
        Ok(received) => received,
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            bail!(
                "no reply came from {server} within {} s: the server is probably not running; \
                 start it first with {}, then run this client again",
                REPLY_TIMEOUT.as_secs(),
                start_hint(server)
            )
        }
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused
            ) =>
        {
            bail!(
                "nothing is listening on {server}: start the server first with {}, then run \
                 this client again",
                start_hint(server)
            )
        }
        Err(err) => return Err(anyhow!(err).context("receiving the reply failed")),
    };
    // ANCHOR_END: timeout

    // The reply is bytes too; decoding turns it back into text (Python: `data.decode()`).
    // Note: any program may send a datagram to our port, so `from` is worth printing.
    // 回复同样是字节；解码把它变回文字（Python 里是 `data.decode()`）。
    // 注意：任何程序都可以往我们的端口发数据报，所以值得把 `from` 打印出来。
    let reply = &buf[..len];
    let text = String::from_utf8_lossy(reply);
    // "1 byte" but "0 bytes", "19 bytes". / 英文里只有 1 个字节时用单数 "byte"。
    let unit = if len == 1 { "byte" } else { "bytes" };
    writeln!(out, "received from {from} ({len} {unit}): {text}")
        .context("could not write to stdout")?;

    // ANCHOR: lossy_utf8
    // Python's `decode()` would crash on bytes that are not UTF-8; we show them with U+FFFD.
    // Python 的 `decode()` 遇到不是 UTF-8 的字节会崩溃；我们用 U+FFFD 代替显示。
    if std::str::from_utf8(reply).is_err() {
        writeln!(
            out,
            "  note: the reply is not valid UTF-8; each invalid part is shown as \u{FFFD}"
        )
        .context("could not write to stdout")?;
    }
    // ANCHOR_END: lossy_utf8

    // ANCHOR: truncation
    // A reply longer than the 200-byte buffer is cut off without a word from Python; a full
    // buffer is our sign that this may have happened.
    // 比 200 字节缓冲区长的回复会被截断，Python 对此不声不响；缓冲区被填满就是可能发生了截断的信号。
    if len == BUFFER_SIZE {
        writeln!(
            out,
            "  note: the {BUFFER_SIZE}-byte buffer is full, so the reply may have been longer; \
             the rest was cut off"
        )
        .context("could not write to stdout")?;
    }
    // ANCHOR_END: truncation
    // ANCHOR_END: step3

    // Nothing to close by hand: the socket is closed when `socket` goes out of scope here.
    // 不需要手动关闭：`socket` 在这里离开作用域时就会自动关闭。
    Ok(())
}

// ANCHOR: args
/// Reads `[SERVER_ADDR] [MESSAGE]`. `Ok(None)` means "help was asked for". `args_os` instead of
/// `args`, because `args` panics on an argument that is not valid Unicode.
/// 读取 `[SERVER_ADDR] [MESSAGE]`。`Ok(None)` 表示用户要看帮助。用 `args_os` 而不用 `args`，
/// 因为遇到不是合法 Unicode 的参数时 `args` 会 panic。
fn parse_args(args: impl Iterator<Item = OsString>) -> Result<Option<(SocketAddr, String)>> {
    let mut texts = Vec::new();
    for arg in args {
        match arg.into_string() {
            Ok(text) => texts.push(text),
            Err(raw) => bail!("the argument {raw:?} is not valid text (UTF-8)"),
        }
    }
    if texts.iter().any(|t| t == "-h" || t == "--help") {
        return Ok(None);
    }
    let (addr_text, message) = match texts.as_slice() {
        [] => (DEFAULT_SERVER, DEFAULT_MESSAGE),
        [addr] => (addr.as_str(), DEFAULT_MESSAGE),
        [addr, message] => (addr.as_str(), message.as_str()),
        [_, _, extra @ ..] => bail!(
            "too many arguments (unexpected: {}); put a message with spaces in quotes, for \
             example {PROGRAM} {DEFAULT_SERVER} \"hello there\"",
            extra.join(" ")
        ),
    };
    let server = addr_text.parse::<SocketAddr>().map_err(|_| {
        anyhow!(
            "invalid server address `{addr_text}`: expected a numeric IP and a port 0-65535, \
             for example {DEFAULT_SERVER} (the address comes before the message)"
        )
    })?;
    Ok(Some((server, message.to_string())))
}
// ANCHOR_END: args

/// The loopback address of the same family as `ip`: 127.0.0.1 or [::1].
/// 与 `ip` 同一地址族的回环地址：127.0.0.1 或 [::1]。
fn loopback_like(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    }
}

/// The "any address" of the same family as `ip`: 0.0.0.0 or [::].
/// 与 `ip` 同一地址族的“任意地址”：0.0.0.0 或 [::]。
fn unspecified_like(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// The command that starts a server for `server`, including the address when it is not the
/// default one, so the hint can be copied as it is.
/// 为 `server` 启动服务器的命令；地址不是默认值时把地址也写上，这样提示可以直接复制使用。
fn start_hint(server: SocketAddr) -> String {
    let args = if server.to_string() == DEFAULT_SERVER {
        String::new()
    } else {
        format!(" -- {server}")
    };
    format!(
        "`cargo run -p lesson01_udp_server{args}` (or `cargo run -p lesson03_udp_loop_server{args}`)"
    )
}
