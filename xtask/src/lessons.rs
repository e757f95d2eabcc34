//! The one lesson table. `list`, `run`, `check` and the book's lesson index all read it.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Udp,
    Tcp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Serves one exchange, then exits by itself.
    OneShotServer,
    /// Serves until it is stopped.
    LoopServer,
    Client,
}

#[derive(Debug)]
pub struct Lesson {
    /// "01" … "05": the case number in the tutorial.
    pub number: &'static str,
    pub package: &'static str,
    pub protocol: Protocol,
    pub role: Role,
    /// The address the program uses when given none.
    pub default_addr: &'static str,
    /// The lesson on the other side of the conversation.
    pub peer: &'static str,
    /// The book chapter, relative to `book/src`.
    pub chapter: &'static str,
    pub title_en: &'static str,
    pub title_zh: &'static str,
}

pub const LESSONS: [Lesson; 5] = [
    Lesson {
        number: "01",
        package: "lesson01_udp_server",
        protocol: Protocol::Udp,
        role: Role::OneShotServer,
        default_addr: "127.0.0.1:7852",
        peer: "02",
        chapter: "lesson01.md",
        title_en: "A UDP server that answers once",
        title_zh: "只应答一次的 UDP 服务器",
    },
    Lesson {
        number: "02",
        package: "lesson02_udp_client",
        protocol: Protocol::Udp,
        role: Role::Client,
        default_addr: "127.0.0.1:7852",
        peer: "01",
        chapter: "lesson02.md",
        title_en: "A UDP client",
        title_zh: "UDP 客户端",
    },
    Lesson {
        number: "03",
        package: "lesson03_udp_loop_server",
        protocol: Protocol::Udp,
        role: Role::LoopServer,
        default_addr: "127.0.0.1:7852",
        peer: "02",
        chapter: "lesson03.md",
        title_en: "A UDP server that serves forever",
        title_zh: "持续服务的 UDP 服务器",
    },
    Lesson {
        number: "04",
        package: "lesson04_tcp_server",
        protocol: Protocol::Tcp,
        role: Role::LoopServer,
        default_addr: "127.0.0.1:8998",
        peer: "05",
        chapter: "lesson04.md",
        title_en: "A TCP server with an accept loop",
        title_zh: "带接受循环的 TCP 服务器",
    },
    Lesson {
        number: "05",
        package: "lesson05_tcp_client",
        protocol: Protocol::Tcp,
        role: Role::Client,
        default_addr: "127.0.0.1:8998",
        peer: "04",
        chapter: "lesson05.md",
        title_en: "A TCP client",
        title_zh: "TCP 客户端",
    },
];

/// How many clients `run` starts, one after the other, against a loop server by default.
pub const LOOP_SERVER_CLIENTS: usize = 3;

/// A server lesson and the client lesson that talks to it.
#[derive(Debug, Clone, Copy)]
pub struct Pair {
    pub server: &'static Lesson,
    pub client: &'static Lesson,
}

impl Pair {
    /// The transcript folder name: the server's number.
    pub fn name(&self) -> &'static str {
        self.server.number
    }

    pub fn default_clients(&self) -> usize {
        match self.server.role {
            Role::LoopServer => LOOP_SERVER_CLIENTS,
            _ => 1,
        }
    }
}

/// Every pair, once: 01+02, 03+02, 04+05.
pub fn pairs() -> impl Iterator<Item = Pair> {
    LESSONS
        .iter()
        .filter(|lesson| lesson.role != Role::Client)
        .map(|server| Pair {
            server,
            client: lesson(server.peer).expect("every server's peer is in the table"),
        })
}

/// Looks a lesson up by `1`…`5` or `01`…`05`.
pub fn lesson(number: &str) -> Option<&'static Lesson> {
    let n: u8 = number.parse().ok()?;
    LESSONS.iter().find(|lesson| lesson.number.parse() == Ok(n))
}

/// The pair `cargo xtask run NN` runs: a server runs with its peer, a client with its peer server.
pub fn pair_for(number: &str) -> Option<Pair> {
    let lesson = lesson(number)?;
    pairs().find(|pair| pair.server.number == lesson.number || pair.server.number == lesson.peer)
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Protocol::Udp => "UDP",
            Protocol::Tcp => "TCP",
        })
    }
}

impl Role {
    pub fn zh(&self) -> &'static str {
        match self {
            Role::OneShotServer => "服务器（一次交换）",
            Role::LoopServer => "服务器（循环）",
            Role::Client => "客户端",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::OneShotServer => "server (one exchange)",
            Role::LoopServer => "server (loop)",
            Role::Client => "client",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_with_or_without_leading_zero() {
        assert_eq!(lesson("4").map(|l| l.package), Some("lesson04_tcp_server"));
        assert_eq!(lesson("04").map(|l| l.package), Some("lesson04_tcp_server"));
        assert!(lesson("6").is_none());
        assert!(lesson("x").is_none());
    }

    #[test]
    fn pairs_match_the_design() {
        let names = |n: &str| {
            let pair = pair_for(n).unwrap();
            (pair.server.number, pair.client.number)
        };
        assert_eq!(names("1"), ("01", "02"));
        assert_eq!(names("2"), ("01", "02"));
        assert_eq!(names("3"), ("03", "02"));
        assert_eq!(names("4"), ("04", "05"));
        assert_eq!(names("5"), ("04", "05"));
        assert_eq!(pairs().count(), 3);
    }
}
