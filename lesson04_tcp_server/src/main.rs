//! Lesson 04: a TCP server with an accept loop (case 04 of the document).
//! 第 04 课：带接受循环的 TCP 服务器（文档中的案例 04）。
//!
//! Run it / 运行：
//!     cargo run -p lesson04_tcp_server                  # listens on 127.0.0.1:8998
//!     cargo run -p lesson04_tcp_server -- 127.0.0.1:0   # any free port / 任意空闲端口
//! then, in a second terminal / 然后在第二个终端里：
//!     cargo run -p lesson05_tcp_client
//!
//! Anchors shown in the book / 书中引用的代码区域（ANCHOR）:
//!   args          reading the command line / 读取命令行
//!   step1         steps 1-3: create + bind + listen in one call / 第 1-3 步：一次调用完成创建、绑定、监听
//!   all_interfaces  warning for 0.0.0.0 / [::] / 绑定到所有网卡时的警告
//!   port_in_use   a clear message when the port is taken / 端口被占用时的清楚提示
//!   step4         accept one client / 接受一个客户端
//!   read_timeout  a silent client must not block the server / 不说话的客户端不能卡住服务器
//!   step5         receive the bytes / 接收字节
//!   lossy_utf8    bytes that are not UTF-8 / 不是 UTF-8 的字节
//!   truncation    the 500-byte buffer filled up / 500 字节的缓冲区被填满
//!   step6         send the reply / 发送回复
//!   step7         close the connection / 关闭连接
//!   graceful_close  half-close and drain so the client keeps the reply / 半关闭并排空，客户端才不会丢回复
//!   errors        turning failures into one-line messages / 把错误变成一行提示

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The name this program uses in its messages. / 本程序在提示信息中使用的名字。
const PROGRAM: &str = "lesson04_tcp_server";
/// The document's address: this machine, port 8998. / 文档中的地址：本机，8998 端口。
const DEFAULT_ADDR: &str = "127.0.0.1:8998";
/// The document's buffer size for one `recv`. / 文档中一次 `recv` 用的缓冲区大小。
const BUFFER_SIZE: usize = 500;
/// How long we wait for a client to say something. / 等客户端开口的最长时间。
const READ_TIMEOUT: Duration = Duration::from_secs(3);
/// How long we keep reading leftovers before closing. / 关闭前最多花多久读掉剩下的数据。
const DRAIN_TIME: Duration = Duration::from_secs(1);

// ANCHOR: errors
/// `main` only turns the result of `run` into an exit status.
/// Any error becomes ONE line on stderr: `lesson04_tcp_server: error: ...`, and exit status 1.
/// `{:#}` prints anyhow's chain of causes on one line, joined by ": ".
///
/// `main` 只负责把 `run` 的结果变成退出码。
/// 任何错误都变成标准错误上的一行：`lesson04_tcp_server: error: ...`，退出码为 1。
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

/// A problem with ONE client is not a reason to stop serving everybody else:
/// it becomes a one-line warning on stderr, and the loop goes on.
/// 某一个客户端出了问题，不是停止为其他人服务的理由：
/// 它只变成标准错误上的一行警告，循环继续。
fn warn(message: &str) {
    eprintln!("{PROGRAM}: warning: {message}");
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
    // The command line is `lesson04_tcp_server [ADDR]`. The document hard-codes
    // ("127.0.0.1", 8998); we keep that as the default but let you choose another address,
    // e.g. 127.0.0.1:0 ("port 0" asks the OS for any free port; tests use that).
    // `args_os` does not panic on arguments that are not valid Unicode; we report them instead.
    //
    // 命令行是 `lesson04_tcp_server [ADDR]`。文档把 ("127.0.0.1", 8998) 写死在代码里；
    // 我们保留它作为默认值，但允许换一个地址，例如 127.0.0.1:0（端口 0 表示让操作系统
    // 随便挑一个空闲端口，测试就是这么用的）。
    // `args_os` 遇到不是合法 Unicode 的参数也不会 panic，我们把它当作错误报告出来。
    let mut args = Vec::new();
    for arg in std::env::args_os().skip(1) {
        match arg.into_string() {
            Ok(text) => args.push(text),
            Err(raw) => bail!("the argument {raw:?} is not valid text; usage: {PROGRAM} [ADDR]"),
        }
    }
    if args.iter().any(|a| a == "-h" || a == "--help") {
        writeln!(
            out,
            "Usage: {PROGRAM} [ADDR]\n\n\
             A TCP server that answers every client with\n\
             `Received msg: <message> from <client address>` (lesson 04).\n\
             ADDR is IP:PORT, default {DEFAULT_ADDR}; use 127.0.0.1:0 for any free port.\n\
             Stop it with Ctrl-C. Talk to it with: cargo run -p lesson05_tcp_client"
        )
        .context("could not write to stdout")?;
        return Ok(());
    }
    if args.len() > 1 {
        bail!(
            "too many arguments ({} given, at most 1 expected); usage: {PROGRAM} [ADDR], e.g. {PROGRAM} {DEFAULT_ADDR}",
            args.len()
        );
    }
    let text = args.first().map_or(DEFAULT_ADDR, String::as_str);
    // `SocketAddr` is an IP address plus a port, the Rust twin of Python's ("127.0.0.1", 8998).
    // `SocketAddr` 就是 IP 地址加端口，相当于 Python 里的元组 ("127.0.0.1", 8998)。
    let Ok(addr) = text.parse::<SocketAddr>() else {
        bail!(
            "{text:?} is not an IP:PORT address; example: {DEFAULT_ADDR} (or [::1]:8998 for IPv6)"
        );
    };
    // ANCHOR_END: args

    // The document prints a start line first, so do we. Ctrl-C is the only way out of the
    // endless loop below, so the document's "Ending tcp server" line is never reached there;
    // we do not print one at all.
    // 和文档一样先打印一行启动信息。下面是死循环，只能用 Ctrl-C 结束，所以文档里那句
    // "Ending tcp server" 其实永远执行不到；我们干脆不打印它。
    writeln!(out, "Starting tcp server (press Ctrl-C to stop)")
        .context("could not write to stdout")?;

    // ANCHOR: step1
    // Steps 1, 2 and 3 of the document: create a socket, bind it to an address, listen.
    // In Python these are three calls:
    //     sock = socket.socket(AF_INET, SOCK_STREAM); sock.bind(addr); sock.listen()
    // Rust merges them into ONE call, `TcpListener::bind`. It creates a TCP socket (IPv4 or IPv6,
    // chosen from the address), binds it, and calls listen() for us. A `TcpListener` can never
    // exist in a half-ready state, so you cannot forget a step.
    //
    // listen() takes a "backlog": how many clients that have connected but that we have not
    // accept()ed yet the OS will keep waiting in a queue. std asks for 128 (the OS may lower
    // it); Python's listen() without an argument picks a similar default. Our loop serves one
    // client at a time, so the others wait in that queue.
    //
    // This socket is the LISTENING socket. It never carries a message: its only job is to
    // receive connection requests. Each accepted client gets its own CONNECTED socket (step 4).
    //
    // 文档的第 1、2、3 步：建立 socket、绑定地址、开始监听。
    // Python 里是三次调用：
    //     sock = socket.socket(AF_INET, SOCK_STREAM); sock.bind(addr); sock.listen()
    // Rust 把它们合成了一次调用 `TcpListener::bind`：它根据地址建立 TCP socket（IPv4 或
    // IPv6），绑定，再替我们调用 listen()。`TcpListener` 不会处在"只做了一半"的状态，
    // 所以不可能漏掉某一步。
    //
    // listen() 有一个参数叫 backlog：已经连上来、但我们还没有 accept() 的客户端，
    // 操作系统最多替我们排队保存多少个。std 用的是 128（操作系统可能再调小）；
    // Python 不带参数的 listen() 也会选一个差不多的默认值。我们的循环一次只服务一个客户端，
    // 其他客户端就在这个队列里等。
    //
    // 这个 socket 是"监听 socket"，它从不传送消息，只负责接收连接请求。
    // 每个被接受的客户端都会得到一个自己的"连接 socket"（第 4 步）。
    let listener = match TcpListener::bind(addr) {
        Ok(listener) => listener,
        // ANCHOR: port_in_use
        // Only one program at a time may listen on a port. The usual cause: an earlier
        // lesson04_tcp_server is still running in another terminal.
        // Restarting right after Ctrl-C is fine: on Unix, std sets the SO_REUSEADDR option,
        // so old connections still in TIME_WAIT do not block the port. The document's Python
        // server does not set it and may fail with "Address already in use" for about a minute.
        // 同一时间只能有一个程序监听同一个端口。最常见的原因：另一个终端里还开着
        // 上一次的 lesson04_tcp_server。
        // 按 Ctrl-C 后立刻重启没有问题：在 Unix 上 std 会设置 SO_REUSEADDR 选项，
        // 处于 TIME_WAIT 状态的旧连接不会占住端口。文档里的 Python 服务器没有设置它，
        // 所以可能在大约一分钟内报 "Address already in use"。
        Err(err) if err.kind() == io::ErrorKind::AddrInUse => bail!(
            "port {} is already in use ({addr}); stop the program that uses it \
             (another {PROGRAM}?) or pass another address such as 127.0.0.1:0",
            addr.port()
        ),
        // ANCHOR_END: port_in_use
        Err(err) if err.kind() == io::ErrorKind::AddrNotAvailable => bail!(
            "{} is not an address of this machine; use 127.0.0.1 (e.g. {DEFAULT_ADDR})",
            addr.ip()
        ),
        Err(err) if err.kind() == io::ErrorKind::PermissionDenied => bail!(
            "not allowed to listen on port {} (ports below 1024 need administrator rights); \
             use a port above 1024, e.g. {DEFAULT_ADDR}",
            addr.port()
        ),
        Err(err) => return Err(err).context(format!("could not listen on {addr}")),
    };
    // With port 0 the OS picked the port: `local_addr` tells us which one it really is.
    // 端口写 0 时由操作系统挑端口：`local_addr` 告诉我们实际用的是哪一个。
    let bound = listener
        .local_addr()
        .context("could not read the address we are listening on")?;
    // ANCHOR_END: step1

    // ANCHOR: all_interfaces
    // 127.0.0.1 (or [::1]) is "this machine only". 0.0.0.0 (or [::]) means "every network
    // interface": other computers on your network could then connect. Allowed, but announced.
    // 127.0.0.1（或 [::1]）表示"只有本机"。0.0.0.0（或 [::]）表示"所有网卡"：
    // 这样局域网里的其他电脑也能连进来。可以这样做，但要明确提醒。
    if bound.ip().is_unspecified() {
        warn(&format!(
            "listening on all interfaces ({bound}): other machines on your network can connect; \
             use 127.0.0.1 to stay on this machine"
        ));
    }
    // ANCHOR_END: all_interfaces

    // Tests and `cargo xtask run` wait for the `listening on` line, so we flush right after it.
    // 测试和 `cargo xtask run` 都在等 `listening on` 这一行，所以打印完立刻 flush。
    writeln!(out, "listening on {bound}").context("could not write to stdout")?;
    out.flush().context("could not write to stdout")?;

    // A server is meant to run forever: the document's `while True`, Rust's `loop`.
    // 服务器原则上要一直运行：文档里的 `while True`，就是 Rust 的 `loop`。
    loop {
        // ANCHOR: step4
        // Step 4: wait until a client connects, then take it out of the backlog queue.
        // `accept` returns a NEW socket (a `TcpStream`) connected to that one client, plus the
        // client's address. We talk to the client only through this stream; the listener goes
        // back to waiting for the next client. This is why a TCP server has two kinds of socket.
        //
        // Why must the server start first? Because a client's connect() is answered by this
        // listening socket; if nothing listens on the port, the OS refuses the connection.
        //
        // 第 4 步：等到有客户端连上来，把它从排队的队列里取出来。
        // `accept` 返回一个新的 socket（`TcpStream`），它只连着这一个客户端，同时返回客户端的
        // 地址。我们只通过这个 stream 和客户端说话；监听 socket 回去继续等下一个客户端。
        // 这就是 TCP 服务器有两种 socket 的原因。
        //
        // 为什么必须先启动服务器？因为客户端的 connect() 要由这个监听 socket 来应答；
        // 如果端口上没有人监听，操作系统会直接拒绝连接。
        let (mut stream, peer) = match listener.accept() {
            Ok(pair) => pair,
            Err(err) => {
                // Rare (e.g. too many open files). Warn, pause a moment so a lasting problem
                // does not turn into a busy loop, and keep serving.
                // 很少见（例如打开的文件太多）。警告一下，稍等片刻以免持续的问题变成空转，
                // 然后继续服务。
                warn(&format!(
                    "accept failed: {err}; waiting for the next client"
                ));
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        // ANCHOR_END: step4

        // ANCHOR: read_timeout
        // The Python original calls recv() with no time limit: a client that connects and then
        // says nothing blocks the server FOREVER, and every other client waits behind it.
        // A read timeout bounds that: after 3 s of silence, read() fails and we move on.
        // Python 原版调用 recv() 时没有时间限制：一个连上来却一言不发的客户端会让服务器
        // 永远卡住，其他客户端全都在后面干等。读超时给它设了上限：沉默 3 秒后 read() 失败，
        // 我们去服务下一个客户端。
        if let Err(err) = stream.set_read_timeout(Some(READ_TIMEOUT)) {
            warn(&format!(
                "could not set a read timeout for {peer}: {err}; skipping it"
            ));
            continue;
        }
        // ANCHOR_END: read_timeout

        // ANCHOR: step5
        // Step 5: receive what the client sent, through the CONNECTED socket.
        // Python's `skt.recv(500)` is Rust's `stream.read(&mut buffer)` with a 500-byte buffer.
        // It returns how many bytes arrived (at most 500). What arrives are BYTES, not text.
        //
        // TCP is a stream with no message boundaries: one read() returns whatever has arrived so
        // far, which may be only PART of what the client sent. Like the document we read once;
        // for the short messages of this lesson on one machine, that is the whole message.
        //
        // 第 5 步：通过"连接 socket"接收客户端发来的内容。
        // Python 的 `skt.recv(500)` 就是 Rust 里用 500 字节缓冲区调用 `stream.read(&mut buffer)`。
        // 它返回收到了多少字节（最多 500）。收到的是字节（bytes），不是文本。
        //
        // TCP 是没有消息边界的字节流：一次 read() 返回的是"目前已经到达的数据"，可能只是
        // 客户端所发内容的一部分。我们和文档一样只读一次；本课的短消息在同一台机器上传输，
        // 一次就能读全。
        let mut buffer = [0u8; BUFFER_SIZE];
        let received = match stream.read(&mut buffer) {
            Ok(0) => {
                // 0 bytes means the client closed its side without sending anything.
                // 读到 0 字节表示客户端什么都没发就关闭了它那一端。
                warn(&format!(
                    "client {peer} closed the connection without sending anything; serving the next client"
                ));
                continue;
            }
            Ok(n) => n,
            // A read timeout shows up as WouldBlock on Unix and TimedOut on Windows.
            // 读超时在 Unix 上表现为 WouldBlock，在 Windows 上是 TimedOut。
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                warn(&format!(
                    "client {peer} sent nothing within {} s; closing it and serving the next client",
                    READ_TIMEOUT.as_secs()
                ));
                continue;
            }
            Err(err) => {
                // e.g. "Connection reset by peer": the client vanished abruptly.
                // 例如 "Connection reset by peer"：客户端突然断开了。
                warn(&format!(
                    "reading from client {peer} failed: {err}; serving the next client"
                ));
                continue;
            }
        };
        let bytes = &buffer[..received];
        // ANCHOR_END: step5

        // ANCHOR: lossy_utf8
        // Bytes -> text. Python's `msg.decode()` raises UnicodeDecodeError on bytes that are not
        // UTF-8, and since nothing catches it, the whole server dies. `from_utf8_lossy` never
        // fails: each invalid sequence becomes U+FFFD (�), and we add a note saying so.
        // 字节 -> 文本。Python 的 `msg.decode()` 遇到不是 UTF-8 的字节会抛出
        // UnicodeDecodeError，没人捕获它，整个服务器就崩了。`from_utf8_lossy` 永远不会失败：
        // 每个非法的字节序列都变成 U+FFFD（�），我们再加一行说明。
        let msg = String::from_utf8_lossy(bytes);
        if std::str::from_utf8(bytes).is_err() {
            writeln!(
                out,
                "note: the message from {peer} is not valid UTF-8; invalid bytes are shown as \u{FFFD}"
            )
            .context("could not write to stdout")?;
        }
        // ANCHOR_END: lossy_utf8

        // ANCHOR: truncation
        // A full buffer means the client may have sent more than 500 bytes: the rest is still
        // waiting in the connection, unread (see step 7 for why that matters when closing).
        // 缓冲区满了，说明客户端可能发了超过 500 字节：剩下的还在连接里，没有被读
        // （第 7 步会讲关闭时这为什么要紧）。
        if received == BUFFER_SIZE {
            writeln!(
                out,
                "note: the message from {peer} filled the whole {BUFFER_SIZE}-byte buffer; \
                 more bytes may be waiting, this server reads only once"
            )
            .context("could not write to stdout")?;
        }
        // ANCHOR_END: truncation

        // ANCHOR: step6
        // Step 6: answer. The document formats the reply as "Received msg: {0} from {1}"; we
        // print the client's address as IP:PORT. Text -> bytes is `.as_bytes()` (Rust strings
        // are always UTF-8), the counterpart of Python's `.encode()`.
        // No address is needed to send: the connected socket already knows its client.
        //
        // Python's `skt.send(...)` may send only PART of the data and returns how much it sent;
        // the document ignores that number. `write_all` keeps writing until every byte is sent
        // (Python's `sendall` does the same).
        //
        // 第 6 步：回复。文档的回复格式是 "Received msg: {0} from {1}"；我们把客户端地址
        // 写成 IP:端口 的形式。文本 -> 字节用 `.as_bytes()`（Rust 字符串总是 UTF-8），
        // 对应 Python 的 `.encode()`。
        // 发送时不需要写地址：连接 socket 早就知道它连着哪个客户端。
        //
        // Python 的 `skt.send(...)` 可能只发出一部分数据，并返回实际发了多少；文档忽略了这个
        // 返回值。`write_all` 会一直写，直到每个字节都发出去（Python 的 `sendall` 也是这样）。
        let reply = format!("Received msg: {msg} from {peer}");
        writeln!(out, "{reply}").context("could not write to stdout")?;
        out.flush().context("could not write to stdout")?;
        if let Err(err) = stream.write_all(reply.as_bytes()) {
            // e.g. "Broken pipe": the client left before we could answer.
            // 例如 "Broken pipe"：我们还没来得及回复，客户端就走了。
            warn(&format!(
                "sending the reply to client {peer} failed: {err}; serving the next client"
            ));
            continue;
        }
        // ANCHOR_END: step6

        // ANCHOR: step7
        // Step 7: close the connection. Python's `skt.close()`; in Rust a socket is closed when
        // its value is dropped, here at the end of this loop iteration. Only this client's
        // connected socket is closed; the listening socket stays open for the next client.
        // 第 7 步：关闭连接。对应 Python 的 `skt.close()`；Rust 里 socket 的值被丢弃（drop）
        // 时就会关闭，这里是在本轮循环结束时。关掉的只是这个客户端的连接 socket，
        // 监听 socket 依然开着，等待下一个客户端。
        //
        // ANCHOR: graceful_close
        // A trap the document does not show: if we close while bytes the client sent are still
        // unread (it sent more than 500 bytes, or sent its message in pieces), the OS answers
        // with a RESET instead of a normal close, and a reset can make the client lose our
        // reply before it reads it. So we close in three moves:
        //   1. shutdown(Write): "I have nothing more to send". The reply already queued is still
        //      delivered, followed by a normal end-of-stream.
        //   2. Read and throw away whatever is left, until the client closes its side, for at
        //      most 1 s (a client that never closes must not block the server).
        //   3. Drop the stream: now nothing is unread, so the close is a normal one.
        // For the usual short message, step 2 ends at once: the client reads the reply and
        // closes.
        //
        // 文档没有提到的一个陷阱：如果关闭时客户端发来的字节还没读完（它发了超过 500 字节，
        // 或者分几次发送），操作系统会发出 RESET（重置）而不是正常关闭，而重置可能让客户端
        // 在读到我们的回复之前就把它丢掉。所以我们分三步关闭：
        //   1. shutdown(Write)："我没有要发的了"。已经排队的回复照样送达，后面跟着正常的结束标志。
        //   2. 读出并丢弃剩下的数据，直到客户端关闭它那一端，最多 1 秒
        //      （一个永远不关的客户端不能卡住服务器）。
        //   3. 丢弃 stream：这时没有未读数据了，关闭就是正常的关闭。
        // 对于平常的短消息，第 2 步会立刻结束：客户端读完回复就关闭了。
        if stream.shutdown(Shutdown::Write).is_ok() {
            let deadline = Instant::now() + DRAIN_TIME;
            let mut leftover = [0u8; BUFFER_SIZE];
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
                    break;
                }
                match stream.read(&mut leftover) {
                    Ok(0) | Err(_) => break, // client closed, timed out or reset / 对方关闭、超时或重置
                    Ok(_) => {}              // throw these bytes away / 丢弃这些字节
                }
            }
        }
        drop(stream);
        // ANCHOR_END: graceful_close
        // ANCHOR_END: step7
    }
}
