//! The client side of the control protocol: what `dinitctl` and `dinit-monitor` are made of.
//!
//! * [`socket`]: where the control socket is (spec §2.3) and the pre-connected descriptor of
//!   `pass-cs-fd` services (§2.5).
//! * [`conn`]: a blocking [`Connection`] that sends requests, reads replies, records the
//!   events that arrive before and between them (§4.4, §14 items 2-4), keeps track of handles
//!   and negotiates the protocol version (§5).
//! * [`status`]: a status block decoded for display ([`SvcStatus`]).
//! * [`format`](mod@format): the texts of `list`, `status` and the failure reasons (§11).
//! * [`args`], [`commands`], [`enable`]: `dinitctl` itself (§10); [`commands::run`] is the
//!   program.
//! * [`monitor`]: `dinit-monitor` (§10.17); [`monitor::run`] is the program.
//! * [`ui`]: standard output and error, with `--quiet`.
//!
//! The wire format is the codec of [`dinit_core::proto`]; this module adds the I/O, the request
//! sequences and the text.

pub mod args;
pub mod commands;
pub mod conn;
pub mod enable;
pub mod format;
pub mod monitor;
pub mod socket;
pub mod status;
pub mod ui;

pub use conn::{Connection, CtlError, Event, Incoming, LoadReply, ReplyBuf};
pub use socket::{resolve_socket, SocketOptions, SocketSource};
pub use status::SvcStatus;
pub use ui::Ui;
