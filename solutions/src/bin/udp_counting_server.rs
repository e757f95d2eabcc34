//! Exercise 3 (lesson 03): a UDP server that counts its clients.
//! 练习 3（第 03 课）：会给客户端计数的 UDP 服务器。
//!
//! Like lesson 03 it serves for ever, but it remembers every sender: each reply says how many
//! messages came from that address so far and how many different addresses the server has
//! seen. Run lesson 02 three times against it and watch: every run is a NEW client, because
//! every run gets a new ephemeral port. For UDP, "a client" is nothing more than an IP and a
//! port.
//! 和第 03 课一样，它一直服务下去，但它会记住每个发送方：每次回复都说明到目前为止这个地址发来了
//! 多少条消息，以及服务器一共见过多少个不同的地址。用第 02 课对它运行三次看看：每次运行都是一个
//! “新”客户端，因为每次运行都会拿到一个新的临时端口。对 UDP 来说，“一个客户端”不过就是一个 IP
//! 加一个端口。
//!
//! ```text
//! cargo run -p solutions --bin udp_counting_server          # 127.0.0.1:7852
//! cargo run -p lesson02_udp_client                           # several times, in another terminal
//! ```
//!
//! Anchors shown in the book / 书中引用的锚点:
//! `setup` (the table of clients / 客户端表), `signature` (the function to write / 要写的函数),
//! `solution` (the whole function / 完整的函数), `count` (updating the table / 更新计数表),
//! `reply` (the answer / 回复), `errors`, `args`, `port_in_use`.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{self, Write};
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};

/// The name used at the start of every error and warning line.
/// 每一行错误和警告开头使用的程序名。
const PROGRAM: &str = "udp_counting_server";
/// Lesson 03's address. / 第 03 课的地址。
const DEFAULT_ADDR: &str = "127.0.0.1:7852";
/// Like lesson 03's `recvfrom(500)`. / 相当于第 03 课的 `recvfrom(500)`。
const BUFFER_SIZE: usize = 500;

// ANCHOR: setup
/// How many messages each sender has sent. The key is the sender's full address, IP AND port:
/// two programs on the same machine are two clients, and so are two runs of one program.
/// 每个发送方发来了多少条消息。键是发送方的完整地址，IP 加端口：同一台机器上的两个程序是两个客户端，
/// 同一个程序运行两次也是两个客户端。
type Clients = HashMap<SocketAddr, u64>;
// ANCHOR_END: setup

const USAGE: &str = "\
Usage: udp_counting_server [ADDR]

Answers every UDP datagram on ADDR with how many messages its sender (IP:port) has sent so
far and how many senders there have been, until stopped with Ctrl+C.
对 ADDR 上收到的每个 UDP 数据报，回复它的发送方（IP:端口）到目前为止发来了多少条消息，
以及一共有过多少个发送方，直到按 Ctrl+C 停止。

  ADDR        IP:PORT to bind (default 127.0.0.1:7852); 127.0.0.1:0 picks a free port
  -h, --help  print this help
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
    let Some(addr) = parse_args(std::env::args_os().skip(1))? else {
        print!("{USAGE}");
        return Ok(());
    };
    println!("Starting the counting UDP server; stop it with Ctrl+C");
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
    serve(&socket)
}

// ANCHOR: solution
// ANCHOR: signature
/// Lesson 03's loop, plus a table of clients. Returns only if the socket keeps failing.
/// 第 03 课的循环，再加一张客户端表。只有在套接字不断失败时才返回。
fn serve(socket: &UdpSocket) -> Result<()> {
    // ANCHOR_END: signature
    // The table lives OUTSIDE the loop, so it survives from one datagram to the next. A new
    // table inside the loop would forget everybody at once.
    // 这张表放在循环“外面”，所以能从一个数据报保留到下一个。如果在循环里面新建，就会立刻忘掉所有人。
    let mut clients = Clients::new();
    let mut buf = [0u8; BUFFER_SIZE];
    let mut failures_in_a_row = 0;
    loop {
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
        let text = String::from_utf8_lossy(&buf[..len]);

        // ANCHOR: count
        // `entry` finds the sender's counter, or inserts 0 for a sender we have never seen;
        // either way we get a `&mut u64` to add one to. One lookup does both jobs.
        // This table only grows: every new port is a new entry, and anyone can send from as
        // many ports as they like. A real server bounds it (for example, forgets clients that
        // have been quiet for a minute); see "Going further" in the book.
        // `entry` 找到发送方的计数器；如果是从没见过的发送方，就插入 0；无论哪种情况，我们都拿到一个
        // `&mut u64` 来加一。一次查找完成两件事。
        // 这张表只会变大：每个新端口都是新的一项，而任何人都可以从任意多个端口发送。真正的服务器会限制
        // 它的大小（例如忘掉一分钟没说话的客户端）；见书中的“更进一步”。
        let count = clients.entry(peer).or_insert(0);
        *count += 1;
        let messages = *count;
        let known = clients.len();
        // ANCHOR_END: count

        // ANCHOR: reply
        // The reply is built for this sender; `send_to` answers the address the datagram came
        // from, exactly as in lesson 03.
        // 回复是为这个发送方专门生成的；`send_to` 回复数据报的来源地址，和第 03 课完全一样。
        let reply = format!("message {messages} from {peer} (clients so far: {known})");
        println!("received {len} bytes from {peer}: {text}");
        match socket.send_to(reply.as_bytes(), peer) {
            Ok(_) => println!("  replied: {reply}"),
            Err(err) => eprintln!("{PROGRAM}: warning: replying to {peer} failed: {err}"),
        }
        // ANCHOR_END: reply
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
