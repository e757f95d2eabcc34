//! Exercise 2 (lesson 02): a UDP client that tries again when no reply comes.
//! 练习 2（第 02 课）：收不到回复就再试一次的 UDP 客户端。
//!
//! UDP does not resend lost datagrams: if the message or the reply is lost, lesson 02 waits
//! 5 s and gives up. Real UDP programs (DNS, for example) send again after a short wait, a few
//! times, waiting longer each time, and only then give up. This client does that.
//! UDP 不会重发丢失的数据报：消息或回复丢了，第 02 课等 5 秒就放弃。真正的 UDP 程序（比如 DNS）
//! 会在短暂等待后重发，重试几次，每次等得更久，最后才放弃。这个客户端就是这样做的。
//!
//! ```text
//! cargo run -p lesson03_udp_loop_server                       # first, in another terminal
//! cargo run -p solutions --bin udp_retry_client               # 127.0.0.1:7852, "I love jingjing"
//! cargo run -p solutions --bin udp_retry_client -- 127.0.0.1:7852 hello --tries 5 --wait 200
//! ```
//!
//! Anchors shown in the book / 书中引用的锚点:
//! `setup` (the retry policy / 重试策略), `signature` (the function to write / 要写的函数),
//! `solution` (the whole function / 完整的函数), `retry_loop` (send, wait, wait longer / 发送、
//! 等待、等得更久), `give_up` (the final error / 最后的错误), `connect` (a connected UDP socket /
//! 已连接的 UDP 套接字), `errors`, `args`.

use std::ffi::OsString;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

/// The name used at the start of every error line. / 每一行错误开头使用的程序名。
const PROGRAM: &str = "udp_retry_client";
/// Lesson 02's defaults. / 第 02 课的默认值。
const DEFAULT_SERVER: &str = "127.0.0.1:7852";
const DEFAULT_MESSAGE: &str = "I love jingjing";
/// Like lesson 02's `recvfrom(200)`. / 相当于第 02 课的 `recvfrom(200)`。
const BUFFER_SIZE: usize = 200;

// ANCHOR: setup
/// How hard to try: the number of sends, and how long to wait after the first one. Each later
/// wait is twice the one before ("exponential backoff"), but never more than `MAX_WAIT`.
/// 要多努力：发送几次，第一次发送后等多久。之后每次等待的时间是上一次的两倍（“指数退避”），
/// 但不超过 `MAX_WAIT`。
#[derive(Debug, Clone, Copy)]
struct Retry {
    tries: u32,
    first_wait: Duration,
}

const DEFAULT_RETRY: Retry = Retry {
    tries: 3,
    first_wait: Duration::from_millis(1000),
};
const MAX_WAIT: Duration = Duration::from_secs(10);
// ANCHOR_END: setup

const USAGE: &str = "\
Usage: udp_retry_client [SERVER_ADDR] [MESSAGE] [--tries N] [--wait MS]

Sends MESSAGE to SERVER_ADDR over UDP and prints the reply. When no reply comes within MS
milliseconds, sends again, waiting twice as long each time; gives up after N sends.
通过 UDP 把 MESSAGE 发给 SERVER_ADDR 并打印回复。MS 毫秒内没有回复就重发，每次等待时间加倍；
发送 N 次后放弃。

  SERVER_ADDR  IP:PORT of the server (default 127.0.0.1:7852)
  MESSAGE      the text to send (default \"I love jingjing\")
  --tries N    how many times to send, 1-20 (default 3)
  --wait MS    how long to wait after the first send, in milliseconds, 1-60000 (default 1000)
  -h, --help   print this help

Start a server first: cargo run -p lesson03_udp_loop_server
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
    let Some((server, message, retry)) = parse_args(std::env::args_os().skip(1))? else {
        print!("{USAGE}");
        return Ok(());
    };
    if server.ip().is_unspecified() {
        bail!(
            "{server} is an address for servers to bind, not one to send to; use 127.0.0.1:{}",
            server.port()
        );
    }

    // Lesson 02's step 1: a socket on an ephemeral port, loopback for a server on this machine.
    // 第 02 课的第 1 步：一个使用临时端口的套接字；服务器在本机时用回环地址。
    let local_ip = match (server.ip(), server.ip().is_loopback()) {
        (IpAddr::V4(_), true) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        (IpAddr::V4(_), false) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        (IpAddr::V6(_), true) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        (IpAddr::V6(_), false) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let socket = UdpSocket::bind((local_ip, 0))
        .with_context(|| format!("cannot create a UDP socket on {local_ip}"))?;

    // ANCHOR: connect
    // `connect` on a UDP socket sends nothing: it only records the peer. From then on `send`
    // needs no address, `recv` only returns datagrams from that peer (a stray datagram from
    // another program is dropped by the system), and when the server's machine reports "no
    // one listens on that port", the next `recv` fails with ConnectionRefused instead of
    // waiting in vain.
    // 对 UDP 套接字调用 `connect` 不会发送任何东西：它只是记下对方的地址。此后 `send` 不必再写地址，
    // `recv` 只返回来自这个对方的数据报（别的程序发来的数据报会被系统丢掉），而当服务器那台机器
    // 报告“那个端口没人监听”时，下一次 `recv` 会以 ConnectionRefused 失败，而不是白白等待。
    socket
        .connect(server)
        .with_context(|| format!("cannot set {server} as the peer of the UDP socket"))?;
    // ANCHOR_END: connect

    let mut buf = [0u8; BUFFER_SIZE];
    let (len, attempt) = ask_with_retries(&socket, server, message.as_bytes(), retry, &mut buf)?;
    let reply = &buf[..len];
    println!(
        "received from {server} on try {attempt} ({len} bytes): {}",
        String::from_utf8_lossy(reply)
    );
    if std::str::from_utf8(reply).is_err() {
        println!("  note: the reply is not valid UTF-8; each invalid part is shown as \u{FFFD}");
    }
    if len == BUFFER_SIZE {
        println!(
            "  note: the {BUFFER_SIZE}-byte buffer is full; the rest of the reply was cut off"
        );
    }
    Ok(())
}

// ANCHOR: solution
// ANCHOR: signature
/// Sends `message` on the connected `socket` until a reply arrives or `retry.tries` sends got
/// none. Returns the reply's length in `buf` and the number of the try that got it.
/// 在已连接的 `socket` 上发送 `message`，直到收到回复，或者 `retry.tries` 次发送都没有回复。
/// 返回回复在 `buf` 中的长度，以及是第几次尝试收到的。
fn ask_with_retries(
    socket: &UdpSocket,
    server: SocketAddr,
    message: &[u8],
    retry: Retry,
    buf: &mut [u8],
) -> Result<(usize, u32)> {
    // ANCHOR_END: signature
    // ANCHOR: retry_loop
    let mut wait = retry.first_wait;
    let mut waited_ms = Vec::new();
    for attempt in 1..=retry.tries {
        // Send the SAME bytes again. The server cannot tell a retry from a new message, so a
        // retry is only safe when doing the request twice does no harm (it is "idempotent"):
        // fine for "what time is it?", wrong for "add 10 to my account" without a request id.
        // 再发一次“同样的”字节。服务器分不清这是重发还是新消息，所以只有当请求执行两次也无害
        // （即“幂等”）时重发才安全：问“现在几点？”没问题；“给我的账户加 10 元”如果没有请求编号就错了。
        socket
            .send(message)
            .with_context(|| format!("cannot send to {server}"))?;
        println!(
            "try {attempt}/{}: sent {} bytes to {server}, waiting up to {} ms",
            retry.tries,
            message.len(),
            wait.as_millis()
        );

        // The timeout is set before each receive, because each try waits longer.
        // 每次接收前都重新设置超时，因为每次尝试等待的时间更长。
        socket
            .set_read_timeout(Some(wait))
            .context("cannot set the read timeout")?;
        match socket.recv(buf) {
            // A late reply to an earlier try is just as good: the request was the same.
            // 对前一次尝试的迟到回复同样有效：请求是一样的。
            Ok(len) => return Ok((len, attempt)),
            // A timeout: WouldBlock on Linux and macOS, TimedOut on Windows.
            // 超时：Linux 和 macOS 上是 WouldBlock，Windows 上是 TimedOut。
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                println!(
                    "try {attempt}/{}: no reply within {} ms",
                    retry.tries,
                    wait.as_millis()
                );
                waited_ms.push(wait.as_millis().to_string());
                wait = (wait * 2).min(MAX_WAIT);
            }
            // The system was told that nobody listens there: trying again cannot help.
            // 系统得知那里没人监听：再试也没用。
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset
                ) =>
            {
                bail!(
                    "nothing is listening on {server}: start the server first with \
                     `cargo run -p lesson03_udp_loop_server{}`, then run this client again",
                    start_args(server)
                )
            }
            Err(err) => return Err(anyhow!(err).context(format!("receiving from {server} failed"))),
        }
    }
    // ANCHOR_END: retry_loop
    // ANCHOR: give_up
    // Every try timed out. Say how long we waited in total and what to do next.
    // 每次尝试都超时了。说明我们一共等了多久，以及下一步该做什么。
    bail!(
        "no reply from {server} after {} tries (waited {} ms): the server is probably not \
         running; start it first with `cargo run -p lesson03_udp_loop_server{}`, then run this \
         client again",
        retry.tries,
        waited_ms.join(" + "),
        start_args(server)
    )
    // ANCHOR_END: give_up
}
// ANCHOR_END: solution

/// ` -- ADDR` when the server is not at the default address, so the hint can be copied.
/// 服务器不在默认地址时返回 ` -- ADDR`，这样提示可以直接复制使用。
fn start_args(server: SocketAddr) -> String {
    if server.to_string() == DEFAULT_SERVER {
        String::new()
    } else {
        format!(" -- {server}")
    }
}

// ANCHOR: args
/// Reads `[SERVER_ADDR] [MESSAGE] [--tries N] [--wait MS]`; the options may come anywhere.
/// `Ok(None)` means "help was asked for".
/// 读取 `[SERVER_ADDR] [MESSAGE] [--tries N] [--wait MS]`；选项可以放在任何位置。
/// `Ok(None)` 表示用户要看帮助。
fn parse_args(args: impl Iterator<Item = OsString>) -> Result<Option<(SocketAddr, String, Retry)>> {
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
    let mut retry = DEFAULT_RETRY;
    let mut positional = Vec::new();
    let mut rest = texts.into_iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--tries" => {
                let value = rest.next().unwrap_or_default();
                retry.tries = match value.parse::<u32>() {
                    Ok(n @ 1..=20) => n,
                    _ => bail!(
                        "--tries needs a whole number from 1 to 20, for example --tries 3 (got `{value}`)"
                    ),
                };
            }
            "--wait" => {
                let value = rest.next().unwrap_or_default();
                retry.first_wait = match value.parse::<u64>() {
                    Ok(ms @ 1..=60_000) => Duration::from_millis(ms),
                    _ => bail!(
                        "--wait needs milliseconds from 1 to 60000, for example --wait 500 (got `{value}`)"
                    ),
                };
            }
            option if option.starts_with("--") => {
                bail!("unknown option `{option}`; the options are --tries N and --wait MS")
            }
            _ => positional.push(arg),
        }
    }
    let (addr_text, message) = match positional.as_slice() {
        [] => (DEFAULT_SERVER, DEFAULT_MESSAGE),
        [addr] => (addr.as_str(), DEFAULT_MESSAGE),
        [addr, message] => (addr.as_str(), message.as_str()),
        [_, _, extra @ ..] => bail!(
            "too many arguments (unexpected: {}); put a message with spaces in quotes",
            extra.join(" ")
        ),
    };
    let server = addr_text.parse::<SocketAddr>().map_err(|_| {
        anyhow!("invalid server address `{addr_text}`: expected a numeric IP and a port, for example {DEFAULT_SERVER}")
    })?;
    Ok(Some((server, message.to_string(), retry)))
}
// ANCHOR_END: args
