//! The protocol's numbers: command, reply and information codes (PROTOCOL.md §6.12), the start/stop
//! flags byte (PROTOCOL.md §6.7), the loader mechanism (PROTOCOL.md §6.11) and the dependency types
//! the wire accepts (PROTOCOL.md §6.6). Service states, stop reasons, exec stages, events and
//! shutdown kinds live in [`crate::types`], whose discriminants are already the protocol's numbers.

use super::status::StatusFormat;
use crate::types::DepKind;

wire_enum! {
    /// A request code (PROTOCOL.md §6.12, §7): the first byte of every packet a client sends.
    #[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
    #[cfg_attr(feature = "defmt", derive(defmt::Format))]
    pub enum Command: u8 {
        /// `QUERYVERSION`: ask for the protocol versions.
        QueryVersion = 0,
        /// `FINDSERVICE`: look up a loaded service by name.
        FindService = 1,
        /// `LOADSERVICE`: find or load a service by name.
        LoadService = 2,
        /// `STARTSERVICE`.
        StartService = 3,
        /// `STOPSERVICE` (also restart, with the restart flag).
        StopService = 4,
        /// `WAKESERVICE`.
        WakeService = 5,
        /// `RELEASESERVICE`.
        ReleaseService = 6,
        /// `UNPINSERVICE`.
        UnpinService = 7,
        /// `LISTSERVICES` (legacy, status10 entries).
        ListServices = 8,
        /// `UNLOADSERVICE`.
        UnloadService = 9,
        /// `SHUTDOWN`.
        Shutdown = 10,
        /// `ADD_DEP`.
        AddDep = 11,
        /// `REM_DEP`.
        RemDep = 12,
        /// `QUERY_LOAD_MECH`.
        QueryLoadMech = 13,
        /// `ENABLESERVICE` (legacy: replies `ACK`).
        EnableService = 14,
        /// `QUERYSERVICENAME`.
        QueryServiceName = 15,
        /// `RELOADSERVICE`.
        ReloadService = 16,
        /// `SETENV`.
        SetEnv = 17,
        /// `SERVICESTATUS` (legacy, status10).
        ServiceStatus = 18,
        /// `SETTRIGGER` (v2).
        SetTrigger = 19,
        /// `CATLOG` (v2).
        CatLog = 20,
        /// `SIGNAL` (v2).
        Signal = 21,
        /// `QUERYSERVICEDSCDIR` (v3).
        QueryServiceDscDir = 22,
        /// `CLOSEHANDLE` (v4).
        CloseHandle = 23,
        /// `GETALLENV` (v4).
        GetAllEnv = 24,
        /// `LISTSERVICES5` (v5, status14 entries).
        ListServices5 = 25,
        /// `SERVICESTATUS5` (v5, status14).
        ServiceStatus5 = 26,
        /// `LISTENENV` (v5).
        ListenEnv = 27,
        /// `SERVICESTATUS6` (v6, status30).
        ServiceStatus6 = 28,
        /// `ENABLE_SERVICE_V7` (v7: replies with the status30 of the target).
        EnableServiceV7 = 29,
    }
}

impl Command {
    /// The protocol version that introduced the command (PROTOCOL.md §6.12).
    pub const fn min_version(self) -> u16 {
        match self as u8 {
            0..=18 => 1,
            19..=21 => 2,
            22 => 3,
            23 | 24 => 4,
            25..=27 => 5,
            28 => 6,
            _ => 7,
        }
    }

    /// The request's size if it is fixed (PROTOCOL.md §7.21); `None` for FIND, LOAD and SETENV,
    /// whose size is 3 plus their embedded string length.
    pub const fn fixed_len(self) -> Option<usize> {
        match self {
            Self::FindService | Self::LoadService | Self::SetEnv => None,
            Self::QueryVersion
            | Self::ListServices
            | Self::QueryLoadMech
            | Self::ListServices5
            | Self::ListenEnv => Some(1),
            Self::Shutdown | Self::GetAllEnv => Some(2),
            Self::UnpinService
            | Self::UnloadService
            | Self::ReloadService
            | Self::ServiceStatus
            | Self::CloseHandle
            | Self::ServiceStatus5
            | Self::ServiceStatus6 => Some(5),
            Self::StartService
            | Self::StopService
            | Self::WakeService
            | Self::ReleaseService
            | Self::QueryServiceName
            | Self::SetTrigger
            | Self::CatLog
            | Self::QueryServiceDscDir => Some(6),
            Self::Signal => Some(9),
            Self::AddDep | Self::RemDep | Self::EnableService | Self::EnableServiceV7 => Some(10),
        }
    }

    /// The status block size of the replies to this request (PROTOCOL.md §7.5, §7.8, §7.13):
    /// status10 for `LISTSERVICES`/`SERVICESTATUS`, status14 for their v5 forms, status30 for
    /// `SERVICESTATUS6` and `ENABLE_SERVICE_V7`. `None` for requests whose replies carry none.
    pub const fn reply_status_format(self) -> Option<StatusFormat> {
        match self {
            Self::ListServices | Self::ServiceStatus => Some(StatusFormat::Status10),
            Self::ListServices5 | Self::ServiceStatus5 => Some(StatusFormat::Status14),
            Self::ServiceStatus6 | Self::EnableServiceV7 => Some(StatusFormat::Status30),
            _ => None,
        }
    }
}

wire_enum! {
    /// A reply code (PROTOCOL.md §6.12, §8): the first byte of a packet the daemon sends in
    /// answer to a request.
    #[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
    #[cfg_attr(feature = "defmt", derive(defmt::Format))]
    pub enum ReplyCode: u8 {
        /// `ACK`.
        Ack = 50,
        /// `NAK`: well-formed but refused; the connection stays open.
        Nak = 51,
        /// `BADREQ`: malformed; the daemon closes the connection after it.
        BadReq = 52,
        /// `OOM`: the daemon ran out of memory; it closes the connection after it.
        Oom = 53,
        /// `SERVICELOADERR`: defined but never sent.
        ServiceLoadErrUnused = 54,
        /// `SERVICEOOM`: defined but never sent.
        ServiceOomUnused = 55,
        /// `SSISSUED`: retired, never sent.
        SsIssued = 56,
        /// `SSREDUNDANT`: retired, never sent.
        SsRedundant = 57,
        /// `CPVERSION`.
        CpVersion = 58,
        /// `SERVICERECORD`.
        ServiceRecord = 59,
        /// `NOSERVICE`.
        NoService = 60,
        /// `ALREADYSS`: the service was already (or is now) in the wanted state.
        AlreadySs = 61,
        /// `SVCINFO`: one entry of a service list.
        SvcInfo = 62,
        /// `LISTDONE`: the end of a service list.
        ListDone = 63,
        /// `LOADER_MECH`.
        LoaderMech = 64,
        /// `DEPENDENTS`.
        Dependents = 65,
        /// `SERVICENAME`.
        ServiceName = 66,
        /// `PINNEDSTOPPED`.
        PinnedStopped = 67,
        /// `PINNEDSTARTED`.
        PinnedStarted = 68,
        /// `SHUTTINGDOWN`.
        ShuttingDown = 69,
        /// `SERVICESTATUS`.
        ServiceStatus = 70,
        /// `SERVICE_DESC_ERR`: the description has an error.
        ServiceDescErr = 71,
        /// `SERVICE_LOAD_ERR`: loading failed otherwise.
        ServiceLoadErr = 72,
        /// `SERVICE_LOG`.
        ServiceLog = 73,
        /// `SIGNAL_NOPID`.
        SignalNoPid = 74,
        /// `SIGNAL_BADSIG`.
        SignalBadSig = 75,
        /// `SIGNAL_KILLERR`.
        SignalKillErr = 76,
        /// `SVCDSCDIR`.
        SvcDscDir = 77,
        /// `ALLENV`.
        AllEnv = 78,
        /// `PREACK`.
        PreAck = 79,
    }
}

impl ReplyCode {
    /// True for the replies that are that single byte (PROTOCOL.md §8.1). The never-sent and
    /// retired codes 54-57 count as single-byte: nothing else is defined for them.
    pub const fn is_single_byte(self) -> bool {
        !matches!(
            self,
            Self::CpVersion
                | Self::ServiceRecord
                | Self::SvcInfo
                | Self::LoaderMech
                | Self::Dependents
                | Self::ServiceName
                | Self::ServiceStatus
                | Self::ServiceLog
                | Self::SvcDscDir
                | Self::AllEnv
        )
    }
}

wire_enum! {
    /// An information packet code (PROTOCOL.md §9): unsolicited packets from the daemon.
    #[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
    #[cfg_attr(feature = "defmt", derive(defmt::Format))]
    pub enum InfoCode: u8 {
        /// `SERVICEEVENT`: an event with a status10 snapshot (17 bytes; 7 from very old daemons).
        ServiceEvent = 100,
        /// `SERVICEEVENT5`: an event with a status14 snapshot (21 bytes), sent first.
        ServiceEvent5 = 101,
        /// `ENVEVENT`: the activation environment changed.
        EnvEvent = 102,
    }
}

/// The class of a packet, from its first byte (PROTOCOL.md §3.1).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PacketClass {
    /// 0-29: a request (client to daemon).
    Request,
    /// 50-79: a reply (daemon to client).
    Reply,
    /// 100-255: an information packet (daemon to client).
    Info,
    /// 30-49 and 80-99: nothing.
    Invalid,
}

impl PacketClass {
    /// The class of a packet starting with `code`.
    pub const fn of(code: u8) -> Self {
        match code {
            0..=29 => Self::Request,
            50..=79 => Self::Reply,
            100..=255 => Self::Info,
            _ => Self::Invalid,
        }
    }
}

/// The flags byte of START/STOP/WAKE/RELEASE (PROTOCOL.md §6.7). Bits 3-6 mean nothing; they are
/// kept as received so that a packet re-emits unchanged.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StartFlags(u8);

impl StartFlags {
    /// Pin: START/WAKE pin started; STOP (not restart) and RELEASE pin stopped.
    pub const PIN: u8 = 0x01;
    /// Gentle: a STOP that would stop hard dependents is refused with `DEPENDENTS`.
    pub const GENTLE: u8 = 0x02;
    /// Restart: a STOP restarts the service instead.
    pub const RESTART: u8 = 0x04;
    /// Pre-ack: the daemon sends `PREACK` before anything else.
    pub const PRE_ACK: u8 = 0x80;

    /// No flags.
    pub const NONE: StartFlags = StartFlags(0);

    /// From the protocol byte, all bits kept.
    pub const fn from_bits(bits: u8) -> Self {
        StartFlags(bits)
    }

    /// The protocol byte.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// True if `flag` (one of the associated constants) is set.
    pub const fn has(self, flag: u8) -> bool {
        self.0 & flag != 0
    }

    /// `self` with `flag` set.
    #[must_use]
    pub const fn with(self, flag: u8) -> Self {
        StartFlags(self.0 | flag)
    }

    /// The pin flag.
    pub const fn pin(self) -> bool {
        self.has(Self::PIN)
    }

    /// The gentle flag.
    pub const fn gentle(self) -> bool {
        self.has(Self::GENTLE)
    }

    /// The restart flag.
    pub const fn restart(self) -> bool {
        self.has(Self::RESTART)
    }

    /// The pre-ack flag.
    pub const fn pre_ack(self) -> bool {
        self.has(Self::PRE_ACK)
    }
}

wire_enum! {
    /// The loader mechanism of `LOADER_MECH` byte 1 (PROTOCOL.md §6.11).
    #[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
    #[cfg_attr(feature = "defmt", derive(defmt::Format))]
    pub enum LoaderMechKind: u8 {
        /// None or unknown; the daemon answers `NAK` instead of sending it.
        None = 0,
        /// Service descriptions are loaded from directories: the only mechanism there is.
        DirLoad = 1,
    }
}

/// The dependency types ADD_DEP, REM_DEP and the ENABLE requests accept (PROTOCOL.md §6.6):
/// regular, waits-for and milestone. Any other byte is answered with `BADREQ`.
pub const WIRE_DEP_KINDS: [DepKind; 3] = [DepKind::Regular, DepKind::WaitsFor, DepKind::Milestone];

/// The dependency type a request byte names, if the wire accepts it.
pub(crate) const fn wire_dep_kind(v: u8) -> Option<DepKind> {
    match v {
        0 => Some(DepKind::Regular),
        2 => Some(DepKind::WaitsFor),
        3 => Some(DepKind::Milestone),
        _ => None,
    }
}
