//! A minimal, careful HTTP/1.1 server side over a `TcpStream` (RFC 9112):
//! assemble one request (request line, header section, a `Content-Length`
//! body) under size limits and deadlines, write one response. Keep-alive
//! and pipelining work; `Transfer-Encoding` request bodies are refused
//! with 501.
//!
//! The request line and header fields are parsed by `httparse`; this file
//! adds what it leaves to its caller: CRLF line endings only (httparse also
//! takes a bare LF), an origin-form target, the `Host`, `Content-Length`,
//! `Transfer-Encoding`, `Connection` and `Expect` rules, and the limits.
//!
//! A [`Connection`] reads without blocking ([`Connection::read_available`]):
//! whoever holds it (the server's poller while it waits, a worker while it
//! answers) calls again when more may have come. Its deadlines are totals,
//! not per-read timeouts that a byte now and then would restart: the idle
//! timeout runs from the end of the previous request, the header deadline
//! from the first byte of this one, the body deadline from the end of its
//! header section.
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
    /// How long the header section may take once its first byte has
    /// come: 408 beyond.
    pub header_timeout: Duration,
    /// How long the body may take once the header section has come: 408
    /// beyond.
    pub body_timeout: Duration,
    /// How long a connection may stay without a request (new, or kept
    /// alive after one): closed silently beyond.
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
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
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

/// How far the next request on a connection has come.
pub enum Progress {
    /// Not complete: ask again when more may have come.
    Pending,
    /// A complete request.
    Ready(HttpRequest),
    /// No request will come: answer the error (if any) and close.
    Failed(ReadError),
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

/// Where a connection is between two requests, or in one.
enum Phase {
    /// Nothing of the next request yet, since this instant.
    Idle(Instant),
    /// The header section started at this instant.
    Head(Instant),
    /// The header section (`head_end` bytes) is complete since `since`;
    /// the body is coming.
    Body {
        head: Head,
        head_end: usize,
        since: Instant,
    },
    /// A final response went out and the sending side is shut: what the
    /// client still sends is read and dropped until `until` ("lingering
    /// close"), so that the kernel does not answer unread data with a
    /// reset that could destroy the response before the client reads it.
    Draining { until: Instant, discarded: usize },
}

/// A connection: the stream, the bytes read but not yet consumed (the
/// start of the next request, or of a pipelined one), and where the next
/// request has come to.
pub struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
    limits: Limits,
    phase: Phase,
    /// Whether `buf` changed since it was last looked at.
    fresh: bool,
    /// Whether the socket is in blocking mode (reads never are: see
    /// [`Connection::read_available`]; writes are, with a timeout).
    blocking: bool,
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// How much a draining connection reads and drops at most.
const DRAIN_MAX: usize = 1 << 20;
/// How long a draining connection waits for the client to finish.
const DRAIN_FOR: Duration = Duration::from_millis(500);

impl Connection {
    /// Wraps an accepted stream, in non-blocking mode.
    pub fn new(stream: TcpStream, limits: Limits) -> io::Result<Self> {
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(limits.write_timeout))?;
        stream.set_nonblocking(true)?;
        Ok(Connection {
            stream,
            buf: Vec::with_capacity(1024),
            limits,
            phase: Phase::Idle(Instant::now()),
            fresh: false,
            blocking: false,
        })
    }

    fn set_blocking(&mut self, blocking: bool) -> io::Result<()> {
        if self.blocking != blocking {
            self.stream.set_nonblocking(!blocking)?;
            self.blocking = blocking;
        }
        Ok(())
    }

    /// Whether the next request has not started (nothing of it has come),
    /// and since when; `None` while one is in progress or the connection
    /// is draining.
    pub fn idle_since(&self) -> Option<Instant> {
        match self.phase {
            Phase::Idle(since) if self.buf.is_empty() => Some(since),
            _ => None,
        }
    }

    /// Whether the connection is only draining before its close.
    pub fn draining(&self) -> bool {
        matches!(self.phase, Phase::Draining { .. })
    }

    /// When the request in progress started (`None` when none is).
    pub fn request_started(&self) -> Option<Instant> {
        match self.phase {
            Phase::Head(since) => Some(since),
            Phase::Body { since, .. } => Some(since),
            Phase::Idle(since) if !self.buf.is_empty() => Some(since),
            _ => None,
        }
    }

    /// Waits up to `wait` for a byte to read (or the client's close);
    /// whether one came.
    pub fn wait_readable(&mut self, wait: Duration) -> bool {
        self.set_blocking(true).is_ok()
            && self.stream.set_read_timeout(Some(wait)).is_ok()
            && self.stream.peek(&mut [0u8; 1]).is_ok()
    }

    /// Reads what the socket has, without waiting, and says how far the
    /// next request has come. Past a deadline the answer is a failure:
    /// the idle timeout closes silently, a late header section or body
    /// gets 408.
    pub fn read_available(&mut self, now: Instant) -> Progress {
        if self.set_blocking(false).is_err() {
            return Progress::Failed(ReadError::Closed);
        }
        if let Phase::Draining { until, discarded } = &mut self.phase {
            let mut sink = [0u8; 8192];
            loop {
                match self.stream.read(&mut sink) {
                    Ok(0) => return Progress::Failed(ReadError::Closed),
                    Ok(n) => *discarded += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return Progress::Failed(ReadError::Closed),
                }
                if *discarded >= DRAIN_MAX {
                    return Progress::Failed(ReadError::Closed);
                }
            }
            return if now >= *until {
                Progress::Failed(ReadError::Closed)
            } else {
                Progress::Pending
            };
        }
        loop {
            if self.fresh {
                self.fresh = false;
                match self.advance(now) {
                    Progress::Pending => {}
                    done => return done,
                }
            }
            // Read only what the request in progress can still need, so
            // that a client cannot make this buffer grow without bound.
            let room = match &self.phase {
                Phase::Body { head, head_end, .. } => {
                    (head_end + head.content_length as usize).saturating_sub(self.buf.len())
                }
                _ => self.limits.max_head + 1 - self.buf.len().min(self.limits.max_head),
            };
            let mut chunk = [0u8; 16 * 1024];
            let want = room.clamp(1, chunk.len());
            match self.stream.read(&mut chunk[..want]) {
                Ok(0) => return Progress::Failed(ReadError::Closed),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    self.fresh = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Progress::Failed(ReadError::Closed),
            }
        }
        let late = |since: Instant, limit: Duration| now.saturating_duration_since(since) >= limit;
        match &self.phase {
            Phase::Idle(since) if late(*since, self.limits.idle_timeout) => {
                Progress::Failed(ReadError::Closed)
            }
            Phase::Head(since) if late(*since, self.limits.header_timeout) => Progress::Failed(
                ReadError::Reject(408, "header section not received in time"),
            ),
            Phase::Body { since, .. } if late(*since, self.limits.body_timeout) => {
                Progress::Failed(ReadError::Reject(408, "body not received in time"))
            }
            _ => Progress::Pending,
        }
    }

    /// Moves the request in progress on with the bytes in `buf`.
    fn advance(&mut self, now: Instant) -> Progress {
        if let Phase::Idle(_) = self.phase {
            if self.buf.is_empty() {
                return Progress::Pending;
            }
            self.phase = Phase::Head(now);
        }
        if let Phase::Head(_) = self.phase {
            let (head_end, head) = match parse_head(&self.buf, &self.limits) {
                Ok(Some(parsed)) => parsed,
                Ok(None) => return Progress::Pending,
                Err(e) => return Progress::Failed(e),
            };
            if head.content_length > self.limits.max_body as u64 {
                return Progress::Failed(ReadError::Reject(413, "body too large"));
            }
            let total = head_end + head.content_length as usize;
            if head.expect_continue && self.buf.len() < total {
                // RFC 9110 §10.1.1: the client waits for this before the
                // body. Nothing else is being written on this connection
                // now, so the socket takes these few bytes at once; a
                // client that leaves even them unread is gone.
                const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
                if !matches!(self.stream.write(CONTINUE), Ok(n) if n == CONTINUE.len()) {
                    return Progress::Failed(ReadError::Closed);
                }
            }
            self.phase = Phase::Body {
                head,
                head_end,
                since: now,
            };
        }
        let total = match &self.phase {
            Phase::Body { head, head_end, .. } => head_end + head.content_length as usize,
            _ => return Progress::Pending,
        };
        if self.buf.len() < total {
            return Progress::Pending;
        }
        let Phase::Body { head, head_end, .. } =
            std::mem::replace(&mut self.phase, Phase::Idle(now))
        else {
            return Progress::Pending; // not reached: the phase is Body
        };
        // `parse_head` checked that the header section is UTF-8.
        let text = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let request = HttpRequest {
            head: text,
            method: head.method,
            target: head.target,
            headers: head.headers,
            body: self.buf[head_end..total].to_vec(),
            keep_alive: head.keep_alive,
            http10: head.http10,
        };
        self.buf.drain(..total);
        // A pipelined request may already be there.
        self.fresh = !self.buf.is_empty();
        Progress::Ready(request)
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
        let out = response_bytes(status, headers, body, framing)?;
        self.set_blocking(true)?;
        self.stream.write_all(&out)?;
        self.stream.flush()
    }

    /// Sends a final response if the socket takes it at once, without
    /// waiting, and closes: for a connection given up on (a short error
    /// response, and a socket with nothing else left to send).
    pub fn abort(mut self, status: u16, headers: &[(&str, &str)], body: &[u8]) {
        if let Ok(out) = response_bytes(status, headers, body, CLOSE) {
            if self.set_blocking(false).is_ok() {
                let _ = self.stream.write(&out);
            }
        }
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Closes after a final response: stop sending, then drain what the
    /// client still sends for a while (see [`Phase::Draining`]); whoever
    /// holds the connection then calls [`Connection::read_available`]
    /// until it fails, and drops it.
    pub fn finish(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
        self.buf.clear();
        self.phase = Phase::Draining {
            until: Instant::now() + DRAIN_FOR,
            discarded: 0,
        };
    }
}

/// A final response, after which the connection closes.
pub const CLOSE: Framing = Framing {
    close: true,
    http10: false,
    head: false,
};

/// A response's bytes. `Content-Length` (and `Connection: close` when
/// closing, `Connection: keep-alive` for a kept HTTP/1.0 connection) are
/// added here; header values are checked for CR/LF.
fn response_bytes(
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
    framing: Framing,
) -> io::Result<Vec<u8>> {
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
    Ok(out)
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

/// The index of the first LF not preceded by CR.
fn bare_lf(bytes: &[u8]) -> Option<usize> {
    (0..bytes.len()).find(|&i| bytes[i] == b'\n' && (i == 0 || bytes[i - 1] != b'\r'))
}

/// The 400 (or 431) for an `httparse` error.
fn parse_error(error: httparse::Error, buf: &[u8]) -> ReadError {
    let bad = |why| ReadError::Reject(400, why);
    match error {
        httparse::Error::TooManyHeaders => ReadError::Reject(431, "too many header fields"),
        httparse::Error::Token => bad("malformed method or request target"),
        httparse::Error::HeaderName => bad("malformed header name"),
        httparse::Error::HeaderValue => bad("malformed header value"),
        httparse::Error::NewLine => bad("malformed line ending"),
        httparse::Error::Version => version_error(buf),
        _ => bad("malformed request"),
    }
}

/// httparse knows HTTP/1.0 and 1.1 only: another well-formed version in
/// an otherwise well-formed request line is 505, anything else 400.
fn version_error(buf: &[u8]) -> ReadError {
    let start = buf.iter().take_while(|&&b| b == b'\r').count();
    let line = &buf[start..];
    let line = &line[..line
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(line.len())];
    let mut parts = line.split(|&b| b == b' ');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(target), Some(v), None)
            if target.starts_with(b"/")
                && v.len() == 8
                && v.starts_with(b"HTTP/")
                && v[5].is_ascii_digit()
                && v[6] == b'.'
                && v[7].is_ascii_digit() =>
        {
            ReadError::Reject(505, "HTTP version not supported")
        }
        _ => ReadError::Reject(400, "malformed HTTP version"),
    }
}

/// Parses the header section at the start of `buf`: `None` while it is
/// incomplete, else its length and what it says.
fn parse_head(buf: &[u8], limits: &Limits) -> Result<Option<(usize, Head)>, ReadError> {
    let bad = |why| ReadError::Reject(400, why);
    let mut fields = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut request = httparse::Request::new(&mut fields);
    let parsed = request.parse(buf);
    // httparse takes a bare LF for a line ending (RFC 9112 §2.2 allows
    // it); this server does not, wherever it is in the header section.
    let examined = match parsed {
        Ok(httparse::Status::Complete(n)) => n,
        _ => buf.len(),
    };
    if bare_lf(&buf[..examined]).is_some() {
        return Err(bad("line ending without CR"));
    }
    let head_end = match parsed {
        Ok(httparse::Status::Complete(n)) if n <= limits.max_head => n,
        Ok(httparse::Status::Partial) if buf.len() < limits.max_head => return Ok(None),
        Ok(_) => return Err(ReadError::Reject(431, "header section too large")),
        Err(e) => return Err(parse_error(e, buf)),
    };
    let text =
        std::str::from_utf8(&buf[..head_end]).map_err(|_| bad("header section is not UTF-8"))?;
    let offset = |s: &[u8]| s.as_ptr() as usize - buf.as_ptr() as usize;
    // A span of `text`, trimmed of spaces and tabs.
    let span = |s: &[u8]| {
        let start = offset(s);
        let trimmed = text[start..start + s.len()].trim_matches([' ', '\t']);
        let start = start + (trimmed.as_ptr() as usize - text[start..].as_ptr() as usize);
        (start, start + trimmed.len())
    };
    let (Some(method), Some(target), Some(version)) =
        (request.method, request.path, request.version)
    else {
        return Err(bad("malformed request line"));
    };
    // Origin form only (RFC 9112 §3.2.1): a path, then an optional query.
    if !target.starts_with('/') || !target.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(bad("malformed request target"));
    }
    let http10 = version == 0;

    let mut headers = Vec::with_capacity(request.headers.len());
    let mut hosts = 0;
    let mut content_length: Option<u64> = None;
    let mut close = false;
    let mut keep_alive = false;
    let mut expect_continue = false;
    for field in request.headers.iter() {
        let (name, value) = (field.name, span(field.value));
        let value = &text[value.0..value.1];
        if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err(bad("control character in a header value"));
        }
        headers.push((span(name.as_bytes()), span(value.as_bytes())));
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
    let head = Head {
        method: span(method.as_bytes()),
        target: span(target.as_bytes()),
        headers,
        content_length,
        keep_alive: if http10 { keep_alive && !close } else { !close },
        http10,
        expect_continue: expect_continue && content_length > 0,
    };
    Ok(Some((head_end, head)))
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
