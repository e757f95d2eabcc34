//! Lesson programs as child processes: their lines and their exit arrive as events on one channel,
//! and none of them outlives the runner.
//!
//! - Dropping a [`Child`] kills the process (error paths, timeouts, Ctrl-C all end in a drop).
//! - On Linux each child gets `PR_SET_PDEATHSIG = SIGKILL`, so even a runner killed with SIGKILL
//!   takes its children with it.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::Sender;
use std::sync::{Mutex, OnceLock};
use std::thread;

use anyhow::Context;

/// Which program a line or an exit belongs to: the server, or client number `n` (from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Server,
    Client(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Debug)]
pub enum Event {
    Line(Who, Stream, String),
    /// One of the child's output streams reached its end.
    Closed(Who),
    /// The child has exited (not yet reaped: [`Child::reap`] does that).
    Exited(Who),
    /// The runner received this signal.
    Signal(i32),
}

pub struct Child {
    who: Who,
    inner: std::process::Child,
    open_streams: u8,
    exited: bool,
}

impl Child {
    pub fn spawn(
        who: Who,
        program: &Path,
        args: &[String],
        events: &Sender<Event>,
    ) -> anyhow::Result<Child> {
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe and touches only the calling (child) process.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut inner = command
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        forward_lines(who, Stream::Stdout, inner.stdout.take(), events);
        forward_lines(who, Stream::Stderr, inner.stderr.take(), events);
        watch_exit(who, inner.id(), events);
        Ok(Child {
            who,
            inner,
            open_streams: 2,
            exited: false,
        })
    }

    /// Feeds an event about this child; returns true once it has exited and both streams are
    /// drained, so every line it printed has been seen.
    pub fn note(&mut self, event: &Event) -> bool {
        match event {
            Event::Closed(who) if *who == self.who => self.open_streams -= 1,
            Event::Exited(who) if *who == self.who => self.exited = true,
            _ => {}
        }
        self.is_done()
    }

    pub fn is_done(&self) -> bool {
        self.exited && self.open_streams == 0
    }

    /// Collects the exit status of a child that has exited.
    pub fn reap(&mut self) -> anyhow::Result<ExitStatus> {
        Ok(self.inner.wait()?)
    }

    /// Sends SIGKILL (if it still runs) and reaps the child.
    pub fn kill(&mut self) -> anyhow::Result<ExitStatus> {
        if let Ok(Some(status)) = self.inner.try_wait() {
            return Ok(status);
        }
        let _ = self.inner.kill();
        Ok(self.inner.wait()?)
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

fn forward_lines(
    who: Who,
    stream: Stream,
    pipe: Option<impl Read + Send + 'static>,
    events: &Sender<Event>,
) {
    let events = events.clone();
    thread::spawn(move || {
        if let Some(pipe) = pipe {
            let mut reader = BufReader::new(pipe);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&buf);
                        let text = text.trim_end_matches(['\n', '\r']).to_string();
                        if events.send(Event::Line(who, stream, text)).is_err() {
                            return;
                        }
                    }
                }
            }
        }
        let _ = events.send(Event::Closed(who));
    });
}

/// Waits for the child's exit without reaping it (`WNOWAIT`), so its pid stays reserved until
/// [`Child::reap`] or [`Child::kill`] collects it: a kill can never hit a recycled pid.
fn watch_exit(who: Who, pid: u32, events: &Sender<Event>) {
    let events = events.clone();
    thread::spawn(move || {
        loop {
            // SAFETY: a zeroed siginfo_t is a valid out-parameter for waitid.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: waitid only writes into `info`.
            let rc = unsafe {
                libc::waitid(
                    libc::P_PID,
                    pid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOWAIT,
                )
            };
            if rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                break;
            }
        }
        let _ = events.send(Event::Exited(who));
    });
}

/// Where caught signals go: the conversation under way, if any.
static SIGNAL_TARGET: Mutex<Option<Sender<Event>>> = Mutex::new(None);
static SIGNAL_THREAD: OnceLock<()> = OnceLock::new();

/// Turns SIGINT, SIGTERM and SIGHUP to the runner into [`Event::Signal`] on `events`, so the event
/// loop can stop the children before it exits with 128 + the signal number. A signal that arrives
/// when nobody listens any more acts as if it had never been caught.
pub fn forward_signals(events: &Sender<Event>) -> anyhow::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    *SIGNAL_TARGET.lock().unwrap_or_else(|e| e.into_inner()) = Some(events.clone());
    if SIGNAL_THREAD.get().is_none() {
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
        thread::spawn(move || {
            for signal in signals.forever() {
                let target = SIGNAL_TARGET
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                if target.is_none_or(|events| events.send(Event::Signal(signal)).is_err()) {
                    let _ = signal_hook::low_level::emulate_default_handler(signal);
                }
            }
        });
        let _ = SIGNAL_THREAD.set(());
    }
    Ok(())
}
