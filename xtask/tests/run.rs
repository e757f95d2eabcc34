//! The runner seen from outside: `cargo xtask run` against the real lessons, and against stand-in
//! programs (shell scripts, through `XTASK_BIN_DIR`) that fail, hang or get interrupted, to prove
//! that it reports what happened, exits with the right status, and never leaves a process behind.

use std::fs;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::assert::OutputAssertExt;
use assert_cmd::cargo::cargo_bin;
use predicates::prelude::*;

/// `target/debug`, where `cargo test --workspace` has built every lesson.
fn lesson_bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

fn xtask(bin_dir: &Path) -> Command {
    let mut command = Command::new(cargo_bin("xtask"));
    command.env("XTASK_BIN_DIR", bin_dir).env_remove("NO_COLOR");
    command
}

/// A folder of stand-in lesson programs, removed at the end of the test.
struct Stand {
    dir: PathBuf,
}

impl Stand {
    fn new(test: &str) -> Stand {
        let dir = std::env::temp_dir().join(format!("xtask-run-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Stand { dir }
    }

    /// Writes `body` as the shell script `name`; `$PIDS` is this folder.
    fn script(&self, name: &str, body: &str) -> &Stand {
        let path = self.dir.join(name);
        let text = format!("#!/bin/sh\nPIDS='{}'\n{body}\n", self.dir.display());
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        self
    }

    fn pid(&self, name: &str) -> i32 {
        let text = fs::read_to_string(self.dir.join(format!("{name}.pid"))).unwrap();
        text.trim().parse().unwrap()
    }
}

impl Drop for Stand {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A server that gets ready and then waits forever, writing its pid first.
const READY_SERVER: &str =
    "echo $$ > \"$PIDS/server.pid\"\necho \"listening on 127.0.0.1:1\"\nexec sleep 600";
/// A client that says it is up and then hangs.
const HANGING_CLIENT: &str = "echo $$ > \"$PIDS/client.pid\"\necho client up\nexec sleep 600";

/// Gone: no such process, or a zombie nobody will run again.
fn gone(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

fn assert_gone_soon(pid: i32, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !gone(pid) {
        assert!(
            Instant::now() < deadline,
            "{what} (pid {pid}) was left running"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A runner started by a test; killed and reaped on drop if the test did not finish it.
struct Running {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the runner and reads its stdout until a line contains `wanted`.
fn start_until(mut command: Command, wanted: &str) -> Running {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let mut running = Running { child, out };
    let mut line = String::new();
    loop {
        line.clear();
        let read = running.out.read_line(&mut line).unwrap();
        assert!(read > 0, "the runner ended before printing `{wanted}`");
        if line.contains(wanted) {
            return running;
        }
    }
}

fn send_signal(child: &Child, signal: i32) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn runs_the_real_tcp_pair_and_shows_both_sides() {
    xtask(&lesson_bin_dir())
        .args([
            "run",
            "04",
            "--port",
            "0",
            "--clients",
            "2",
            "--message",
            "hello there",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("[server] ")
                .and(predicate::str::contains("listening on 127.0.0.1:")),
        )
        .stdout(
            predicate::str::contains("[client 1] ").and(predicate::str::contains("[client 2] ")),
        )
        .stdout(predicate::str::contains(
            "Received msg: hello there from 127.0.0.1:",
        ))
        .stdout(predicate::str::contains("[runner] done"))
        .stdout(predicate::str::contains("\x1b[").not());
}

#[test]
fn runs_the_real_one_shot_udp_pair() {
    xtask(&lesson_bin_dir())
        .args(["run", "2", "--port", "0"])
        .assert()
        .success()
        .stdout(predicate::str::contains("[client] "))
        .stdout(predicate::str::contains("Ich hab keine Hunge"))
        .stdout(predicate::str::contains("which finished by itself"));
}

#[test]
fn exits_with_the_client_status_and_stops_the_server() {
    let stand = Stand::new("client-fails");
    stand
        .script("lesson04_tcp_server", READY_SERVER)
        .script("lesson05_tcp_client", "echo \"no luck\" >&2\nexit 3");
    xtask(&stand.dir)
        .args(["run", "05"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("[client 1] no luck"));
    assert_gone_soon(stand.pid("server"), "the server");
}

#[test]
fn a_server_that_dies_before_it_is_ready_is_reported() {
    let stand = Stand::new("server-dies");
    stand
        .script("lesson01_udp_server", "echo \"cannot bind\" >&2\nexit 1")
        .script("lesson02_udp_client", "echo never run");
    xtask(&stand.dir)
        .args(["run", "01", "--port", "0"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("never run").not())
        .stderr(predicate::str::contains("[server] cannot bind"))
        .stderr(predicate::str::contains(
            "lesson01_udp_server stopped before it was ready",
        ));
}

#[test]
fn a_server_that_never_gets_ready_times_out_and_is_stopped() {
    let stand = Stand::new("never-ready");
    stand
        .script(
            "lesson03_udp_loop_server",
            "echo $$ > \"$PIDS/server.pid\"\necho starting\nexec sleep 600",
        )
        .script("lesson02_udp_client", "echo never run");
    xtask(&stand.dir)
        .args(["run", "3", "--port", "0", "--timeout", "1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "timed out waiting for lesson03_udp_loop_server",
        ));
    assert_gone_soon(stand.pid("server"), "the server");
}

#[test]
fn the_overall_timeout_stops_a_hanging_client_and_the_server() {
    let stand = Stand::new("timeout");
    stand
        .script("lesson04_tcp_server", READY_SERVER)
        .script("lesson05_tcp_client", HANGING_CLIENT);
    xtask(&stand.dir)
        .args(["run", "4", "--port", "0", "--timeout", "1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("timed out"));
    assert_gone_soon(stand.pid("server"), "the server");
    assert_gone_soon(stand.pid("client"), "the client");
}

/// Runs 04 with a server and a client that hang, sends `signal` to the runner once both are up,
/// checks that neither outlives it, and returns the runner's exit code.
fn signalled(signal: i32, test: &str) -> Option<i32> {
    let stand = Stand::new(test);
    stand
        .script("lesson04_tcp_server", READY_SERVER)
        .script("lesson05_tcp_client", HANGING_CLIENT);
    let mut command = xtask(&stand.dir);
    command.args(["run", "04", "--port", "0", "--clients", "1"]);
    let mut runner = start_until(command, "[client] client up");
    send_signal(&runner.child, signal);
    let status = runner.child.wait().unwrap();
    assert_gone_soon(stand.pid("server"), "the server");
    assert_gone_soon(stand.pid("client"), "the client");
    status.code()
}

#[test]
fn ctrl_c_stops_everything_and_exits_130() {
    assert_eq!(signalled(2, "sigint"), Some(130));
}

#[test]
fn sigterm_stops_everything_and_exits_143() {
    assert_eq!(signalled(15, "sigterm"), Some(143));
}

#[test]
fn children_die_with_a_runner_killed_by_sigkill() {
    // SIGKILL cannot be caught: the kernel ends the children (PR_SET_PDEATHSIG).
    assert_eq!(signalled(9, "sigkill"), None);
}

#[test]
fn a_taken_port_is_named_with_a_way_out() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let stand = Stand::new("port-taken");
    xtask(&stand.dir)
        .args(["run", "04", "--port", &port.to_string()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!("port {port}")))
        .stderr(predicate::str::contains("--port 0"));
}

#[test]
fn bad_requests_get_one_line_errors() {
    let stand = Stand::new("bad-requests");
    for (args, says) in [
        (&["run", "9"][..], "there is no lesson `9`"),
        (&["run"][..], "which lesson?"),
        (
            &["run", "04", "--clients", "0"][..],
            "--clients must be at least 1",
        ),
        (&["run", "01", "--clients", "2"][..], "answers one client"),
        (
            &["run", "04", "--port", "http"][..],
            "bad value `http` for `--port`",
        ),
        (
            &["run", "04", "--colour"][..],
            "unexpected argument `--colour`",
        ),
        (&["fly"][..], "unknown task `fly`"),
    ] {
        xtask(&stand.dir)
            .args(args)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(says))
            .stderr(predicate::function(|err: &str| err.lines().count() == 1));
    }
}

#[test]
fn help_lists_the_pairs_and_options() {
    xtask(Path::new("/nonexistent"))
        .args(["run", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("lesson03_udp_loop_server"))
        .stdout(predicate::str::contains("--port"))
        .stdout(predicate::str::contains("--clients"));
}
