//! Helpers shared by the solution tests: start a server binary on 127.0.0.1:0, learn its real
//! address from its `listening on` line (no sleeping), and kill it when the test ends.
//! 各个练习测试共用的辅助代码：在 127.0.0.1:0 上启动服务器程序，从它输出的 `listening on`
//! 一行得知真正的地址（不靠 sleep 等待），测试结束时杀掉它。

// Each test file uses only some of these helpers.
// 每个测试文件只用到其中一部分辅助函数。
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Generous upper bound for anything that should happen at once on loopback.
/// 在回环地址上本应立刻发生的事情，给一个宽松的上限。
pub const PATIENCE: Duration = Duration::from_secs(5);

/// A running server process. Dropping it kills the process, even when the test panics.
/// 一个正在运行的服务器进程。丢弃它就会杀掉进程，测试 panic 时也一样。
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    stdout: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `exe` with `args` and waits for its `listening on <addr>` line.
    /// 用 `args` 启动 `exe`，并等待它输出 `listening on <addr>`。
    pub fn start(exe: &str, args: &[&str]) -> Server {
        let mut child = Command::new(exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {exe}: {err}"));

        // Lines of stdout go through a channel, so a test can wait for one with a timeout.
        // stdout 的每一行都经过一个通道，测试就可以带超时地等待某一行。
        let (tx, stdout) = mpsc::channel();
        let out = child.stdout.take().expect("stdout is piped");
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let err_pipe = child.stderr.take().expect("stderr is piped");
        let sink = Arc::clone(&stderr);
        thread::spawn(move || {
            let mut reader = err_pipe;
            let mut buf = [0u8; 1024];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut text) = sink.lock() {
                    text.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });

        let mut server = Server {
            child,
            addr: "0.0.0.0:0".parse().unwrap(),
            stdout,
            stderr,
        };
        let line = server.wait_for_line("listening on ");
        let addr_text = line
            .split("listening on ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_default();
        server.addr = addr_text
            .parse()
            .unwrap_or_else(|_| panic!("no address in the line {line:?}"));
        server
    }

    /// Waits for the next stdout line containing `needle` and returns it.
    /// 等待 stdout 中下一行包含 `needle` 的输出，并返回这一行。
    pub fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no line with {needle:?} within {PATIENCE:?}; stderr: {}",
                        self.stderr()
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().ok();
                    panic!(
                        "the server ended ({status:?}) before printing {needle:?}; stderr: {}",
                        self.stderr()
                    )
                }
            }
        }
    }

    /// Waits for the process to end by itself; returns its status and the rest of its stdout.
    /// 等待进程自己结束；返回它的退出状态和剩下的 stdout。
    pub fn wait_exit(&mut self) -> (ExitStatus, String) {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit within {PATIENCE:?}"
            );
            thread::sleep(Duration::from_millis(10));
        };
        // The process has ended, so the channel drains and then disconnects.
        // 进程已经结束，通道里的内容读完后就会断开。
        let mut rest = String::new();
        while let Ok(line) = self.stdout.recv_timeout(PATIENCE) {
            rest.push_str(&line);
            rest.push('\n');
        }
        (status, rest)
    }

    /// Everything the server wrote to stderr so far. / 服务器到目前为止写到 stderr 的全部内容。
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A UDP socket on loopback with a read timeout, so a test never hangs.
/// 一个绑定在回环地址上、带读超时的 UDP 套接字，测试因此不会卡死。
pub fn udp_socket() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP socket");
    socket.set_read_timeout(Some(PATIENCE)).expect("timeout");
    socket
}

/// Sends `message` to `server` and returns the reply's bytes.
/// 把 `message` 发给 `server`，返回回复的字节。
pub fn udp_ask(socket: &UdpSocket, server: SocketAddr, message: &[u8]) -> Vec<u8> {
    socket.send_to(message, server).expect("send");
    let mut buf = [0u8; 2048];
    let (len, from) = socket
        .recv_from(&mut buf)
        .expect("a reply within the timeout");
    assert_eq!(from, server, "the reply comes from the server");
    buf[..len].to_vec()
}

/// Sends `message` and returns the reply as text. / 发送 `message`，把回复作为文字返回。
pub fn udp_ask_text(socket: &UdpSocket, server: SocketAddr, message: &str) -> String {
    String::from_utf8_lossy(&udp_ask(socket, server, message.as_bytes())).into_owned()
}
