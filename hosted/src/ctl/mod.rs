//! The client side of the control protocol: what `dinitctl` and `dinit-monitor` are made of.
//!
//! * [`socket`]: where the control socket is (PROTOCOL.md §2.3) and the pre-connected descriptor of
//!   `pass-cs-fd` services (PROTOCOL.md §2.5).
//! * [`packet`]: what the daemon sends, decoded once into typed values ([`Incoming`], [`Reply`],
//!   [`Event`]); pure, bytes in and values out.
//! * [`conn`]: a blocking [`Connection`] that encodes requests with the codec, reads and decodes
//!   what comes back, records the events that arrive before and between replies (PROTOCOL.md
//!   §4.4, §10 items 2-4), keeps track of handles and negotiates the protocol version
//!   (PROTOCOL.md §5).
//! * [`status`]: a status block as the client shows it ([`SvcStatus`], built from the codec's
//!   view in one place).
//! * [`format`](mod@format): the texts of `list`, `status` and the failure reasons (CONTROL.md §4).
//! * [`args`], [`commands`], [`enable`]: `dinitctl` itself (CONTROL.md §3); [`commands::run`] is
//!   the program.
//! * [`monitor`]: `dinit-monitor` (CONTROL.md §5.1); [`monitor::run`] is the program.
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
pub mod packet;
pub mod socket;
pub mod start_stop;
pub mod status;
pub mod ui;

pub use conn::{Connection, CtlError, LoadReply};
pub use packet::{EnvChange, Event, Incoming, Reply};
pub use socket::{resolve_socket, SocketOptions, SocketSource};
pub use status::SvcStatus;
pub use ui::Ui;
