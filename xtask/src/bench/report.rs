//! The figures as a table for people and as JSON for tools (written by hand: no JSON crate).

use std::fmt::Write as _;
use std::time::Duration;

use super::stats::{Loss, Summary, ratio};

/// Row keys (also the JSON `key`s).
pub const UDP_FLOOR: &str = "udp_round_trip_echo";
pub const UDP_LESSON: &str = "udp_round_trip_lesson";
pub const TCP_OPEN: &str = "tcp_open_connection_echo";
pub const TCP_FULL_FLOOR: &str = "tcp_full_exchange_echo";
pub const TCP_FULL_LESSON: &str = "tcp_full_exchange_lesson";

#[derive(Debug)]
pub struct Row {
    pub key: &'static str,
    /// The exchange measured, e.g. "UDP round trip".
    pub what: &'static str,
    /// Who answered: "in-process echo" or a lesson package.
    pub server: String,
    pub summary: Summary,
    /// For a lesson server: the lines it printed per request (the teaching output).
    pub lines_per_request: Option<f64>,
}

impl Row {
    pub fn label(&self) -> String {
        format!("{}, {}", self.what, self.server)
    }
}

#[derive(Debug)]
pub struct Burst {
    pub server: String,
    pub loss: Loss,
}

#[derive(Debug)]
pub struct Report {
    pub iterations: usize,
    pub warmup: usize,
    pub udp_message: String,
    pub tcp_message: String,
    pub rows: Vec<Row>,
    pub bursts: Vec<Burst>,
    /// How long the burst's counting waits once replies stop coming.
    pub grace: Duration,
    /// SO_RCVBUF of a new UDP socket, in bytes.
    pub receive_buffer: usize,
    /// Datagrams sent to a socket that does not read, and how many it held.
    pub idle_socket: Loss,
    pub cpus: usize,
    /// The one CPU everything ran on, or `None` when the system placed threads freely.
    pub cpu: Option<usize>,
    pub unix_time: u64,
    pub seconds: f64,
}

/// A ratio the report states in words: its key, and the two rows it divides (medians).
const RATIOS: [(&str, &str, &str); 3] = [
    ("udp_lesson_vs_udp_floor", UDP_LESSON, UDP_FLOOR),
    (
        "tcp_lesson_vs_tcp_full_floor",
        TCP_FULL_LESSON,
        TCP_FULL_FLOOR,
    ),
    (
        "new_connection_vs_open_connection",
        TCP_FULL_FLOOR,
        TCP_OPEN,
    ),
];

impl Report {
    fn row(&self, key: &str) -> Option<&Row> {
        self.rows.iter().find(|row| row.key == key)
    }

    /// Median of `key` ÷ median of the UDP floor.
    fn vs_floor(&self, row: &Row) -> f64 {
        self.row(UDP_FLOOR).map_or(f64::NAN, |floor| {
            ratio(row.summary.median, floor.summary.median)
        })
    }

    fn ratios(&self) -> Vec<(&'static str, &Row, &Row, f64)> {
        RATIOS
            .iter()
            .filter_map(|&(key, a, b)| {
                let (a, b) = (self.row(a)?, self.row(b)?);
                Some((key, a, b, ratio(a.summary.median, b.summary.median)))
            })
            .collect()
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// A ratio as `2.35×`, or `-` when it cannot be computed.
fn times(r: f64) -> String {
    if r.is_finite() {
        format!("{r:.2}×")
    } else {
        "-".into()
    }
}

pub fn table(report: &Report) -> String {
    let mut out = String::new();
    let width = report
        .rows
        .iter()
        .map(|row| row.label().chars().count())
        .max()
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "Loopback 127.0.0.1, {} timed exchanges per row after {} warm-up, {}; times in µs.\n",
        report.iterations,
        report.warmup,
        report
            .cpu
            .map_or(format!("threads on any of {} CPUs", report.cpus), |cpu| {
                format!("everything on CPU {cpu} of {}", report.cpus)
            })
    );
    let _ = writeln!(
        out,
        "{:width$}  {:>9}  {:>9}  {:>11}  {:>11}",
        "", "median", "p99", "exchanges/s", "÷ UDP floor"
    );
    for row in &report.rows {
        let s = &row.summary;
        let _ = writeln!(
            out,
            "{:width$}  {:>9.1}  {:>9.1}  {:>11.0}  {:>11}",
            row.label(),
            us(s.median),
            us(s.p99),
            s.per_second,
            times(report.vs_floor(row))
        );
    }
    out.push('\n');
    for (key, a, b, r) in report.ratios() {
        let extra = us(a.summary.median) - us(b.summary.median);
        let line = match key {
            "new_connection_vs_open_connection" => format!(
                "A new TCP connection for each request costs {} a request on an open connection \
                 (+{extra:.1} µs).",
                times(r)
            ),
            _ => format!(
                "{} takes {} its floor ({extra:+.1} µs per request){}.",
                a.server,
                times(r),
                a.lines_per_request
                    .map(|n| format!(", printing {n:.1} lines per request"))
                    .unwrap_or_default()
            ),
        };
        let _ = writeln!(out, "- {line}");
    }
    let _ = writeln!(
        out,
        "\nUDP burst: {} datagrams of {} bytes sent back to back, replies counted until none \
         came for {} ms.\n",
        report.bursts.first().map_or(0, |b| b.loss.sent),
        report.udp_message.len(),
        report.grace.as_millis()
    );
    let width = report
        .bursts
        .iter()
        .map(|b| b.server.chars().count())
        .max()
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "{:width$}  {:>8}  {:>8}  {:>8}  {:>7}",
        "", "sent", "replies", "lost", "loss %"
    );
    for burst in &report.bursts {
        let l = &burst.loss;
        let _ = writeln!(
            out,
            "{:width$}  {:>8}  {:>8}  {:>8}  {:>7.1}",
            burst.server,
            l.sent,
            l.received,
            l.lost(),
            l.percent()
        );
    }
    let _ = writeln!(
        out,
        "\nA new UDP socket's receive buffer (SO_RCVBUF) is {} bytes: a socket that did not read \
         held {} of {} such datagrams; the other {} were dropped without a word.",
        report.receive_buffer,
        report.idle_socket.received,
        report.idle_socket.sent,
        report.idle_socket.lost()
    );
    out
}

/// A JSON string literal: quotes, backslashes and control characters escaped.
pub fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON number with `decimals` digits after the point; `null` for NaN or infinity.
fn json_number(value: f64, decimals: usize) -> String {
    if value.is_finite() {
        format!("{value:.decimals$}")
    } else {
        "null".into()
    }
}

pub fn json(report: &Report) -> String {
    let mut out = String::from("{\n");
    let _ = writeln!(out, "  \"tool\": \"cargo xtask bench\",");
    let _ = writeln!(out, "  \"address\": \"127.0.0.1\",");
    let _ = writeln!(out, "  \"time_unit\": \"microseconds\",");
    let _ = writeln!(
        out,
        "  \"machine\": {{\"os\": {}, \"arch\": {}, \"cpus\": {}, \"pinned_to_cpu\": {}}},",
        json_string(std::env::consts::OS),
        json_string(std::env::consts::ARCH),
        report.cpus,
        report.cpu.map_or("null".into(), |cpu| cpu.to_string())
    );
    let _ = writeln!(out, "  \"unix_time\": {},", report.unix_time);
    let _ = writeln!(
        out,
        "  \"settings\": {{\"iterations\": {}, \"warmup\": {}, \"burst\": {}, \
         \"udp_message\": {}, \"tcp_message\": {}}},",
        report.iterations,
        report.warmup,
        report.bursts.first().map_or(0, |b| b.loss.sent),
        json_string(&report.udp_message),
        json_string(&report.tcp_message)
    );
    out.push_str("  \"rows\": [\n");
    for (i, row) in report.rows.iter().enumerate() {
        let s = &row.summary;
        let _ = write!(
            out,
            "    {{\"key\": {}, \"label\": {}, \"server\": {}, \"iterations\": {}, \
             \"min_us\": {}, \"median_us\": {}, \"p99_us\": {}, \"max_us\": {}, \
             \"per_second\": {}, \"median_vs_udp_floor\": {}, \"server_lines_per_request\": {}}}",
            json_string(row.key),
            json_string(&row.label()),
            json_string(&row.server),
            s.iterations,
            json_number(us(s.min), 3),
            json_number(us(s.median), 3),
            json_number(us(s.p99), 3),
            json_number(us(s.max), 3),
            json_number(s.per_second, 1),
            json_number(report.vs_floor(row), 3),
            row.lines_per_request
                .map_or("null".into(), |n| json_number(n, 2))
        );
        out.push_str(if i + 1 < report.rows.len() {
            ",\n"
        } else {
            "\n"
        });
    }
    out.push_str("  ],\n  \"ratios\": {");
    let ratios: Vec<String> = report
        .ratios()
        .iter()
        .map(|(key, _, _, r)| format!("{}: {}", json_string(key), json_number(*r, 3)))
        .collect();
    out.push_str(&ratios.join(", "));
    out.push_str("},\n");
    let _ = writeln!(
        out,
        "  \"burst\": {{\"datagram_bytes\": {}, \"grace_ms\": {}, \"servers\": [",
        report.udp_message.len(),
        report.grace.as_millis()
    );
    for (i, burst) in report.bursts.iter().enumerate() {
        let l = &burst.loss;
        let _ = write!(
            out,
            "    {{\"server\": {}, \"sent\": {}, \"received\": {}, \"lost\": {}, \
             \"loss_percent\": {}}}",
            json_string(&burst.server),
            l.sent,
            l.received,
            l.lost(),
            json_number(l.percent(), 2)
        );
        out.push_str(if i + 1 < report.bursts.len() {
            ",\n"
        } else {
            "\n"
        });
    }
    out.push_str("  ]},\n");
    let _ = writeln!(
        out,
        "  \"udp_receive_buffer\": {{\"so_rcvbuf_bytes\": {}, \"idle_socket_sent\": {}, \
         \"idle_socket_held\": {}}},",
        report.receive_buffer, report.idle_socket.sent, report.idle_socket.received
    );
    let _ = writeln!(out, "  \"seconds\": {}", json_number(report.seconds, 2));
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(median_us: u64) -> Summary {
        let d = Duration::from_micros(median_us);
        Summary {
            iterations: 100,
            min: d,
            median: d,
            p99: d * 2,
            max: d * 3,
            per_second: 1e6 / median_us as f64,
        }
    }

    fn row(key: &'static str, server: &str, median_us: u64) -> Row {
        Row {
            key,
            what: "exchange",
            server: server.into(),
            summary: summary(median_us),
            lines_per_request: None,
        }
    }

    fn sample() -> Report {
        let mut lesson = row(UDP_LESSON, "lesson03_udp_loop_server", 30);
        lesson.lines_per_request = Some(4.0);
        Report {
            iterations: 100,
            warmup: 10,
            udp_message: "say \"hi\"\\\n".into(),
            tcp_message: "I love wangxiaojing".into(),
            rows: vec![
                row(UDP_FLOOR, "in-process echo (floor)", 10),
                lesson,
                row(TCP_OPEN, "in-process echo", 15),
                row(TCP_FULL_FLOOR, "in-process echo (floor)", 60),
            ],
            bursts: vec![Burst {
                server: "in-process echo".into(),
                loss: Loss {
                    sent: 1000,
                    received: 900,
                },
            }],
            grace: Duration::from_millis(500),
            receive_buffer: 212992,
            idle_socket: Loss {
                sent: 1000,
                received: 300,
            },
            cpus: 2,
            cpu: Some(1),
            unix_time: 0,
            seconds: 1.5,
        }
    }

    #[test]
    fn bench_json_strings_are_escaped() {
        assert_eq!(json_string("plain"), r#""plain""#);
        assert_eq!(json_string(r#"a "q" \ b"#), r#""a \"q\" \\ b""#);
        assert_eq!(json_string("l1\nl2\r\t"), r#""l1\nl2\r\t""#);
        assert_eq!(json_string("\u{1}\u{1f}"), r#""\u0001\u001f""#);
        assert_eq!(json_string("µs ÷ 中文"), "\"µs ÷ 中文\"");
        assert_eq!(json_number(f64::NAN, 2), "null");
        assert_eq!(json_number(f64::INFINITY, 2), "null");
        assert_eq!(json_number(1.23456, 2), "1.23");
    }

    #[test]
    fn bench_json_holds_the_figures_and_the_ratios() {
        let json = json(&sample());
        assert!(
            json.contains(r#""udp_message": "say \"hi\"\\\n""#),
            "{json}"
        );
        assert!(json.contains(r#""cpus": 2, "pinned_to_cpu": 1"#));
        assert!(json.contains(r#""median_us": 30.000"#));
        assert!(json.contains(r#""p99_us": 60.000"#));
        assert!(json.contains(r#""median_vs_udp_floor": 3.000"#));
        assert!(json.contains(r#""server_lines_per_request": 4.00"#));
        assert!(json.contains(r#""udp_lesson_vs_udp_floor": 3.000"#));
        assert!(json.contains(r#""new_connection_vs_open_connection": 4.000"#));
        // No lesson04 row in the sample: its ratio is left out, not invented.
        assert!(!json.contains("tcp_lesson_vs_tcp_full_floor"));
        assert!(
            json.contains(r#""sent": 1000, "received": 900, "lost": 100, "loss_percent": 10.00"#)
        );
        // Balanced, and no trailing comma before a closing bracket.
        let count = |c| json.chars().filter(|&x| x == c).count();
        assert_eq!(count('{'), count('}'));
        assert_eq!(count('['), count(']'));
        assert!(!json.contains(",\n  ]") && !json.contains(",\n}"));
    }

    #[test]
    fn bench_table_shows_rows_ratios_and_loss() {
        let table = table(&sample());
        assert!(table.contains("exchange, lesson03_udp_loop_server"));
        assert!(table.contains("3.00×"), "{table}");
        assert!(table.contains("takes 3.00× its floor (+20.0 µs per request)"));
        assert!(table.contains("everything on CPU 1 of 2"));
        assert!(table.contains("printing 4.0 lines per request"));
        assert!(table.contains("costs 4.00× a request on an open connection"));
        assert!(table.contains("held 300 of 1000"));
        assert!(table.contains("10.0"));
    }
}
