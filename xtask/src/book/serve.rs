//! `cargo xtask book --serve`: a small static file server for the built book, on loopback only.
//! One thread per connection, GET and HEAD, one request per connection.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// Serves `site` on 127.0.0.1:`port` until the process is stopped.
pub fn serve(site: &Path, port: u16) -> anyhow::Result<()> {
    let listener = bind(port)?;
    let addr = listener.local_addr()?;
    println!("book: serving {} at http://{addr}/", super::shown(site));
    println!("book: 中文 at http://{addr}/zh-CN/ ; press Ctrl-C to stop");
    run(listener, site.to_path_buf());
    Ok(())
}

pub fn bind(port: u16) -> anyhow::Result<TcpListener> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpListener::bind(addr).map_err(|err| match err.kind() {
        std::io::ErrorKind::AddrInUse => anyhow::anyhow!(
            "port {port} is already in use: stop whatever serves it, or pick another with \
             `--port 3001` (or `--port 0` for any free port)"
        ),
        _ => anyhow::Error::new(err).context(format!("cannot listen on {addr}")),
    })
}

/// Answers connections forever, each in its own thread.
pub fn run(listener: TcpListener, site: PathBuf) {
    for stream in listener.incoming().flatten() {
        let site = site.clone();
        std::thread::spawn(move || {
            // A browser that goes away mid-answer is not our problem.
            let _ = answer(stream, &site);
        });
    }
}

fn answer(mut stream: TcpStream, site: &Path) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Read the headers to the blank line; none of them matters here.
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let mut words = request_line.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or("/"));
    if method != "GET" && method != "HEAD" {
        return respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            b"GET only\n",
            true,
        );
    }
    let head_only = method == "HEAD";
    let path = target.split(['?', '#']).next().unwrap_or("/");
    match route(site, path) {
        Route::File(file) => match std::fs::read(&file) {
            Ok(body) => respond(
                &mut stream,
                "200 OK",
                content_type(&file),
                &body,
                !head_only,
            ),
            Err(_) => not_found(&mut stream, site, path, head_only),
        },
        Route::Redirect(location) => {
            let head = format!(
                "HTTP/1.1 301 Moved Permanently\r\nLocation: {location}\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n"
            );
            stream.write_all(head.as_bytes())
        }
        Route::NotFound => not_found(&mut stream, site, path, head_only),
    }
}

/// The language's own 404 page (the Chinese one under /zh-CN/), with status 404.
fn not_found(
    stream: &mut TcpStream,
    site: &Path,
    path: &str,
    head_only: bool,
) -> std::io::Result<()> {
    let page = if path.starts_with("/zh-CN/") {
        site.join("zh-CN").join("404.html")
    } else {
        site.join("404.html")
    };
    let body = std::fs::read(page).unwrap_or_else(|_| b"not found\n".to_vec());
    respond(
        stream,
        "404 Not Found",
        "text/html; charset=utf-8",
        &body,
        !head_only,
    )
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
    with_body: bool,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if with_body {
        stream.write_all(body)?;
    }
    stream.flush()
}

#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    File(PathBuf),
    /// A folder asked for without its `/`: relative links need it, so redirect.
    Redirect(String),
    NotFound,
}

/// Maps a request path onto the site, refusing anything that climbs out of it.
pub fn route(site: &Path, request_path: &str) -> Route {
    let decoded = percent_decode(request_path);
    let relative = Path::new(decoded.trim_start_matches('/'));
    if relative
        .components()
        .any(|part| !matches!(part, Component::Normal(_)))
    {
        return Route::NotFound;
    }
    let path = site.join(relative);
    if path.is_dir() {
        if !request_path.ends_with('/') {
            return Route::Redirect(format!("{request_path}/"));
        }
        let index = path.join("index.html");
        return if index.is_file() {
            Route::File(index)
        } else {
            Route::NotFound
        };
    }
    if path.is_file() {
        Route::File(path)
    } else {
        Route::NotFound
    }
}

pub fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|ext| ext.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("ico") => "image/x-icon",
        Some("woff") => "font/woff",
        Some("woff2") => "font/woff2",
        Some("ttf") => "font/ttf",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        let hex = bytes
            .get(at + 1..at + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (byte, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                at += 3;
            }
            _ => {
                out.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// A throwaway site: index.html, zh-CN/index.html, zh-CN/404.html, 图.svg.
    fn site() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "socket-lessons-serve-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(dir.join("zh-CN")).unwrap();
        std::fs::write(dir.join("index.html"), "<p>English</p>").unwrap();
        std::fs::write(dir.join("zh-CN/index.html"), "<p>中文</p>").unwrap();
        std::fs::write(dir.join("zh-CN/404.html"), "<p>找不到</p>").unwrap();
        std::fs::write(dir.join("图.svg"), "<svg/>").unwrap();
        dir
    }

    #[test]
    fn routes_files_folders_and_refuses_to_climb_out() {
        let site = site();
        assert_eq!(route(&site, "/"), Route::File(site.join("index.html")));
        assert_eq!(
            route(&site, "/zh-CN"),
            Route::Redirect("/zh-CN/".to_string())
        );
        assert_eq!(
            route(&site, "/zh-CN/"),
            Route::File(site.join("zh-CN/index.html"))
        );
        assert_eq!(
            route(&site, "/%E5%9B%BE.svg"),
            Route::File(site.join("图.svg"))
        );
        assert_eq!(route(&site, "/../etc/passwd"), Route::NotFound);
        assert_eq!(route(&site, "/%2e%2e/secret"), Route::NotFound);
        assert_eq!(route(&site, "/nope.html"), Route::NotFound);
        assert_eq!(content_type(Path::new("a.svg")), "image/svg+xml");
        let _ = std::fs::remove_dir_all(site);
    }

    fn get(addr: SocketAddr, path: &str) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    #[test]
    fn serves_pages_and_the_language_404_over_loopback() {
        let site = site();
        let listener = bind(0).unwrap();
        let addr = listener.local_addr().unwrap();
        let served = site.clone();
        std::thread::spawn(move || run(listener, served));

        let page = get(addr, "/zh-CN/");
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
        assert!(page.contains("text/html") && page.ends_with("<p>中文</p>"));
        let missing = get(addr, "/zh-CN/missing.html");
        assert!(missing.starts_with("HTTP/1.1 404") && missing.ends_with("<p>找不到</p>"));
        assert!(get(addr, "/zh-CN").contains("Location: /zh-CN/\r\n"));
        let _ = std::fs::remove_dir_all(site);
    }
}
