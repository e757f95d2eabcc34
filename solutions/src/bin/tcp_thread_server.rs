//! Exercise 4 (lesson 04): a TCP server that serves its clients at the same time.
//! 练习 4（第 04 课）：同时为多个客户端服务的 TCP 服务器。
//!
//! Lesson 04 serves one client after the other: while it waits for a silent client (up to its
//! 3 s read timeout), everybody else waits in the backlog queue. Here the accept loop only
//! accepts; each connection gets its own thread, which runs lesson 04's steps 5 to 7. A silent
//! client now blocks only its own thread.
//! 第 04 课一个接一个地服务客户端：它在等一个不说话的客户端时（最多等到 3 秒的读超时），其他人都在
//! 排队。这里接受循环只负责接受连接；每个连接都有自己的线程，在线程里执行第 04 课的第 5 到第 7 步。
//! 现在一个不说话的客户端只会卡住它自己的线程。
//!
//! ```text
//! cargo run -p solutions --bin tcp_thread_server            # 127.0.0.1:8998
//! cargo run -p lesson05_tcp_client                           # in another terminal
//! ```
//!
//! Anchors shown in the book / 书中引用的锚点:
//! `setup` (constants and the counter of active clients / 常量与活动客户端计数器), `signature`
//! (the functions to write / 要写的函数), `solution` (the accept loop / 接受循环), `spawn` (one
//! thread per connection / 每个连接一个线程), `busy` (a limit on threads / 线程数上限),
//! `handle_client` (the signature of lesson 04's steps 5-7 as a function / 把第 04 课第 5-7 步
//! 写成函数后的签名),
//! `errors`, `args`, `port_in_use`.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

/// The name used at the start of every error and warning line.
/// 每一行错误和警告开头使用的程序名。
const PROGRAM: &str = "tcp_thread_server";
/// Lesson 04's address. / 第 04 课的地址。
const DEFAULT_ADDR: &str = "127.0.0.1:8998";
/// Lesson 04's buffer for its one read. / 第 04 课那一次读取所用的缓冲区大小。
const BUFFER_SIZE: usize = 500;

// ANCHOR: setup
/// A silent client still holds a thread, so it still gets a read timeout.
/// 不说话的客户端仍然占着一个线程，所以仍然要有读超时。
const READ_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a thread keeps reading leftovers before closing (lesson 04, graceful close).
/// 关闭前线程最多花多久读掉剩下的数据（第 04 课，正常关闭）。
const DRAIN_TIME: Duration = Duration::from_secs(1);
/// At most this many clients are served at once; kept small so that you can try it.
/// 最多同时服务这么多客户端；故意设得很小，方便你动手试试。
const MAX_ACTIVE: usize = 32;

/// Counts one active client while it lives: +1 when created, -1 when dropped. The thread owns
/// it, so the count goes down however the thread ends, even if it never starts.
/// 在存活期间记一个活动客户端：创建时加一，丢弃时减一。它归线程所有，所以无论线程以何种方式结束，
/// 甚至线程根本没能启动，计数都会减回去。
struct Active(Arc<AtomicUsize>);

impl Active {
    fn new(counter: &Arc<AtomicUsize>) -> (Active, usize) {
        let now = counter.fetch_add(1, Ordering::SeqCst) + 1;
        (Active(Arc::clone(counter)), now)
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
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

/// Prints one line. Threads share stdout; `println!` would panic if stdout were closed, so we
/// ignore that error: the server goes on serving even when nobody reads its log.
/// 打印一行。各线程共用标准输出；如果标准输出被关闭，`println!` 会 panic，所以我们忽略这个错误：
/// 就算没人看日志，服务器也继续服务。
fn say(line: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// A problem with one client is one warning line on stderr; the server goes on.
/// 某一个客户端的问题只是标准错误上的一行警告；服务器继续运行。
fn warn(message: &str) {
    eprintln!("{PROGRAM}: warning: {message}");
}
// ANCHOR_END: errors

fn run() -> Result<()> {
    let Some(addr) = parse_args(std::env::args_os().skip(1))? else {
        print!("{USAGE}");
        return Ok(());
    };
    say("Starting the threaded tcp server (press Ctrl-C to stop)");
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
    say(&format!("listening on {bound}"));
    serve(&listener)
}

// ANCHOR: solution
// ANCHOR: signature
/// The accept loop: accepts connections for ever and hands each one to a new thread.
/// 接受循环：不停地接受连接，把每个连接交给一个新线程。
fn serve(listener: &TcpListener) -> Result<()> {
    // ANCHOR_END: signature
    let active = Arc::new(AtomicUsize::new(0));
    loop {
        // Step 4 of lesson 04, unchanged. / 第 04 课的第 4 步，没有变化。
        let (stream, peer) = match listener.accept() {
            Ok(pair) => pair,
            Err(err) => {
                warn(&format!(
                    "accept failed: {err}; waiting for the next client"
                ));
                thread::sleep(Duration::from_millis(100));
                continue;
            }
        };

        // ANCHOR: busy
        // One thread per client has a cost: each thread has its own stack, and a program that
        // lets strangers create threads without limit can be made to run out of memory. Beyond
        // MAX_ACTIVE clients we answer "busy" at once and close; the client may try again.
        // Only this loop adds to the counter, so checking and then adding cannot race.
        // 每个客户端一个线程是有代价的：每个线程都有自己的栈，让陌生人无限制地创建线程的程序，
        // 可能被耗尽内存。超过 MAX_ACTIVE 个客户端时，我们立刻回答“忙”并关闭；客户端可以稍后再试。
        // 只有这个循环会增加计数，所以先检查再增加不会出现竞争。
        if active.load(Ordering::SeqCst) >= MAX_ACTIVE {
            warn(&format!(
                "{MAX_ACTIVE} clients already; telling {peer} to come back later"
            ));
            refuse(stream);
            continue;
        }
        // ANCHOR_END: busy

        // ANCHOR: spawn
        // `move` hands the stream, the address and the counter's guard to the new thread: the
        // thread owns them, and the loop immediately goes back to `accept`.
        // `thread::spawn` would panic if the system cannot create a thread; `Builder::spawn`
        // returns an error instead, and the closure (with the stream and the guard) is
        // dropped: the client's connection is closed and the count goes back down.
        // `move` 把 stream、地址和计数守卫交给新线程：它们归线程所有，循环立刻回去继续 `accept`。
        // 系统无法创建线程时 `thread::spawn` 会 panic；`Builder::spawn` 则返回一个错误，
        // 闭包（连同 stream 和守卫）被丢弃：客户端的连接被关闭，计数也减回去。
        let (guard, now) = Active::new(&active);
        say(&format!("client {peer} connected ({now} active)"));
        let spawned = thread::Builder::new()
            .name(format!("client {peer}"))
            .spawn(move || {
                let _guard = guard;
                handle_client(stream, peer);
            });
        if let Err(err) = spawned {
            warn(&format!(
                "could not start a thread for {peer}: {err}; closed it"
            ));
        }
        // ANCHOR_END: spawn
    }
}
// ANCHOR_END: solution

/// Answers "busy" and closes without waiting. What the client already sent is read first
/// (without blocking, and only a little), because closing with unread bytes sends a reset,
/// which could make the client lose our answer (see lesson 04, graceful close).
/// 回答“忙”并关闭，不做等待。先读掉客户端已经发来的内容（不阻塞，也只读一点），
/// 因为带着未读的字节关闭会发出重置，可能让客户端丢掉我们的回答（见第 04 课，正常关闭）。
fn refuse(mut stream: TcpStream) {
    let _ = stream.write_all(b"server busy: too many clients, try again later");
    let _ = stream.shutdown(Shutdown::Write);
    if stream.set_nonblocking(true).is_ok() {
        let mut leftover = [0u8; BUFFER_SIZE];
        for _ in 0..16 {
            match stream.read(&mut leftover) {
                Ok(n) if n > 0 => {}
                _ => break, // closed, nothing more yet, or an error / 已关闭、暂时没有数据或出错
            }
        }
    }
}

// ANCHOR: handle_client
/// Lesson 04's steps 5, 6 and 7 for one client, moved into a function that a thread can run.
/// Every problem is a warning about this one client; nothing here can stop the server.
/// 把第 04 课针对一个客户端的第 5、6、7 步放进一个函数，让线程来执行。
/// 每个问题都只是关于这一个客户端的警告；这里的任何事情都不会让服务器停下。
fn handle_client(mut stream: TcpStream, peer: SocketAddr) {
    // ANCHOR_END: handle_client
    if let Err(err) = stream.set_read_timeout(Some(READ_TIMEOUT)) {
        warn(&format!(
            "could not set a read timeout for {peer}: {err}; closing it"
        ));
        return;
    }
    // Step 5: one read, as in lesson 04. / 第 5 步：和第 04 课一样只读一次。
    let mut buffer = [0u8; BUFFER_SIZE];
    let received = match stream.read(&mut buffer) {
        Ok(0) => {
            warn(&format!(
                "client {peer} closed the connection without sending anything"
            ));
            return;
        }
        Ok(n) => n,
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            warn(&format!(
                "client {peer} sent nothing within {} s; closing it (the other clients were served meanwhile)",
                READ_TIMEOUT.as_secs()
            ));
            return;
        }
        Err(err) => {
            warn(&format!("reading from client {peer} failed: {err}"));
            return;
        }
    };
    let msg = String::from_utf8_lossy(&buffer[..received]);

    // Step 6: the same reply as lesson 04. / 第 6 步：和第 04 课一样的回复。
    let reply = format!("Received msg: {msg} from {peer}");
    say(&reply);
    if let Err(err) = stream.write_all(reply.as_bytes()) {
        warn(&format!("sending the reply to client {peer} failed: {err}"));
        return;
    }

    // Step 7 with lesson 04's graceful close: stop writing, drain briefly, then close.
    // 第 7 步，用第 04 课的正常关闭方式：停止写入，短暂地读掉剩余数据，然后关闭。
    if stream.shutdown(Shutdown::Write).is_ok() {
        let deadline = Instant::now() + DRAIN_TIME;
        let mut leftover = [0u8; BUFFER_SIZE];
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
Usage: tcp_thread_server [ADDR]

A TCP server that answers every client with `Received msg: <message> from <client address>`,
serving up to 32 clients at the same time, one thread each.
一个 TCP 服务器，回复每个客户端 `Received msg: <消息> from <客户端地址>`，最多同时服务 32 个客户端，
每个客户端一个线程。

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
