//! A fake dinit daemon for the client tests (`ctl_*`): a Unix socket whose side of each
//! connection is a script of requests expected (byte for byte) and bytes sent back, or a
//! request handler. Packets are written as the hex of PROTOCOL.md §11 and §12 wherever those
//! sections give them.

use super::WAIT as TIMEOUT;
pub use super::{run_program, run_program_in, wait_output, Out, TestDir, DINITCTL, DINIT_MONITOR};
use dinit_core::proto::RequestPacket;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One step of a connection script.
#[derive(Clone, Debug)]
pub enum Step {
    /// The client must send exactly these bytes next.
    Recv(Vec<u8>),
    /// Send these bytes.
    Send(Vec<u8>),
    /// Close the connection now (instead of waiting for the client to close it).
    Close,
}

pub use Step::{Close, Recv, Send};

/// Bytes from a hex transcript: `"3a 01 00 07 00"`; `'text'` inserts the text's bytes.
pub fn hex(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('\'') {
            let end = r.find('\'').expect("closing quote");
            out.extend_from_slice(&r.as_bytes()[..end]);
            rest = r[end + 1..].trim_start();
            continue;
        }
        let end = rest.find(' ').unwrap_or(rest.len());
        out.push(u8::from_str_radix(&rest[..end], 16).expect("hex byte"));
        rest = rest[end..].trim_start();
    }
    out
}

/// Concatenation.
pub fn join(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// `QUERYVERSION` answered with min 1, current `v`.
pub fn handshake_v(v: u16) -> Vec<Step> {
    let mut reply = vec![0x3a, 1, 0];
    reply.extend_from_slice(&v.to_le_bytes());
    vec![Recv(hex("00")), Send(reply)]
}

/// `QUERYVERSION` answered as the current daemon does (`3a 01 00 07 00`).
pub fn handshake() -> Vec<Step> {
    vec![Recv(hex("00")), Send(hex("3a 01 00 07 00"))]
}

fn string_request(code: u8, s: &[u8]) -> Vec<u8> {
    let mut v = vec![code];
    v.extend_from_slice(&(s.len() as u16).to_le_bytes());
    v.extend_from_slice(s);
    v
}

/// `LOADSERVICE name`.
pub fn load(name: &str) -> Vec<u8> {
    string_request(2, name.as_bytes())
}

/// `FINDSERVICE name`.
pub fn find(name: &str) -> Vec<u8> {
    string_request(1, name.as_bytes())
}

/// `SETENV s`.
pub fn setenv(s: &str) -> Vec<u8> {
    string_request(0x11, s.as_bytes())
}

/// `SERVICERECORD state, handle, target`.
pub fn record(state: u8, handle: u32, target: u8) -> Vec<u8> {
    let mut v = vec![0x3b, state];
    v.extend_from_slice(&handle.to_le_bytes());
    v.push(target);
    v
}

/// A request with a handle at offset `off` of `prefix`-then-handle layouts: `[code, byte1?]`
/// followed by the handle.
pub fn req_h(prefix: &[u8], handle: u32) -> Vec<u8> {
    let mut v = prefix.to_vec();
    v.extend_from_slice(&handle.to_le_bytes());
    v
}

/// `QUERYSERVICEDSCDIR handle`.
pub fn dscdir_req(handle: u32) -> Vec<u8> {
    req_h(&[0x16, 0], handle)
}

/// `SVCDSCDIR dir`.
pub fn dscdir(dir: &Path) -> Vec<u8> {
    let bytes = dir.as_os_str().as_encoded_bytes();
    let mut v = vec![0x4d];
    v.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    v.extend_from_slice(bytes);
    v
}

/// A status block's fields.
#[derive(Clone, Copy, Debug, Default)]
pub struct St {
    pub state: u8,
    pub target: u8,
    pub flags: u8,
    pub reason: u8,
    pub stage: u16,
    pub detail: i32,
    pub si_status: i32,
    pub mtime: (i64, i64),
}

impl St {
    pub fn new(state: u8, target: u8, flags: u8, reason: u8) -> St {
        St {
            state,
            target,
            flags,
            reason,
            ..St::default()
        }
    }
    pub fn detail(mut self, detail: i32, si_status: i32) -> St {
        self.detail = detail;
        self.si_status = si_status;
        self
    }
    pub fn stage(mut self, stage: u16) -> St {
        self.stage = stage;
        self
    }
    pub fn mtime(mut self, mtime: (i64, i64)) -> St {
        self.mtime = mtime;
        self
    }
    pub fn block10(&self) -> Vec<u8> {
        let mut v = vec![self.state, self.target, self.flags, self.reason];
        v.extend_from_slice(&self.stage.to_le_bytes());
        v.extend_from_slice(&self.detail.to_le_bytes());
        v
    }
    pub fn block14(&self) -> Vec<u8> {
        let mut v = self.block10();
        v.extend_from_slice(&self.si_status.to_le_bytes());
        v
    }
    pub fn block30(&self) -> Vec<u8> {
        let mut v = self.block14();
        v.extend_from_slice(&self.mtime.0.to_le_bytes());
        v.extend_from_slice(&self.mtime.1.to_le_bytes());
        v
    }
}

/// `SERVICESTATUS` with a status30.
pub fn status30(st: St) -> Vec<u8> {
    join(&[&[0x46, 0], &st.block30()])
}

/// `SERVICESTATUS` with a status14.
pub fn status14(st: St) -> Vec<u8> {
    join(&[&[0x46, 0], &st.block14()])
}

/// `SERVICESTATUS` with a status10.
pub fn status10(st: St) -> Vec<u8> {
    join(&[&[0x46, 0], &st.block10()])
}

/// An event pair (`SERVICEEVENT5`, then `SERVICEEVENT` with the legacy exit field).
pub fn event_pair(handle: u32, event: u8, st: St) -> Vec<u8> {
    join(&[&event5(handle, event, st), &event_legacy(handle, event, st)])
}

/// `SERVICEEVENT5` alone.
pub fn event5(handle: u32, event: u8, st: St) -> Vec<u8> {
    let mut v = vec![0x65, 0x15];
    v.extend_from_slice(&handle.to_le_bytes());
    v.push(event);
    v.extend_from_slice(&st.block14());
    v
}

/// `SERVICEEVENT` alone (the exit field as the current daemon sends it).
pub fn event_legacy(handle: u32, event: u8, st: St) -> Vec<u8> {
    let mut legacy = st;
    if st.flags & 0x10 == 0 && st.reason != 4 {
        legacy.detail = if st.si_status == 0 { 0 } else { -1 };
    }
    let mut v = vec![0x64, 0x11];
    v.extend_from_slice(&handle.to_le_bytes());
    v.push(event);
    v.extend_from_slice(&legacy.block10());
    v
}

/// `SVCINFO` with a status14.
pub fn svcinfo5(name: &str, st: St) -> Vec<u8> {
    join(&[&[0x3e, name.len() as u8], &st.block14(), name.as_bytes()])
}

/// The modification time of a file, as status30 carries it.
pub fn mtime_of(path: &Path) -> (i64, i64) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).expect("stat");
    (m.mtime(), m.mtime_nsec())
}

/// Plays `script` on `stream`. Errors describe the first mismatch.
pub fn play(mut stream: UnixStream, script: &[Step]) -> Result<(), String> {
    stream.set_read_timeout(Some(TIMEOUT)).ok();
    for (i, step) in script.iter().enumerate() {
        match step {
            Step::Recv(expected) => {
                let mut got = vec![0u8; expected.len()];
                let mut have = 0;
                while have < got.len() {
                    match stream.read(&mut got[have..]) {
                        Ok(0) => {
                            return Err(format!(
                                "step {i}: client closed; expected {:02x?}, got {:02x?}",
                                expected,
                                &got[..have]
                            ))
                        }
                        Ok(n) => {
                            have += n;
                            if got[..have] != expected[..have] {
                                return Err(format!(
                                    "step {i}: expected {:02x?}, got {:02x?}",
                                    expected,
                                    &got[..have]
                                ));
                            }
                        }
                        Err(e) => {
                            return Err(format!(
                                "step {i}: read error {e}; expected {:02x?}, got {:02x?}",
                                expected,
                                &got[..have]
                            ))
                        }
                    }
                }
            }
            Step::Send(bytes) => {
                if let Err(e) = stream.write_all(bytes) {
                    // A client that has what it needed (the first of two events) may close
                    // before the rest is written: fine if nothing more was to come from it.
                    let closed = matches!(
                        e.kind(),
                        std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
                    );
                    let only_sends_left = script
                        .get(i + 1..)
                        .unwrap_or_default()
                        .iter()
                        .all(|s| !matches!(s, Step::Recv(_)));
                    if closed && only_sends_left {
                        return Ok(());
                    }
                    return Err(format!("step {i}: write error {e}"));
                }
            }
            Step::Close => return Ok(()),
        }
    }
    // The script is over: the client must send nothing more and close.
    let mut extra = Vec::new();
    match stream.read_to_end(&mut extra) {
        Ok(_) if extra.is_empty() => Ok(()),
        Ok(_) => Err(format!("unexpected further request bytes {:02x?}", extra)),
        // A client that closes with packets of ours still unread (the second of two events it
        // needed only one of) makes the kernel answer with a reset: that is a close too.
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && extra.is_empty() => Ok(()),
        Err(e) => Err(format!("waiting for the client to close: {e}")),
    }
}

/// A fake daemon listening on a socket, serving one script per connection, in order.
pub struct Server {
    thread: Option<JoinHandle<Result<(), String>>>,
}

impl Server {
    pub fn scripts(sock: &Path, scripts: Vec<Vec<Step>>) -> Server {
        let listener = UnixListener::bind(sock).expect("bind");
        let thread = std::thread::spawn(move || {
            for (n, script) in scripts.iter().enumerate() {
                let (stream, _) = accept(&listener).map_err(|e| format!("conn {n}: {e}"))?;
                play(stream, script).map_err(|e| format!("conn {n}: {e}"))?;
            }
            Ok(())
        });
        Server {
            thread: Some(thread),
        }
    }

    pub fn script(sock: &Path, script: Vec<Step>) -> Server {
        Server::scripts(sock, vec![script])
    }

    /// A daemon that answers each request with `handler(request bytes)`, for `conns`
    /// connections.
    pub fn handler(
        sock: &Path,
        conns: usize,
        mut handler: impl FnMut(&[u8]) -> Vec<u8> + std::marker::Send + 'static,
    ) -> Server {
        let listener = UnixListener::bind(sock).expect("bind");
        let thread = std::thread::spawn(move || {
            for _ in 0..conns {
                let (mut stream, _) = accept(&listener)?;
                stream.set_read_timeout(Some(TIMEOUT)).ok();
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                loop {
                    match RequestPacket::new_unchecked(&buf[..]).check_len() {
                        Ok(len) => {
                            let request: Vec<u8> = buf.drain(..len).collect();
                            let reply = handler(&request);
                            stream.write_all(&reply).map_err(|e| e.to_string())?;
                            continue;
                        }
                        Err(e) if e.is_incomplete() => {}
                        Err(e) => return Err(format!("bad request {buf:02x?}: {e:?}")),
                    }
                    match stream.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        Err(e) => return Err(e.to_string()),
                    }
                }
            }
            Ok(())
        });
        Server {
            thread: Some(thread),
        }
    }

    /// Waits for the server and fails the test on a script mismatch.
    pub fn finish(mut self) {
        if let Some(t) = self.thread.take() {
            match t.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => panic!("fake daemon: {e}"),
                Err(_) => panic!("fake daemon panicked"),
            }
        }
    }
}

fn accept(listener: &UnixListener) -> Result<(UnixStream, std::os::unix::net::SocketAddr), String> {
    listener.set_nonblocking(true).ok();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match listener.accept() {
            Ok((s, a)) => {
                s.set_nonblocking(false).ok();
                return Ok((s, a));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() > deadline {
                    return Err("no connection".into());
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Runs `dinitctl -p <sock> args...`.
pub fn dinitctl(sock: &Path, args: &[&str]) -> Out {
    let sock = sock.to_str().expect("utf-8 path");
    let mut all = vec!["-p", sock];
    all.extend_from_slice(args);
    run_program(DINITCTL, &all, &[])
}

/// Runs `dinit-monitor -p <sock> args...`.
pub fn dinit_monitor(sock: &Path, args: &[&str]) -> Out {
    let sock = sock.to_str().expect("utf-8 path");
    let mut all = vec!["-p", sock];
    all.extend_from_slice(args);
    run_program(DINIT_MONITOR, &all, &[])
}

/// `ALLENV` carrying `entries` (each gets its NUL).
pub fn allenv(entries: &[&str]) -> Vec<u8> {
    let mut data = Vec::new();
    for e in entries {
        data.extend_from_slice(e.as_bytes());
        data.push(0);
    }
    let mut v = vec![0x4e];
    v.extend_from_slice(&(data.len() as u64).to_le_bytes());
    v.extend(data);
    v
}

/// Serves `script` on a fresh socket in `dir` and runs `dinitctl -p <sock> args...`; checks
/// the script was followed exactly.
pub fn session(dir: &TestDir, script: Vec<Step>, args: &[&str]) -> Out {
    session_of(dir, script, |sock| dinitctl(sock, args))
}

/// Serves `script` on a fresh socket in `dir` and runs `client` on it; checks the script was
/// followed exactly.
pub fn session_of(dir: &TestDir, script: Vec<Step>, client: impl FnOnce(&Path) -> Out) -> Out {
    let sock = dir.sock();
    let _ = std::fs::remove_file(&sock);
    let server = Server::script(&sock, script);
    let out = client(&sock);
    server.finish();
    out
}

/// A script: the handshake followed by `steps`.
pub fn with_handshake(steps: Vec<Step>) -> Vec<Step> {
    let mut s = handshake();
    s.extend(steps);
    s
}
