//! Lesson 03 — a UDP server that serves forever: lesson 01's server inside a loop.
//! 第 03 课 —— 一直服务下去的 UDP 服务器：把第 01 课的服务器放进一个循环里。
//!
//! Start it once, then run the client as many times as you like; stop it with Ctrl+C.
//! 启动一次，然后客户端想运行几次都可以；用 Ctrl+C 停止它。
//!
//! ```text
//! cargo run -p lesson03_udp_loop_server       # listens on 127.0.0.1:7852
//! cargo run -p lesson02_udp_client            # again and again, from another terminal
//! ```
//!
//! The document notes that a real server should run for ever, with an endless loop. The steps
//! are those of lesson 01; steps 3 and 4 now repeat for every datagram:
//! 文档提到，真正的服务器应该永久运行，用死循环实现。步骤和第 01 课相同；第 3、4 步现在对每个数据报重复执行：
//!
//! 1. create a UDP socket / 创建 UDP 套接字
//! 2. bind it to an IP address and a port / 绑定 IP 地址和端口
//! 3. receive a datagram and show it (repeated) / 接收一个数据报并显示（重复）
//! 4. send a reply back to its sender (repeated) / 给发送方回复（重复）
//!
//! Python → Rust: `socket.socket(...)` + `bind` → `UdpSocket::bind`; `while True:` → `loop`;
//! `recvfrom(500)` → `recv_from(&mut buf)`; `decode()` → `String::from_utf8_lossy`;
//! `encode()` → `as_bytes()`; `sendto` → `send_to`.
//!
//! Anchors shown in the book / 书中引用的锚点:
//! `args`, `errors`, `step1` (steps 1 and 2 / 第 1、2 步), `port_in_use`, `all_interfaces`,
//! `serve_forever`, `step3`, `keep_serving`, `lossy_utf8`, `empty_datagram`, `truncation`, `step4`.

use std::ffi::OsString;
use std::io::{self, Write};
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};

/// The name used at the start of every error and warning line.
/// 每一行错误和警告开头使用的程序名。
const PROGRAM: &str = "lesson03_udp_loop_server";

/// The same address as lesson 01, so lesson 02's client works with either server.
/// 与第 01 课相同的地址，这样第 02 课的客户端对两个服务器都能用。
const DEFAULT_ADDR: &str = "127.0.0.1:7852";

/// How many bytes one `recv_from` can take, like `recvfrom(500)` in Python.
/// 一次 `recv_from` 最多能接收多少字节，相当于 Python 里的 `recvfrom(500)`。
const BUFFER_SIZE: usize = 500;

/// The document's reply, kept byte for byte (proper German: "Ich habe keinen Hunger").
/// 文档里的回复，逐字节保留（正确的德语是 "Ich habe keinen Hunger"）。
const REPLY: &str = "Ich hab keine Hunge";

/// After this many failed receives in a row the socket itself is broken: stop instead of
/// printing warnings forever.
/// 连续这么多次接收失败，说明套接字本身坏了：与其无休止地打印警告，不如停下来。
const MAX_FAILURES_IN_A_ROW: u32 = 10;

const USAGE: &str = "\
Usage: lesson03_udp_loop_server [ADDR]

Answers every UDP datagram on ADDR with \"Ich hab keine Hunge\" until stopped with Ctrl+C.
对 ADDR 上收到的每个 UDP 数据报都回复 \"Ich hab keine Hunge\"，直到按 Ctrl+C 停止。

  ADDR        IP:PORT to bind (default 127.0.0.1:7852); 127.0.0.1:0 picks a free port
  -h, --help  print this help
";

// ANCHOR: errors
/// `main` only turns the result of `run` into an exit status: ONE line on stderr,
/// `lesson03_udp_loop_server: error: ...` (anyhow's causes joined by `{:#}`), exit status 1.
/// Errors that concern one datagram do not get here: the loop reports them and goes on.
/// `main` 只负责把 `run` 的结果变成退出码：标准错误上一行 `lesson03_udp_loop_server: error: ...`
/// （`{:#}` 把 anyhow 的各层原因连在一起），退出码 1。只涉及某一个数据报的错误不会走到这里：
/// 循环会报告它们并继续服务。
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

    writeln!(
        out,
        "Starting the UDP server (lesson 03); it serves until you stop it with Ctrl+C..."
    )
    .context("could not write to stdout")?;

    // ANCHOR: step1
    // Steps 1 and 2 in one call, exactly as in lesson 01: `UdpSocket::bind` creates a UDP
    // (SOCK_DGRAM) socket of the address's family and binds it. We bind ONCE, before the loop:
    // the port stays ours for the whole life of the server, and every client sends to it.
    // 第 1、2 步合成一次调用，和第 01 课完全一样：`UdpSocket::bind` 创建一个与地址同族的 UDP
    // （SOCK_DGRAM）套接字并绑定。只在循环之前绑定一次：整个服务器运行期间端口都归我们，
    // 所有客户端都往这里发。
    let socket = UdpSocket::bind(addr).map_err(|err| explain_bind_error(addr, err))?;
    let local = socket
        .local_addr()
        .context("cannot read the bound address")?;
    warn_if_all_interfaces(local);
    // The line tools and tests wait for; flushed at once.
    // 工具和测试等待的就是这一行；立即 flush。
    writeln!(out, "listening on {local}").context("could not write to stdout")?;
    out.flush().context("could not write to stdout")?;
    // ANCHOR_END: step1

    // ANCHOR: serve_forever
    // Python's `while True:` is Rust's `loop`. There is no `break`: the server runs until it is
    // stopped from outside (Ctrl+C), which is why `run` has no `Ok(())` at its end: the loop never
    // finishes, so the compiler knows no value is needed there.
    // UDP has no connections, so one socket serves every client: each datagram carries its
    // sender's address, and we answer that address. `exchange` counts the datagrams, so the
    // output of several clients in a row stays easy to follow. The buffer is reused each time.
    // Python 的 `while True:` 就是 Rust 的 `loop`。这里没有 `break`：服务器一直运行到被外部停止
    // （Ctrl+C），所以 `run` 的末尾没有 `Ok(())`：循环永远不会结束，编译器知道那里不需要返回值。
    // UDP 没有连接，一个套接字就能服务所有客户端：每个数据报都带着发送方的地址，我们就回复那个地址。
    // `exchange` 给数据报计数，几个客户端先后来访时输出也容易看清。缓冲区每次重复使用。
    let mut buf = [0u8; BUFFER_SIZE];
    let mut exchange: u64 = 0;
    let mut failures_in_a_row: u32 = 0;
    loop {
        // ANCHOR: step3
        // Step 3: wait for the next datagram, from any client.
        // 第 3 步：等待下一个数据报，来自哪个客户端都可以。
        // ANCHOR: keep_serving
        // A failed receive concerns one datagram, not the server: report it as a one-line
        // warning and wait for the next one. The document's loop has no such care; one example:
        // on Windows, after we answered a client that had already quit, the next receive may
        // report "connection reset", and the Python server would stop right there.
        // 接收失败只关系到一个数据报，而不是整个服务器：用一行警告报告，然后等待下一个。
        // 文档里的循环没有这样的保护；举个例子：在 Windows 上，如果我们回复的客户端已经退出，
        // 下一次接收可能报告 “connection reset”，Python 服务器就会在那里停下来。
        let (len, peer) = match socket.recv_from(&mut buf) {
            Ok(received) => {
                failures_in_a_row = 0;
                received
            }
            Err(err) => {
                failures_in_a_row += 1;
                if failures_in_a_row >= MAX_FAILURES_IN_A_ROW {
                    return Err(anyhow!(err).context(format!(
                        "receiving failed {failures_in_a_row} times in a row; stopping"
                    )));
                }
                eprintln!("{PROGRAM}: warning: receiving a datagram failed: {err}; still serving");
                continue;
            }
        };
        // ANCHOR_END: keep_serving
        exchange += 1;
        let data = &buf[..len];
        // "1 byte" but "0 bytes", "15 bytes". / 英文里只有 1 个字节时用单数 "byte"。
        let unit = if len == 1 { "byte" } else { "bytes" };
        writeln!(out, "#{exchange} received {len} {unit} from {peer}")
            .context("could not write to stdout")?;

        // Bytes as Python would print them (b'...'), then decoded to text.
        // 先按 Python 打印 bytes 的样子显示（b'...'），再解码成文字。
        writeln!(out, "  as bytes: b'{}'", data.escape_ascii())
            .context("could not write to stdout")?;

        // ANCHOR: lossy_utf8
        // Python's `decode()` raises an exception on invalid UTF-8 and, in a loop with no
        // `try`, one bad datagram from anyone ends the server for everyone. Lossy decoding
        // shows it with U+FFFD (�) and the loop goes on.
        // 遇到非法 UTF-8 时 Python 的 `decode()` 会抛异常；循环里没有 `try` 的话，任何人发来一个
        // 坏数据报就会让服务器对所有人停止服务。有损解码用 U+FFFD（�）显示它，循环照常继续。
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
        // An empty datagram is legal in UDP; it still has a sender, so it is answered too.
        // 空数据报在 UDP 里是合法的；它也有发送方，所以同样回复。
        if data.is_empty() {
            writeln!(
                out,
                "  note: the datagram is empty (0 bytes), which UDP allows"
            )
            .context("could not write to stdout")?;
        }
        // ANCHOR_END: empty_datagram

        // ANCHOR: truncation
        // What does not fit in the buffer is discarded, not kept for the next `recv_from`: the
        // next call returns the next datagram. A full buffer means something may be missing.
        // 缓冲区放不下的部分会被丢弃，不会留给下一次 `recv_from`：下一次调用拿到的是下一个数据报。
        // 缓冲区被填满，就说明可能少了一部分。
        if len == BUFFER_SIZE {
            writeln!(
                out,
                "  note: the {BUFFER_SIZE}-byte buffer is full, so the datagram may have been \
                 longer; the rest was cut off and is lost"
            )
            .context("could not write to stdout")?;
        }
        // ANCHOR_END: truncation
        // ANCHOR_END: step3

        // ANCHOR: step4
        // Step 4: encode the reply (`as_bytes`, Python's `encode()`) and send it to this
        // datagram's sender. A failure here is also about one client only: warn, go on.
        // 第 4 步：把回复编码（`as_bytes`，即 Python 的 `encode()`），发给这个数据报的发送方。
        // 这里失败同样只关系到一个客户端：给出警告，继续服务。
        match socket.send_to(REPLY.as_bytes(), peer) {
            Ok(_) => writeln!(out, "#{exchange} sent the reply to {peer}: {REPLY}")
                .context("could not write to stdout")?,
            Err(err) => eprintln!(
                "{PROGRAM}: warning: #{exchange}: sending the reply to {peer} failed: {err}; \
                 still serving"
            ),
        }
        // ANCHOR_END: step4
    }
    // ANCHOR_END: serve_forever
}

// ANCHOR: args
/// Reads `[ADDR]` from the command line; `Ok(None)` means "help was asked for". `args_os`
/// instead of `args`, which would panic on an argument that is not valid Unicode.
/// `SocketAddr` wants a numeric IP and a port 0–65535.
/// 从命令行读取 `[ADDR]`；`Ok(None)` 表示用户要看帮助。用 `args_os` 而不用 `args`，
/// 后者遇到不是合法 Unicode 的参数会 panic。`SocketAddr` 要求数字形式的 IP 和 0–65535 的端口。
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
/// Turns a failed bind into a message that says what to do. Most often the port is held by
/// another server: lesson 01 or an earlier run of this lesson, perhaps in another terminal.
/// 把绑定失败变成告诉用户该怎么做的消息。最常见的是端口被另一个服务器占着：
/// 第 01 课，或者本课之前的一次运行，也许在另一个终端里。
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
/// 0.0.0.0 or [::] means every network interface: other computers can reach the server too.
/// Allowed, but announced on stderr so that it is never an accident.
/// 0.0.0.0 或 [::] 表示所有网卡：其他电脑也能访问这个服务器。允许这样做，但会在标准错误上提醒，
/// 免得是无意为之。
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
