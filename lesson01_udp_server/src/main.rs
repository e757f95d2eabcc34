//! Lesson 01 — a UDP server that answers exactly one datagram, then exits.
//! 第 01 课 —— 只应答一个数据报就退出的 UDP 服务器。
//!
//! Run it first, then the client in a second terminal:
//! 先运行它，再在第二个终端里运行客户端：
//!
//! ```text
//! cargo run -p lesson01_udp_server            # listens on 127.0.0.1:7852
//! cargo run -p lesson02_udp_client            # sends "I love jingjing"
//! ```
//!
//! The numbered steps of the server, as the document lists them:
//! 文档里服务器端的编号步骤：
//!
//! 1. create a UDP socket / 创建 UDP 套接字
//! 2. bind it to an IP address and a port / 绑定 IP 地址和端口
//! 3. receive one datagram and show it / 接收一个数据报并显示出来
//! 4. send a reply back to the sender (optional in UDP) / 给发送方回一条消息（UDP 里可有可无）
//!
//! Python → Rust:
//!
//! | Python                                               | Rust                                   |
//! | ---------------------------------------------------- | -------------------------------------- |
//! | `socket.socket(AF_INET, SOCK_DGRAM)` + `sock.bind()` | `UdpSocket::bind(addr)` (one call)     |
//! | `data, addr = sock.recvfrom(500)`                    | `socket.recv_from(&mut buf)`           |
//! | `data.decode()`                                      | `std::str::from_utf8` / `String::from_utf8_lossy` |
//! | `rsp.encode()`                                       | `rsp.as_bytes()`                       |
//! | `sock.sendto(data, addr)`                            | `socket.send_to(data, addr)`           |
//!
//! Anchors shown in the book / 书中引用的锚点:
//! `args`, `errors`, `step1` (steps 1 and 2 / 第 1、2 步), `port_in_use`, `all_interfaces`,
//! `step3`, `lossy_utf8`, `empty_datagram`, `truncation`, `step4`.

use std::ffi::OsString;
use std::io::{self, Write};
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};

/// The name used at the start of every error and warning line.
/// 每一行错误和警告开头使用的程序名。
const PROGRAM: &str = "lesson01_udp_server";

/// The document's address: this machine only (127.0.0.1), port 7852.
/// 文档里的地址：只限本机（127.0.0.1），端口 7852。
const DEFAULT_ADDR: &str = "127.0.0.1:7852";

/// How many bytes one `recv_from` can take, like `recvfrom(500)` in Python.
/// 一次 `recv_from` 最多能接收多少字节，相当于 Python 里的 `recvfrom(500)`。
const BUFFER_SIZE: usize = 500;

/// The document's reply, byte for byte. Proper German would be "Ich habe keinen Hunger"
/// ("I am not hungry"); we keep the document's bytes so that its Python client receives
/// exactly what it would receive from the Python server.
/// 文档里的回复，逐字节照搬。正确的德语应是 "Ich habe keinen Hunger"（“我不饿”）；
/// 我们保留文档原来的字节，这样文档里的 Python 客户端收到的内容和 Python 服务器发的完全一样。
const REPLY: &str = "Ich hab keine Hunge";

const USAGE: &str = "\
Usage: lesson01_udp_server [ADDR]

Waits for one UDP datagram on ADDR, shows it, answers \"Ich hab keine Hunge\", then exits.
在 ADDR 上等待一个 UDP 数据报，显示它，回复 \"Ich hab keine Hunge\"，然后退出。

  ADDR        IP:PORT to bind (default 127.0.0.1:7852); 127.0.0.1:0 picks a free port
  -h, --help  print this help
";

// ANCHOR: errors
/// `main` only turns the result of `run` into an exit status. Every failure becomes ONE line on
/// stderr, `lesson01_udp_server: error: ...`; `{err:#}` prints anyhow's chain of causes on that
/// single line ("cannot bind ...: Permission denied"). No panic, no backtrace for the student.
/// `main` 只负责把 `run` 的结果变成退出码。任何失败都变成标准错误上的一行
/// `lesson01_udp_server: error: ...`；`{err:#}` 会把 anyhow 的整条原因链打印在同一行上。
/// 不 panic，也不给学生看一大段调用栈。
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

    // Read the command line first: a typo should fail before any socket exists.
    // 先读命令行：参数写错时，应该在创建任何套接字之前就报错。
    let Some(addr) = parse_args(std::env::args_os().skip(1))? else {
        write!(out, "{USAGE}").context("could not write to stdout")?;
        return Ok(());
    };

    writeln!(out, "Starting the UDP server (lesson 01)...").context("could not write to stdout")?;

    // ANCHOR: step1
    // Steps 1 and 2: create the socket AND bind it. In Python these are two calls:
    // `socket.socket(AF_INET, SOCK_DGRAM)` then `sock.bind(("127.0.0.1", 7852))`. Rust merges
    // them into `UdpSocket::bind`: the type `UdpSocket` already means SOCK_DGRAM (datagrams,
    // i.e. UDP), and the address family (AF_INET for IPv4, AF_INET6 for IPv6) follows from the
    // address we pass. A Rust `UdpSocket` therefore never exists unbound.
    // Binding reserves the port on this machine: from now on, datagrams sent to that IP:port are
    // queued for us by the operating system. That is why the server must start first: UDP has no
    // connection, so a datagram that arrives while nobody is bound to the port is simply dropped.
    //
    // 第 1、2 步：创建套接字并且绑定。Python 里是两次调用：先 `socket.socket(AF_INET, SOCK_DGRAM)`，
    // 再 `sock.bind(("127.0.0.1", 7852))`。Rust 把它们合成了 `UdpSocket::bind` 一次调用：
    // `UdpSocket` 这个类型本身就表示 SOCK_DGRAM（数据报，也就是 UDP），地址族（IPv4 用
    // AF_INET，IPv6 用 AF_INET6）由传进去的地址决定。所以 Rust 里不存在“还没绑定”的 UdpSocket。
    // 绑定就是在本机占下这个端口：从此发往这个 IP:端口 的数据报，操作系统都会替我们排队保存。
    // 这也是必须先启动服务器的原因：UDP 没有连接，数据报到达时如果没有人绑定这个端口，就直接丢掉了。
    let socket = UdpSocket::bind(addr).map_err(|err| explain_bind_error(addr, err))?;

    // Ask the socket which address it really got: with port 0 the system picks a free port, and
    // this line is how people (and tests) learn it. Flush so a reader sees it at once.
    // 问套接字实际绑定到了哪个地址：端口写 0 时由系统挑一个空闲端口，人和测试都靠这一行得知端口。
    // 立即 flush，让读取输出的一方马上看到。
    let local = socket
        .local_addr()
        .context("cannot read the bound address")?;
    warn_if_all_interfaces(local);
    writeln!(out, "listening on {local}").context("could not write to stdout")?;
    out.flush().context("could not write to stdout")?;
    // ANCHOR_END: step1

    // ANCHOR: step3
    // Step 3: wait for one datagram. `recv_from` blocks until a datagram arrives (like Python's
    // `recvfrom`, with no time limit: for a server, waiting is its job). It copies the datagram
    // into `buf` and returns how many bytes it copied and who sent them (the sender's IP:port,
    // which we need to answer). Python allocates a new `bytes` object for you; in Rust we bring
    // our own buffer and look only at the first `len` bytes of it.
    // 第 3 步：等待一个数据报。`recv_from` 会一直阻塞到数据报到达（和 Python 的 `recvfrom` 一样
    // 没有时间限制：对服务器来说，等待就是它的工作）。它把数据报复制进 `buf`，返回复制了多少字节
    // 以及是谁发来的（对方的 IP:端口，回信要用）。Python 会替你新建一个 `bytes` 对象；
    // Rust 里由我们自己提供缓冲区，只看其中前 `len` 个字节。
    let mut buf = [0u8; BUFFER_SIZE];
    let (len, peer) = socket
        .recv_from(&mut buf)
        .context("receiving a datagram failed")?;
    let data = &buf[..len];
    // "1 byte" but "0 bytes", "15 bytes". / 英文里只有 1 个字节时用单数 "byte"。
    let unit = if len == 1 { "byte" } else { "bytes" };
    writeln!(out, "received {len} {unit} from {peer}").context("could not write to stdout")?;

    // What travels on the network is bytes (`&[u8]`), not text. We show them the way Python
    // prints a `bytes` value, b'...', with anything that is not printable ASCII escaped as \xNN.
    // 网络上传输的是字节（`&[u8]`），不是文字。这里按 Python 打印 `bytes` 的样子显示成 b'...'，
    // 不可打印的字节写成 \xNN。
    writeln!(out, "  as bytes: b'{}'", data.escape_ascii()).context("could not write to stdout")?;

    // ANCHOR: lossy_utf8
    // Bytes → text is decoding (Python: `data.decode()`, UTF-8 by default). Python's `decode()`
    // raises UnicodeDecodeError on bytes that are not valid UTF-8, and the document's server dies
    // right there. Anyone can send us any bytes, so we never trust them: `from_utf8_lossy`
    // replaces each invalid sequence with U+FFFD (�) and we say so.
    // 字节 → 文字叫解码（Python 里是 `data.decode()`，默认 UTF-8）。字节不是合法 UTF-8 时，
    // Python 的 `decode()` 会抛出 UnicodeDecodeError，文档里的服务器就此崩溃。
    // 任何人都能给我们发任意字节，所以绝不能轻信：`from_utf8_lossy` 会把每段非法字节换成
    // U+FFFD（�），我们再加一句说明。
    let valid_utf8 = std::str::from_utf8(data).is_ok();
    let text = String::from_utf8_lossy(data);
    writeln!(out, "  as text:  {text}").context("could not write to stdout")?;
    if !valid_utf8 {
        writeln!(
            out,
            "  note: these bytes are not valid UTF-8; each invalid part is shown as \u{FFFD}"
        )
        .context("could not write to stdout")?;
    }
    // ANCHOR_END: lossy_utf8

    // ANCHOR: empty_datagram
    // UDP allows a datagram with no bytes at all. It is still a datagram: it has a sender and
    // deserves an answer, so we only point it out.
    // UDP 允许一个字节都没有的数据报。它仍然是一个数据报：有发送方，也值得回复，所以只是提示一下。
    if data.is_empty() {
        writeln!(
            out,
            "  note: the datagram is empty (0 bytes), which UDP allows"
        )
        .context("could not write to stdout")?;
    }
    // ANCHOR_END: empty_datagram

    // ANCHOR: truncation
    // A datagram longer than the buffer does not wait for a second read: the part that does not
    // fit is thrown away, and Python's `recvfrom(500)` does not tell you. We cannot know the
    // real size either, but a completely full buffer is the sign that something may be missing.
    // 比缓冲区长的数据报不会留到下一次再读：放不下的部分直接被丢弃，Python 的 `recvfrom(500)`
    // 对此一声不吭。我们也无法知道原来有多长，但缓冲区被完全填满，就说明后面可能有内容被截掉了。
    if len == BUFFER_SIZE {
        writeln!(
            out,
            "  note: the {BUFFER_SIZE}-byte buffer is full, so the datagram may have been longer; \
             the rest was cut off and is lost"
        )
        .context("could not write to stdout")?;
    }
    // ANCHOR_END: truncation
    // ANCHOR_END: step3

    // ANCHOR: step4
    // Step 4: answer. Text → bytes is encoding (Python: `rsp.encode()`); a Rust `&str` is already
    // UTF-8, so `as_bytes()` just looks at the same memory as bytes. Because UDP has no
    // connection, every `send_to` names the receiver: the `peer` address `recv_from` gave us.
    // The reply is optional in UDP; the client of lesson 02 waits for it, so we send it.
    // 第 4 步：回复。文字 → 字节叫编码（Python 里是 `rsp.encode()`）；Rust 的 `&str` 本来就是
    // UTF-8，`as_bytes()` 只是把同一块内存当作字节来看。UDP 没有连接，所以每次 `send_to` 都要写明
    // 收件人：就是 `recv_from` 告诉我们的 `peer` 地址。UDP 里回复不是必需的；但第 02 课的客户端
    // 在等它，所以我们回复。
    socket
        .send_to(REPLY.as_bytes(), peer)
        .with_context(|| format!("sending the reply to {peer} failed"))?;
    writeln!(out, "sent the reply to {peer}: {REPLY}").context("could not write to stdout")?;
    // ANCHOR_END: step4

    // One exchange and we are done, as in case 01. Lesson 03 keeps serving in a loop.
    // 完成一次收发就结束，和案例 01 一样。第 03 课会在循环里一直服务下去。
    writeln!(out, "Ending the UDP server (lesson 01).").context("could not write to stdout")?;
    Ok(())
}

// ANCHOR: args
/// Reads `[ADDR]` from the command line. `Ok(None)` means "help was asked for".
/// We use `args_os` rather than `args` because `args` panics on an argument that is not valid
/// Unicode; here that becomes an ordinary error. `SocketAddr` accepts only a numeric IP and a
/// port 0–65535: `nonsense`, `localhost:7852` or `127.0.0.1:99999` are refused with an example.
/// 从命令行读取 `[ADDR]`。`Ok(None)` 表示用户要看帮助。
/// 这里用 `args_os` 而不用 `args`：遇到不是合法 Unicode 的参数时 `args` 会 panic，这里则变成普通错误。
/// `SocketAddr` 只接受数字形式的 IP 加 0–65535 的端口：`nonsense`、`localhost:7852`、
/// `127.0.0.1:99999` 都会被拒绝，并给出一个正确的例子。
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
        anyhow!(
            "invalid address `{addr_text}`: expected a numeric IP and a port 0-65535, for example {DEFAULT_ADDR}"
        )
    })?;
    Ok(Some(addr))
}
// ANCHOR_END: args

// ANCHOR: port_in_use
/// Turns a failed bind into a message that says what to do. The usual case: the port is still
/// held by another server (maybe an earlier run of this lesson, or lesson 03, in another
/// terminal). Only one UDP socket may own an IP:port at a time. (A TCP server on the same port
/// number does not count: TCP and UDP ports are separate.)
/// 把绑定失败变成一条告诉用户该怎么做的消息。最常见的情况：端口还被另一个服务器占着
/// （也许是另一个终端里之前运行的本课或第 03 课）。同一时间一个 IP:端口 只能属于一个 UDP 套接字。
/// （同一端口号上的 TCP 服务器不算冲突：TCP 和 UDP 的端口是分开的。）
fn explain_bind_error(addr: SocketAddr, err: io::Error) -> anyhow::Error {
    let port = addr.port();
    match err.kind() {
        io::ErrorKind::AddrInUse => anyhow!(
            "port {port} is already in use on {} (another server still running?): stop that \
             program, or pass another address such as 127.0.0.1:0 to get a free port",
            addr.ip()
        ),
        io::ErrorKind::AddrNotAvailable => anyhow!(
            "{} is not an address of this machine, so nothing can bind to it: use 127.0.0.1:{port}",
            addr.ip()
        ),
        io::ErrorKind::PermissionDenied => anyhow!(
            "not allowed to bind port {port} on {}: ports below 1024 are reserved for the \
             system; use a larger one, such as {DEFAULT_ADDR}",
            addr.ip()
        ),
        _ => anyhow::Error::new(err).context(format!("cannot bind a UDP socket to {addr}")),
    }
}
// ANCHOR_END: port_in_use

// ANCHOR: all_interfaces
/// 127.0.0.1 is reachable only from this machine. 0.0.0.0 (or [::] for IPv6) means "every
/// network interface": other computers on the network can then send us datagrams too. That is
/// allowed, but it should be a deliberate choice, so we say it out loud on stderr.
/// 127.0.0.1 只有本机能访问。0.0.0.0（IPv6 是 [::]）表示“所有网卡”：网络上的其他电脑也能给我们
/// 发数据报。这样做是允许的，但应当是有意的选择，所以我们在标准错误上明确提醒一句。
fn warn_if_all_interfaces(local: SocketAddr) {
    if local.ip().is_unspecified() {
        eprintln!(
            "{PROGRAM}: warning: bound to {local}, which accepts datagrams from every network \
             interface, not only from this machine; use 127.0.0.1:{} to stay local",
            local.port()
        );
    }
}
// ANCHOR_END: all_interfaces
