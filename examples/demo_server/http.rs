//! A minimal, careful HTTP/1.1 server side over a blocking `TcpStream`
//! (RFC 9112): read one request (request line, header section, a
//! `Content-Length` body) under size limits and deadlines, write one
//! response. Keep-alive and pipelining work; `Transfer-Encoding` request
//! bodies are refused with 501.
//!
//! Every way a request can be wrong is a value ([`ReadError`]): the caller
//! answers with its status and closes the connection.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Size limits and deadlines for one connection.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The largest header section (request line and headers), bytes: 431 beyond.
    pub max_head: usize,
    /// The most header fields: 431 beyond.
    pub max_headers: usize,
    /// The largest body, bytes: 413 beyond.
    pub max_body: usize,
    /// How long a request may take to arrive once its first byte has: 408 beyond.
    pub request_timeout: Duration,
    /// How long to wait for a request to start (a new or kept-alive
    /// connection): closed silently beyond.
    pub idle_timeout: Duration,
    /// How long a response write may block on a client that does not read.
    pub write_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head: 8 * 1024,
            max_headers: 64,
            max_body: 64 * 1024,
            request_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
        }
    }
}

/// Why no request could be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// The client closed the connection, or sent nothing before the idle
    /// timeout: close without a word.
    Closed,
    /// Answer with this status (and a short reason) and close.
    Reject(u16, &'static str),
}

type Span = (usize, usize);

/// One request: the header section kept as text with spans into it, and the body.
pub struct HttpRequest {
    head: String,
    method: Span,
    target: Span,
    headers: Vec<(Span, Span)>,
    /// The body (`Content-Length` bytes; empty without one).
    pub body: Vec<u8>,
    /// Whether the connection may carry another request after this one.
    pub keep_alive: bool,
    /// Whether the request is HTTP/1.0 (keep-alive must then be announced).
    pub http10: bool,
}

impl HttpRequest {
    fn span(&self, (start, end): Span) -> &str {
        &self.head[start..end]
    }

    /// The method, as sent (a token).
    pub fn method(&self) -> &str {
        self.span(self.method)
    }

    /// The request target (origin form: `/path?query`).
    pub fn target(&self) -> &str {
        self.span(self.target)
    }

    /// The header fields, in order, as `(name, value)` with the value trimmed.
    pub fn headers(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .map(|&(n, v)| (self.span(n), self.span(v)))
            .collect()
    }
}

/// A connection: the stream and the bytes read but not yet consumed
/// (the start of a pipelined request).
pub struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
    limits: Limits,
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// The index just past the empty line ending the header section
/// (`\r\n\r\n` or, leniently, `\n\n`), searching from `from`.
fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < buf.len() {
        if buf[i] == b'\n' {
            match (buf.get(i + 1), buf.get(i + 2)) {
                (Some(b'\n'), _) => return Some(i + 2),
                (Some(b'\r'), Some(b'\n')) => return Some(i + 3),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

impl Connection {
    /// Wraps an accepted stream.
    pub fn new(stream: TcpStream, limits: Limits) -> io::Result<Self> {
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(limits.write_timeout))?;
        Ok(Connection {
            stream,
            buf: Vec::with_capacity(4096),
            limits,
        })
    }

    /// Reads more bytes, waiting at most `timeout`.
    fn fill(&mut self, timeout: Duration) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(timeout))?;
        let mut chunk = [0u8; 8192];
        let n = self.stream.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Reads the next request.
    pub fn read_request(&mut self) -> Result<HttpRequest, ReadError> {
        let limits = self.limits;
        // The request deadline runs from its first byte (already here when
        // the client pipelined it).
        let mut deadline = (!self.buf.is_empty()).then(|| Instant::now() + limits.request_timeout);
        let mut scanned: usize = 0;
        let head_end = loop {
            // RFC 9112 §2.2: empty lines before the request line are ignored.
            let blank = self
                .buf
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            if blank > 0 {
                self.buf.drain(..blank);
                scanned = 0;
            }
            if let Some(end) = find_head_end(&self.buf, scanned.saturating_sub(2)) {
                if end > limits.max_head {
                    return Err(ReadError::Reject(431, "header section too large"));
                }
                break end;
            }
            scanned = self.buf.len();
            if self.buf.len() >= limits.max_head {
                return Err(ReadError::Reject(431, "header section too large"));
            }
            let wait = match deadline {
                None => limits.idle_timeout,
                Some(d) => d.saturating_duration_since(Instant::now()),
            };
            if wait.is_zero() {
                return Err(ReadError::Reject(408, "request not received in time"));
            }
            match self.fill(wait) {
                Ok(0) => return Err(ReadError::Closed),
                Ok(_) => {
                    deadline.get_or_insert_with(|| Instant::now() + limits.request_timeout);
                }
                Err(e) if is_timeout(&e) && deadline.is_some() => {
                    return Err(ReadError::Reject(408, "request not received in time"))
                }
                Err(_) => return Err(ReadError::Closed),
            }
        };
        let head = String::from_utf8(self.buf[..head_end].to_vec())
            .map_err(|_| ReadError::Reject(400, "header section is not UTF-8"))?;
        let parsed = parse_head(&head, &limits)?;
        let body_len = parsed.content_length;
        if body_len > limits.max_body as u64 {
            return Err(ReadError::Reject(413, "body too large"));
        }
        let total = head_end + body_len as usize;
        if parsed.expect_continue && self.buf.len() < total {
            // RFC 9110 §10.1.1: the client waits for this before the body.
            self.stream
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .map_err(|_| ReadError::Closed)?;
        }
        let deadline = deadline.unwrap_or_else(|| Instant::now() + limits.request_timeout);
        while self.buf.len() < total {
            let wait = deadline.saturating_duration_since(Instant::now());
            if wait.is_zero() {
                return Err(ReadError::Reject(408, "body not received in time"));
            }
            match self.fill(wait) {
                Ok(0) => return Err(ReadError::Closed),
                Ok(_) => {}
                Err(e) if is_timeout(&e) => {
                    return Err(ReadError::Reject(408, "body not received in time"))
                }
                Err(_) => return Err(ReadError::Closed),
            }
        }
        let request = HttpRequest {
            head,
            method: parsed.method,
            target: parsed.target,
            headers: parsed.headers,
            body: self.buf[head_end..total].to_vec(),
            keep_alive: parsed.keep_alive,
            http10: parsed.http10,
        };
        self.buf.drain(..total);
        Ok(request)
    }

    /// Writes a response. `Content-Length` (and `Connection: close` when
    /// closing, `Connection: keep-alive` for a kept HTTP/1.0 connection) are
    /// added here; header values are checked for CR/LF. A response to
    /// `HEAD` carries the headers only (RFC 9110 §9.3.2).
    pub fn write_response(
        &mut self,
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
        framing: Framing,
    ) -> io::Result<()> {
        let Framing {
            close,
            http10,
            head,
        } = framing;
        let mut out = Vec::with_capacity(256 + body.len());
        let _ = write!(out, "HTTP/1.1 {status} {}\r\n", reason(status));
        for (name, value) in headers {
            if !is_token(name) || value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "refusing to send a header with a control character",
                ));
            }
            let _ = write!(out, "{name}: {value}\r\n");
        }
        let _ = write!(out, "Date: {}\r\n", http_date(SystemTime::now()));
        let _ = write!(out, "Content-Length: {}\r\n", body.len());
        if close {
            out.extend_from_slice(b"Connection: close\r\n");
        } else if http10 {
            out.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if !head {
            out.extend_from_slice(body);
        }
        self.stream.write_all(&out)?;
        self.stream.flush()
    }

    /// Closes after a final response: stop sending, then read and discard
    /// what the client is still sending for a short while, so that the
    /// kernel does not answer unread data with a reset that could destroy
    /// the response before the client reads it ("lingering close").
    pub fn close(mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
        let until = Instant::now() + Duration::from_millis(500);
        let mut discarded = 0usize;
        let mut sink = [0u8; 8192];
        while discarded < 1 << 20 {
            let wait = until.saturating_duration_since(Instant::now());
            if wait.is_zero() || self.stream.set_read_timeout(Some(wait)).is_err() {
                break;
            }
            match self.stream.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(n) => discarded += n,
            }
        }
    }
}

/// How a response is framed on the connection.
#[derive(Clone, Copy, Debug, Default)]
pub struct Framing {
    /// Close the connection after this response.
    pub close: bool,
    /// The request was HTTP/1.0 (a kept connection must be announced).
    pub http10: bool,
    /// The request was `HEAD`: no body.
    pub head: bool,
}

/// What the header section says.
struct Head {
    method: Span,
    target: Span,
    headers: Vec<(Span, Span)>,
    content_length: u64,
    keep_alive: bool,
    http10: bool,
    expect_continue: bool,
}

/// Parses a header section (ending with its empty line).
fn parse_head(head: &str, limits: &Limits) -> Result<Head, ReadError> {
    let bad = |why| ReadError::Reject(400, why);
    let offset = |s: &str| s.as_ptr() as usize - head.as_ptr() as usize;
    let span = |s: &str| (offset(s), offset(s) + s.len());
    let mut lines = head
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line));

    // request-line = method SP request-target SP HTTP-version
    let line = lines.next().unwrap_or("");
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("malformed request line"));
    };
    if !is_token(method) {
        return Err(bad("malformed method"));
    }
    // Origin form only (RFC 9112 §3.2.1): a path, then an optional query.
    if !target.starts_with('/') || !target.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(bad("malformed request target"));
    }
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        v if v.len() == 8
            && v.starts_with("HTTP/")
            && v.as_bytes()[5].is_ascii_digit()
            && v.as_bytes()[6] == b'.'
            && v.as_bytes()[7].is_ascii_digit() =>
        {
            return Err(ReadError::Reject(505, "HTTP version not supported"))
        }
        _ => return Err(bad("malformed HTTP version")),
    };

    let mut headers = Vec::new();
    let mut hosts = 0;
    let mut content_length: Option<u64> = None;
    let mut close = false;
    let mut keep_alive = false;
    let mut expect_continue = false;
    for line in lines {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            return Err(bad("obsolete header line folding"));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(bad("header line without a colon"));
        };
        if !is_token(name) {
            return Err(bad("malformed header name"));
        }
        let value = value.trim_matches([' ', '\t']);
        if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err(bad("control character in a header value"));
        }
        headers.push((span(name), span(value)));
        if headers.len() > limits.max_headers {
            return Err(ReadError::Reject(431, "too many header fields"));
        }
        if name.eq_ignore_ascii_case("host") {
            hosts += 1;
        } else if name.eq_ignore_ascii_case("content-length") {
            // RFC 9112 §6.3: a list of identical values is one value;
            // anything else is unrecoverable.
            for item in value.split(',').map(|v| v.trim_matches([' ', '\t'])) {
                if item.is_empty() || !item.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad("malformed Content-Length"));
                }
                // Too many digits to fit: certainly over the limit.
                let n = item.parse::<u64>().unwrap_or(u64::MAX);
                if content_length.is_some_and(|c| c != n) {
                    return Err(bad("conflicting Content-Length values"));
                }
                content_length = Some(n);
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(ReadError::Reject(
                501,
                "Transfer-Encoding is not supported: send Content-Length",
            ));
        } else if name.eq_ignore_ascii_case("connection") {
            for option in value.split(',').map(|v| v.trim_matches([' ', '\t'])) {
                close |= option.eq_ignore_ascii_case("close");
                keep_alive |= option.eq_ignore_ascii_case("keep-alive");
            }
        } else if name.eq_ignore_ascii_case("expect") {
            if !value.eq_ignore_ascii_case("100-continue") {
                return Err(ReadError::Reject(417, "unsupported expectation"));
            }
            expect_continue = true;
        }
    }
    // RFC 9112 §3.2: exactly one Host in an HTTP/1.1 request.
    if (!http10 && hosts != 1) || hosts > 1 {
        return Err(bad("an HTTP/1.1 request needs exactly one Host header"));
    }
    let content_length = content_length.unwrap_or(0);
    Ok(Head {
        method: span(method),
        target: span(target),
        headers,
        content_length,
        keep_alive: if http10 { keep_alive && !close } else { !close },
        http10,
        expect_continue: expect_continue && content_length > 0,
    })
}

/// The reason phrase of the statuses this server sends.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// An IMF-fixdate (RFC 9110 §5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
    )
}
