//! UDP: the in-process echo (the floor), timed round trips, the burst, the receive buffer.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use anyhow::{Context, anyhow, ensure};

use super::stats::{self, Loss, Samples};
use super::{LOOPBACK, TIMEOUT, explain};

/// The lessons' buffer size: a datagram longer than this is cut.
const BUFFER: usize = 500;
/// How often the echo thread looks at its stop flag.
const POLL: Duration = Duration::from_millis(100);

/// A UDP server thread on 127.0.0.1:0 that sends back every datagram it chooses to answer, and
/// does nothing else: no printing, no checks. It stops when dropped.
pub struct EchoServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EchoServer {
    pub fn start() -> anyhow::Result<EchoServer> {
        EchoServer::answering(|_| true)
    }

    /// `answer(n)` says whether to reply to the n-th datagram (from 1); tests use it to lose some.
    pub fn answering(answer: fn(u64) -> bool) -> anyhow::Result<EchoServer> {
        let socket = UdpSocket::bind(LOOPBACK).context("cannot bind a UDP echo server")?;
        socket.set_read_timeout(Some(POLL))?;
        let addr = socket.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let mut buf = [0u8; BUFFER];
            let mut n = 0u64;
            // Bounded: the read timeout brings us back to the flag at least every POLL.
            while !flag.load(Ordering::Relaxed) {
                if let Ok((len, peer)) = socket.recv_from(&mut buf) {
                    n += 1;
                    if answer(n) {
                        let _ = socket.send_to(&buf[..len], peer);
                    }
                }
            }
        });
        Ok(EchoServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A client socket `connect`ed to `server`: `send`/`recv` then talk to it only.
fn client(server: SocketAddr) -> anyhow::Result<UdpSocket> {
    let socket = UdpSocket::bind(LOOPBACK).context("cannot bind a UDP client socket")?;
    socket.connect(server)?;
    socket.set_read_timeout(Some(TIMEOUT))?;
    Ok(socket)
}

/// Send one datagram, wait for one reply; timed `iterations` times after `warmup`.
pub fn round_trips(
    server: SocketAddr,
    message: &[u8],
    warmup: usize,
    iterations: usize,
) -> anyhow::Result<Samples> {
    let socket = client(server)?;
    let mut buf = [0u8; BUFFER];
    stats::measure(warmup, iterations, || {
        socket
            .send(message)
            .map_err(|e| explain(e, "sending to", server))?;
        let len = socket
            .recv(&mut buf)
            .map_err(|e| explain(e, "waiting for a reply from", server))?;
        ensure!(len > 0, "{server} replied with an empty datagram");
        Ok(())
    })
}

/// Sends `count` datagrams as fast as it can while another thread counts the replies; counting
/// ends when every reply is in, or once sending is over and no reply came for `grace`.
pub fn burst(
    server: SocketAddr,
    message: &[u8],
    count: u64,
    grace: Duration,
) -> anyhow::Result<Loss> {
    let socket = client(server)?;
    socket.set_read_timeout(Some(grace))?;
    let receiver = socket.try_clone()?;
    let done = Arc::new(AtomicBool::new(false));
    let sending_over = Arc::clone(&done);
    let counter = thread::spawn(move || {
        let mut buf = [0u8; BUFFER];
        let mut received = 0u64;
        // Bounded: at most `count` replies, and the first quiet `grace` after sending ends it.
        while received < count {
            match receiver.recv(&mut buf) {
                Ok(_) => received += 1,
                Err(_) if sending_over.load(Ordering::Acquire) => break,
                Err(_) => {}
            }
        }
        received
    });
    let mut sent = 0;
    for _ in 0..count {
        // No pause and no retry: a datagram the receiver has no room for is simply dropped.
        if socket.send(message).is_ok() {
            sent += 1;
        }
    }
    done.store(true, Ordering::Release);
    let received = counter
        .join()
        .map_err(|_| anyhow!("the thread counting replies failed"))?;
    Ok(Loss { sent, received })
}

/// Sends `count` datagrams to a socket that does not read, then counts how many it holds: the
/// others did not fit in its receive buffer and were dropped without a word.
pub fn held_by_idle_socket(message: &[u8], count: u64) -> anyhow::Result<Loss> {
    let idle = UdpSocket::bind(LOOPBACK).context("cannot bind a UDP socket")?;
    let sender = client(idle.local_addr()?)?;
    let mut sent = 0;
    for _ in 0..count {
        if sender.send(message).is_ok() {
            sent += 1;
        }
    }
    idle.set_read_timeout(Some(Duration::from_millis(50)))?;
    let mut buf = [0u8; BUFFER];
    let mut held = 0;
    // Bounded by `sent`; a 50 ms silence means the queue is empty.
    while held < sent && idle.recv(&mut buf).is_ok() {
        held += 1;
    }
    Ok(Loss {
        sent,
        received: held,
    })
}

/// SO_RCVBUF of a new UDP socket: the room the kernel gives its queue of received datagrams
/// (on Linux `net.core.rmem_default`), counted with the kernel's per-datagram overhead.
pub fn default_receive_buffer() -> anyhow::Result<usize> {
    use std::os::fd::AsRawFd;
    let socket = UdpSocket::bind(LOOPBACK)?;
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `value`, which is that big.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&raw mut value).cast(),
            &mut len,
        )
    };
    ensure!(
        rc == 0,
        "cannot read SO_RCVBUF: {}",
        std::io::Error::last_os_error()
    );
    Ok(usize::try_from(value)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_udp_round_trips_give_one_sample_per_iteration() {
        let echo = EchoServer::start().unwrap();
        let samples = round_trips(echo.addr(), b"ping", 2, 25).unwrap();
        assert_eq!(samples.times.len(), 25);
    }

    #[test]
    fn bench_burst_counts_the_replies_that_never_came() {
        // Answers only every second datagram: 20 sent, 10 replies, 10 lost.
        let lossy = EchoServer::answering(|n| n % 2 == 0).unwrap();
        let loss = burst(lossy.addr(), b"x", 20, Duration::from_secs(1)).unwrap();
        assert_eq!(
            loss,
            Loss {
                sent: 20,
                received: 10
            }
        );
        assert_eq!(loss.lost(), 10);
        assert_eq!(loss.percent(), 50.0);
    }

    #[test]
    fn bench_burst_never_counts_more_replies_than_datagrams() {
        let echo = EchoServer::start().unwrap();
        let loss = burst(echo.addr(), b"x", 50, Duration::from_millis(500)).unwrap();
        assert_eq!(loss.sent, 50);
        assert!(loss.received <= loss.sent);
    }

    #[test]
    fn bench_idle_socket_holds_at_most_what_was_sent() {
        let held = held_by_idle_socket(b"I love jingjing", 3000).unwrap();
        assert_eq!(held.sent, 3000);
        assert!(held.received > 0 && held.received <= held.sent);
        assert!(default_receive_buffer().unwrap() > 0);
    }
}
