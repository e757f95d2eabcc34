//! `cargo xtask bench`: measures on loopback, side by side, what the lessons only claim. A UDP
//! round trip, a TCP request/reply on an open connection and lesson 04/05's full TCP exchange
//! (connect, send, receive, close), each against a minimal in-process server (the floor) and,
//! where the lessons do that exchange, against the real lesson servers; then UDP bursts show
//! datagrams lost. Every server binds 127.0.0.1:0; the lesson servers run as children that
//! never outlive the bench.
//!
//! One file per concern: `stats` (percentiles, loss), `udp`, `tcp`, `server` (lesson servers as
//! children), `report` (table and JSON).

mod report;
mod server;
mod stats;
mod tcp;
mod udp;

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, anyhow, bail};

use crate::cli::Args;
use crate::lessons::{LESSONS, Lesson, Protocol, Role};
use report::{Burst, Report, Row};
use server::{LessonServer, Output};
use stats::{Samples, Summary};

/// Every server binds here: loopback, any free port.
const LOOPBACK: &str = "127.0.0.1:0";
/// No single step (connect, send, wait for a reply) waits longer than this.
const TIMEOUT: Duration = Duration::from_secs(2);
/// A burst's counting ends once sending is over and no reply came for this long.
const GRACE: Duration = Duration::from_millis(500);
const DEFAULT_ITERATIONS: usize = 10_000;
const DEFAULT_WARMUP: usize = 1_000;
const DEFAULT_BURST: usize = 10_000;
/// The upper bound of every count, so no option makes a practically endless loop.
const MAX_COUNT: usize = 1_000_000;

#[derive(Debug, PartialEq)]
enum JsonTo {
    Stdout,
    File(PathBuf),
}

#[derive(Debug, PartialEq)]
struct Options {
    iterations: usize,
    warmup: usize,
    burst: usize,
    all_cpus: bool,
    json: Option<JsonTo>,
}

impl Options {
    /// `None` for `--help`.
    fn parse(items: &[String]) -> anyhow::Result<Option<Options>> {
        let mut items = items.to_vec();
        let json = take_json(&mut items)?;
        let mut args = Args::new(&items);
        if args.help() {
            return Ok(None);
        }
        let iterations = args.value("--iterations")?.unwrap_or(DEFAULT_ITERATIONS);
        let warmup = args.value("--warmup")?.unwrap_or(DEFAULT_WARMUP);
        let burst = args.value("--burst")?.unwrap_or(DEFAULT_BURST);
        let all_cpus = args.flag("--all-cpus");
        args.finish()?;
        for (name, value, min) in [
            ("--iterations", iterations, 1),
            ("--warmup", warmup, 0),
            ("--burst", burst, 1),
        ] {
            if !(min..=MAX_COUNT).contains(&value) {
                bail!("{name} must be between {min} and {MAX_COUNT}");
            }
        }
        Ok(Some(Options {
            iterations,
            warmup,
            burst,
            all_cpus,
            json,
        }))
    }
}

/// Takes `--json`, `--json PATH` or `--json=PATH` (no PATH, or `-`: stdout). Read before
/// [`Args`], whose option values are never optional.
fn take_json(items: &mut Vec<String>) -> anyhow::Result<Option<JsonTo>> {
    let Some(i) = items
        .iter()
        .position(|item| item == "--json" || item.starts_with("--json="))
    else {
        return Ok(None);
    };
    let item = items.remove(i);
    let path = match item.strip_prefix("--json=") {
        Some(path) => path.to_string(),
        None if items
            .get(i)
            .is_some_and(|next| next == "-" || !next.starts_with('-')) =>
        {
            items.remove(i)
        }
        None => "-".into(),
    };
    Ok(Some(match path.as_str() {
        "-" => JsonTo::Stdout,
        "" => bail!("`--json=` needs a path (or `-` for stdout)"),
        _ => JsonTo::File(path.into()),
    }))
}

fn usage() -> String {
    format!(
        "Usage: cargo xtask bench [OPTIONS]\n\n\
         Measures on loopback (127.0.0.1, every server on port 0), side by side: a UDP round\n\
         trip, a TCP request/reply on an open connection, and the full TCP exchange of lessons\n\
         04/05 (connect, send, receive, close). Each runs against a minimal in-process server\n\
         (the floor); the UDP round trip and the full TCP exchange also run against the real\n\
         lesson servers, so what their printing costs shows. Reports median, p99, exchanges per\n\
         second and ratios to the UDP floor; then UDP bursts count the datagrams lost.\n\n\
         Options:\n\
         \x20 --iterations <N>  timed exchanges per row (default {DEFAULT_ITERATIONS})\n\
         \x20 --warmup <N>      untimed exchanges before each row (default {DEFAULT_WARMUP})\n\
         \x20 --burst <N>       datagrams in each UDP burst (default {DEFAULT_BURST})\n\
         \x20 --all-cpus        let the system place threads and servers on any CPU (default:\n\
         \x20                   all on one CPU, so wake-ups across CPUs do not blur the figures)\n\
         \x20 --json [PATH]     also write the figures as JSON to PATH; without PATH (or with -)\n\
         \x20                   print only the JSON, on stdout\n\
         \x20 -h, --help        this text\n\n\
         Absolute times depend on the machine and its load; compare the ratios.\n"
    )
}

pub fn main(args: &[String]) -> anyhow::Result<ExitCode> {
    let Some(options) = Options::parse(args)? else {
        print!("{}", usage());
        return Ok(ExitCode::SUCCESS);
    };
    let udp_lesson = loop_server(Protocol::Udp)?;
    let tcp_lesson = loop_server(Protocol::Tcp)?;
    let bins = crate::cargo::build(&[udp_lesson.package, tcp_lesson.package])?;
    let report = measure_all(&options, (udp_lesson, &bins[0]), (tcp_lesson, &bins[1]))?;
    match &options.json {
        Some(JsonTo::Stdout) => print!("{}", report::json(&report)),
        Some(JsonTo::File(path)) => {
            print!("{}", report::table(&report));
            std::fs::write(path, report::json(&report))
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("bench: the figures are in {} as JSON", path.display());
        }
        None => print!("{}", report::table(&report)),
    }
    Ok(ExitCode::SUCCESS)
}

/// The lesson that serves `protocol` in a loop (03 for UDP, 04 for TCP), from the lesson table.
fn loop_server(protocol: Protocol) -> anyhow::Result<&'static Lesson> {
    LESSONS
        .iter()
        .find(|l| l.protocol == protocol && l.role == Role::LoopServer)
        .with_context(|| format!("the lesson table has no {protocol} loop server"))
}

/// What the bench sends: the default messages of lessons 02 (UDP) and 05 (TCP).
const UDP_MESSAGE: &[u8] = b"I love jingjing";
const TCP_MESSAGE: &[u8] = b"I love wangxiaojing";

fn measure_all(
    options: &Options,
    (udp, udp_bin): (&Lesson, &Path),
    (tcp, tcp_bin): (&Lesson, &Path),
) -> anyhow::Result<Report> {
    let started = Instant::now();
    let (n, w) = (options.iterations, options.warmup);
    let burst = options.burst as u64;
    let (udp_msg, tcp_msg) = (UDP_MESSAGE, TCP_MESSAGE);
    let args = [LOOPBACK.to_string()];
    // Counted before pinning, which would make it 1.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu = if options.all_cpus {
        None
    } else {
        pin_to_one_cpu()
    };
    eprintln!(
        "bench: {n} timed exchanges per row after {w} warm-up, on 127.0.0.1, {}",
        cpu.map_or("on any CPU".into(), |cpu| format!("all on CPU {cpu}"))
    );
    let mut rows = Vec::new();
    let mut bursts = Vec::new();

    // The UDP floor: round trips, then a burst.
    let echo = udp::EchoServer::start()?;
    let samples = udp::round_trips(echo.addr(), udp_msg, w, n)?;
    rows.push(row(
        report::UDP_FLOOR,
        "UDP round trip",
        FLOOR,
        &samples,
        None,
    )?);
    let loss = udp::burst(echo.addr(), udp_msg, burst, GRACE)?;
    bursts.push(Burst {
        server: ECHO.into(),
        loss,
    });
    drop(echo);

    // Lesson 03: one run for the round trips (so its lines per request are exact), another for
    // the burst.
    let lesson = LessonServer::start(udp.package, udp_bin, &args)?;
    let samples = udp::round_trips(lesson.addr(), udp_msg, w, n)
        .with_context(|| format!("measuring {}", udp.package))?;
    let lines = lines_per_request(udp.package, lesson.stop()?, w + n);
    rows.push(row(
        report::UDP_LESSON,
        "UDP round trip",
        udp.package,
        &samples,
        lines,
    )?);
    let lesson = LessonServer::start(udp.package, udp_bin, &args)?;
    let loss = udp::burst(lesson.addr(), udp_msg, burst, GRACE)?;
    lesson.stop()?;
    bursts.push(Burst {
        server: udp.package.into(),
        loss,
    });

    // TCP: many requests on one connection; no lesson does that, so the echo only.
    let server = tcp::Server::start(tcp::Mode::EchoUntilClosed)?;
    let samples = tcp::open_connection(server.addr(), tcp_msg, w, n)?;
    let what = "TCP request/reply on an open connection";
    rows.push(row(report::TCP_OPEN, what, ECHO, &samples, None)?);
    drop(server);

    // TCP: the full exchange, against the floor, then against lesson 04.
    let what = "TCP connect+send+recv+close";
    let server = tcp::Server::start(tcp::Mode::OneExchange)?;
    let samples = tcp::full_exchanges(server.addr(), tcp_msg, w, n)?;
    rows.push(row(report::TCP_FULL_FLOOR, what, FLOOR, &samples, None)?);
    drop(server);
    let lesson = LessonServer::start(tcp.package, tcp_bin, &args)?;
    let samples = tcp::full_exchanges(lesson.addr(), tcp_msg, w, n)
        .with_context(|| format!("measuring {}", tcp.package))?;
    let lines = lines_per_request(tcp.package, lesson.stop()?, w + n);
    rows.push(row(
        report::TCP_FULL_LESSON,
        what,
        tcp.package,
        &samples,
        lines,
    )?);

    Ok(Report {
        iterations: n,
        warmup: w,
        udp_message: String::from_utf8_lossy(udp_msg).into(),
        tcp_message: String::from_utf8_lossy(tcp_msg).into(),
        rows,
        bursts,
        grace: GRACE,
        receive_buffer: udp::default_receive_buffer()?,
        idle_socket: udp::held_by_idle_socket(udp_msg, burst)?,
        cpus,
        cpu,
        unix_time: SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        seconds: started.elapsed().as_secs_f64(),
    })
}

const ECHO: &str = "in-process echo";
const FLOOR: &str = "in-process echo (floor)";

/// Pins the calling thread to the CPU it runs on; every thread and child process it starts
/// afterwards inherits that. Ping-pong then never waits for another CPU to wake up: on a virtual
/// machine that wake-up alone can cost more than the exchange. Returns the CPU, if pinned.
#[cfg(target_os = "linux")]
fn pin_to_one_cpu() -> Option<usize> {
    // SAFETY: sched_getcpu takes nothing and only returns a number (or -1).
    let cpu = usize::try_from(unsafe { libc::sched_getcpu() }).ok()?;
    // SAFETY: a zeroed cpu_set_t is the empty set; CPU_SET and sched_setaffinity only touch
    // `set` (of the size given) and this thread's affinity.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    (rc == 0).then_some(cpu)
}

#[cfg(not(target_os = "linux"))]
fn pin_to_one_cpu() -> Option<usize> {
    None
}

/// Summarises one row and says so on stderr (progress, and the figure, as it comes).
fn row(
    key: &'static str,
    what: &'static str,
    server: &str,
    samples: &Samples,
    lines_per_request: Option<f64>,
) -> anyhow::Result<Row> {
    let summary = Summary::of(samples).context("no exchange was measured")?;
    eprintln!(
        "bench: {what}, {server}: median {:.1} µs",
        summary.median.as_secs_f64() * 1e6
    );
    Ok(Row {
        key,
        what,
        server: server.into(),
        summary,
        lines_per_request,
    })
}

/// Lines a lesson server printed per request; anything it printed on stderr is shown.
fn lines_per_request(package: &str, output: Output, requests: usize) -> Option<f64> {
    if let Some(last) = &output.last_stderr {
        eprintln!(
            "bench: note: {package} printed {} line(s) on stderr, the last: {last}",
            output.stderr_lines
        );
    }
    (requests > 0).then(|| output.stdout_lines as f64 / requests as f64)
}

/// One line that says what went wrong with `server` and what it probably means.
fn explain(err: io::Error, doing: &str, server: SocketAddr) -> anyhow::Error {
    match err.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => anyhow!(
            "{doing} {server}: nothing within {} s (did the server stop?)",
            TIMEOUT.as_secs()
        ),
        io::ErrorKind::ConnectionRefused => {
            anyhow!("{doing} {server}: refused, nothing listens there (did the server stop?)")
        }
        _ => anyhow::Error::new(err).context(format!("{doing} {server}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(items: &[&str]) -> anyhow::Result<Option<Options>> {
        Options::parse(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn bench_options_defaults_and_counts() {
        let o = parse(&[]).unwrap().unwrap();
        assert_eq!(
            (o.iterations, o.warmup, o.burst, o.all_cpus, o.json),
            (
                DEFAULT_ITERATIONS,
                DEFAULT_WARMUP,
                DEFAULT_BURST,
                false,
                None
            )
        );
        let o = parse(&[
            "--iterations",
            "500",
            "--warmup=0",
            "--burst",
            "20",
            "--all-cpus",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            (o.iterations, o.warmup, o.burst, o.all_cpus),
            (500, 0, 20, true)
        );
        assert!(parse(&["--help"]).unwrap().is_none());
        assert!(parse(&["--iterations", "0"]).is_err());
        assert!(parse(&["--burst", "2000000"]).is_err());
        assert!(parse(&["--iterations", "many"]).is_err());
        assert!(parse(&["extra"]).is_err());
    }

    #[test]
    fn bench_json_goes_to_stdout_or_a_path() {
        let json = |items: &[&str]| parse(items).unwrap().unwrap().json;
        assert_eq!(json(&["--json"]), Some(JsonTo::Stdout));
        assert_eq!(json(&["--json", "-"]), Some(JsonTo::Stdout));
        assert_eq!(json(&["--json", "--burst", "5"]), Some(JsonTo::Stdout));
        assert_eq!(
            json(&["--json", "out.json"]),
            Some(JsonTo::File("out.json".into()))
        );
        assert_eq!(
            json(&["--json=b.json"]),
            Some(JsonTo::File("b.json".into()))
        );
        assert!(parse(&["--json="]).is_err());
    }

    #[test]
    fn bench_lessons_come_from_the_table() {
        assert_eq!(loop_server(Protocol::Udp).unwrap().number, "03");
        assert_eq!(loop_server(Protocol::Tcp).unwrap().number, "04");
    }
}
