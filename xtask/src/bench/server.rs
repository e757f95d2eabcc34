//! A lesson server as a child process, started through [`crate::children`] so it never outlives
//! the bench. Its `listening on` line gives its address; a thread drains and counts its output so
//! the pipe never fills (a full pipe would block the server's next print, and the figures).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};

use crate::children::{Child, Event, Stream, Who};
use crate::conversation::listening_addr;

const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// What a server printed after its `listening on` line.
#[derive(Debug, Default)]
pub struct Output {
    pub stdout_lines: u64,
    pub stderr_lines: u64,
    pub last_stderr: Option<String>,
}

pub struct LessonServer {
    addr: SocketAddr,
    child: Child,
    drain: Option<JoinHandle<Output>>,
}

impl LessonServer {
    /// Starts `program args` and waits for its `listening on` line. Call it from the main
    /// thread: a child is killed when the thread that started it ends (`PR_SET_PDEATHSIG`).
    pub fn start(name: &str, program: &Path, args: &[String]) -> anyhow::Result<LessonServer> {
        let (sender, events) = mpsc::channel();
        let mut child = Child::spawn(Who::Server, program, args, &sender)?;
        // From now on the channel closes once the child has exited and its pipes are drained.
        drop(sender);
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut last_stderr = None;
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match events.recv_timeout(left) {
                Ok(Event::Line(_, Stream::Stdout, text)) => {
                    if let Some(addr) = listening_addr(&text) {
                        break addr;
                    }
                }
                Ok(Event::Line(_, Stream::Stderr, text)) => last_stderr = Some(text),
                // Its exit may be reported before its last lines: wait for the channel to close.
                Ok(_) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    let status = child.kill()?;
                    bail!(
                        "{name} stopped before it was listening ({status}){}",
                        last_stderr
                            .map(|line| format!(": {line}"))
                            .unwrap_or_default()
                    );
                }
                Err(RecvTimeoutError::Timeout) => bail!(
                    "{name} printed no `listening on` line within {} s; it was stopped",
                    READY_TIMEOUT.as_secs()
                ),
            }
        };
        let drain = thread::spawn(move || {
            let mut output = Output::default();
            // Ends when the child is gone: its pipes close and every sender is dropped.
            for event in events {
                match event {
                    Event::Line(_, Stream::Stdout, _) => output.stdout_lines += 1,
                    Event::Line(_, Stream::Stderr, text) => {
                        output.stderr_lines += 1;
                        output.last_stderr = Some(text);
                    }
                    _ => {}
                }
            }
            output
        });
        Ok(LessonServer {
            addr,
            child,
            drain: Some(drain),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Kills the server and returns everything it printed after its `listening on` line.
    pub fn stop(mut self) -> anyhow::Result<Output> {
        self.child.kill()?;
        let drain = self
            .drain
            .take()
            .ok_or_else(|| anyhow!("already stopped"))?;
        drain
            .join()
            .map_err(|_| anyhow!("the thread reading the server's output failed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> (std::path::PathBuf, Vec<String>) {
        let args = ["-c", script, "sh"].map(String::from).to_vec();
        ("/bin/sh".into(), args)
    }

    #[test]
    fn bench_reads_the_address_and_counts_the_lines_after_it() {
        let (program, args) =
            sh("echo starting; echo 'listening on 127.0.0.1:9'; echo one; echo two");
        let mut server = LessonServer::start("stand-in", &program, &args).unwrap();
        assert_eq!(server.addr().port(), 9);
        // The script ends by itself: once it has, the drain thread has seen every line.
        let output = server.drain.take().unwrap().join().unwrap();
        // (Only stdout: lines of stdout and stderr are read by two threads, in no fixed order.)
        assert_eq!(output.stdout_lines, 2);
    }

    #[test]
    fn bench_a_server_that_exits_early_is_a_clear_error() {
        let (program, args) = sh("echo 'stand-in: error: port taken' >&2; exit 1");
        let err = LessonServer::start("stand-in", &program, &args)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("stopped before it was listening"), "{err}");
        assert!(err.contains("port taken"), "{err}");
    }
}
