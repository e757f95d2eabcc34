//! One conversation of a lesson pair: start the server, wait for its `listening on` line, run the
//! clients one after the other against the address it reported, then stop the server.
//!
//! `run` prints what happens as it happens; `check` collects it. Both watch through [`Observer`].

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::children::{self, Child, Event, Stream, Who};
use crate::lessons::{Pair, Role};

pub struct Plan<'a> {
    pub pair: Pair,
    pub server_bin: &'a Path,
    pub client_bin: &'a Path,
    /// The address the server is told to bind.
    pub server_addr: SocketAddr,
    pub message: Option<String>,
    pub clients: usize,
    /// The whole conversation must end within this.
    pub timeout: Duration,
}

pub trait Observer {
    fn line(&mut self, who: Who, stream: Stream, text: &str);
    fn client_started(&mut self, _n: usize, _args: &[String]) {}
}

#[derive(Debug)]
pub struct Outcome {
    pub server_addr: SocketAddr,
    /// The status of the last client that ran (the first one that failed, if any did).
    pub client_status: ExitStatus,
    pub clients_run: usize,
    /// The server's own status when it ended by itself, `None` when the runner stopped it.
    pub server_status: Option<ExitStatus>,
}

#[derive(Debug)]
pub enum Failure {
    /// The runner got this signal; everything was stopped.
    Signal(i32),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(err: anyhow::Error) -> Self {
        Failure::Other(err)
    }
}

/// How long a server has to print its `listening on` line.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a one-exchange server has to exit by itself after its client is done.
const ONE_SHOT_EXIT_TIMEOUT: Duration = Duration::from_secs(5);

pub fn converse(plan: &Plan, observer: &mut dyn Observer) -> Result<Outcome, Failure> {
    let (sender, events) = mpsc::channel();
    children::forward_signals(&sender)?;
    let deadline = Instant::now() + plan.timeout;
    let mut session = Session {
        events,
        deadline,
        observer,
    };

    let server_args = vec![plan.server_addr.to_string()];
    let mut server = Child::spawn(Who::Server, plan.server_bin, &server_args, &sender)?;
    let server_addr = session.wait_ready(&mut server, plan)?;

    let mut client_args = vec![server_addr.to_string()];
    client_args.extend(plan.message.clone());
    let mut client_status = None;
    let mut clients_run = 0;
    for n in 1..=plan.clients {
        session.observer.client_started(n, &client_args);
        let mut client = Child::spawn(Who::Client(n), plan.client_bin, &client_args, &sender)?;
        session.wait_done(&mut client, &mut [&mut server], "the client")?;
        let status = client.reap()?;
        clients_run = n;
        client_status = Some(status);
        if !status.success() || server.is_done() {
            break;
        }
    }
    let client_status = client_status.context("no client was run")?;

    let server_status = if plan.pair.server.role == Role::OneShotServer && client_status.success() {
        session.deadline = session.deadline.min(Instant::now() + ONE_SHOT_EXIT_TIMEOUT);
        session.wait_done(&mut server, &mut [], "the server to exit")?;
        Some(server.reap()?)
    } else if server.is_done() {
        Some(server.reap()?)
    } else {
        server.kill()?;
        session.drain(&mut server);
        None
    };
    Ok(Outcome {
        server_addr,
        client_status,
        clients_run,
        server_status,
    })
}

struct Session<'o> {
    events: Receiver<Event>,
    deadline: Instant,
    observer: &'o mut dyn Observer,
}

impl Session<'_> {
    /// The next event, shown to the observer if it is a line; a timeout or a signal is a failure.
    fn next(&mut self, waiting_for: &str) -> Result<Event, Failure> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        match self.events.recv_timeout(left) {
            Ok(Event::Signal(signal)) => Err(Failure::Signal(signal)),
            Ok(event) => {
                if let Event::Line(who, stream, text) = &event {
                    self.observer.line(*who, *stream, text);
                }
                Ok(event)
            }
            Err(RecvTimeoutError::Timeout) => Err(Failure::Other(anyhow::anyhow!(
                "timed out waiting for {waiting_for}; everything was stopped"
            ))),
            Err(RecvTimeoutError::Disconnected) => Err(Failure::Other(anyhow::anyhow!(
                "lost track of the lesson programs"
            ))),
        }
    }

    fn wait_ready(&mut self, server: &mut Child, plan: &Plan) -> Result<SocketAddr, Failure> {
        let package = plan.pair.server.package;
        let outer_deadline = self.deadline;
        self.deadline = self.deadline.min(Instant::now() + READY_TIMEOUT);
        let result = loop {
            let event = self.next(&format!("{package} to print its `listening on` line"))?;
            if let Event::Line(Who::Server, Stream::Stdout, text) = &event
                && let Some(addr) = listening_addr(text)
            {
                break Ok(addr);
            }
            if server.note(&event) {
                let status = server.reap()?;
                break Err(Failure::Other(anyhow::anyhow!(
                    "{package} stopped before it was ready ({status})"
                )));
            }
        };
        self.deadline = outer_deadline;
        result
    }

    /// Waits until `child` is done, feeding every event to it and to `others`.
    fn wait_done(
        &mut self,
        child: &mut Child,
        others: &mut [&mut Child],
        what: &str,
    ) -> Result<(), Failure> {
        while !child.is_done() {
            let event = self.next(what)?;
            child.note(&event);
            for other in others.iter_mut() {
                other.note(&event);
            }
        }
        Ok(())
    }

    /// After a kill: shows whatever the child still had in its pipes.
    fn drain(&mut self, child: &mut Child) {
        self.deadline = self.deadline.min(Instant::now() + Duration::from_secs(2));
        while !child.is_done() {
            match self.next("the server's last lines") {
                Ok(event) => {
                    child.note(&event);
                }
                Err(_) => break,
            }
        }
    }
}

/// The address in a `... listening on 127.0.0.1:7852 ...` line.
pub fn listening_addr(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once("listening on ")?;
    let word = rest.split_whitespace().next()?;
    word.trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::listening_addr;

    #[test]
    fn finds_the_address_in_a_ready_line() {
        assert_eq!(
            listening_addr("UDP server listening on 127.0.0.1:7852").map(|a| a.port()),
            Some(7852)
        );
        assert_eq!(
            listening_addr("listening on [::1]:80 (press Ctrl-C to stop)").map(|a| a.to_string()),
            Some("[::1]:80".to_string())
        );
        assert_eq!(
            listening_addr("listening on 127.0.0.1:41000.").map(|a| a.port()),
            Some(41000)
        );
        assert!(listening_addr("listening on nothing").is_none());
        assert!(listening_addr("ready").is_none());
    }
}
