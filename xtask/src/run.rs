//! `cargo xtask run NN`: a lesson's server and client(s) together, both sides shown as they talk.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::children::{Stream, Who};
use crate::cli::Args;
use crate::conversation::{self, Failure, Observer, Plan};
use crate::lessons::{self, Pair, Protocol, Role};

const DEFAULT_TIMEOUT_SECS: u64 = 30;

pub fn main(args: &[String]) -> anyhow::Result<ExitCode> {
    let mut args = Args::new(args);
    if args.help() {
        print!("{}", usage());
        return Ok(ExitCode::SUCCESS);
    }
    let port: Option<u16> = args.value("--port")?;
    let message: Option<String> = args.value("--message")?;
    let clients: Option<usize> = args.value("--clients")?;
    let timeout: u64 = args.value("--timeout")?.unwrap_or(DEFAULT_TIMEOUT_SECS);
    let number = args
        .positional()
        .context("which lesson? e.g. `cargo xtask run 04` (see --help)")?;
    args.finish()?;

    let pair = lessons::pair_for(&number).with_context(|| {
        format!("there is no lesson `{number}`: pick 01 to 05 (`cargo xtask list`)")
    })?;
    let clients = clients.unwrap_or(pair.default_clients());
    if clients == 0 {
        bail!("--clients must be at least 1");
    }
    if clients > 1 && pair.server.role == Role::OneShotServer {
        bail!(
            "{} answers one client and exits; `cargo xtask run 03` runs a server that keeps serving",
            pair.server.package
        );
    }
    if timeout == 0 {
        bail!("--timeout must be at least 1 second");
    }
    let mut server_addr: SocketAddr = pair.server.default_addr.parse()?;
    if let Some(port) = port {
        server_addr.set_port(port);
    }
    check_port_free(pair, &number, server_addr)?;

    let bins = crate::cargo::build(&[pair.server.package, pair.client.package])?;
    let plan = Plan {
        pair,
        server_bin: &bins[0],
        client_bin: &bins[1],
        server_addr,
        message,
        clients,
        timeout: Duration::from_secs(timeout),
    };
    let mut printer = Printer::new(pair, clients);
    printer.note(&format!(
        "starting {} on {server_addr}",
        pair.server.package
    ));
    match conversation::converse(&plan, &mut printer) {
        Ok(outcome) => {
            let code = outcome.client_status.code().unwrap_or(1);
            let server = match outcome.server_status {
                Some(status) if status.success() => "finished by itself".to_string(),
                Some(status) => format!("ended with {status}"),
                None => "was then stopped".to_string(),
            };
            let clients = match (outcome.clients_run, plan.clients) {
                (1, 1) => "1 client".to_string(),
                (ran, asked) if ran == asked => format!("{ran} clients"),
                (ran, asked) => format!("{ran} of {asked} clients"),
            };
            printer.note(&format!(
                "done: {clients} talked to {} on {}, which {server}; exit status {code}",
                pair.server.package, outcome.server_addr
            ));
            Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
        }
        Err(Failure::Signal(signal)) => {
            printer.note(&format!(
                "interrupted (signal {signal}): stopped the server and the client"
            ));
            Ok(ExitCode::from(128 + signal as u8))
        }
        Err(Failure::Other(err)) => Err(err),
    }
}

fn usage() -> String {
    let mut text = String::from(
        "Usage: cargo xtask run <NN> [OPTIONS]\n\n\
         Builds lesson NN's server and client, starts the server, waits until it is listening,\n\
         runs the client(s) against it, shows every line of both, then stops the server.\n\n\
         Lessons:\n",
    );
    for pair in lessons::pairs() {
        let numbers = lessons::LESSONS
            .iter()
            .filter(|l| lessons::pair_for(l.number).is_some_and(|p| p.name() == pair.name()))
            .map(|l| l.number)
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            text,
            "  {numbers:<8} {} on {} + {} x {}",
            pair.server.package,
            pair.server.default_addr,
            pair.default_clients(),
            pair.client.package
        );
    }
    let _ = write!(
        text,
        "\nOptions:\n\
         \x20 --port <N>        the server's port on 127.0.0.1 (default: the lesson's; 0 = any free port)\n\
         \x20 --message <TEXT>  what each client sends (default: the lesson's)\n\
         \x20 --clients <N>     how many clients, one after the other (default: {} for a loop server)\n\
         \x20 --timeout <SECS>  stop everything after this long (default: {DEFAULT_TIMEOUT_SECS})\n\
         \x20 -h, --help        this text\n\n\
         Exit status: the client's; 130 or 143 when interrupted; 1 when something else failed.\n",
        lessons::LOOP_SERVER_CLIENTS
    );
    text
}

/// Says clearly when the port is taken, before anything starts.
fn check_port_free(pair: Pair, number: &str, addr: SocketAddr) -> anyhow::Result<()> {
    if addr.port() == 0 {
        return Ok(());
    }
    let taken = match pair.server.protocol {
        Protocol::Udp => UdpSocket::bind(addr).err(),
        Protocol::Tcp => TcpListener::bind(addr).err(),
    };
    match taken {
        Some(err) if err.kind() == std::io::ErrorKind::AddrInUse => bail!(
            "{} port {} on {} is already in use (is a lesson server still running?); \
             stop it, or run `cargo xtask run {number} --port 0` for any free port",
            pair.server.protocol,
            addr.port(),
            addr.ip()
        ),
        Some(err) => Err(err).with_context(|| format!("cannot use {addr}")),
        None => Ok(()),
    }
}

/// Prints each line with its speaker, coloured on a terminal unless `NO_COLOR` is set.
struct Printer {
    colour: bool,
    numbered_clients: bool,
    client_package: &'static str,
}

impl Printer {
    fn new(pair: Pair, clients: usize) -> Printer {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Printer {
            colour: std::io::stdout().is_terminal() && !no_color,
            numbered_clients: clients > 1,
            client_package: pair.client.package,
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn note(&self, text: &str) {
        println!("{} {text}", self.paint("1;35", "[runner]"));
    }
}

impl Observer for Printer {
    fn line(&mut self, who: Who, stream: Stream, text: &str) {
        let prefix = match who {
            Who::Server => self.paint("36", "[server]"),
            Who::Client(n) if self.numbered_clients => self.paint("33", &format!("[client {n}]")),
            Who::Client(_) => self.paint("33", "[client]"),
        };
        match stream {
            Stream::Stdout => println!("{prefix} {text}"),
            Stream::Stderr => eprintln!("{prefix} {text}"),
        }
    }

    fn client_started(&mut self, n: usize, args: &[String]) {
        let args: Vec<String> = args.iter().map(|a| shell_quote(a)).collect();
        let who = if self.numbered_clients {
            format!("client {n}")
        } else {
            "client".to_string()
        };
        self.note(&format!(
            "starting {who}: {} {}",
            self.client_package,
            args.join(" ")
        ));
    }
}

fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".:_-/[]".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}
