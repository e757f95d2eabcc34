//! TCP: in-process servers (the floors), requests on an open connection, full exchanges.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};

use anyhow::{Context, ensure};

use super::stats::{self, Samples};
use super::{LOOPBACK, TIMEOUT, explain};

const BUFFER: usize = 500;

#[derive(Debug, Clone, Copy)]
pub enum Mode {
    /// Echo everything until the client closes: many requests on one connection.
    EchoUntilClosed,
    /// Lesson 04's exchange without its printing: read once, reply, close.
    OneExchange,
}

/// A TCP server thread on 127.0.0.1:0, serving one connection at a time. Stops when dropped.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start(mode: Mode) -> anyhow::Result<Server> {
        let listener = TcpListener::bind(LOOPBACK).context("cannot bind a TCP server")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            // Bounded: Drop raises the flag, then connects once to wake `accept`.
            for stream in listener.incoming() {
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let _ = match mode {
                    Mode::EchoUntilClosed => echo_until_closed(stream),
                    Mode::OneExchange => one_exchange(stream),
                };
            }
        });
        Ok(Server {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // If even the wake-up cannot connect, leave the thread: it ends with the process.
        if TcpStream::connect_timeout(&self.addr, TIMEOUT).is_ok()
            && let Some(thread) = self.thread.take()
        {
            let _ = thread.join();
        }
    }
}

fn echo_until_closed(mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(TIMEOUT))?;
    let mut buf = [0u8; BUFFER];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n])?;
    }
}

fn one_exchange(mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(TIMEOUT))?;
    let mut buf = [0u8; BUFFER];
    let n = stream.read(&mut buf)?;
    stream.write_all(&buf[..n])?;
    // As lesson 04: close our side, then wait (briefly) for the client's close, so closing with
    // unread data never turns into a reset.
    stream.shutdown(Shutdown::Write)?;
    for _ in 0..16 {
        if stream.read(&mut buf)? == 0 {
            break;
        }
    }
    Ok(())
}

fn connect(server: SocketAddr) -> anyhow::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&server, TIMEOUT)
        .map_err(|e| explain(e, "connecting to", server))?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    Ok(stream)
}

/// One connection, then `message` out and its echo back, timed `iterations` times after `warmup`.
pub fn open_connection(
    server: SocketAddr,
    message: &[u8],
    warmup: usize,
    iterations: usize,
) -> anyhow::Result<Samples> {
    let mut stream = connect(server)?;
    let mut reply = vec![0u8; message.len()];
    stats::measure(warmup, iterations, || {
        stream
            .write_all(message)
            .map_err(|e| explain(e, "sending to", server))?;
        // TCP has no message boundaries: read until the whole echo is back.
        stream
            .read_exact(&mut reply)
            .map_err(|e| explain(e, "waiting for a reply from", server))?;
        Ok(())
    })
}

/// Lesson 05's whole exchange, timed: connect, send, read the reply until the server closes,
/// close.
pub fn full_exchanges(
    server: SocketAddr,
    message: &[u8],
    warmup: usize,
    iterations: usize,
) -> anyhow::Result<Samples> {
    let mut reply = Vec::with_capacity(BUFFER);
    stats::measure(warmup, iterations, || {
        let mut stream = connect(server)?;
        stream
            .write_all(message)
            .map_err(|e| explain(e, "sending to", server))?;
        reply.clear();
        stream
            .read_to_end(&mut reply)
            .map_err(|e| explain(e, "waiting for a reply from", server))?;
        ensure!(!reply.is_empty(), "{server} closed without replying");
        Ok(()) // dropping `stream` closes the connection
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_tcp_open_connection_gives_one_sample_per_iteration() {
        let server = Server::start(Mode::EchoUntilClosed).unwrap();
        let samples = open_connection(server.addr(), b"hello", 3, 20).unwrap();
        assert_eq!(samples.times.len(), 20);
    }

    #[test]
    fn bench_tcp_full_exchange_gets_the_whole_reply_each_time() {
        let server = Server::start(Mode::OneExchange).unwrap();
        let samples = full_exchanges(server.addr(), b"hello", 2, 10).unwrap();
        assert_eq!(samples.times.len(), 10);

        let mut stream = connect(server.addr()).unwrap();
        stream.write_all(b"once more").unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        assert_eq!(reply, "once more");
    }
}
